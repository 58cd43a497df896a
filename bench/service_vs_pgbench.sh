#!/usr/bin/env bash
# How close does the service come to PostgreSQL alone? GetUserRole through
# tutoring-server (driven by tutoring-bench) against the very statement the
# repository runs (SELECT role::text, is_active FROM users WHERE id = $1,
# prepared, autocommit) driven by pgbench, same database, same number of
# database connections, same random ids; alternating, in one run. Prints
# both rates and the ratio service / pgbench.
#
#   bench/service_vs_pgbench.sh [--admin-url DSN] [--database NAME]
#       [--users N] [--pools "4 8"] [--concurrency N] [--seconds S]
#       [--rounds N]
#
# For each pool size P: pgbench -c P -j 1 -M prepared, and tutoring-server
# with --database-pool-size=P --database-max-overflow=0 under tutoring-bench
# --concurrency (default 64, enough to keep P connections busy).
# Defaults: users 10000, pools "4 8", seconds 10, rounds 3; --admin-url
# defaults to $DATABASE_URL.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
admin_url="${DATABASE_URL:-}"
bench_db="tutoring_bench"
users=10000
pools="4 8"
concurrency=64
seconds=10
rounds=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --admin-url) admin_url="$2"; shift 2 ;;
    --database) bench_db="$2"; shift 2 ;;
    --users) users="$2"; shift 2 ;;
    --pools) pools="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "service_vs_pgbench: unknown argument $1" >&2; exit 64 ;;
  esac
done
[[ -n "$admin_url" ]] || { echo "service_vs_pgbench: give --admin-url or set DATABASE_URL" >&2; exit 64; }

work="$(mktemp -d)"
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
trap 'stop_server; rm -rf "$work"' EXIT
require_binaries
[[ -x "$pg_bindir/pgbench" ]] || { echo "$pg_bindir/pgbench missing (postgresql-15)" >&2; exit 1; }
ensure_bench_db

# The repository's statement (db/pg_repository.cc, kUserRoleSql).
cat >"$work/user_role.sql" <<SQL
\set id random(1, :users)
SELECT role::text, is_active FROM users WHERE id = :id;
SQL

run_pgbench() {  # pool -> rate
  "$pg_bindir/pgbench" -n -M prepared -c "$1" -j 1 -T "$seconds" -D users="$users" \
    -f "$work/user_role.sql" "$(bench_url)" 2>&1 \
    | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}

run_service() {  # pool -> rate
  start_server --database-pool-size="$1" --database-max-overflow=0
  "$bench_bin" --target="127.0.0.1:$server_port" --call=GetUserRole --users="$users" \
    --concurrency="$concurrency" --connections=2 --warmup=1s --duration="${seconds}s" --json \
    >"$work/bench.json"
  stop_server
  grep -q '"errors": 0,' "$work/bench.json" || { echo "tutoring-bench saw errors:" >&2; cat "$work/bench.json" >&2; exit 1; }
  sed -n 's/.*"qps": \([0-9.]*\).*/\1/p' "$work/bench.json"
}

echo "database $bench_db ($users users); ${seconds}s per run; $rounds rounds; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "pgbench -n -M prepared -c P -j 1 -T $seconds -D users=$users -f user_role.sql"
echo "tutoring-server --database-pool-size=P --database-max-overflow=0; tutoring-bench --call=GetUserRole --users=$users --concurrency=$concurrency --connections=2 --warmup=1s --duration=${seconds}s"
printf '%-6s %5s %12s %12s %7s\n' pool round pgbench/s service/s ratio
declare -A ratios pg_rates svc_rates
for round in $(seq "$rounds"); do
  for p in $pools; do
    if ((round % 2)); then
      pg="$(run_pgbench "$p")"; svc="$(run_service "$p")"
    else
      svc="$(run_service "$p")"; pg="$(run_pgbench "$p")"
    fi
    ratio="$(awk -v s="$svc" -v p="$pg" 'BEGIN { printf "%.2f", s / p }')"
    printf '%-6s %5s %12.0f %12.0f %7s\n' "$p" "$round" "$pg" "$svc" "$ratio"
    ratios[$p]+="$ratio "; pg_rates[$p]+="$pg "; svc_rates[$p]+="$svc "
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo
printf '%-6s %17s %17s %13s\n' pool median-pgbench/s median-service/s median-ratio
for p in $pools; do
  printf '%-6s %17.0f %17.0f %13.2f\n' "$p" "$(median <<<"${pg_rates[$p]}")" \
    "$(median <<<"${svc_rates[$p]}")" "$(median <<<"${ratios[$p]}")"
done
