-- tutoring:no-transaction
-- Indexes shaped like the service's queries (db/pg_repository.cc), built
-- CONCURRENTLY so a live database keeps taking writes meanwhile. Each index
-- is dropped first, so re-running after a failure midway (which can leave an
-- INVALID index behind) starts clean.
--
-- ListUsersByRole and ListActiveUsers with a role: keyset walk on
-- (role, id) with no sort; the single-column ix_users_role forces a top-N
-- sort or a filter over the role's rows.
DROP INDEX CONCURRENTLY IF EXISTS ix_users_role_id;
CREATE INDEX CONCURRENTLY ix_users_role_id ON users (role, id);

-- ListExercises with a language: equality on both, keyset on id.
DROP INDEX CONCURRENTLY IF EXISTS ix_exercises_difficulty_language_id;
CREATE INDEX CONCURRENTLY ix_exercises_difficulty_language_id
  ON exercises (difficulty, programming_language, id);

-- GetStreak / BatchGetStreaks: an index-only scan over a user's completed
-- rows (about 60% of all rows, so the partial index is also smaller).
DROP INDEX CONCURRENTLY IF EXISTS ix_user_exercises_completed_user_created;
CREATE INDEX CONCURRENTLY ix_user_exercises_completed_user_created
  ON user_exercises (user_id, created_at) WHERE status = 'completed';

-- Kept although the service's queries do not use them: the seven DB-OPT
-- indexes of 0002 are part of the schema contract other tools read.
