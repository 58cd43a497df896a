#!/usr/bin/env bash
# The read mix through tutoring-server in three database set-ups, alternating
# in the same minutes on the same cores:
#   direct     the server on the primary alone
#   pgbouncer  the server through PgBouncer (transaction pooling) in front of
#              the primary, --database-pooler=transaction
#   replica    the server on the primary plus one streaming replica
#              (--database-replica-url): reads go to the replica
# On one machine this measures overhead and routing, not capacity: the
# replica and PgBouncer take CPU from the same cores.
#
#   bench/scaleout.sh [--primary-port 55621] [--pooler-port 55622]
#       [--replica-port 55623] [--users 100000] [--seconds 15] [--rounds 3]
#       [--configs "direct pgbouncer replica"]
#
# Creates (first time) private clusters with scripts/pg: instance
# bench-primary (wal_level replica), bench-replica (pg_basebackup -R) and
# bench-pgbouncer; the database tutoring_bench is seeded on the primary with
# tutoring-seed --seed=1. Prints per config and round the calls/s, errors
# and the server's CPU per call, then medians, and for the replica runs how
# many of GetUserRole's executions each server recorded
# (pg_stat_statements) to show where the reads went.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
primary_port=55621
pooler_port=55622
replica_port=55623
users=100000
seconds=15
rounds=3
configs="direct pgbouncer replica"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --primary-port) primary_port="$2"; shift 2 ;;
    --pooler-port) pooler_port="$2"; shift 2 ;;
    --replica-port) replica_port="$2"; shift 2 ;;
    --users) users="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --configs) configs="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scaleout: unknown argument $1" >&2; exit 64 ;;
  esac
done

work="$(mktemp -d)"
bench_db="tutoring_bench"
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
trap 'stop_server; rm -rf "$work"' EXIT
require_binaries

pg="$repo/scripts/pg"
admin_url="$("$pg" --instance bench-primary --port "$primary_port" primary | tail -n 1)"
ensure_bench_db
"${psql[@]}" "$(bench_url)" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
replica_admin="$("$pg" --instance bench-replica --port "$replica_port" replica --from-port "$primary_port" | tail -n 1)"
"$pg" --instance bench-pgbouncer --port "$pooler_port" pgbouncer --to-port "$primary_port" >/dev/null
primary_db="$(bench_url)"
replica_db="${replica_admin%/*}/$bench_db"
pooler_db="postgresql://tutoring@127.0.0.1:$pooler_port/$bench_db"

# The replica has replayed everything the primary wrote.
target_lsn="$("${psql[@]}" -At "$primary_db" -c "SELECT pg_current_wal_lsn()")"
for _ in $(seq 600); do
  [[ "$("${psql[@]}" -At "$replica_db" -c "SELECT pg_last_wal_replay_lsn() >= '$target_lsn'")" == t ]] && break
  sleep 0.1
done

mix_spec="GetStreak:5,GetUserRole:3,ListExercises:1,ListActiveUsers:1,ListUsersByRole:1,BatchGetStreaks:1"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
user_role_executions() {  # url -> GetUserRole executions recorded
  "${psql[@]}" -At "$1" -c "SELECT COALESCE(sum(calls), 0) FROM pg_stat_statements
    WHERE query LIKE '%is_active FROM users WHERE id = \$1%' OR query LIKE '%AS k(id, ord)%JOIN users%'"
}

config_flags() {  # config -> server flags
  case "$1" in
    direct) echo "--database-url=$primary_db" ;;
    pgbouncer) echo "--database-url=$pooler_db --database-pooler=transaction" ;;
    replica) echo "--database-url=$primary_db --database-replica-url=$replica_db" ;;
    *) echo "scaleout: unknown config $1" >&2; exit 64 ;;
  esac
}

run() {  # config -> sets rate, errors, cpu_us
  # shellcheck disable=SC2046
  start_server $(config_flags "$1")
  "$bench_bin" --target="127.0.0.1:$server_port" --mix="$mix_spec" --users="$users" \
    --concurrency=32 --connections=2 --duration=2s --json >/dev/null  # warm-up
  local before after json total
  before="$(cpu_ticks "$server_pid")"
  "$bench_bin" --target="127.0.0.1:$server_port" --mix="$mix_spec" --users="$users" \
    --concurrency=32 --connections=2 --duration="${seconds}s" --json >"$work/bench.json"
  after="$(cpu_ticks "$server_pid")"
  stop_server
  json="$(cat "$work/bench.json")"
  total="$(grep -o '"total": [0-9]*' <<<"$json" | head -n 1 | sed 's/.*: //')"
  rate="$(grep -o '"qps": [0-9.]*' <<<"$json" | head -n 1 | sed 's/.*: //')"
  errors="$(grep -o '"errors": [0-9]*' <<<"$json" | head -n 1 | sed 's/.*: //')"
  cpu_us="$(awk -v t="$((after - before))" -v n="$total" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "database $bench_db ($users users); ${seconds}s runs after 2s warm-up; $rounds rounds; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%M:%SZ); commit $(git -C "$repo" rev-parse --short HEAD)"
echo "tutoring-bench --mix=$mix_spec --concurrency=32 --connections=2 --users=$users"
printf '%-10s %5s %10s %7s %12s %16s %16s\n' config round calls/s errors cpu-us/call primary-userrole replica-userrole
declare -A rates cpus
for round in $(seq "$rounds"); do
  for config in $configs; do
    p0="$(user_role_executions "$primary_db")"
    r0="$(user_role_executions "$replica_db")"
    run "$config"
    p1="$(user_role_executions "$primary_db")"
    r1="$(user_role_executions "$replica_db")"
    printf '%-10s %5s %10.0f %7s %12s %16s %16s\n' "$config" "$round" "$rate" "$errors" "$cpu_us" \
      "$((p1 - p0))" "$((r1 - r0))"
    rates[$config]+="$rate "
    cpus[$config]+="$cpu_us "
  done
done
echo
printf '%-10s %10s %12s %14s\n' config calls/s cpu-us/call vs-direct
direct_median="$(median <<<"${rates[direct]:-}")"
for config in $configs; do
  m="$(median <<<"${rates[$config]}")"
  ratio="-"
  [[ -n "$direct_median" && "$direct_median" != 0 ]] && ratio="$(awk -v a="$m" -v b="$direct_median" 'BEGIN { printf "%.2f", a / b }')"
  printf '%-10s %10.0f %12s %14s\n' "$config" "$m" "$(median <<<"${cpus[$config]}")" "$ratio"
done
