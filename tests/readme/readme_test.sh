#!/usr/bin/env bash
# Every snippet of README.md's "Calling the service" (the fenced blocks marked
# <!-- readme-snippet: LANG -->) run against a live tutoring-server over a
# database holding tests/client/fixture.sql, with the server's address in
# place of 127.0.0.1:50051:
#   cpp     built out of tree against an installed copy of this build
#           (find_package(tutoring_client)), then run
#   python  run in a venv holding the built wheel
#   node    run as an ES module next to client/node (built by the
#           node_client_build fixture) installed as @tutoring/client
#   sh      run in the source tree (tutorctl and buf curl)
# Each must exit 0 and print user 1's role as SQL has it (ROLE_...).
set -euo pipefail
: "${TUTORING_TEST_DATABASE_URL:?run through scripts/test}"
: "${TUTORING_BUILD_DIR:?set by CMake}"
: "${TUTORING_PYTHON_WHEEL:?set by CMake}"
: "${TUTORING_PYTHON3:?set by CMake}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"
scratch="$(mktemp -d)"
# shellcheck source=tests/support/live_server.sh
source "$src/tests/support/live_server.sh"
trap 'stop_live_server; rm -rf "$scratch"' EXIT
fail() { echo "readme_test: $*" >&2; exit 1; }

create_scratch_db "readme_$$" "$src/tests/client/fixture.sql"
start_server "$scratch/server.log" || fail "server did not start"
target="127.0.0.1:$server_port"
role="ROLE_$("$live_psql" -X -tA "$scratch_url" -c "SELECT upper(role::text) FROM users WHERE id = 1")"

mkdir "$scratch/snippets"
mapfile -t snippets < <("$TUTORING_PYTHON3" "$here/extract_snippets.py" "$src/README.md" "$scratch/snippets" "$target")
langs=" ${snippets[*]##*.} "
for lang in cpp python node sh; do
  [[ "$langs" == *" $lang "* ]] || fail "README has no $lang snippet"
done

run_cpp() {
  local file="$1" dir="$scratch/cpp"
  [[ -d "$scratch/prefix" ]] || cmake --install "$TUTORING_BUILD_DIR" --prefix "$scratch/prefix" >/dev/null
  mkdir -p "$dir"
  cp "$file" "$dir/main.cc"
  cat >"$dir/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(readme_snippet LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(tutoring_client CONFIG REQUIRED)
add_executable(snippet main.cc)
target_link_libraries(snippet PRIVATE tutoring::client)
CMAKE
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$dir" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_PREFIX_PATH="$scratch/prefix" "${launcher[@]}" >"$dir/log" 2>&1 \
    && cmake --build "$dir/build" >>"$dir/log" 2>&1 || { cat "$dir/log" >&2; return 1; }
  "$dir/build/snippet"
}

run_python() {
  local venv="$scratch/venv"
  if [[ ! -d "$venv" ]]; then
    "$TUTORING_PYTHON3" -m venv --system-site-packages "$venv"
    "$venv/bin/python" -m pip install --no-index --no-cache-dir --quiet "$TUTORING_PYTHON_WHEEL"
  fi
  (cd "$scratch" && "$venv/bin/python" "$1")
}

run_node() {
  local dir="$scratch/node"
  mkdir -p "$dir/node_modules/@tutoring"
  ln -sfn "$src/client/node" "$dir/node_modules/@tutoring/client"
  cp "$1" "$dir/snippet.mjs"
  (cd "$dir" && node snippet.mjs)
}

run_sh() {
  # The README's paths are relative to the source tree and its build/.
  sed -e "s#build/client/tutorctl/tutorctl#$TUTORCTL_BIN#g" "$1" >"$scratch/snippet.sh"
  (cd "$src" && bash -euo pipefail "$scratch/snippet.sh")
}

for name in "${snippets[@]}"; do
  lang="${name##*.}"
  echo "readme_test: $name"
  "run_$lang" "$scratch/snippets/$name" >"$scratch/$name.out" 2>&1 \
    || { cat "$scratch/$name.out" >&2; fail "snippet $name failed"; }
  cat "$scratch/$name.out"
  grep -q "$role" "$scratch/$name.out" || fail "snippet $name did not print user 1's role ($role)"
done
echo "readme_test: ok (${#snippets[@]} snippets)"
