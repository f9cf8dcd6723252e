#!/usr/bin/env bash
# Runs onramp's whole test suite against the real components (nats-server,
# PostgreSQL, SQLite, netconfd over SSH, the AWS SDK against our simulator),
# plus the format and lint gates, and a schemathesis run of the live API. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

# CI starts from a clean clone each time; a target dir outside the clone lets
# it reuse compiled dependencies from earlier runs on the same machine.
if [ "${CI:-}" = "true" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR=/var/tmp/onramp-ci-target
  # A clean clone rebuilds onramp's own crates anyway; incremental state
  # would only cost time and some 15 GB of disk per run.
  export CARGO_INCREMENTAL=0
fi
export CARGO_TERM_COLOR=never

# Seconds each phase took, printed as it ends, so a slow phase shows.
phase_start=$(date +%s)
phase_done() {
  local now
  now=$(date +%s)
  echo "onramp: $1 took $((now - phase_start)) s"
  phase_start=$now
}

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
# Licenses, bans and sources (deny.toml). Installing cargo-deny costs a
# clean machine minutes of compiling, so it is checked where it is
# installed (`cargo install cargo-deny --locked`) and said when not.
if command -v cargo-deny >/dev/null 2>&1; then
  echo "== cargo deny check licenses bans sources"
  cargo deny --log-level error check licenses bans sources
else
  echo "== cargo deny: not installed, skipped (cargo install cargo-deny --locked)"
fi
phase_done "fmt, clippy and deny"
echo "== cargo test"
log=$(mktemp)
status=0
cargo test --workspace --lib --bins --tests --no-fail-fast 2>&1 | tee "$log" || status=$?
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "onramp: %d passed, %d failed\n", p, f }' "$log"
# The slowest test binaries (wall time of each, as cargo reports it).
echo "onramp: slowest test binaries:"
awk '/^ *Running / { bin = $2; if (bin == "unittests" && match($0, /deps\/[^)]+-/)) bin = substr($0, RSTART + 5, RLENGTH - 6) " (unit)" }
     /^test result:/ { for (i = 1; i <= NF; i++) if ($i == "in") t = $(i+1); sub(/s$/, "", t); print t, bin }' "$log" |
  sort -rn | head -8 | awk '{ printf "  %6.1f s  %s\n", $1, $2 }'
rm -f "$log"
phase_done "build and cargo test"
if [ -d artifacts/browser ]; then
  echo "onramp: browser screenshots are in $(pwd)/artifacts/browser/"
  find artifacts/browser -name '*.png' | sort | sed 's/^/  /'
fi

# The API against its own OpenAPI document, on the live dev stack.
echo "== schemathesis (scripts/api-fuzz.sh)"
fuzz=0
cargo build --quiet -p onramp-devtools --bin onramp-dev
ONRAMP_FUZZ_REPORT=${ONRAMP_FUZZ_REPORT:-${CARGO_TARGET_DIR:-target}/api-fuzz} \
  bash scripts/api-fuzz.sh "${CARGO_TARGET_DIR:-target}/debug/onramp-dev" || fuzz=$?
if [ "$fuzz" -ne 0 ]; then
  echo "onramp: schemathesis found failures (see above)"
  status=1
fi
phase_done "schemathesis"
exit "$status"
