#!/usr/bin/env bash
# The test suite on a busy machine (issue 15, docs/TESTING.md): stress-ng keeps CPU hogs on
# the cores while tap runs three test files at a time, as on a CI runner shared with other
# jobs. A result that depends on the scheduler shows up here first.
#
#   scripts/ci-under-load.sh                 # npm test (lint, every file under c8), under load
#   scripts/ci-under-load.sh test/train/     # just these files (npx tap), under load
#   CTOP_LOAD_CPUS=4 CTOP_LOAD_JOBS=4 scripts/ci-under-load.sh   # a heavier hog, more jobs
#
# Ends with one line to paste into docs/TESTING.md:
#   under load: 12:34 wall, 9876 passed, 0 failed, commit abc1234 (stress-ng --cpu 2, 3 jobs)
set -uo pipefail
cd "$(dirname "$0")/.."

cpus=${CTOP_LOAD_CPUS:-2}
jobs=${CTOP_LOAD_JOBS:-3}
export DEBIAN_FRONTEND=noninteractive

# Everything npm test needs, and the hog (Debian's stress-ng), installed when missing.
node scripts/ensure-system-packages.mjs stress-ng=/usr/bin/stress-ng </dev/null || exit 1

mkdir -p var/ci
results=var/ci/under-load-tap.txt
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit+changes"; fi

stress-ng --cpu "$cpus" --quiet &
hog=$!
stop_hog() {
  if kill -0 "$hog" 2>/dev/null; then
    kill -TERM "$hog" 2>/dev/null
    wait "$hog" 2>/dev/null
  fi
}
trap stop_hog EXIT
trap 'exit 130' INT TERM
sleep 1
if ! kill -0 "$hog" 2>/dev/null; then
  echo "stress-ng did not start" >&2
  exit 1
fi

started=$(date +%s)
if [ "$#" -gt 0 ]; then
  npx tap --reporter=tap --jobs="$jobs" "$@" </dev/null | tee "$results"
else
  npm test -- --reporter=tap --jobs="$jobs" </dev/null | tee "$results"
fi
status=${PIPESTATUS[0]}
elapsed=$(( $(date +%s) - started ))
stop_hog

# The slowest files, from tap's own per-file times.
echo "slowest files under load:"
grep -E '^(not )?ok [0-9]+ - .* # time=' "$results" \
  | sed -E 's/^(not )?ok [0-9]+ - (.*) # time=([0-9.]+)ms.*/\3 \2/' \
  | sort -rn | head -10 | awk '{ printf "  %6.1f s  %s\n", $1 / 1000, $2 }'

summary=$(node scripts/tap-summary.mjs "$results")
# The failed assertions first, when any; the totals are its last line.
if [ "$(wc -l <<<"$summary")" -gt 1 ]; then head -n -1 <<<"$summary"; fi
counts=$(tail -n 1 <<<"$summary")
printf 'under load: %d:%02d wall, %s, commit %s (stress-ng --cpu %s, %s jobs)\n' \
  $((elapsed / 60)) $((elapsed % 60)) "$counts" "$commit" "$cpus" "$jobs"
if [ "$status" -ne 0 ] || ! [[ "$counts" =~ ^[0-9]+\ passed,\ 0\ failed$ ]]; then
  exit 1
fi
