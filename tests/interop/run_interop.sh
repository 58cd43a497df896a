#!/usr/bin/env bash
# Interop tests: clients nobody here wrote (buf curl through reflection,
# grpc-js from the .proto) against the real tutoring-server binary and a
# database holding fixture.sql.
set -euo pipefail
: "${TUTORING_TEST_DATABASE_URL:?run through scripts/test}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"
[[ -x "$here/node_modules/.bin/buf" ]] || { echo "npm packages missing: run scripts/setup" >&2; exit 1; }

psql="$(pg_config --bindir)/psql"
db="interop_$$"
admin="$TUTORING_TEST_DATABASE_URL"
url="${admin%/*}/$db"
log="$(mktemp)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  "$psql" -X -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -f "$log"
}
trap cleanup EXIT

"$psql" -X -q -v ON_ERROR_STOP=1 "$admin" -c "CREATE DATABASE $db"
"$TUTORING_MIGRATE_BIN" --database-url="$url" --migrations-dir="$src/migrations" up >/dev/null
"$psql" -X -q -v ON_ERROR_STOP=1 "$url" -f "$here/fixture.sql" >/dev/null

"$TUTORING_SERVER_BIN" --listen=127.0.0.1:0 --database-url="$url" --health-interval=100ms 2>"$log" &
server_pid=$!
port=""
for _ in $(seq 100); do
  port="$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$log" | head -n 1)"
  [[ -n "$port" ]] && grep -q "health SERVING" "$log" && break
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$log" >&2; echo "server did not start" >&2; exit 1; }

status=0
node "$here/buf_curl_check.js" "127.0.0.1:$port" || status=1
node "$here/grpc_js_check.js" "127.0.0.1:$port" "$src/proto" || status=1
exit "$status"
