DROP TABLE user_exercises;
DROP TABLE exercises;
DROP TABLE users;
DROP TYPE exercise_status;
DROP TYPE exercise_difficulty;
DROP TYPE user_role;
