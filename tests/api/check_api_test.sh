#!/usr/bin/env bash
# scripts/check-api catches breaking changes: a clean copy of proto/ passes;
# copies broken one way each (a field removed, renamed, renumbered or of
# another type, an RPC dropped, an enum value renumbered) fail, with buf's
# finding printed; a missing baseline commit fails and says why.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../.." && pwd)"
check="$src/scripts/check-api"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failures=0
fail() { echo "check_api_test: $*" >&2; failures=$((failures + 1)); }

# A fresh copy of proto/ in $scratch/<name>, edited by `sed -E -e <script>`;
# the edit must change the file.
copy() {
  local name="$1" script="$2"
  cp -R "$src/proto" "$scratch/$name"
  local file="$scratch/$name/tutoring/v1/tutoring.proto"
  sed -E -i -e "$script" "$file"
  if cmp -s "$file" "$src/proto/tutoring/v1/tutoring.proto"; then
    fail "$name: the edit changed nothing (the proto moved on?)"
  fi
}

cp -R "$src/proto" "$scratch/clean"
if ! "$check" --proto "$scratch/clean" >"$scratch/clean.out" 2>&1; then
  cat "$scratch/clean.out" >&2
  fail "the unmodified proto failed"
fi

# name | sed script | text buf's finding must contain
cases=(
  "field_removed|/^  string email = 2;$/d|Previously present field \"2\" with name \"email\" on message \"User\" was deleted"
  "field_renamed|s/^  string display_name = 3;/  string name = 3;/|changed name from \"display_name\" to \"name\""
  "field_renumbered|s/^  int32 longest_days = 3;/  int32 longest_days = 13;/|Previously present field \"3\" with name \"longest_days\""
  "type_changed|s/^  int32 current_days = 2;/  int64 current_days = 2;/|changed type from \"int32\" to \"int64\""
  "rpc_dropped|/^  rpc GetUserRole\\(/d|Previously present RPC \"GetUserRole\" on service \"TutoringService\" was deleted"
  "enum_renumbered|s/^  ROLE_ADMIN = 3;/  ROLE_ADMIN = 4;/|Previously present enum value \"3\" on enum \"Role\" was deleted"
)
for entry in "${cases[@]}"; do
  IFS='|' read -r name script finding <<<"$entry"
  copy "$name" "$script"
  if "$check" --proto "$scratch/$name" >"$scratch/$name.out" 2>&1; then
    cat "$scratch/$name.out" >&2
    fail "$name: check-api passed a breaking change"
  elif ! grep -qF "$finding" "$scratch/$name.out"; then
    cat "$scratch/$name.out" >&2
    fail "$name: check-api failed without buf's finding: $finding"
  else
    echo "check_api_test: $name caught: $(grep -F "$finding" "$scratch/$name.out" | head -n 1)"
  fi
done

# An addition is not a break.
copy added_field 's/^(  bool active_on_as_of_date = 5;)$/\1\n  \/\/ Added for the test.\n  int32 total_days = 6;/'
"$check" --proto "$scratch/added_field" >"$scratch/added.out" 2>&1 \
  || { cat "$scratch/added.out" >&2; fail "adding a field was reported as breaking"; }

# Without the baseline in history, it fails and says so.
if TUTORING_API_BASELINE=0123456789abcdef0123456789abcdef01234567 \
    "$check" >"$scratch/nohistory.out" 2>&1; then
  fail "check-api passed without its baseline commit"
elif ! grep -q "not in this" "$scratch/nohistory.out"; then
  cat "$scratch/nohistory.out" >&2
  fail "check-api did not say the baseline is missing"
fi

((failures == 0)) || exit 1
echo "check_api_test: ok"
