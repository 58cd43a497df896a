-- tutoring:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS ix_user_exercises_completed_user_created;
DROP INDEX CONCURRENTLY IF EXISTS ix_exercises_difficulty_language_id;
DROP INDEX CONCURRENTLY IF EXISTS ix_users_role_id;
