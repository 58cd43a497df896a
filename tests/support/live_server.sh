# Sourced by the shell tests that need a live tutoring-server over a scratch
# database (tests/interop, tests/client/install_test.sh). Needs
# TUTORING_TEST_DATABASE_URL, TUTORING_MIGRATE_BIN and TUTORING_SERVER_BIN
# (ctest sets them) and $src, the source tree.
#
#   create_scratch_db NAME FIXTURE.sql   sets $scratch_url; migrated, loaded
#   start_server LOGFILE [FLAG...]       sets $server_port once SERVING
#   stop_live_server                     kills the server, drops the database
# Call stop_live_server from the caller's EXIT trap.

# shellcheck source=tests/support/wait_for_serving.sh
source "$(dirname "${BASH_SOURCE[0]}")/wait_for_serving.sh"

live_psql="$(pg_config --bindir)/psql"
live_admin="${TUTORING_TEST_DATABASE_URL:?run through ctest (scripts/test)}"
scratch_db=""
scratch_url=""
server_pid=""
server_port=""

create_scratch_db() {
  scratch_db="$1"
  scratch_url="${live_admin%/*}/$scratch_db"
  "$live_psql" -X -q -v ON_ERROR_STOP=1 "$live_admin" -c "CREATE DATABASE $scratch_db"
  "$TUTORING_MIGRATE_BIN" --database-url="$scratch_url" \
    --migrations-dir="$src/migrations" up >/dev/null
  "$live_psql" -X -q -v ON_ERROR_STOP=1 "$scratch_url" -f "$2" >/dev/null
}

start_server() {
  local log="$1" _ url="$scratch_url" pooler=()
  shift
  # scripts/test's pooler pass: the server goes through PgBouncer in front
  # of the test cluster (tests/support/test_database.h).
  if [[ -n "${TUTORING_TEST_TRANSACTION_POOLER:-}" ]]; then
    url="postgresql://${scratch_url#*://}"
    url="${url%%@*}@$TUTORING_TEST_TRANSACTION_POOLER/$scratch_db"
    pooler=(--database-pooler=transaction)
  fi
  "$TUTORING_SERVER_BIN" --listen=127.0.0.1:0 --database-url="$url" \
    --health-interval=100ms "${pooler[@]}" "$@" 2>"$log" &
  server_pid=$!
  wait_for_serving "$log" "$server_pid" 100
}

stop_live_server() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    server_pid=""
  fi
  if [[ -n "$scratch_db" ]]; then
    "$live_psql" -X -q "$live_admin" \
      -c "DROP DATABASE IF EXISTS $scratch_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
