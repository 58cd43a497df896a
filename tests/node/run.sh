#!/usr/bin/env bash
# The Node client (client/node, npm @tutoring/client), built by the
# node_client_built fixture (build.sh): its node --test suite against the real tutoring-server over a database holding
# tests/client/fixture.sql, with psql for ground truth.
set -euo pipefail
: "${TUTORING_TEST_DATABASE_URL:?run through scripts/test}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"
pkg="$src/client/node"
[[ -f "$pkg/dist/index.js" ]] || { echo "client/node is not built (tests/node/build.sh)" >&2; exit 1; }

log="$(mktemp)"
out="$(mktemp)"
# shellcheck source=tests/support/live_server.sh
source "$src/tests/support/live_server.sh"
trap 'stop_live_server; rm -f "$log" "$out"' EXIT
create_scratch_db "node_client_$$" "$src/tests/client/fixture.sql"
start_server "$log"

status=0
(cd "$pkg" && TUTORING_TEST_TARGET="127.0.0.1:$server_port" TUTORING_TEST_DB_URL="$scratch_url" \
  TUTORING_PSQL="$live_psql" node --test test/) >"$out" 2>&1 || status=$?
cat "$out"
grep -q '^# skipped 0$' "$out" || { echo "node_client: tests were skipped" >&2; exit 1; }
exit "$status"
