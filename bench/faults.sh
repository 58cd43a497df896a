#!/usr/bin/env bash
# The service under database faults, measured: a PostgreSQL cluster of this
# script's own (scripts/pg, a free port, removed at exit), seeded with
# tutoring-seed, the built tutoring-server against it, and load from
# tutoring-fault-load (GetUserRole from 8 threads, every call's outcome
# recorded) while the cluster is killed (-9) or stopped (SIGSTOP).
#
#   bench/faults.sh [--scenario all|killed|stalled|sigterm|logs|flood|drain]
#       [--users N]
#       [--outage S] [--threads N]
#
# Scenarios (one function each, scenario_<name>; add one by writing the
# function and naming it in $scenarios):
#   killed   SIGKILL to every PostgreSQL process under load (calls with 2 s
#            deadlines), restart after --outage seconds (default 3): first
#            UNAVAILABLE after the kill, first OK after the database accepts
#            connections again, the server's sessions at most (sampled over
#            a direct connection), the server alive.
#   stalled  SIGSTOP to every PostgreSQL process under load (calls with
#            500 ms deadlines) for --outage seconds, then SIGCONT: how far
#            past its deadline any call ended, when health went NOT_SERVING
#            (--health-timeout=1s, with the default 100 ms interval and
#            with 1 s), first OK after SIGCONT.
#   sigterm  SIGTERM while the database is stopped and calls (30 s
#            deadlines) hang on it, --shutdown-grace=1s, no drain delay:
#            the exit time and code.
#   logs     a 10 s outage (every PostgreSQL process killed) under load:
#            the server's stderr lines over those 10 s, all flags default.
#   flood    tutoring-bench floods with thousand-id BatchGetStreaks (40
#            connections, 2,000 calls in flight, closed loop) while a second
#            tutoring-bench calls GetUserRole at 100/s: the ordinary client's
#            p99 and codes alone and under the flood, the server's resident
#            memory before, during and 10 s after.
#   drain    SIGTERM under closed-loop load (tutoring-bench, 32 in flight on
#            4 connections, no health checking or retries): the codes the
#            client got (CANCELLED must not be among them), the exit time.
# Each prints its figures as "name: value" lines. Needs a build (BUILD_DIR,
# default build/).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scenario=all
scenarios="killed stalled sigterm logs flood drain"
users=20000
outage=3
threads=8
while (($#)); do
  case "$1" in
    --scenario) scenario="$2"; shift 2 ;;
    --users) users="$2"; shift 2 ;;
    --outage) outage="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 64 ;;
  esac
done

load_bin="${BUILD_DIR:-$repo/build}/tests/faults/tutoring-fault-load"
[[ -x "$load_bin" ]] || { echo "$load_bin missing: build first" >&2; exit 1; }
# The binaries, start_server and stop_server (bench/lib.sh): the server
# serves the cluster's own database ($admin_url, set by cluster_start).
bench_db=postgres
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
require_binaries

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
instance="faults-bench-$$"
pg=("$repo/scripts/pg" --instance "$instance" --port "$port")
server_pid=""

