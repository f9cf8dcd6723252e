#!/usr/bin/env bash
# Starts the whole onramp stack on this machine: SQLite, a local nats-server,
# the AWS Direct Connect simulator, two netconfd PEs, the API and a worker,
# with a demo tenant. Prints where to look. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --bin onramp
exec ./target/debug/onramp dev "$@"
