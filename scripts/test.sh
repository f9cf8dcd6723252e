#!/usr/bin/env bash
# Runs onramp's whole test suite against the real components (nats-server,
# PostgreSQL, SQLite, netconfd over SSH, the AWS SDK against our simulator),
# plus the format and lint gates. Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

# CI starts from a clean clone each time; a target dir outside the clone lets
# it reuse compiled dependencies from earlier runs on the same machine.
if [ "${CI:-}" = "true" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR=/var/tmp/onramp-ci-target
fi
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --workspace --no-fail-fast
