#!/usr/bin/env bash
# Raw HTTP/2 requests (tests/interop/raw_h2_check.js) against a live server
# with a 2 s maximum connection age and 1 s grace: a stalled request must
# end within those plus a margin.
set -euo pipefail
src="${TUTORING_SOURCE_DIR:?run through ctest (scripts/test)}"
# shellcheck source=tests/support/live_server.sh
source "$src/tests/support/live_server.sh"
work="$(mktemp -d)"
trap 'stop_live_server; rm -rf "$work"' EXIT
create_scratch_db "raw_h2_$$" "$src/tests/interop/fixture.sql"
start_server "$work/server.log" --max-connection-age=2s \
  --max-connection-age-grace=1s
node "$src/tests/interop/raw_h2_check.js" "$server_port" 8000
