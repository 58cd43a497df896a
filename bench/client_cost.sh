#!/usr/bin/env bash
# What each client costs per call: GetUserRole in a closed loop (random ids,
# a fixed number of calls in flight) through the Python asyncio client, the
# Python blocking client, the Node client and the C++ tutoring::Client, one
# after another against the same tutoring-server, in the same minutes,
# alternating for --rounds rounds. Each loop reports calls/s and its own
# process's CPU time per call (user + system: getrusage / process.cpuUsage,
# the gRPC core's threads included); the server's CPU per call is read from
# /proc around each run. Prints every run, then medians with the ratio to C++.
#
#   bench/client_cost.sh [--admin-url DSN] [--users N] [--database NAME]
#       [--seconds S] [--concurrency N] [--rounds N]
#
# Defaults: database tutoring_10k (10,000 users, seeded once with
# tutoring-seed --seed=1 and kept), 8 s per run, 16 calls in flight, 3
# rounds. Needs the default build (the wheel, client-cost-cpp with
# -DTUTORING_BUILD_BENCH=ON) and client/node built (npm run build).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
admin_url="${DATABASE_URL:-}"
bench_db="tutoring_10k"
users=10000
seconds=8
concurrency=16
rounds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --admin-url) admin_url="$2"; shift 2 ;;
    --database) bench_db="$2"; shift 2 ;;
    --users) users="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "client_cost: unknown argument $1" >&2; exit 64 ;;
  esac
done
[[ -n "$admin_url" ]] || { echo "client_cost: give --admin-url or set DATABASE_URL" >&2; exit 64; }

work="$(mktemp -d)"
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
trap 'stop_server; rm -rf "$work"' EXIT
cpp_bin="$build/bench/client-cost-cpp"
wheel="$(ls "$build"/client/python/dist/tutoring_client-*-py3-none-any.whl 2>/dev/null | head -n 1)"
require_binaries
[[ -x "$cpp_bin" ]] || { echo "$cpp_bin missing: build with -DTUTORING_BUILD_BENCH=ON" >&2; exit 1; }
[[ -n "$wheel" ]] || { echo "no tutoring_client wheel under $build/client/python/dist: build first" >&2; exit 1; }
[[ -f "$repo/client/node/dist/index.js" ]] || { echo "client/node not built: (cd client/node && npm ci && npm run build)" >&2; exit 1; }

python=/usr/bin/python3
[[ -x "$python" ]] || python="$(command -v python3)"
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install --no-index --quiet "$wheel"
mkdir -p "$work/node/node_modules/@tutoring"
ln -s "$repo/client/node" "$work/node/node_modules/@tutoring/client"
cp "$repo/bench/client_cost/node_loop.mjs" "$work/node/"

ensure_bench_db
start_server
target="127.0.0.1:$server_port"
ticks="$(getconf CLK_TCK)"
server_cpu() { awk -v t="$ticks" '{ print ($14 + $15) / t }' "/proc/$server_pid/stat"; }

run_client() {
  case "$1" in
    python-aio) "$work/venv/bin/python" "$repo/bench/client_cost/py_loop.py" aio "$target" "$seconds" "$concurrency" "$users" ;;
    python-blocking) "$work/venv/bin/python" "$repo/bench/client_cost/py_loop.py" blocking "$target" "$seconds" "$concurrency" "$users" ;;
    node) (cd "$work/node" && node node_loop.mjs "$target" "$seconds" "$concurrency" "$users") ;;
    cpp) "$cpp_bin" "$target" "$seconds" "$concurrency" "$users" ;;
  esac
}

echo "client_cost: GetUserRole, $concurrency in flight, ${seconds}s per run, $rounds rounds, $users users; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
results="$work/results"
: >"$results"
for round in $(seq "$rounds"); do
  for client in python-aio python-blocking node cpp; do
    before="$(server_cpu)"
    line="$(run_client "$client")"
    after="$(server_cpu)"
    line="$(echo "$line" | "$python" -c '
import json, sys
r = json.loads(sys.stdin.read())
r["round"] = int(sys.argv[1])
r["server_cpu_us_per_call"] = round((float(sys.argv[3]) - float(sys.argv[2])) * 1e6 / r["calls"], 2) if r["calls"] else 0
print(json.dumps(r))' "$round" "$before" "$after")"
    echo "$line" | tee -a "$results"
  done
done
echo "client_cost: load average after $(cut -d' ' -f1-3 /proc/loadavg)"
"$python" - "$results" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = ["python-aio", "python-blocking", "node", "cpp"]
med = {n: {k: statistics.median(r[k] for r in runs if r["client"] == n)
           for k in ("calls_per_s", "cpu_us_per_call", "server_cpu_us_per_call", "errors")} for n in names}
cpp = med["cpp"]
print(f"{'client':<16}{'calls/s':>10}{'client CPU us/call':>20}{'x C++':>8}{'server CPU us/call':>20}{'errors':>8}")
for n in names:
    m = med[n]
    print(f"{n:<16}{m['calls_per_s']:>10.0f}{m['cpu_us_per_call']:>20.1f}"
          f"{m['cpu_us_per_call'] / cpp['cpu_us_per_call']:>8.2f}{m['server_cpu_us_per_call']:>20.1f}{m['errors']:>8.0f}")
PY
