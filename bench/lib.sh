# Shared by the benchmark scripts (sourced, not run): a seeded benchmark
# database and a tutoring-server serving it.
#
# Needs: $repo, $work (a scratch folder), $admin_url (a DSN on the cluster
# to use: postgresql://user@host:port/dbname), $bench_db (database name),
# $users (users to seed).

build="${BUILD_DIR:-$repo/build}"
bench_bin="$build/bench/loadgen/tutoring-bench"
server_bin="$build/server/tutoring-server"
migrate_bin="$build/db/migrate/tutoring-migrate"
seed_bin="$build/db/seed/tutoring-seed"
pg_bindir="$(pg_config --bindir)"
psql=("$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1)
server_pid=""

require_binaries() {
  local b
  for b in "$bench_bin" "$server_bin" "$migrate_bin" "$seed_bin"; do
    [[ -x "$b" ]] || { echo "$b missing: build first" >&2; exit 1; }
  done
}

# The DSN of $bench_db on $admin_url's cluster.
bench_url() { echo "${admin_url%/*}/$bench_db"; }

# Creates, migrates and seeds $bench_db unless it already holds $users users
# ($1 = "reseed" forces the seeding), seeded by tutoring-seed --seed=1.
ensure_bench_db() {
  local url exists count
  url="$(bench_url)"
  exists="$("${psql[@]}" -At "$admin_url" -c "SELECT 1 FROM pg_database WHERE datname = '$bench_db'")"
  if [[ "$exists" != 1 ]]; then
    "${psql[@]}" "$admin_url" -c "CREATE DATABASE $bench_db"
  fi
  "$migrate_bin" --database-url="$url" --migrations-dir="$repo/migrations" up >/dev/null
  count="$("${psql[@]}" -At "$url" -c "SELECT count(*) FROM users")"
  if [[ "${1:-}" == reseed || "$count" != "$users" ]]; then
    echo "seeding $bench_db with $users users (tutoring-seed)" >&2
    "$seed_bin" --database-url="$url" --users="$users" --seed=1 >&2
  fi
}

# Starts tutoring-server on a free port with the given extra flags; sets
# $server_port once health reports SERVING.
start_server() {
  : >"$work/server.log"
  # No access log unless a benchmark asks for it (--access-log-sample=1):
  # the figures in docs/PERFORMANCE.md are for the service, not its log.
  "$server_bin" --listen=127.0.0.1:0 --admin-listen=127.0.0.1:0 \
    --access-log-sample=0 --database-url="$(bench_url)" "$@" \
    2>"$work/server.log" &
  server_pid=$!
  server_port=""
  local _
  for _ in $(seq 200); do
    server_port="$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$work/server.log" | head -n 1)"
    [[ -n "$server_port" ]] && grep -q "health SERVING" "$work/server.log" && return 0
    sleep 0.1
  done
  cat "$work/server.log" >&2
  echo "tutoring-server did not become SERVING" >&2
  exit 1
}

stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
