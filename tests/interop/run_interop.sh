#!/usr/bin/env bash
# Interop tests: clients nobody here wrote (buf curl through reflection,
# grpc-js from the .proto) against the real tutoring-server binary and a
# database holding fixture.sql.
set -euo pipefail
: "${TUTORING_TEST_DATABASE_URL:?run through scripts/test}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"
[[ -x "$here/node_modules/.bin/buf" ]] || { echo "npm packages missing: run scripts/setup" >&2; exit 1; }

log="$(mktemp)"
# shellcheck source=tests/support/live_server.sh
source "$src/tests/support/live_server.sh"
trap 'stop_live_server; rm -f "$log"' EXIT

create_scratch_db "interop_$$" "$here/fixture.sql"
start_server "$log"
port="$server_port"

status=0
node "$here/buf_curl_check.js" "127.0.0.1:$port" || status=1
node "$here/grpc_js_check.js" "127.0.0.1:$port" "$src/proto" || status=1
exit "$status"
