#!/usr/bin/env bash
# The benchmark that judges the service: each RPC, and the read mix, through
# tutoring-server (driven by tutoring-bench) against PostgreSQL alone running
# exactly the service's SQL with pgbench -M prepared, one statement per call
# (the single-statement ceiling), on the same database with the same number
# of database connections, alternating in the same minutes.
#
#   bench/vs_postgres.sh [--admin-url DSN] [--database NAME] [--users N]
#       [--connections N] [--concurrency N] [--seconds S] [--rounds N]
#       [--workloads "GetUserRole GetStreak ..."] [--open-loop-share 0.7]
#       [--server-flags "..."] [--no-open-loop] [--split-cores]
#
# Defaults: 1,000,000 users (database tutoring_1m, seeded once with
# tutoring-seed --seed=1 and kept), 8 database connections on each side,
# 64 calls in flight over 2 HTTP/2 connections, 15 s runs after 2 s of
# warm-up, 3 rounds, every workload. GetStreak asks America/New_York; the
# List calls ask first pages of 50 with the filters tutoring-bench draws.
#
# --split-cores pins PostgreSQL (the postmaster and every backend, which
# inherit it) to the first half of the cores and everything else (pgbench,
# tutoring-server, tutoring-bench) to the rest, for the shape of a database
# on a host of its own; it needs the cluster on this machine, and undoes the
# pinning at exit.
#
# Prints, per workload and round, both rates and their ratio, the server's
# CPU time per call (user + system from /proc, over the measured run) and
# its peak RSS; then medians; then, for the read mix, an open-loop run
# (tutoring-bench --rps) at --open-loop-share of the service's median peak
# with its p50/p99/p99.9 and errors.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
admin_url="${DATABASE_URL:-}"
bench_db="tutoring_1m"
users=1000000
connections=8
concurrency=64
seconds=15
rounds=3
workloads="GetUserRole GetStreak ListActiveUsers ListUsersByRole ListExercises mix"
open_loop_share=0.7
open_loop=1
server_flags=""
split_cores=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --admin-url) admin_url="$2"; shift 2 ;;
    --database) bench_db="$2"; shift 2 ;;
    --users) users="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --workloads) workloads="$2"; shift 2 ;;
    --open-loop-share) open_loop_share="$2"; shift 2 ;;
    --no-open-loop) open_loop=0; shift ;;
    --server-flags) server_flags="$2"; shift 2 ;;
    --split-cores) split_cores=1; shift ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "vs_postgres: unknown argument $1" >&2; exit 64 ;;
  esac
done
[[ -n "$admin_url" ]] || { echo "vs_postgres: give --admin-url or set DATABASE_URL" >&2; exit 64; }

work="$(mktemp -d)"
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
postmaster_pid=""
cores="$(nproc)"
all_cpus="0-$((cores - 1))"
# pin_postgres <cpu list>: the postmaster and its children, all threads.
pin_postgres() {
  local pid
  for pid in "$postmaster_pid" $(pgrep -P "$postmaster_pid"); do
    taskset -a -cp "$1" "$pid" >/dev/null 2>&1 || true
  done
}
cleanup() {
  stop_server
  if [[ -n "$postmaster_pid" ]]; then pin_postgres "$all_cpus"; fi
  rm -rf "$work"
}
trap cleanup EXIT
require_binaries
[[ -x "$pg_bindir/pgbench" ]] || { echo "$pg_bindir/pgbench missing (postgresql-15)" >&2; exit 1; }
ensure_bench_db
url="$(bench_url)"

if ((split_cores)); then
  ((cores >= 2)) || { echo "vs_postgres: --split-cores needs 2 cores or more" >&2; exit 1; }
  data_dir="$("${psql[@]}" -At "$url" -c "SHOW data_directory")"
  postmaster_pid="$(head -n 1 "$data_dir/postmaster.pid" 2>/dev/null)" ||
    { echo "vs_postgres: --split-cores needs the cluster's data directory ($data_dir) on this machine" >&2; exit 1; }
  db_cpus="0-$((cores / 2 - 1))"
  client_cpus="$((cores / 2))-$((cores - 1))"
  pin_postgres "$db_cpus"
  taskset -cp "$client_cpus" $$ >/dev/null  # every child inherits it
  echo "split cores: PostgreSQL on CPUs $db_cpus, pgbench / tutoring-server / tutoring-bench on CPUs $client_cpus"
fi

# Warm the caches once: every table and index read through.
"${psql[@]}" "$url" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" >/dev/null
"${psql[@]}" -At "$url" -c "
  SELECT sum(pg_prewarm(c.oid::regclass, 'read'))
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')" >/dev/null

