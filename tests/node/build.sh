#!/usr/bin/env bash
# ctest fixture node_client_built: `npm ci` in client/node (when its lock
# file changed since the last one) and `npm run build` (buf generate with
# protoc-gen-es, tsc, the service config copied into dist/).
set -euo pipefail
pkg="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../client/node" && pwd)"
stamp="$pkg/node_modules/.setup-stamp"
if [[ ! -f "$stamp" || "$pkg/package-lock.json" -nt "$stamp" ]]; then
  (cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$stamp"
fi
cd "$pkg"
npm run --silent build
echo "node_client_build: built $(ls dist/*.js | wc -l) modules"
