-- The two database identities of tutoring-data-service. Run once per
-- database, as a role with CREATEROLE that may grant on the database, e.g.
--   psql -v ON_ERROR_STOP=1 -d tutoring \
--        -v owner_password="$OWNER_PASSWORD" -v server_password="$SERVER_PASSWORD" \
--        -f deploy/db/roles.sql
-- (role names can be changed with -v owner_role=... -v server_role=...).
--
--   owner  (tutoring_owner): LOGIN for the migration Job. Creates and owns
--          every object the migrations create, schema_migrations included.
--          Needs a session-mode connection to the primary (advisory lock,
--          DDL, CREATE INDEX CONCURRENTLY).
--   server (tutoring_server): LOGIN for tutoring-server and its
--          wait-for-schema init container. SELECT only (the RPCs read users,
--          exercises, user_exercises; verify reads schema_migrations; the
--          health probe runs SELECT 1), and every transaction read-only, so a
--          standby or a read-only pooler can serve it.
-- CONNECTION LIMIT is the connection budget of deploy/README.md: the
-- server's is (maxReplicas + maxSurge) x (DATABASE_POOL_SIZE +
-- DATABASE_MAX_OVERFLOW) plus margin, the owner's one Job plus a person.
\if :{?owner_role}
\else
  \set owner_role tutoring_owner
\endif
\if :{?server_role}
\else
  \set server_role tutoring_server
\endif
\if :{?owner_password}
\else
  \echo 'roles.sql: set owner_password and server_password (psql -v)'
  \quit
\endif

CREATE ROLE :"owner_role" LOGIN PASSWORD :'owner_password' CONNECTION LIMIT 5;
CREATE ROLE :"server_role" LOGIN PASSWORD :'server_password' CONNECTION LIMIT 90;

-- PostgreSQL 15 no longer lets every role create in schema public.
SELECT current_database() AS dbname \gset
GRANT CONNECT, TEMPORARY ON DATABASE :"dbname" TO :"owner_role";
GRANT CREATE, USAGE ON SCHEMA public TO :"owner_role";
GRANT CONNECT ON DATABASE :"dbname" TO :"server_role";
GRANT USAGE ON SCHEMA public TO :"server_role";

-- Whatever the owner creates later is readable by the server; what exists
-- already (a database migrated before the split) is granted now. Objects
-- created by another role must be handed over first:
--   ALTER TABLE ... OWNER TO tutoring_owner (or REASSIGN OWNED BY old TO tutoring_owner).
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner_role" IN SCHEMA public
  GRANT SELECT ON TABLES TO :"server_role";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"server_role";

-- Belt and braces: even a table granted by mistake cannot be written.
ALTER ROLE :"server_role" SET default_transaction_read_only = on;
