#!/usr/bin/env bash
# Runs one libFuzzer target from its seed corpus and reports what it did.
#
#   run_fuzzer.sh <fuzzer binary> <seed dirs> <work dir> [libFuzzer flags]
#
# <seed dirs>: one folder, or several separated by ':' (e.g. the SQL
# splitter's seeds and the repository's migrations/). The work dir is
# emptied first; new inputs go to <work dir>/corpus (the seed folders are
# only read), crash inputs to <work dir>/artifacts, the fuzzer's
# output to <work dir>/log. Single process (no -jobs/-workers). Prints one
# line:
#   <target>: <inputs> inputs, <exec/s> exec/s, cov <n> ft <n>,
#   corpus <units>/<size> (<n> new files), <seconds> s
# (cov, ft and corpus as libFuzzer's last status line gives them).
# and exits non-zero, with the end of the log, when the fuzzer found a crash,
# a sanitizer report, a leak, a timeout or a broken property.
set -euo pipefail

if (($# < 3)); then
  echo "usage: $0 <fuzzer> <seed dir[:seed dir...]> <work dir> [libFuzzer flags]" >&2
  exit 64
fi
fuzzer="$1" work="$3"
IFS=: read -r -a seeds <<<"$2"
shift 3
name="$(basename "$fuzzer")"

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
start="$(date +%s.%N)"
rc=0
"$fuzzer" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
  -timeout=25 -rss_limit_mb=2048 "$@" "$work/corpus" "${seeds[@]}" \
  >"$work/log" 2>&1 || rc=$?
end="$(date +%s.%N)"

stat() { sed -n "s/^stat::$1: *//p" "$work/log" | tail -n 1; }
last_status="$(grep -E '^#[0-9]+' "$work/log" | grep 'cov:' | tail -n 1 || true)"
cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last_status")"
ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last_status")"
corpus="$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last_status")"
new_units="$(find "$work/corpus" -type f | wc -l)"
printf '%s: %s inputs, %s exec/s, cov %s ft %s, corpus %s (%s new files), %s s\n' \
  "$name" "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" \
  "${cov:-?}" "${ft:-?}" "${corpus:-?}" "$new_units" \
  "$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')"

if ((rc != 0)) || [[ -n "$(ls -A "$work/artifacts")" ]]; then
  echo "$name: FAILED (exit $rc); artifacts: $(ls "$work/artifacts" | tr '\n' ' ')" >&2
  tail -n 60 "$work/log" >&2
  exit 1
fi
