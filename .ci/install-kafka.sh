#!/usr/bin/env bash
# What the kafka components and their tests need on a fresh Debian machine (idempotent):
# - cmake, a C compiler, pkg-config, libssl-dev: the `rdkafka` crate builds its bundled
#   librdkafka 2.3.0 (`cmake-build`, `ssl`); DESIGN.md says why not Debian's librdkafka;
# - tansu: the Kafka-protocol broker the tests start on loopback (cargo install, ~15 min once).
set -euo pipefail
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v cc >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
if ! command -v tansu >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tansu" ]; then
    # --locked first (the versions tansu was released with); without it if that lock no
    # longer resolves (a yanked crate), so CI does not fail on the registry's history.
    cargo install tansu --version 0.6.0 --features dynostore --locked \
        || cargo install tansu --version 0.6.0 --features dynostore
fi
