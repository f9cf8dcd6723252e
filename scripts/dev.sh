#!/usr/bin/env bash
# Starts the whole onramp stack on this machine: SQLite, a local nats-server,
# the AWS Direct Connect simulator, two netconfd PEs, the API and a worker,
# with a demo tenant. Prints where to look. Ctrl-C stops it. Arguments go to
# `onramp-dev up` (the dev tools' binary; the product binary has no simulators).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build -p onramp-devtools --bin onramp-dev
exec "${CARGO_TARGET_DIR:-target}/debug/onramp-dev" up "$@"
