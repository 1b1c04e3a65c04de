#!/usr/bin/env bash
# What building Sluice needs beyond Rust and a C compiler, on a fresh Debian machine
# (idempotent: installs only what is missing): cmake, pkg-config and libssl-dev, because the
# `rdkafka` crate builds its bundled librdkafka 2.3.0 with cmake and links OpenSSL for TLS/SASL
# (DESIGN.md says why not Debian's librdkafka).
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
