#!/usr/bin/env bash
# Debian's `prometheus` package's `promtool`, for the test that lints the agent's /metrics
# with `promtool check metrics`: the package is downloaded (not installed), unpacked into a
# scratch directory and only usr/bin/promtool is copied to /usr/local/bin, so no Prometheus
# daemon is installed or started. Idempotent.
set -euo pipefail
if command -v promtool >/dev/null; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
$SUDO apt-get update -qq
(cd "$scratch" && apt-get download -qq prometheus)
dpkg-deb -x "$scratch"/prometheus_*.deb "$scratch/root"
$SUDO install -m 755 "$scratch/root/usr/bin/promtool" /usr/local/bin/promtool
promtool --version