cleanup() {
  [[ -n "$server_pid" ]] && kill -9 "$server_pid" 2>/dev/null || true
  cluster_signal CONT 2>/dev/null || true
  "${pg[@]}" remove >/dev/null 2>&1 || true
  if [[ -n "${FAULTS_KEEP:-}" ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Unix microseconds now, without a fork (the machine is busy with load).
now_us() { now="${EPOCHREALTIME/./}"; }

# Sends SIG$1 to the cluster's postmaster and all its children (the
# postmaster stopped first, so that it forks nothing meanwhile), with shell
# builtins only: no fork delays the fault under load.
cluster_signal() {
  local sig="$1" pid child children=()
  read -r pid <"$repo/.pgdata/$instance/postmaster.pid" || return 1
  [[ -n "$pid" ]] || return 1
  if [[ "$sig" != CONT ]]; then
    # SIGSTOP lands asynchronously: until the postmaster is seen stopped it
    # could fork a backend that escapes the signal.
    kill -STOP "$pid"
    local _
    for _ in $(seq 5000); do
      [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == T ]] && break
      sleep 0.001
    done
  fi
  read -r -a children <"/proc/$pid/task/$pid/children" || true
  for child in "${children[@]}"; do kill "-$sig" "$child" 2>/dev/null || true; done
  kill "-$sig" "$pid"
}

# Starts (or restarts) the cluster; prints nothing.
cluster_start() {
  url="$("${pg[@]}" start 2>/dev/null | tail -n 1)"
  admin_url="$url"
}

# Runs tutoring-fault-load in the background into $work/load.txt.
start_load() {
  "$load_bin" --target="127.0.0.1:$server_port" --threads="$threads" \
    --users="$users" "$@" >"$work/load.txt" &
  load_pid=$!
}

# Samples the server's sessions (pg_stat_activity, direct connection) every
# 100 ms into $work/sessions.txt until $work/sessions.stop exists. Samples
# fail (and are skipped) while the cluster is down or stopped.
start_sampler() {
  rm -f "$work/sessions.stop"
  : >"$work/sessions.txt"
  (
    while [[ ! -e "$work/sessions.stop" ]]; do
      PGCONNECT_TIMEOUT=2 timeout 3 "${psql[@]}" -At "$url" -c \
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tutoring-server'" \
        >>"$work/sessions.txt" 2>/dev/null || true
      sleep 0.1
    done
  ) &
  sampler_pid=$!
}
stop_sampler() { touch "$work/sessions.stop"; wait "$sampler_pid" 2>/dev/null || true; }
max_sessions() { sort -n "$work/sessions.txt" | tail -n 1; }

# ms between two microsecond stamps.
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) / 1000 }'; }

# The end of the first call with code $2 that ended after $1 (us), or "".
first_end_after() {
  awk -v t="$1" -v c="$2" '$1 == "call" && $4 == c && $3 >= t { if (m == "" || $3 < m) m = $3 }
    END { print m }' "$work/load.txt"
}

# "code:count ..." of the calls that started in [$1, $2).
codes_between() {
  awk -v a="$1" -v b="$2" '$1 == "call" && $2 >= a && $2 < b { n[$4]++ }
    END { for (c in n) printf "%s:%d ", c, n[c]; print "" }' "$work/load.txt"
}

# The largest (end - start - timeout) in ms among calls started in [$1, $2)
# with timeout $3 ms (0 when none ended late).
max_overshoot() {
  awk -v a="$1" -v b="$2" -v t="$3" '$1 == "call" && $2 >= a && $2 < b {
      o = ($3 - $2) / 1000 - t; if (o > m) m = o }
    END { printf "%.1f", m + 0 }' "$work/load.txt"
}

# The first health change to $2 (0 or 1) at or after $1, in us, or "".
health_after() {
  awk -v t="$1" -v s="$2" '$1 == "health" && $2 >= t && $3 == s { print $2; exit }' \
    "$work/load.txt"
}

alive() { kill -0 "$server_pid" 2>/dev/null && echo yes || echo no; }

scenario_killed() {
  echo "== killed: SIGKILL to PostgreSQL under load, restart after ${outage} s"
  start_server --database-pool-size=8 --database-max-overflow=4
  start_sampler
  start_load --timeout=2s --seconds=$((outage + 14))
  sleep 1.5
  local killed started accepting
  cluster_signal KILL
  now_us; killed="$now"
  sleep "$outage"
  now_us; started="$now"
  # The moment the database accepts connections again: pg_isready every
  # 10 ms while it restarts.
  (
    until "$(pg_config --bindir)/pg_isready" -q -h 127.0.0.1 -p "$port"; do sleep 0.01; done
    echo "${EPOCHREALTIME/./}" >"$work/accepting"
  ) &
  local watcher=$!
  cluster_start
  wait "$watcher"
  accepting="$(cat "$work/accepting")"
  wait "$load_pid"
  stop_sampler
  local unavailable ok
  unavailable="$(first_end_after "$killed" 14)"
  ok="$(first_end_after "$accepting" 0)"
  echo "calls during the outage (code:count): $(codes_between "$killed" "$accepting")"
  echo "first UNAVAILABLE after the kill: $(ms "$killed" "$unavailable") ms"
  echo "restart took (until pg_isready): $(ms "$started" "$accepting") ms"
  echo "first OK after the database accepts connections: $(ms "$accepting" "$ok") ms"
  echo "server sessions at most (pool 8 + overflow 4): $(max_sessions)"
  echo "server alive: $(alive)"
  stop_server
}

