#!/usr/bin/env bash
# Debian's `ganglia-monitor` (gmond), for the Ganglia reporter's test: the test runs its own
# gmond with a config of its own on free loopback ports and reads the metrics back from its XML
# port. Installed without starting the package's own daemon (the tests never use it).
# Idempotent.
set -euo pipefail
if command -v gmond >/dev/null; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
# policy-rc.d exit 101: "do not start services" while the package installs.
placed=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    placed=yes
fi
trap '[ -n "$placed" ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ganglia-monitor
command -v gmond
