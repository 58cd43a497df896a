-- The seven DB-OPT indexes; their names are part of the schema contract.
CREATE INDEX ix_users_role ON users (role);
CREATE INDEX ix_users_is_active ON users (is_active);
CREATE INDEX ix_users_onboarding_completed ON users (onboarding_completed);
CREATE INDEX ix_exercises_difficulty ON exercises (difficulty);
CREATE INDEX ix_exercises_programming_language ON exercises (programming_language);
CREATE INDEX ix_user_exercises_status ON user_exercises (status);
CREATE INDEX idx_user_exercises_user_created ON user_exercises (user_id, created_at);
