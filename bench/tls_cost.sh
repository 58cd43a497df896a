#!/usr/bin/env bash
# What TLS, mTLS and per-call authorization cost in throughput: the same
# tutoring-server build, started in turn as plaintext, TLS, mTLS, and mTLS
# with the example authz policy and a bearer token on every call, each
# driven by tutoring-bench with the same settings, rounds alternating so
# that drift of a shared machine spreads over all modes. Prints one line
# per run and a summary of median QPS per mode relative to plaintext.
#
#   bench/tls_cost.sh [--admin-url DSN] [--database NAME] [--users N]
#                     [--rounds N] [--call RPC] [-- tutoring-bench flags]
#
# Defaults: --rounds 3, --call GetUserRole, users 10000 in database
# tutoring_bench (created and seeded once, kept), tutoring-bench
# --concurrency=32 --connections=2 --warmup=1s --duration=5s. Connections
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
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
             --warmup=1s --duration=5s "$@")
modes=(plaintext tls mtls mtls+authz+token)

server_flags_for() {
  case "$1" in
    plaintext) ;;
    tls) echo "--tls-cert=$pki/server.pem --tls-key=$pki/server.key" ;;
    mtls) echo "--tls-cert=$pki/server.pem --tls-key=$pki/server.key --tls-client-ca=$pki/ca.pem" ;;
    mtls+authz+token) echo "--tls-cert=$pki/server.pem --tls-key=$pki/server.key --tls-client-ca=$pki/ca.pem --authz-policy=$repo/docs/examples/authz_policy.json --token-file=$pki/tokens" ;;
  esac
}

client_flags_for() {
  case "$1" in
    plaintext) ;;
    tls) echo "--tls-ca=$pki/ca.pem" ;;
    mtls) echo "--tls-ca=$pki/ca.pem --tls-cert=$pki/dashboard.pem --tls-key=$pki/dashboard.key" ;;
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
    # shellcheck disable=SC2046
    report="$("$bench_bin" --target="127.0.0.1:$server_port" "${bench_flags[@]}" \
      $(client_flags_for "$mode"))"
    stop_server
    qps="$(sed -n 's/^ *QPS: *//p' <<<"$report")"
    errors="$(sed -n 's/^ *Errors: *//p' <<<"$report")"
    p50="$(sed -n 's/^ *p50 *//p' <<<"$report")"
    p99="$(sed -n 's/^ *p99 *//p' <<<"$report" | head -n 1)"
    printf 'round %d  %-18s qps %9s  p50 %7s ms  p99 %7s ms  errors %s\n' \
      "$round" "$mode" "$qps" "$p50" "$p99" "$errors"
    echo "$mode $qps" >>"$work/results"
  done
done

echo "median QPS per mode (relative to plaintext):"
base=""
for mode in "${modes[@]}"; do
  median="$(awk -v m="$mode" '$1 == m { print $2 }' "$work/results" | sort -n |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
  [[ -n "$base" ]] || base="$median"
  awk -v m="$mode" -v q="$median" -v b="$base" \
    'BEGIN { printf "  %-18s %9.1f  %.3f\n", m, q, q / b }'
done
