#!/usr/bin/env bash
# The runtime image, built and run: deploy/image/build assembles it from
# Debian packages, the OCI layout is unpacked with umoci, and its entrypoint
# runs from that root filesystem as the image's user, on a read-only root,
# in a mount and PID namespace of its own (unshare + chroot: podman does not
# run inside this machine's sandbox, see deploy/README.md). The image's own
# tutoring-migrate migrates a scratch database of the private test cluster,
# and the image's tutorctl calls Health and GetUserRole; the roles must equal
# what plain SQL says.
set -euo pipefail
: "${TUTORING_TEST_DATABASE_URL:?run through scripts/test}"
: "${TUTORING_BUILD_DIR:?set by CMake}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"
# shellcheck source=tests/support/wait_for_serving.sh
source "$src/tests/support/wait_for_serving.sh"
fail() { echo "image_test: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (mmdebstrap, umoci unpack, unshare, chroot)"
command -v node >/dev/null || fail "node is missing (scripts/setup installs it)"

psql=("$(pg_config --bindir)/psql" -X -q -v ON_ERROR_STOP=1)
admin="$TUTORING_TEST_DATABASE_URL"
db="image_test_$$"
url="${admin%/*}/$db"
scratch="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    # unshare --kill-child ends the server when unshare dies.
    pkill -KILL -P "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  "${psql[@]}" "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT

# 1. Build (or take TUTORING_IMAGE_OCI, an OCI layout:tag that
# deploy/image/build wrote), then unpack the OCI image (not the build's own
# rootfs folder).
image="${TUTORING_IMAGE_OCI:-}"
if [[ -z "$image" ]]; then
  start=$SECONDS
  digest="$("$src/deploy/image/build" --build-dir "$TUTORING_BUILD_DIR" --out "$scratch/image" \
    --tag test 2>"$scratch/build.log")" || { cat "$scratch/build.log" >&2; fail "image build failed"; }
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "build printed no digest: $digest"
  echo "image_test: built $digest in $((SECONDS - start)) s" >&2
  image="$scratch/image/oci:test"
else
  digest="(given image $image)"
fi
umoci unpack --image "$image" "$scratch/bundle" >/dev/null
root="$scratch/bundle/rootfs"
config="$scratch/bundle/config.json"

# 2. What the image declares.
jsonq() { node -e 'const c = require(process.argv[1]); console.log(eval(process.argv[2]))' "$config" "$1"; }
uid="$(jsonq 'c.process.user.uid')"
gid="$(jsonq 'c.process.user.gid')"
entrypoint="$(jsonq 'c.process.args.join(" ")')"
mapfile -t image_env < <(jsonq 'c.process.env.join("\n")')
[[ "$uid" == 10001 && "$gid" == 10001 ]] || fail "image user is $uid:$gid, expected 10001:10001"
[[ "$entrypoint" == /usr/local/bin/tutoring-server ]] || fail "entrypoint is $entrypoint"
for f in usr/local/bin/tutoring-server usr/local/bin/tutoring-migrate usr/local/bin/tutorctl; do
  [[ -x "$root/$f" ]] || fail "$f missing"
  if readelf -S "$root/$f" | grep -q '\.debug_\|\.symtab'; then fail "$f is not stripped"; fi
done
[[ -f "$root/usr/share/zoneinfo/tzdata.zi" ]] || fail "tzdata missing"
diff <(cd "$src/migrations" && ls) <(cd "$root/opt/tutoring/migrations" && ls) >&2 || fail "migrations differ"
for shell in bin/sh bin/bash usr/bin/apt usr/bin/dpkg; do
  [[ ! -e "$root/$shell" ]] || fail "$shell should not be in the image"
done

# in_image CMD ARGS...: runs a program of the image as its user with its
# environment, on a read-only root with /dev and /proc, sharing this host's
# network (the private cluster listens on 127.0.0.1).
chroot="$(command -v chroot)" && mount="$(command -v mount)" || fail "chroot and mount are needed"
in_image() {
  env -i "${image_env[@]}" "$(command -v unshare)" --mount --pid --fork --kill-child --propagation private -- \
    /bin/sh -c 'mount="$1"; chroot="$2"; root="$3"; uid="$4"; shift 4
      "$mount" --bind "$root" "$root" && "$mount" -o remount,bind,ro "$root" &&
      "$mount" --rbind /dev "$root/dev" && "$mount" -t proc proc "$root/proc" &&
      exec "$chroot" --userspec="$uid:$uid" "$root" "$@"' in_image "$mount" "$chroot" "$root" "$uid" "$@"
}

# 3. The image's migrator on a scratch database, then known rows.
"${psql[@]}" "$admin" -c "CREATE DATABASE $db" >/dev/null
in_image /usr/local/bin/tutoring-migrate --database-url="$url" up >/dev/null \
  || fail "the image's tutoring-migrate up failed"
in_image /usr/local/bin/tutoring-migrate --database-url="$url" verify >/dev/null \
  || fail "the image's tutoring-migrate verify failed"
"${psql[@]}" "$url" -f "$src/tests/client/fixture.sql" >/dev/null

# 4. The entrypoint, as the image runs it.
log="$scratch/server.log"
in_image /usr/local/bin/tutoring-server --listen=127.0.0.1:0 --database-url="$url" \
  --health-interval=100ms 2>"$log" &
server_pid=$!
wait_for_serving "$log" "$server_pid" || fail "server did not become SERVING"
port="$server_port"
ctl() { in_image /usr/local/bin/tutorctl --target="127.0.0.1:$port" --deadline=5s "$@"; }

for service in "" tutoring.v1.TutoringService liveness; do
  out="$(ctl health $service)" || fail "health '$service' failed: $out"
  grep -qw SERVING <<<"$out" && ! grep -q NOT_SERVING <<<"$out" \
    || fail "health '$service' is not SERVING: $out"
done

checked=0
while read -r id role active; do
  expected="$id $role $([[ "$active" == t ]] && echo true || echo false)"
  got="$(ctl get-user-role "$id" | sed -n '2p' | awk '{ print $1, $2, $3 }')"
  [[ "$got" == "$expected" ]] || fail "GetUserRole($id): server says '$got', SQL says '$expected'"
  checked=$((checked + 1))
done < <("${psql[@]}" -At -F ' ' "$url" -c \
  "(SELECT id, role, is_active FROM users ORDER BY id LIMIT 10)
   UNION ALL (SELECT id, role, is_active FROM users ORDER BY id DESC LIMIT 5)")
((checked == 15)) || fail "compared $checked users, expected 15"
missing="$("${psql[@]}" -At "$url" -c "SELECT max(id) + 1 FROM users")"
if out="$(ctl get-user-role "$missing" 2>&1)"; then fail "GetUserRole($missing) of a missing user succeeded: $out"; fi
grep -q NOT_FOUND <<<"$out" || fail "GetUserRole($missing): expected NOT_FOUND, got: $out"

# $server_pid is the subshell running in_image; under it unshare, which
# does not forward SIGTERM, and under that the server (PID 1 of its
# namespace, which still receives signals it handles).
unshare_pid="$(pgrep -P "$server_pid")" && server="$(pgrep -P "$unshare_pid")" ||
  fail "no server process under unshare"
kill -TERM "$server"
wait "$server_pid" || { cat "$log" >&2; fail "server did not exit 0 on SIGTERM"; }
server_pid=""
echo "image_test: $digest answered Health and GetUserRole ($checked users) from its own root filesystem"
