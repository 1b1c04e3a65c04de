#!/usr/bin/env bash
# What the kafka tests need on a fresh machine (idempotent): tansu, the Kafka-protocol broker
# they start on loopback (cargo install, ~15 min once). The build dependencies of the kafka
# components themselves are in install-build.sh.
set -euo pipefail
if ! command -v tansu >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tansu" ]; then
    # --locked first (the versions tansu was released with); without it if that lock no
    # longer resolves (a yanked crate), so CI does not fail on the registry's history.
    cargo install tansu --version 0.6.0 --features dynostore --locked \
        || cargo install tansu --version 0.6.0 --features dynostore
fi
