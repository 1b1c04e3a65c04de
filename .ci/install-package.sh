#!/usr/bin/env bash
# What the packaging test needs on a fresh machine (idempotent): cargo-deb, which builds the
# .deb from Cargo.toml's [package.metadata.deb] (cargo install, ~2 min once), and
# systemd-analyze (Debian's `systemd` package) to verify the unit.
set -euo pipefail
if ! command -v cargo-deb >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo-deb" ]; then
    cargo install cargo-deb --version 3.8.0 --locked || cargo install cargo-deb --version 3.8.0
fi
if ! command -v systemd-analyze >/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd
fi
