#!/usr/bin/env bash
# The Python client as a new user gets it: a venv made with
# --system-site-packages over Debian's python3-grpcio and python3-protobuf,
# the built wheel installed offline (pip --no-index), then pytest against the
# real tutoring-server and database (conftest.py).
set -euo pipefail
: "${TUTORING_TEST_DATABASE_URL:?run through scripts/test}"
: "${TUTORING_PYTHON_WHEEL:?set by CMake}"
: "${TUTORING_PYTHON3:?set by CMake}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -f "$TUTORING_PYTHON_WHEEL" ]] || { echo "no wheel at $TUTORING_PYTHON_WHEEL: build first" >&2; exit 1; }

venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT
"$TUTORING_PYTHON3" -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install --no-index --no-cache-dir --quiet "$TUTORING_PYTHON_WHEEL"
# Imported from the venv, not from the sources.
cd "$here"
"$venv/bin/python" -c 'import tutoring_client, sys; assert "/site-packages/" in tutoring_client.__file__, tutoring_client.__file__'
exec "$venv/bin/python" -m pytest -q "$@"
