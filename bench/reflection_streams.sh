#!/usr/bin/env bash
# What idle server reflection streams cost tutoring-server: starts the server,
# reads its threads and RSS (/proc/PID/status), opens N reflection streams
# (half grpc.reflection.v1, half v1alpha, over C connections; each sends
# list_services, gets its answer and stays open; client:
# bench/reflection_streams.js on @grpc/grpc-js), reads them again, closes
# every stream (half-close, each must end OK), reads them a third time, and
# checks the server still answers.
#
#   bench/reflection_streams.sh [--streams N] [--connections C] [--rounds R]
#                               [--server PATH] [--database-url URL]
#
# --rounds repeats the open/close on the same server (memory that is not
# given back would grow round by round). Default: --streams 4000
# --connections 8 --rounds 1, the built
# build/server/tutoring-server, DATABASE_URL from the environment (reflection
# needs no database: an unreachable one only keeps health NOT_SERVING).
# Needs scripts/setup's npm packages (tests/interop/node_modules).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
server_bin="$build/server/tutoring-server"
streams=4000
connections=8
rounds=1
database_url="${DATABASE_URL:-postgresql://nobody@127.0.0.1:1/none}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --streams) streams="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --server) server_bin="$2"; shift 2 ;;
    --database-url) database_url="$2"; shift 2 ;;
    *) echo "reflection_streams: unknown argument $1" >&2; exit 64 ;;
  esac
done
[[ -x "$server_bin" ]] || { echo "$server_bin missing: build first" >&2; exit 1; }
modules="$repo/tests/interop/node_modules"
[[ -d "$modules/@grpc/grpc-js" ]] || { echo "npm packages missing: run scripts/setup" >&2; exit 1; }
proto_dir=/usr/share/grpc-proto

work="$(mktemp -d)"
server_pid=""
client_pid=""
cleanup() {
  [[ -n "$client_pid" ]] && kill "$client_pid" 2>/dev/null || true
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$server_bin" --listen=127.0.0.1:0 --admin-listen=127.0.0.1:0 \
  --access-log-sample=0 --database-url="$database_url" 2>"$work/server.log" &
server_pid=$!
port=""
for _ in $(seq 300); do
  port="$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/server.log" | head -n 1)"
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || { echo "server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }

# "THREADS RSS_MB" of the server.
usage() {
  awk '/^Threads:/ {t = $2} /^VmRSS:/ {r = $2} END {printf "%d %.1f", t, r / 1024}' \
    "/proc/$server_pid/status"
}
# Waits (up to 120 s) for a line matching $1 in the client's output.
await_client() {
  for _ in $(seq 1200); do
    grep -q "$1" "$work/client.out" && return 0
    kill -0 "$client_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "client: no \"$1\"" >&2
  cat "$work/client.out" "$work/client.err" >&2
  exit 1
}
# Runs the client with $1 streams, stdin from a FIFO (fd 3); sets $client_pid.
start_client() {
  rm -f "$work/in"
  mkfifo "$work/in"
  NODE_PATH="$modules" node "$repo/bench/reflection_streams.js" "127.0.0.1:$port" \
    "$1" "$connections" "$proto_dir" <"$work/in" >"$work/client.out" 2>"$work/client.err" &
  client_pid=$!
  exec 3>"$work/in"
}
# Tells the client to close its streams and waits until it has.
close_client() {
  echo >&3
  await_client "^closed"
  exec 3>&-
  wait "$client_pid"
  client_pid=""
}

# Warm-up: one stream of each version, so lazily started threads count in
# the baseline.
start_client 2
await_client "^answered 2 of 2"
close_client
sleep 1
read -r threads_before rss_before <<<"$(usage)"

echo "server: $server_bin; $streams idle reflection streams per round over $connections connections"
printf '%-22s %8s %8s\n' "" threads "RSS MB"
printf '%-22s %8s %8s\n' "before" "$threads_before" "$rss_before"
: >"$work/streams.out"
for round in $(seq "$rounds"); do
  start_client "$streams"
  await_client "^answered"
  sleep 1
  read -r threads rss <<<"$(usage)"
  printf '%-22s %8s %8s\n' "round $round: open" "$threads" "$rss"
  close_client
  sleep 2
  read -r threads rss <<<"$(usage)"
  printf '%-22s %8s %8s\n' "round $round: closed" "$threads" "$rss"
  sed "s/^/client (round $round): /" "$work/client.out" >>"$work/streams.out"
done
cat "$work/streams.out"

# Still answering: one more stream of each version.
start_client 2
await_client "^answered 2 of 2"
close_client
echo "server still answers reflection"