scenario_stalled() {
  local interval
  for interval in 100ms 1s; do
    echo "== stalled: SIGSTOP to PostgreSQL under load for ${outage} s (health interval $interval, timeout 1s)"
    start_server --database-pool-size=8 --database-max-overflow=4 \
      --health-interval="$interval" --health-timeout=1s
    start_load --timeout=500ms --seconds=$((outage + 5))
    sleep 1.5
    local stopped continued not_serving serving ok
    cluster_signal STOP
    now_us; stopped="$now"
    sleep "$outage"
    cluster_signal CONT
    now_us; continued="$now"
    wait "$load_pid"
    not_serving="$(health_after "$stopped" 0)"
    serving="$(health_after "$continued" 1)"
    ok="$(first_end_after "$continued" 0)"
    echo "calls during the stall (code:count): $(codes_between "$stopped" "$continued")"
    echo "most any call outlived its 500 ms deadline: $(max_overshoot "$stopped" "$continued" 500) ms"
    echo "health NOT_SERVING after: $(ms "$stopped" "$not_serving") ms"
    echo "health SERVING again after SIGCONT: $(ms "$continued" "$serving") ms"
    echo "first OK after SIGCONT: $(ms "$continued" "$ok") ms"
    echo "server alive: $(alive)"
    stop_server
  done
}

scenario_sigterm() {
  echo "== sigterm: SIGTERM while PostgreSQL is stopped and calls hang on it (grace 1s, no drain delay)"
  start_server --database-pool-size=8 --database-max-overflow=4 --shutdown-grace=1s
  start_load --timeout=30s --seconds=6 --health-poll=0
  sleep 1.5
  cluster_signal STOP
  sleep 1
  local signalled exited code=0
  now_us; signalled="$now"
  kill -TERM "$server_pid"
  wait "$server_pid" || code=$?
  now_us; exited="$now"
  server_pid=""
  cluster_signal CONT
  wait "$load_pid"
  echo "exit after SIGTERM: $(ms "$signalled" "$exited") ms (bound: drain 0 + grace 1000 + 1000 ms)"
  echo "exit code: $code"
  echo "calls cut off (code:count): $(codes_between "$((signalled - 2000000))" "$exited")"
}

# Lines of $work/server.log whose time is in [$1, $2) (us), by kind:
# "<all> <not access lines of OK calls>".
log_lines_between() {
  python3 - "$1" "$2" "$work/server.log" <<'PY'
import json, sys, datetime
start, end = int(sys.argv[1]), int(sys.argv[2])
total = other = 0
for line in open(sys.argv[3]):
    try:
        event = json.loads(line)
        t = datetime.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
        us = int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1e6)
    except (ValueError, KeyError):
        continue
    if start <= us < end:
        total += 1
        if not (event.get("msg") == "call" and event.get("code") == "OK"):
            other += 1
print(total, other)
PY
}

