#!/usr/bin/env bash
# Is tutoring-bench the bottleneck? Drives grpc.health.v1.Health/Check on one
# tutoring-server with h2load (nghttp2-client) and with tutoring-bench, back
# to back, alternating, at matched settings (same connections, same calls in
# flight, same number of calls), and prints both rates and their ratio.
#
#   bench/health_vs_h2load.sh [--target HOST:PORT] [--rounds N] [--calls N]
#                             [--settings "CxM ..."] [--with-grpc-client]
#                             [--pin]
#
# Without --target it starts build/server/tutoring-server on a free port
# (database from DATABASE_URL if set; Check answers from the cached health
# status either way). Each setting CxM means C connections with M streams
# each: h2load -c C -m M, tutoring-bench --connections=C --concurrency=C*M.
# Both use one thread. Default: --rounds 3 --calls 200000
# --settings "2x32 2x64 4x32 4x64". --with-grpc-client adds a third contender,
# build/bench/grpc-core-health-bench (gRPC's own client, core API) at the same
# settings. The CPU columns are each client's user + system time per call and
# the share of one core it used meanwhile. --pin (only when the script starts
# the server) confines the server to CPU 0 and the clients to CPU 1, so a
# client's core use shows its headroom.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
bench_bin="$build/bench/loadgen/tutoring-bench"
server_bin="$build/server/tutoring-server"
target=""
rounds=3
calls=200000
settings="2x32 2x64 4x32 4x64"
with_grpc=""
pin=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) target="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --calls) calls="$2"; shift 2 ;;
    --settings) settings="$2"; shift 2 ;;
    --with-grpc-client) with_grpc=1; shift ;;
    --pin) pin=1; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "health_vs_h2load: unknown argument $1" >&2; exit 64 ;;
  esac
done
command -v h2load >/dev/null || { echo "h2load missing: apt-get install nghttp2-client (scripts/setup)" >&2; exit 1; }
grpc_bin="$build/bench/grpc-core-health-bench"
[[ -x "$bench_bin" ]] || { echo "$bench_bin missing: build first" >&2; exit 1; }
[[ -z "$with_grpc" || -x "$grpc_bin" ]] || { echo "$grpc_bin missing: build first" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

server_cpu=()
client_cpu=()
if [[ -n "$pin" ]]; then
  [[ -z "$target" ]] || { echo "health_vs_h2load: --pin needs the script to start the server (no --target)" >&2; exit 64; }
  server_cpu=(taskset -c 0)
  client_cpu=(taskset -c 1)
fi

if [[ -z "$target" ]]; then
  [[ -x "$server_bin" ]] || { echo "$server_bin missing: build first" >&2; exit 1; }
  "${server_cpu[@]}" "$server_bin" --listen=127.0.0.1:0 --database-url="${DATABASE_URL:-postgresql://nobody@127.0.0.1:1/none}" \
    2>"$work/server.log" &
  server_pid=$!
  port=""
  for _ in $(seq 100); do
    port="$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/server.log" | head -n 1)"
    [[ -n "$port" ]] && break
    sleep 0.1
  done
  [[ -n "$port" ]] || { cat "$work/server.log" >&2; echo "server did not start" >&2; exit 1; }
  target="127.0.0.1:$port"
fi

# grpc.health.v1.HealthCheckRequest{service: ""} is empty: the gRPC frame is
# a zero flag byte and a zero 4-byte length.
printf '\x00\x00\x00\x00\x00' >"$work/check.grpc"
url="http://$target/grpc.health.v1.Health/Check"

# Each run leaves its rate in $rate, and in $cpu the CPU time it used per
# call (user + system, microseconds) and the share of a core that was.
TIMEFORMAT='%U %S %R'
cpu_per_call() {  # time-file -> "us/call core%"
  awk -v n="$calls" '{ printf "%.1f/%.0f%%", ($1 + $2) * 1e6 / n, ($1 + $2) * 100 / $3 }' "$1"
}

