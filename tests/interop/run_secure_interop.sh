#!/usr/bin/env bash
# Secure interop: grpc-js and buf curl with TLS, client certificates and an
# authorization header against the real tutoring-server binary run with
# mTLS, docs/examples/authz_policy.json and a token file, over a database
# holding fixture.sql. Certificates are made here, into a temporary folder.
set -euo pipefail
: "${TUTORING_TEST_DATABASE_URL:?run through scripts/test}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"
[[ -x "$here/node_modules/.bin/buf" ]] || { echo "npm packages missing: run scripts/setup" >&2; exit 1; }

log="$(mktemp)"
pki="$(mktemp -d)"
# shellcheck source=tests/support/live_server.sh
source "$src/tests/support/live_server.sh"
trap 'stop_live_server; rm -rf "$log" "$pki"' EXIT

"$src/tests/security/make_test_certs.sh" "$pki"
create_scratch_db "secure_interop_$$" "$here/fixture.sql"
start_server "$log" --tls-cert="$pki/server.pem" --tls-key="$pki/server.key" \
  --tls-client-ca="$pki/ca.pem" --token-file="$pki/tokens" \
  --authz-policy="$src/docs/examples/authz_policy.json"
node "$here/secure_check.js" "127.0.0.1:$server_port" "$src/proto" "$pki"
