#!/usr/bin/env bash
# What a server option costs in throughput: runs the same tutoring-bench load
# against tutoring-server started with each variant's flags, alternating
# variants for --rounds rounds (the box is shared and noisy: compare
# variants within a round), and prints calls/s, p99 and the server's CPU per
# call for every run, then the median of each variant and its ratio to the
# first.
#
#   bench/option_cost.sh [--admin-url DSN] [--database NAME] [--users N]
#       [--rounds N] [--duration 10s]
#       --variant "name|server flags" --variant "name|server flags" ...
#       [-- tutoring-bench flags]
#
# Example (the access log's cost):
#   bench/option_cost.sh --admin-url "$(scripts/pg --instance test dsn)" \
#     --variant "no access log|--access-log-sample=0" \
#     --variant "access log, every call|--access-log-sample=1"
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
admin_url="${DATABASE_URL:-}"
bench_db="tutoring_bench"
users=10000
rounds=3
duration=10s
variants=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --admin-url) admin_url="$2"; shift 2 ;;
    --database) bench_db="$2"; shift 2 ;;
    --users) users="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --variant) variants+=("$2"); shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "option_cost: unknown argument $1" >&2; exit 64 ;;
  esac
done
[[ -n "$admin_url" ]] || { echo "option_cost: give --admin-url or set DATABASE_URL" >&2; exit 64; }
((${#variants[@]} >= 1)) || { echo "option_cost: give at least one --variant" >&2; exit 64; }

work="$(mktemp -d)"
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
trap 'stop_server; rm -rf "$work"' EXIT
require_binaries
ensure_bench_db

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}

echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) cores; $rounds rounds of $duration"
bench_flags=(--mix=GetStreak:5,GetUserRole:3,ListExercises:1,ListActiveUsers:1,ListUsersByRole:1,BatchGetStreaks:1
             --users="$users" --concurrency=32 --connections=2 --warmup=2s --duration="$duration" "$@")
echo "tutoring-bench ${bench_flags[*]}"
echo
declare -A results
for ((round = 1; round <= rounds; round++)); do
  for v in "${variants[@]}"; do
    name="${v%%|*}"
    flags="${v#*|}"
    # shellcheck disable=SC2086
    start_server $flags
    before="$(cpu_seconds "$server_pid")"
    report="$("$bench_bin" --target="127.0.0.1:$server_port" --json "${bench_flags[@]}")"
    after="$(cpu_seconds "$server_pid")"
    stop_server
    read -r qps p99 us_per_call errors < <(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
cpu = float(sys.argv[3]) - float(sys.argv[2])
# The server also worked through the warm-up: charge its CPU to every call
# of the run, warm-up included (the same share for every variant).
calls = r["total"] * (1 + float(sys.argv[4]) / r["elapsed_seconds"])
print("%.0f %.2f %.1f %d" % (r["qps"], r["latency_ms"]["p99"], cpu * 1e6 / calls, r["errors"]))
' "$report" "$before" "$after" 2)
    printf 'round %d  %-30s %7s calls/s  p99 %7s ms  server CPU %6s us/call  errors %s\n' \
      "$round" "$name" "$qps" "$p99" "$us_per_call" "$errors"
    results["$name"]+="$qps "
  done
done
echo
first=""
for v in "${variants[@]}"; do
  name="${v%%|*}"
  median="$(tr ' ' '\n' <<<"${results[$name]}" | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
  [[ -n "$first" ]] || first="$median"
  printf 'median %-28s %9s calls/s  ratio %.2f\n' "$name" "$median" \
    "$(awk -v m="$median" -v f="$first" 'BEGIN { print m / f }')"
done
