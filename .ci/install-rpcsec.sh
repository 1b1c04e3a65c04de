#!/usr/bin/env bash
# Installs what the RPC security tests need on a fresh machine: `openssl` (the tests make
# their CA, certificates and PKCS12 stores with it) and Java's `keytool` (a keytool-written
# PKCS12 keystore must be read, a JKS one refused). Idempotent: nothing when both are there.
set -euo pipefail
if command -v openssl >/dev/null && command -v keytool >/dev/null; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
# Other sessions may run apt at the same time.
$SUDO flock /tmp/apt.lock apt-get update -qq
$SUDO flock /tmp/apt.lock apt-get install -y -qq openssl default-jre-headless >/dev/null
command -v openssl >/dev/null
command -v keytool >/dev/null
