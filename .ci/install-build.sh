#!/usr/bin/env bash
# What building Sluice needs beyond Rust and a C compiler, on a fresh Debian machine
# (idempotent: installs only what is missing): cmake, pkg-config and libssl-dev, because the
# `rdkafka` crate builds its bundled librdkafka 2.3.0 with cmake and links OpenSSL for TLS/SASL
# (DESIGN.md says why not Debian's librdkafka).
set -euo pipefail

# Rust itself (Cargo.toml's rust-version). Not installed from here: a Flume user may have no
# cargo at all, or Debian's (1.63 on bookworm, too old); rustup is the way to get a current one.
RUST_MIN=1.85
rust_ok() {
    local v
    v=$(rustc --version 2>/dev/null | awk '{print $2}') || return 1
    [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$RUST_MIN" "$v" | sort -V | head -n1)" = "$RUST_MIN" ]
}
if ! command -v cargo >/dev/null || ! rust_ok; then
    found=$(rustc --version 2>/dev/null || echo "no rustc")
    cat >&2 <<MSG
Sluice needs Rust $RUST_MIN or newer ($found on this machine). Install it with rustup:

    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y
    . "\$HOME/.cargo/env"

(or \`rustup update\` if rustup is already installed), then run this command again.
MSG
    exit 1
fi

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
if [ ! -x target/release/sluice ] && [ ! -x "$(dirname "$0")/../target/release/sluice" ]; then
    echo "The first release build compiles several hundred crates and the bundled librdkafka (C):" \
        "478 crates (tests included) took 20 min 21 s on a 2-core machine that installed the" \
        "test deps meanwhile (2026-11-29); later builds take seconds." >&2
fi
