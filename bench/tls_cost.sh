#!/usr/bin/env bash
# What TLS, mTLS and per-call authorization cost in throughput: the same
# tutoring-server build, started in turn as plaintext, TLS, mTLS, mTLS with
# the example authz policy (calls allowed by the client certificate), and
# that with a bearer token on every call (allowed by the token), each
# driven by tutoring-bench with the same settings, rounds alternating so
# that drift of a shared machine spreads over all modes. Prints one line
# per run (QPS, latency, and the server's CPU time per call, user + system
# from /proc, which a busy shared machine disturbs less than QPS) and a
# summary per mode: medians, and the median of each round's ratio to that
# round's plaintext run.
#
#   bench/tls_cost.sh [--admin-url DSN] [--database NAME] [--users N]
#                     [--rounds N] [--call RPC] [-- tutoring-bench flags]
#
# Defaults: --rounds 3, --call GetUserRole, users 10000 in database
# tutoring_bench (created and seeded once, kept), tutoring-bench
# --concurrency=32 --connections=2 --duration=5s (no warmup, so that the
# server's CPU time covers exactly the calls counted). Connections
# are long-lived, so this measures the per-call cost (record encryption,
# the authorization check), not handshakes. Certificates are made for the
# run by tests/security/make_test_certs.sh and deleted after it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
admin_url="${DATABASE_URL:-}"
bench_db="tutoring_bench"
users=10000
rounds=3
call="GetUserRole"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --admin-url) admin_url="$2"; shift 2 ;;
    --database) bench_db="$2"; shift 2 ;;
    --users) users="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --call) call="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tls_cost: unknown argument $1" >&2; exit 64 ;;
  esac
done
[[ -n "$admin_url" ]] || { echo "tls_cost: give --admin-url or set DATABASE_URL" >&2; exit 64; }

work="$(mktemp -d)"
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
trap 'stop_server; rm -rf "$work"' EXIT
require_binaries
ensure_bench_db
"$repo/tests/security/make_test_certs.sh" "$work/pki"
pki="$work/pki"
grep '^dashboard\.' "$pki/tokens" >"$work/token"

bench_flags=(--call="$call" --users="$users" --concurrency=32 --connections=2
             --duration=5s "$@")
ticks_per_second="$(getconf CLK_TCK)"

# user + system CPU ticks of the server so far.
server_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
modes=(plaintext tls mtls mtls+authz mtls+authz+token)

server_flags_for() {
  case "$1" in
    plaintext) ;;
    tls) echo "--tls-cert=$pki/server.pem --tls-key=$pki/server.key" ;;
    mtls) echo "--tls-cert=$pki/server.pem --tls-key=$pki/server.key --tls-client-ca=$pki/ca.pem" ;;
    mtls+authz) echo "--tls-cert=$pki/server.pem --tls-key=$pki/server.key --tls-client-ca=$pki/ca.pem --authz-policy=$repo/docs/examples/authz_policy.json" ;;
    mtls+authz+token) echo "--tls-cert=$pki/server.pem --tls-key=$pki/server.key --tls-client-ca=$pki/ca.pem --authz-policy=$repo/docs/examples/authz_policy.json --token-file=$pki/tokens" ;;
  esac
}

client_flags_for() {
  case "$1" in
    plaintext) ;;
    tls) echo "--tls-ca=$pki/ca.pem" ;;
    mtls|mtls+authz) echo "--tls-ca=$pki/ca.pem --tls-cert=$pki/dashboard.pem --tls-key=$pki/dashboard.key" ;;
    # The exercise generator's certificate, the dashboard's token: the call
    # is allowed by the token rule, after both checks ran.
    mtls+authz+token) echo "--tls-ca=$pki/ca.pem --tls-cert=$pki/exercise-generator.pem --tls-key=$pki/exercise-generator.key --token-file=$work/token" ;;
  esac
}

echo "tutoring-bench ${bench_flags[*]}"
for round in $(seq "$rounds"); do
  for mode in "${modes[@]}"; do
    # shellcheck disable=SC2046
    start_server $(server_flags_for "$mode")
    before="$(server_ticks)"
    # shellcheck disable=SC2046
    report="$("$bench_bin" --target="127.0.0.1:$server_port" "${bench_flags[@]}" \
      $(client_flags_for "$mode"))"
    after="$(server_ticks)"
    stop_server
    calls="$(sed -n 's/^ *Total: *\([0-9]*\) calls.*/\1/p' <<<"$report")"
    cpu_us="$(awk -v t=$((after - before)) -v hz="$ticks_per_second" -v n="$calls" \
      'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
    qps="$(sed -n 's/^ *QPS: *//p' <<<"$report")"
    errors="$(sed -n 's/^ *Errors: *//p' <<<"$report")"
    p50="$(sed -n 's/^ *p50 *//p' <<<"$report")"
    p99="$(sed -n 's/^ *p99 *//p' <<<"$report" | head -n 1)"
    printf 'round %d  %-18s qps %9s  p50 %7s ms  p99 %7s ms  server cpu %6s us/call  errors %s\n' \
      "$round" "$mode" "$qps" "$p50" "$p99" "$cpu_us" "$errors"
    echo "$round $mode $qps $cpu_us" >>"$work/results"
  done
done

# Per mode: median QPS, median server CPU per call, and the medians of the
# per-round ratios to plaintext (QPS ratio, CPU-per-call ratio).
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "per mode: median QPS, median server CPU us/call; median per-round ratio to plaintext of each"
for mode in "${modes[@]}"; do
  qps="$(awk -v m="$mode" '$2 == m { print $3 }' "$work/results" | median)"
  cpu="$(awk -v m="$mode" '$2 == m { print $4 }' "$work/results" | median)"
  qps_ratio="$(awk -v m="$mode" '$2 == "plaintext" { q[$1] = $3 } $2 == m { r[$1] = $3 }
    END { for (k in r) print r[k] / q[k] }' "$work/results" | median)"
  cpu_ratio="$(awk -v m="$mode" '$2 == "plaintext" { c[$1] = $4 } $2 == m { r[$1] = $4 }
    END { for (k in r) print r[k] / c[k] }' "$work/results" | median)"
  printf '  %-18s qps %9.1f (x%.3f)   cpu %7.1f us/call (x%.3f)\n' \
    "$mode" "$qps" "$qps_ratio" "$cpu" "$cpu_ratio"
done
