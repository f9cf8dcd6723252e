#!/usr/bin/env bash
# Installs what onramp's dev stack and test suite run against, on Debian:
# nats-server (JetStream), netconfd + OpenSSH (the simulated PE routers),
# Prometheus and its SNMP exporter (the customer KPIs' time series),
# PostgreSQL (the production database, tested beside SQLite), headless
# Chromium + ChromeDriver (the browser end-to-end tests), python3-venv (for
# schemathesis), and the local user
# the simulated PEs accept over SSH. Safe to run again.
set -euo pipefail

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then exec sudo -E bash "$0" "$@"; fi
    echo "install-deps.sh needs root (apt-get, useradd)" >&2
    exit 1
  fi
}

missing=()
for bin in nats-server netconfd sshd ssh-keygen psql sqlite3 pkg-config \
  chromium chromedriver curl prometheus prometheus-snmp-exporter; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing+=("$bin")
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=("initdb")
[ -f /usr/include/libyang/libyang.h ] || missing+=("libyang2-dev")
[ -d /usr/share/fonts/truetype/liberation ] || missing+=("fonts-liberation")
if ! id onramp-pe >/dev/null 2>&1; then missing+=("user onramp-pe"); fi
# scripts/api-fuzz.sh installs schemathesis (pip) into a venv.
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=("python3-venv")

if [ ${#missing[@]} -gt 0 ]; then
  need_root "$@"
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # fonts-liberation is only a Recommends of chromium: without a font, text in
  # the browser tests' screenshots renders as empty boxes.
  apt-get install -y -qq --no-install-recommends \
    nats-server netconfd openssh-server openssh-client \
    postgresql postgresql-client sqlite3 ca-certificates gcc make \
    libyang2-dev pkg-config chromium chromium-driver fonts-liberation \
    python3 python3-venv curl prometheus prometheus-snmp-exporter >/dev/null
  # Debian starts the packaged services; onramp starts its own on free ports.
  systemctl disable --now nats-server postgresql ssh prometheus \
    prometheus-snmp-exporter prometheus-node-exporter >/dev/null 2>&1 || true
  if ! id onramp-pe >/dev/null 2>&1; then
    # The simulated PEs' NETCONF login (a lab credential, loopback only).
    useradd --create-home --shell /bin/sh onramp-pe
    # SHA-512 instead of Debian's default yescrypt: ~48 ms less per SSH login.
    echo 'onramp-pe:onramp-pe-lab' | chpasswd -c SHA512
  fi
fi
mkdir -p /run/sshd 2>/dev/null || true

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install a stable Rust toolchain (1.95+) with rustup first" >&2
  exit 1
fi
