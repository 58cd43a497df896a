-- Known rows for the client and tutorctl tests (C++ tests and
-- install_test.sh). Answers are computed from these tables by plain SQL in
-- the tests, so the rows only need to cover the cases: every role, inactive
-- users, pending onboarding, non-ASCII names, gaps in ids, enough users for
-- several pages, and completions around day and time-zone boundaries.
INSERT INTO users (id, email, display_name, role, is_active, onboarding_completed, created_at) VALUES
  (1, 'alice@example.test', 'Alice',        'student',    true,  true,  '2025-01-01 00:00:00+00'),
  (2, 'bob@example.test',   'Bob',          'instructor', true,  false, '2025-01-02 08:30:00.25+00'),
  (3, 'carol@example.test', 'Carol',        'admin',      false, true,  '2025-01-03 00:00:00+00'),
  (4, 'dave@example.test',  'Dave',         'student',    true,  false, '2025-01-04 00:00:00+00'),
  (5, 'erin@example.test',  'Erin',         'admin',      true,  true,  '2025-01-05 00:00:00+00'),
  (6, 'zoe@example.test',   'Zoë Ångström', 'student',    true,  false, '2025-01-06 00:00:00+00'),
  (7, 'frank@example.test', 'Frank',        'instructor', false, false, '2025-01-07 00:00:00+00'),
  (8, 'grace@example.test', 'Grace',        'student',    false, true,  '2025-01-08 00:00:00+00');
-- Even ids 10..300: 146 more users, every seventh inactive.
INSERT INTO users (id, email, display_name, role, is_active, onboarding_completed, created_at)
SELECT g, 'user' || g || '@example.test', 'User ' || g,
       (ARRAY['student', 'instructor', 'admin'])[1 + g % 3]::user_role,
       g % 7 <> 0, g % 4 = 0,
       timestamptz '2025-02-01 00:00:00+00' + g * interval '1 hour'
FROM generate_series(10, 300, 2) AS g;
SELECT setval(pg_get_serial_sequence('users', 'id'), 300);

INSERT INTO exercises (id, title, difficulty, programming_language, created_at) VALUES
  (1,  'Two Sum',         'easy',   'python', '2024-06-01 00:00:00+00'),
  (2,  'FizzBuzz',        'easy',   'go',     '2024-06-02 00:00:00+00'),
  (3,  'Graphs',          'hard',   'rust',   '2024-06-03 00:00:00+00'),
  (4,  'Parsing',         'easy',   'python', '2024-06-04 00:00:00+00'),
  (5,  'Linked Lists',    'medium', 'python', '2024-06-05 00:00:00+00'),
  (6,  'Tries',           'medium', 'go',     '2024-06-06 00:00:00+00'),
  (7,  'Dynamic Prog.',   'hard',   'python', '2024-06-07 00:00:00+00'),
  (9,  'Regex Engine',    'hard',   'Python', '2024-06-09 00:00:00+00'),
  (10, 'Hello, World',    'easy',   'c++',    '2024-06-10 00:00:00+00'),
  (12, 'Binary Search',   'easy',   'python', '2024-06-12 00:00:00+00'),
  (13, 'Heaps',           'medium', 'rust',   '2024-06-13 00:00:00+00'),
  (15, 'Sorting',         'easy',   'python', '2024-06-15 00:00:00+00');
SELECT setval(pg_get_serial_sequence('exercises', 'id'), 15);

INSERT INTO user_exercises (user_id, exercise_id, status, created_at) VALUES
  -- Alice: a run of two (Jan 5-6), a skipped day, a run of three ending
  -- Jan 12, a pending row on Jan 13.
  (1, 1,  'completed',   '2026-01-05 09:00:00+00'),
  (1, 2,  'completed',   '2026-01-06 09:00:00+00'),
  (1, 3,  'skipped',     '2026-01-09 12:00:00+00'),
  (1, 1,  'completed',   '2026-01-10 12:00:00+00'),
  (1, 2,  'completed',   '2026-01-11 12:00:00+00'),
  (1, 4,  'completed',   '2026-01-12 12:00:00+00'),
  (1, 3,  'pending',     '2026-01-13 12:00:00+00'),
  -- Bob: several completions on one day, one late on Jan 12 UTC (Jan 13 in
  -- Tokyo), one in progress.
  (2, 1,  'completed',   '2026-01-11 08:00:00+00'),
  (2, 2,  'completed',   '2026-01-11 09:00:00+00'),
  (2, 5,  'completed',   '2026-01-12 23:30:00+00'),
  (2, 6,  'in_progress', '2026-01-12 10:00:00+00'),
  -- Dave: Jan 12 03:00 UTC is still Jan 11 in New York; Jan 10 23:30 UTC is
  -- Jan 11 in Tokyo.
  (4, 1,  'completed',   '2026-01-10 23:30:00+00'),
  (4, 4,  'completed',   '2026-01-12 03:00:00+00'),
  -- Erin: seven days in a row (Jan 1-7), then Jan 11.
  (5, 1,  'completed',   '2026-01-01 10:00:00+00'),
  (5, 2,  'completed',   '2026-01-02 10:00:00+00'),
  (5, 4,  'completed',   '2026-01-03 10:00:00+00'),
  (5, 5,  'completed',   '2026-01-04 10:00:00+00'),
  (5, 6,  'completed',   '2026-01-05 10:00:00+00'),
  (5, 7,  'completed',   '2026-01-06 10:00:00+00'),
  (5, 9,  'completed',   '2026-01-07 10:00:00+00'),
  (5, 10, 'completed',   '2026-01-11 10:00:00+00'),
  -- Zoë: only after the as_of the tests use.
  (6, 1,  'completed',   '2026-02-01 10:00:00+00'),
  -- Grace (inactive): yesterday and today relative to Jan 12.
  (8, 1,  'completed',   '2026-01-11 10:00:00+00'),
  (8, 2,  'completed',   '2026-01-12 10:00:00+00'),
  -- User 10: one second apart across midnight UTC (the same evening in New
  -- York).
  (10, 1, 'completed',   '2025-12-31 23:59:59+00'),
  (10, 2, 'completed',   '2026-01-01 00:00:00+00');