# --- pgbench scripts: the repository's statements (db/pg_repository.cc),
# with pgbench's :variables where the service sends $n parameters. (pgbench
# asks for text results; the service asks for binary ones.) ---
user_cols="id, email, display_name, role, is_active, onboarding_completed, created_at"
exercise_cols="id, title, difficulty, programming_language, created_at"
roles=(student instructor admin)
difficulties=(easy medium hard)
languages=(python javascript typescript java c cpp csharp go rust ruby kotlin swift)
defines=(-D users="$users" -D zone=America/New_York -D after=0 -D limit=51
         -D asof="$(date -u '+%Y-%m-%d %H:%M:%S+00')")
for i in 0 1 2; do defines+=(-D "role$i=${roles[$i]}" -D "difficulty$i=${difficulties[$i]}"); done
for i in "${!languages[@]}"; do defines+=(-D "language$i=${languages[$i]}"); done

cat >"$work/GetUserRole.sql" <<SQL
\set id random(1, :users)
SELECT role, is_active FROM users WHERE id = :id::int8;
SQL

cat >"$work/GetStreak.sql" <<SQL
\set id random(1, :users)
SELECT EXISTS (SELECT 1 FROM users WHERE id = :id::int8), ((:asof::timestamptz AT TIME ZONE :zone::text)::date - DATE '1970-01-01'), (SELECT array_agg(DISTINCT ((ue.created_at AT TIME ZONE :zone::text)::date - DATE '1970-01-01')) FROM user_exercises ue WHERE ue.user_id = :id::int8 AND ue.status = 'completed' AND ue.created_at <= :asof::timestamptz);
SQL

{
  echo '\set r random(0, 3)'
  echo '\set pending random(0, 1)'
  echo '\if :r = 0'
  echo '\if :pending = 1'
  echo "SELECT $user_cols FROM users WHERE is_active AND NOT onboarding_completed AND id > :after ORDER BY id LIMIT :limit;"
  echo '\else'
  echo "SELECT $user_cols FROM users WHERE is_active AND id > :after ORDER BY id LIMIT :limit;"
  echo '\endif'
  for i in 0 1 2; do
    echo "\\elif :r = $((i + 1))"
    echo '\if :pending = 1'
    echo "SELECT $user_cols FROM users WHERE is_active AND NOT onboarding_completed AND role = :role$i::user_role AND id > :after ORDER BY id LIMIT :limit;"
    echo '\else'
    echo "SELECT $user_cols FROM users WHERE is_active AND role = :role$i::user_role AND id > :after ORDER BY id LIMIT :limit;"
    echo '\endif'
  done
  echo '\endif'
} >"$work/ListActiveUsers.sql"

{
  echo '\set r random(0, 2)'
  for i in 0 1 2; do
    if ((i == 0)); then echo '\if :r = 0'; else echo "\\elif :r = $i"; fi
    echo "SELECT $user_cols FROM users WHERE role = :role$i::user_role AND id > :after ORDER BY id LIMIT :limit;"
  done
  echo '\endif'
} >"$work/ListUsersByRole.sql"

{
  echo '\set d random(0, 2)'
  echo "\\set l random(0, $((${#languages[@]} - 1)))"
  for d in 0 1 2; do
    if ((d == 0)); then echo '\if :d = 0'; else echo "\\elif :d = $d"; fi
    for l in "${!languages[@]}"; do
      if ((l == 0)); then echo '\if :l = 0'; else echo "\\elif :l = $l"; fi
      echo "SELECT $exercise_cols FROM exercises WHERE difficulty = :difficulty$d::exercise_difficulty AND programming_language = :language$l AND id > :after ORDER BY id LIMIT :limit;"
    done
    echo '\endif'
  done
  echo '\endif'
} >"$work/ListExercises.sql"

