#!/usr/bin/env bash
# The client package as another project sees it: installs this build into a
# scratch prefix (then moves the prefix, so the package must be
# relocatable), builds client/example out of tree against it with
# find_package(tutoring_client), and runs it against tutoring-server over a
# database holding fixture.sql. Its output must equal what plain SQL says.
set -euo pipefail
: "${TUTORING_TEST_DATABASE_URL:?run through scripts/test}"
: "${TUTORING_BUILD_DIR:?set by CMake}"
: "${TUTORING_SERVER_BIN:?set by CMake}"
: "${TUTORING_MIGRATE_BIN:?set by CMake}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"

psql="$(pg_config --bindir)/psql"
scratch="$(mktemp -d)"
# shellcheck source=tests/support/live_server.sh
source "$src/tests/support/live_server.sh"
trap 'stop_live_server; rm -rf "$scratch"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }

# 1. Install, then move the prefix.
cmake --install "$TUTORING_BUILD_DIR" --prefix "$scratch/staged" >/dev/null
mv "$scratch/staged" "$scratch/prefix"
prefix="$scratch/prefix"
for f in include/tutoring/client.h include/tutoring/v1/tutoring.pb.h \
         include/tutoring/v1/tutoring.grpc.pb.h include/tutoring/v1/tutoring.proto \
         bin/tutorctl; do
  [[ -f "$prefix/$f" ]] || fail "$f not installed"
done
config="$(find "$prefix" -name tutoring_clientConfig.cmake)"
[[ -n "$config" ]] || fail "tutoring_clientConfig.cmake not installed"

# 2. Build a copy of the example (so nothing can reach into the source tree)
# against the prefix alone.
cp -R "$src/client/example" "$scratch/example"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$scratch/example" -B "$scratch/build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$prefix" \
  "${launcher[@]}" >"$scratch/configure.log" 2>&1 \
  || { cat "$scratch/configure.log" >&2; fail "configuring the example failed"; }
cmake --build "$scratch/build" >"$scratch/build.log" 2>&1 \
  || { cat "$scratch/build.log" >&2; fail "building the example failed"; }
# Neither the build files nor the headers the compiler read (ninja's deps
# log) may point into the project's source or build tree. (The binary itself
# does: the installed static libraries carry their debug info.)
ninja -C "$scratch/build" -t deps >"$scratch/deps"
if grep -rIlF -e "$src" -e "$TUTORING_BUILD_DIR" "$scratch/build" >&2 ||
   grep -F -e "$src" -e "$TUTORING_BUILD_DIR" "$scratch/deps" >&2; then
  fail "the example's build refers to the project's source or build tree"
fi
grep -qF "$prefix/include/tutoring/client.h" "$scratch/deps" \
  || fail "the example did not compile against the installed client.h"

# 3. A server over known rows.
create_scratch_db "client_install_$$" "$here/fixture.sql"
url="$scratch_url"
start_server "$scratch/server.log" || fail "server did not start"
target="127.0.0.1:$server_port"

# 4. The example's answers against SQL's.
as_of="2026-01-12T20:00:00Z"
ids=(1 2 3 4 5 6 8 10 299)
"$scratch/build/tutoring_client_example" "$target" "$as_of" "${ids[@]}" >"$scratch/actual" \
  || fail "the example failed"
id_array="{$(IFS=,; echo "${ids[*]}")}"
"$psql" -X -q -tA -v ON_ERROR_STOP=1 "$url" >"$scratch/expected" <<SQL
SELECT 'active_users=' || count(*) FROM users WHERE is_active;
WITH q AS (
  SELECT * FROM unnest('$id_array'::bigint[]) WITH ORDINALITY AS q(id, n)
), p AS (
  SELECT timestamptz '$as_of' AS as_of,
         (timestamptz '$as_of' AT TIME ZONE 'UTC')::date AS today
), days AS (
  SELECT DISTINCT ue.user_id, (ue.created_at AT TIME ZONE 'UTC')::date AS day
  FROM user_exercises ue, p
  WHERE ue.status = 'completed' AND ue.created_at <= p.as_of
), runs AS (
  SELECT user_id, max(day) AS last_day, count(*) AS length
  FROM (SELECT user_id, day,
               day - (row_number() OVER (PARTITION BY user_id ORDER BY day))::int AS island
        FROM days) d
  GROUP BY user_id, island
)
SELECT CASE WHEN u.id IS NULL THEN format('user %s NOT_FOUND', q.id)
  ELSE format('user %s role=ROLE_%s active=%s current_days=%s longest_days=%s last_active_date=%s active_on_as_of=%s',
    q.id, upper(u.role::text), u.is_active::text,
    coalesce((SELECT r.length FROM runs r, p WHERE r.user_id = q.id AND r.last_day >= p.today - 1), 0),
    coalesce((SELECT max(r.length) FROM runs r WHERE r.user_id = q.id), 0),
    coalesce((SELECT max(d.day)::text FROM days d WHERE d.user_id = q.id), '-'),
    (EXISTS (SELECT 1 FROM days d, p WHERE d.user_id = q.id AND d.day = p.today))::text)
  END
FROM q LEFT JOIN users u ON u.id = q.id
ORDER BY q.n;
SQL
[[ "$(wc -l <"$scratch/expected")" -eq $((${#ids[@]} + 1)) ]] || fail "ground truth query went wrong"
diff -u "$scratch/expected" "$scratch/actual" >&2 || fail "the example's output differs from SQL (- SQL, + example)"

# 5. The installed tutorctl works too.
"$prefix/bin/tutorctl" --target="$target" health >/dev/null || fail "installed tutorctl health failed"
echo "install_test: ok ($(wc -l <"$scratch/actual") lines match)"
