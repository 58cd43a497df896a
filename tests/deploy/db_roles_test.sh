#!/usr/bin/env bash
# deploy/db/roles.sql on a scratch database of the private test cluster: the
# owner role migrates (tutoring-migrate up), the server role serves every
# RPC tutorctl calls here with answers equal to plain SQL, passes
# tutoring-migrate verify (the init container), and can write nothing.
set -euo pipefail
: "${TUTORING_TEST_DATABASE_URL:?run through scripts/test}"
: "${TUTORING_MIGRATE_BIN:?set by CMake}"
: "${TUTORING_SERVER_BIN:?set by CMake}"
: "${TUTORCTL_BIN:?set by CMake}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"
# shellcheck source=tests/support/wait_for_serving.sh
source "$src/tests/support/wait_for_serving.sh"
fail() { echo "db_roles_test: $*" >&2; exit 1; }

psql=("$(pg_config --bindir)/psql" -X -q -v ON_ERROR_STOP=1)
admin="$TUTORING_TEST_DATABASE_URL"
db="roles_test_$$"
owner="roles_test_owner_$$"
server="roles_test_server_$$"
# postgresql://user@host:port/db -> the same with another user and database.
url_as() { local rest="${admin#postgresql://*@}"; echo "postgresql://$1@${rest%/*}/$db"; }
owner_url="$(url_as "$owner")"
server_url="$(url_as "$server")"
scratch="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  "${psql[@]}" "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  "${psql[@]}" "$admin" -c "DROP ROLE IF EXISTS $owner" -c "DROP ROLE IF EXISTS $server" >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT

"${psql[@]}" "$admin" -c "CREATE DATABASE $db" >/dev/null
"${psql[@]}" "${admin%/*}/$db" -v owner_role="$owner" -v server_role="$server" \
  -v owner_password=owner-secret -v server_password=server-secret -f "$src/deploy/db/roles.sql" >/dev/null

# 1. The owner migrates and loads known rows.
"$TUTORING_MIGRATE_BIN" --database-url="$owner_url" --migrations-dir="$src/migrations" up >/dev/null \
  || fail "owner role could not migrate"
"${psql[@]}" "$owner_url" -f "$src/tests/client/fixture.sql" >/dev/null
not_owned="$("${psql[@]}" -At "${admin%/*}/$db" -c "SELECT count(*) FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind = 'r' AND pg_get_userbyid(c.relowner) <> '$owner'")"
[[ "$not_owned" == 0 ]] || fail "$not_owned tables are not owned by the owner role"

# 2. The server role: verify passes, up cannot run.
"$TUTORING_MIGRATE_BIN" --database-url="$server_url" --migrations-dir="$src/migrations" verify >/dev/null \
  || fail "verify failed for the server role"
if "$TUTORING_MIGRATE_BIN" --database-url="$server_url" --migrations-dir="$src/migrations" up \
     >/dev/null 2>"$scratch/up.err"; then
  fail "tutoring-migrate up succeeded with the read-only server role"
fi

# 3. The server role cannot write: its transactions are read-only, and
# with that switched off its privileges still refuse.
for sql in "INSERT INTO users (email, display_name) VALUES ('x@example.test', 'X')" \
           "UPDATE users SET display_name = 'changed' WHERE id = 1" \
           "DELETE FROM user_exercises" \
           "CREATE TABLE intruder (id int)"; do
  for prefix in "" "SET default_transaction_read_only = off"; do
    if "${psql[@]}" "$server_url" ${prefix:+-c "$prefix"} -c "$sql" >/dev/null 2>"$scratch/write.err"; then
      fail "server role could run: $prefix $sql"
    fi
    if [[ -z "$prefix" ]]; then
      grep -q 'read-only transaction' "$scratch/write.err" || fail "expected a read-only refusal: $(cat "$scratch/write.err")"
    else
      grep -q 'permission denied' "$scratch/write.err" || fail "expected 'permission denied': $(cat "$scratch/write.err")"
    fi
  done
done
[[ "$("${psql[@]}" -At "${admin%/*}/$db" -c "SELECT display_name FROM users WHERE id = 1")" == Alice ]] \
  || fail "a write got through"

# 4. tutoring-server as the server role answers like plain SQL.
log="$scratch/server.log"
"$TUTORING_SERVER_BIN" --listen=127.0.0.1:0 --database-url="$server_url" --health-interval=100ms 2>"$log" &
server_pid=$!
wait_for_serving "$log" "$server_pid" || fail "server did not become SERVING as the read-only role"
port="$server_port"
ctl() { "$TUTORCTL_BIN" --target="127.0.0.1:$port" --deadline=5s "$@"; }
out="$(ctl health tutoring.v1.TutoringService)"
grep -qw SERVING <<<"$out" && ! grep -q NOT_SERVING <<<"$out" || fail "not SERVING: $out"

sql() { "${psql[@]}" -At -F ' ' "$server_url" -c "$1"; }
while read -r id role active; do
  expected="$id $role $([[ "$active" == t ]] && echo true || echo false)"
  got="$(ctl get-user-role "$id" | sed -n '2p' | awk '{ print $1, $2, $3 }')"
  [[ "$got" == "$expected" ]] || fail "GetUserRole($id): '$got', SQL: '$expected'"
done < <(sql "SELECT id, role, is_active FROM users ORDER BY id LIMIT 8")
# The list RPCs: ids in order, every page.
expected="$(sql "SELECT id FROM users WHERE role = 'admin' ORDER BY id")"
(($(wc -l <<<"$expected") > 10)) || fail "the fixture should have many admins"
got="$(ctl list-users-by-role --role=admin --page-size=7 --all-pages | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }')"
[[ "$got" == "$expected" ]] || fail "ListUsersByRole(admin) differs from SQL"
expected="$(sql "SELECT id FROM exercises WHERE difficulty = 'hard' ORDER BY id")"
[[ -n "$expected" ]] || fail "the fixture has no hard exercises"
got="$(ctl list-exercises --difficulty=hard --all-pages | awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }')"
[[ "$got" == "$expected" ]] || fail "ListExercises(hard) differs from SQL: '$got' vs '$expected'"
ctl get-streak 1 >/dev/null || fail "GetStreak failed as the read-only role"
ctl batch-get-streaks 1 2 3 >/dev/null || fail "BatchGetStreaks failed as the read-only role"
ctl list-active-users >/dev/null || fail "ListActiveUsers failed as the read-only role"
echo "db_roles_test: owner migrated; server role served every RPC and wrote nothing"
