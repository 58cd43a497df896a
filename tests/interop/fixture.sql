-- Known rows for the interop tests: small enough to state every answer.
INSERT INTO users (id, email, display_name, role, is_active, onboarding_completed, created_at) VALUES
  (1, 'alice@example.test', 'Alice', 'student',    true,  true,  '2025-01-01 00:00:00+00'),
  (2, 'bob@example.test',   'Bob',   'instructor', true,  false, '2025-01-02 08:30:00.25+00'),
  (3, 'carol@example.test', 'Carol', 'admin',      false, true,  '2025-01-03 00:00:00+00'),
  (4, 'dave@example.test',  'Dave',  'student',    true,  false, '2025-01-04 00:00:00+00'),
  (5, 'erin@example.test',  'Erin',  'admin',      true,  true,  '2025-01-05 00:00:00+00');
SELECT setval(pg_get_serial_sequence('users', 'id'), 5);

INSERT INTO exercises (id, title, difficulty, programming_language, created_at) VALUES
  (1, 'Two Sum',  'easy',   'python', '2024-06-01 00:00:00+00'),
  (2, 'FizzBuzz', 'easy',   'go',     '2024-06-02 00:00:00+00'),
  (3, 'Graphs',   'hard',   'rust',   '2024-06-03 00:00:00+00'),
  (4, 'Parsing',  'easy',   'python', '2024-06-04 00:00:00+00');
SELECT setval(pg_get_serial_sequence('exercises', 'id'), 4);

-- Alice: completions on Jan 10, 11, 12 (2026) at noon UTC, a pending row on
-- Jan 13 (does not count). Dave: one completion at 2026-01-12T03:00Z, which
-- is still Jan 11 in New York.
INSERT INTO user_exercises (user_id, exercise_id, status, created_at) VALUES
  (1, 1, 'completed', '2026-01-10 12:00:00+00'),
  (1, 2, 'completed', '2026-01-11 12:00:00+00'),
  (1, 4, 'completed', '2026-01-12 12:00:00+00'),
  (1, 3, 'pending',   '2026-01-13 12:00:00+00'),
  (4, 1, 'completed', '2026-01-12 03:00:00+00');
