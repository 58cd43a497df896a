#!/usr/bin/env bash
# ctest fixture: (re)creates database tutoring_e2e on the test cluster,
# migrated and seeded with 100,000 users; the e2e tests read it.
set -euo pipefail
: "${TUTORING_TEST_DATABASE_URL:?run through scripts/test}"
admin="$TUTORING_TEST_DATABASE_URL"
url="${admin%/*}/tutoring_e2e"
psql="$(pg_config --bindir)/psql"
"$psql" -X -q -v ON_ERROR_STOP=1 "$admin" \
  -c "DROP DATABASE IF EXISTS tutoring_e2e WITH (FORCE)" \
  -c "CREATE DATABASE tutoring_e2e"
"$TUTORING_MIGRATE_BIN" --database-url="$url" \
  --migrations-dir="$TUTORING_MIGRATIONS_DIR" up
"$TUTORING_SEED_BIN" --database-url="$url" --users=100000 --seed=42
