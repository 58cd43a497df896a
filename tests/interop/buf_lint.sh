#!/usr/bin/env bash
# buf lint (npm @bufbuild/buf) over proto/, with proto/buf.yaml: the
# STANDARD (formerly DEFAULT) rules except RPC_RESPONSE_STANDARD_NAME.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../../proto"
"$here/node_modules/.bin/buf" lint
echo "buf lint: clean"
