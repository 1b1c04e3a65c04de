#!/usr/bin/env bash
# What the kafka components and their tests need on a fresh Debian machine (idempotent):
# - librdkafka-dev + pkg-config: the `rdkafka` crate links Debian's librdkafka dynamically
#   (DESIGN.md: rdkafka-sys 4.5 needs librdkafka >= 1.9.2; bookworm has 2.0.2);
# - tansu: the Kafka-protocol broker the tests start on loopback (cargo install, ~15 min once).
set -euo pipefail
need=()
pkg-config --exists rdkafka 2>/dev/null || need+=(librdkafka-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
if ! command -v tansu >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tansu" ]; then
    cargo install tansu --version 0.6.0 --features dynostore --locked
fi
