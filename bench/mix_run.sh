#!/usr/bin/env bash
# A mixed workload against a seeded database: creates (once) a database of
# --users users with tutoring-seed, starts tutoring-server on it, and
# runs tutoring-bench with a read mix; prints the command and the report.
#
#   bench/mix_run.sh [--admin-url DSN] [--database NAME] [--users N]
#                    [--reseed] [--server-flags "..."] [-- tutoring-bench flags]
#
# --admin-url: any DSN on the cluster to use (default $DATABASE_URL); the
# benchmark database NAME (default tutoring_bench) is created next to it and
# kept for later runs. Flags after -- are appended to tutoring-bench's
# defaults (the last occurrence of a flag wins).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
admin_url="${DATABASE_URL:-}"
bench_db="tutoring_bench"
users=10000
reseed=""
server_flags=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --admin-url) admin_url="$2"; shift 2 ;;
    --database) bench_db="$2"; shift 2 ;;
    --users) users="$2"; shift 2 ;;
    --reseed) reseed=reseed; shift ;;
    --server-flags) server_flags="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "mix_run: unknown argument $1" >&2; exit 64 ;;
  esac
done
[[ -n "$admin_url" ]] || { echo "mix_run: give --admin-url or set DATABASE_URL" >&2; exit 64; }

work="$(mktemp -d)"
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
trap 'stop_server; rm -rf "$work"' EXIT
require_binaries
ensure_bench_db $reseed
# shellcheck disable=SC2086
start_server $server_flags

flags=(--target="127.0.0.1:$server_port"
       --mix=GetStreak:5,GetUserRole:3,ListExercises:1,ListActiveUsers:1,ListUsersByRole:1,BatchGetStreaks:1
       --users="$users" --concurrency=32 --connections=2 --warmup=3s --duration=20s "$@")
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ); $(nproc) cores; server flags: ${server_flags:-(defaults)}"
echo "tutoring-bench ${flags[*]}"
echo
"$bench_bin" "${flags[@]}"
