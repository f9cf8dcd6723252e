#!/usr/bin/env bash
# Runs scripts/test.sh while every core is kept busy by another process, the
# way a shared CI machine or a developer's laptop mid-build is. A test whose
# verdict changes here races the clock: wait for a condition with a deadline,
# or move a clock the test controls (onramp-clock), instead of sleeping.
#
#   scripts/test-under-load.sh            # one loaded run
#   ONRAMP_LOAD_RUNS=3 scripts/test-under-load.sh   # three in a row; stops at the first failure
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${ONRAMP_LOAD_RUNS:-1}
cores=$(nproc)
hogs=()
stop_hogs() {
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_hogs EXIT
# One busy loop per core, at the same priority as the tests (nice 0).
for _ in $(seq "$cores"); do
  yes >/dev/null &
  hogs+=($!)
done
echo "onramp: $cores busy loops running (pids ${hogs[*]})"

for run in $(seq "$runs"); do
  started=$(date +%s)
  echo "== loaded run $run of $runs"
  if bash scripts/test.sh; then
    echo "onramp: loaded run $run of $runs passed in $(( $(date +%s) - started )) s"
  else
    status=$?
    echo "onramp: loaded run $run of $runs FAILED (exit $status) after $(( $(date +%s) - started )) s"
    exit "$status"
  fi
done