run_h2load() {  # connections streams
  { time "${client_cpu[@]}" h2load -n "$calls" -c "$1" -m "$2" -t 1 -d "$work/check.grpc" \
      -H 'content-type: application/grpc' -H 'te: trailers' "$url" >"$work/out" ; } 2>"$work/time"
  grep -q "requests: $calls total, $calls started, $calls done, $calls succeeded" "$work/out" \
    || { echo "h2load did not succeed on every call:" >&2; cat "$work/out" >&2; exit 1; }
  rate="$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$work/out")"
  cpu="$(cpu_per_call "$work/time")"
}

# --timeout=0: no grpc-timeout header, as h2load sends none (a deadline costs
# the server a timer per call).
run_bench() {  # connections streams
  { time "${client_cpu[@]}" "$bench_bin" --target="$target" --call=grpc.health.v1.Health/Check \
      --connections="$1" --concurrency=$(($1 * $2)) --threads=1 --total="$calls" \
      --timeout=0 --json >"$work/out" ; } 2>"$work/time"
  grep -q '"errors": 0,' "$work/out" || { echo "tutoring-bench saw errors:" >&2; cat "$work/out" >&2; exit 1; }
  rate="$(sed -n 's/.*"qps": \([0-9.]*\).*/\1/p' "$work/out")"
  cpu="$(cpu_per_call "$work/time")"
}

run_grpc() {  # connections streams
  { time "${client_cpu[@]}" "$grpc_bin" --target="$target" --connections="$1" --concurrency=$(($1 * $2)) \
      --total="$calls" >"$work/out" ; } 2>"$work/time"
  grep -q " errors 0 " "$work/out" || { echo "grpc-core-health-bench saw errors:" >&2; cat "$work/out" >&2; exit 1; }
  rate="$(sed -n 's/.* qps \([0-9.]*\).*/\1/p' "$work/out")"
  cpu="$(cpu_per_call "$work/time")"
}

echo "target $target; $calls calls per run; $rounds rounds; $(nproc) cores${pin:+; server on CPU 0, clients on CPU 1}; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "cpu columns: client CPU time per call in microseconds / share of one core used"
printf '%-8s %5s %11s %11s %6s %13s %13s' setting round h2load/s bench/s ratio h2load-cpu bench-cpu
[[ -n "$with_grpc" ]] && printf ' %11s %13s' grpc/s grpc-cpu
echo
declare -A ratios h2load_rates bench_rates grpc_rates
for round in $(seq "$rounds"); do
  for s in $settings; do
    c="${s%x*}"; m="${s#*x}"
    # Alternate which tool goes first, so neither always gets the quieter
    # moment.
    if ((round % 2)); then
      run_h2load "$c" "$m"; h="$rate"; hc="$cpu"; run_bench "$c" "$m"; b="$rate"; bc="$cpu"
    else
      run_bench "$c" "$m"; b="$rate"; bc="$cpu"; run_h2load "$c" "$m"; h="$rate"; hc="$cpu"
    fi
    ratio="$(awk -v b="$b" -v h="$h" 'BEGIN { printf "%.2f", b / h }')"
    printf '%-8s %5s %11.0f %11.0f %6s %13s %13s' "$s" "$round" "$h" "$b" "$ratio" "$hc" "$bc"
    if [[ -n "$with_grpc" ]]; then
      run_grpc "$c" "$m"
      printf ' %11.0f %13s' "$rate" "$cpu"
      grpc_rates[$s]+="$rate "
    fi
    echo
    ratios[$s]+="$ratio "; h2load_rates[$s]+="$h "; bench_rates[$s]+="$b "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
printf '%-8s %16s %16s %13s' setting median-h2load/s median-bench/s median-ratio
[[ -n "$with_grpc" ]] && printf ' %14s' median-grpc/s
echo
for s in $settings; do
  printf '%-8s %16.0f %16.0f %13.2f' "$s" "$(median <<<"${h2load_rates[$s]}")" \
    "$(median <<<"${bench_rates[$s]}")" "$(median <<<"${ratios[$s]}")"
  [[ -n "$with_grpc" ]] && printf ' %14.0f' "$(median <<<"${grpc_rates[$s]}")"
  echo
done
