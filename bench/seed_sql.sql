-- Benchmark data in plain SQL, for a migrated, empty or disposable database:
-- users 1..:users, exercises 1..:exercises, and about :per_user
-- user_exercises per user spread over the last :days days. Replaces whatever
-- the three tables held. Deterministic (setseed), so runs compare.
--
--   psql -v ON_ERROR_STOP=1 -v users=10000 -f bench/seed_sql.sql "$DSN"
--
-- Defaults: users 10000, exercises 5000, per_user 30, days 180. The ids,
-- zones-independent timestamps and the 12 languages match what tutoring-bench
-- draws by default (--users must equal :users).
\if :{?users}
\else
  \set users 10000
\endif
\if :{?exercises}
\else
  \set exercises 5000
\endif
\if :{?per_user}
\else
  \set per_user 30
\endif
\if :{?days}
\else
  \set days 180
\endif

BEGIN;
TRUNCATE user_exercises, exercises, users RESTART IDENTITY;
SELECT setseed(0.42) \g /dev/null

-- 85% students, 12% instructors, 3% admins; 90% active; 70% onboarded.
INSERT INTO users (id, email, display_name, role, is_active,
                   onboarding_completed, created_at)
SELECT i,
       'user' || i || '@example.com',
       'User ' || i,
       CASE WHEN r < 0.85 THEN 'student'
            WHEN r < 0.97 THEN 'instructor'
            ELSE 'admin' END::user_role,
       random() < 0.9,
       random() < 0.7,
       now() - random() * interval '400 days'
FROM (SELECT i, random() AS r FROM generate_series(1, :users) AS i) AS g;

INSERT INTO exercises (id, title, difficulty, programming_language, created_at)
SELECT i,
       'Exercise ' || i,
       (ARRAY['easy', 'medium', 'hard'])[1 + (i % 3)]::exercise_difficulty,
       (ARRAY['python', 'javascript', 'typescript', 'java', 'c', 'cpp',
              'csharp', 'go', 'rust', 'ruby', 'kotlin', 'swift'])[1 + (i / 3) % 12],
       now() - interval '500 days' + i * interval '1 minute'
FROM generate_series(1, :exercises) AS i;

-- Each user gets per_user rows on average (0..2 * per_user), 60% completed.
INSERT INTO user_exercises (user_id, exercise_id, status, created_at)
SELECT u.id,
       1 + floor(random() * :exercises)::int,
       CASE WHEN s < 0.60 THEN 'completed'
            WHEN s < 0.75 THEN 'pending'
            WHEN s < 0.90 THEN 'in_progress'
            ELSE 'skipped' END::exercise_status,
       now() - random() * (:days * interval '1 day')
FROM (SELECT id, floor(random() * (2 * :per_user + 1))::int AS n
      FROM users) AS u,
     LATERAL (SELECT random() AS s FROM generate_series(1, u.n)) AS x;

SELECT setval(pg_get_serial_sequence('users', 'id'), :users) \g /dev/null
SELECT setval(pg_get_serial_sequence('exercises', 'id'), :exercises) \g /dev/null
SELECT setval(pg_get_serial_sequence('user_exercises', 'id'),
              (SELECT max(id) FROM user_exercises)) \g /dev/null
COMMIT;
ANALYZE users;
ANALYZE exercises;
ANALYZE user_exercises;
