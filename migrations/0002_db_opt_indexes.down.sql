DROP INDEX idx_user_exercises_user_created;
DROP INDEX ix_user_exercises_status;
DROP INDEX ix_exercises_programming_language;
DROP INDEX ix_exercises_difficulty;
DROP INDEX ix_users_onboarding_completed;
DROP INDEX ix_users_is_active;
DROP INDEX ix_users_role;