scenario_logs() {
  echo "== logs: 10 s outage (PostgreSQL killed) under load, default flags"
  start_server --access-log-sample=1
  start_load --timeout=2s --seconds=14 --health-poll=0
  sleep 1.5
  local killed ended lines
  cluster_signal KILL
  now_us; killed="$now"
  sleep 10
  now_us; ended="$now"
  cluster_start
  wait "$load_pid"
  local alive_now
  alive_now="$(alive)"
  stop_server
  read -r -a lines < <(log_lines_between "$killed" "$ended")
  echo "calls during the outage: $(awk -v a="$killed" -v b="$ended" '$1 == "call" && $2 >= a && $2 < b' "$work/load.txt" | wc -l)"
  echo "server log lines during the 10 s outage: ${lines[0]} (besides access lines of OK calls: ${lines[1]})"
  echo "server alive: $alive_now"
}

# Figures of a tutoring-bench run's text report ($1): "OK n, other codes, p99".
bench_summary() {
  awk '/^  p99 /{p=$2} /^Status codes:/{s=1; next} s && /^$/{s=0} s && NF>=2 {c=c $1 ":" $2 " "}
    END { printf "p99 %s ms; codes %s", p, c }' "$1"
}

scenario_flood() {
  echo "== flood: one client floods with thousand-id BatchGetStreaks (40 connections, 2,000 in flight) while another calls GetUserRole at 100/s"
  start_server
  local rss_before rss_peak
  "$bench_bin" --target="127.0.0.1:$server_port" --call=GetUserRole --rps=100 \
    --duration=5s --users="$users" --timeout=2s >"$work/quiet.txt"
  rss_before="$(rss_kb)"
  "$bench_bin" --target="127.0.0.1:$server_port" --call=BatchGetStreaks \
    --batch-size=1000 --connections=40 --concurrency=2000 --duration=14s \
    --users="$users" --timeout=10s >"$work/greedy.txt" &
  local greedy_pid=$!
  sleep 2
  "$bench_bin" --target="127.0.0.1:$server_port" --call=GetUserRole --rps=100 \
    --duration=10s --users="$users" --timeout=2s >"$work/flooded.txt"
  rss_peak="$(rss_kb)"
  wait "$greedy_pid"
  sleep 10
  echo "ordinary client alone:       $(bench_summary "$work/quiet.txt")"
  echo "ordinary client under flood: $(bench_summary "$work/flooded.txt")"
  echo "greedy client:               $(bench_summary "$work/greedy.txt")"
  echo "server RSS: before ${rss_before} kB, during ${rss_peak} kB, 10 s after the flood $(rss_kb) kB"
  echo "server alive: $(alive)"
  stop_server
}

scenario_drain() {
  echo "== drain: SIGTERM under closed-loop load (tutoring-bench, 32 in flight on 4 connections, no health checking, no retries)"
  start_server --shutdown-grace=5s
  "$bench_bin" --target="127.0.0.1:$server_port" --call=GetUserRole \
    --concurrency=32 --connections=4 --duration=5s --users="$users" \
    --timeout=3s >"$work/drain.txt" &
  local bench_pid=$! code=0 signalled exited
  sleep 2
  now_us; signalled="$now"
  kill -TERM "$server_pid"
  wait "$server_pid" || code=$?
  now_us; exited="$now"
  server_pid=""
  wait "$bench_pid" || true
  echo "exit after SIGTERM: $(ms "$signalled" "$exited") ms, code $code"
  echo "calls: $(bench_summary "$work/drain.txt")"
  echo "held and refused: $(sed -n 's/.*"refused \([0-9]*\) calls held.*/\1/p' "$work/server.log" | head -n 1)"
}

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$server_pid/status"; }

echo "setting up cluster $instance on port $port, $users users" >&2
cluster_start
"$migrate_bin" --database-url="$url" --migrations-dir="$repo/migrations" up >/dev/null
"$seed_bin" --database-url="$url" --users="$users" --seed=1 >/dev/null 2>&1

case "$scenario" in
  all) for s in $scenarios; do "scenario_$s"; done ;;
  *)
    [[ " $scenarios " == *" $scenario "* ]] || { echo "faults: no scenario $scenario" >&2; exit 64; }
    "scenario_$scenario"
    ;;
esac