mix_spec="GetStreak:5,GetUserRole:3,ListExercises:1,ListActiveUsers:1,ListUsersByRole:1"
pgbench_files() {  # workload -> pgbench -f arguments
  if [[ "$1" == mix ]]; then
    local part
    for part in ${mix_spec//,/ }; do
      echo "-f" "$work/${part%%:*}.sql@${part##*:}"
    done
  else
    echo "-f" "$work/$1.sql"
  fi
}

run_pgbench() {  # workload -> "rate"
  local files
  read -r -a files <<<"$(pgbench_files "$1")"
  "$pg_bindir/pgbench" -n -M prepared -c "$connections" -j 1 -T "$seconds" \
    "${defines[@]}" "${files[@]}" "$url" >"$work/pgbench.out" 2>&1 ||
    { cat "$work/pgbench.out" >&2; exit 1; }
  sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$work/pgbench.out"
}

cpu_ticks() {  # pid -> user + system clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

bench_call_args() {  # workload -> tutoring-bench arguments
  if [[ "$1" == mix ]]; then echo "--mix=$mix_spec"; else echo "--call=$1"; fi
}

# Runs tutoring-bench against a fresh server; sets svc_rate, svc_cpu_us,
# svc_rss_mb, svc_json.
run_service() {  # workload [extra tutoring-bench flags...]
  local workload="$1"
  shift
  # shellcheck disable=SC2086
  start_server --database-pool-size="$connections" --database-max-overflow=0 $server_flags
  local call_args
  call_args="$(bench_call_args "$workload")"
  "$bench_bin" --target="127.0.0.1:$server_port" "$call_args" --users="$users" \
    --time-zones=America/New_York --concurrency="$concurrency" --connections=2 \
    --duration=2s --json >/dev/null  # warm-up
  local before after
  before="$(cpu_ticks "$server_pid")"
  "$bench_bin" --target="127.0.0.1:$server_port" "$call_args" --users="$users" \
    --time-zones=America/New_York --concurrency="$concurrency" --connections=2 \
    --duration="${seconds}s" --json "$@" >"$work/bench.json"
  after="$(cpu_ticks "$server_pid")"
  svc_rss_mb="$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status")"
  stop_server
  svc_json="$(cat "$work/bench.json")"
  local total
  total="$(grep -o '"total": [0-9]*' <<<"$svc_json" | head -n 1 | sed 's/.*: //')"
  svc_rate="$(grep -o '"qps": [0-9.]*' <<<"$svc_json" | head -n 1 | sed 's/.*: //')"
  svc_cpu_us="$(awk -v t="$((after - before))" -v n="$total" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
  if [[ "$(grep -o '"errors": [0-9]*' <<<"$svc_json" | head -n 1)" != '"errors": 0' ]]; then
    echo "tutoring-bench saw errors ($workload):" >&2
    echo "$svc_json" >&2
  fi
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "database $bench_db ($users users); $connections database connections each side; ${seconds}s runs; $rounds rounds; $cores cores; $(date -u +%Y-%m-%dT%H:%M:%SZ); commit $(git -C "$repo" rev-parse --short HEAD)"
echo "pgbench -n -M prepared -c $connections -j 1 -T $seconds (the service's SQL, one statement per call)"
echo "tutoring-server --database-pool-size=$connections --database-max-overflow=0 $server_flags"
echo "tutoring-bench --concurrency=$concurrency --connections=2 --duration=${seconds}s --users=$users --time-zones=America/New_York (after 2s warm-up)"
printf '%-16s %5s %12s %12s %7s %12s %8s\n' workload round pgbench/s service/s ratio cpu-us/call rss-MB
declare -A pg_rates svc_rates ratios cpus rsss
for round in $(seq "$rounds"); do
  for w in $workloads; do
    if ((round % 2)); then
      pg="$(run_pgbench "$w")"; run_service "$w"
    else
      run_service "$w"; pg="$(run_pgbench "$w")"
    fi
    ratio="$(awk -v s="$svc_rate" -v p="$pg" 'BEGIN { printf "%.2f", s / p }')"
    printf '%-16s %5s %12.0f %12.0f %7s %12s %8s\n' "$w" "$round" "$pg" "$svc_rate" "$ratio" "$svc_cpu_us" "$svc_rss_mb"
    pg_rates[$w]+="$pg "; svc_rates[$w]+="$svc_rate "; ratios[$w]+="$ratio "
    cpus[$w]+="$svc_cpu_us "; rsss[$w]+="$svc_rss_mb "
  done
done

echo
printf '%-16s %12s %12s %8s %12s %8s\n' workload pgbench/s service/s ratio cpu-us/call rss-MB
for w in $workloads; do
  printf '%-16s %12.0f %12.0f %8.2f %12.1f %8.0f\n' "$w" "$(median <<<"${pg_rates[$w]}")" \
    "$(median <<<"${svc_rates[$w]}")" "$(median <<<"${ratios[$w]}")" \
    "$(median <<<"${cpus[$w]}")" "$(median <<<"${rsss[$w]}")"
done

if ((open_loop)) && [[ " $workloads " == *" mix "* ]]; then
  peak="$(median <<<"${svc_rates[mix]}")"
  rps="$(awk -v p="$peak" -v s="$open_loop_share" 'BEGIN { printf "%.0f", p * s }')"
  echo
  echo "open loop: read mix at $rps calls/s (${open_loop_share} of the median peak $peak), ${seconds}s"
  run_service mix --rps="$rps" --concurrency=1000
  latency="$(grep -o '"latency_ms": {[^}]*}' <<<"$svc_json" | head -n 1)"
  for key in p50 p99 p99_9 max; do
    printf '%s %s ms  ' "$key" "$(grep -o "\"$key\": [0-9.]*" <<<"$latency" | sed 's/.*: //')"
  done
  printf 'errors %s\n' "$(sed -n 's/^ *"errors": \([0-9]*\),.*/\1/p' <<<"$svc_json" | head -n 1)"
  printf 'achieved %.0f calls/s; server cpu %s us/call; peak rss %s MB\n' "$svc_rate" "$svc_cpu_us" "$svc_rss_mb"
fi
