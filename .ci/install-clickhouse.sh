#!/usr/bin/env bash
# Debian's `clickhouse-server` and `clickhouse-client` (18.16), for the clickhouse sink's tests:
# the tests run their own servers (`clickhouse-server --config-file=<tmp>/config.xml`) on free
# loopback ports with temp data paths, two replicas on a ZooKeeper the test starts itself
# (install-zookeeper.sh), so the package's own service is never started (policy-rc.d).
# Idempotent; apt runs under /tmp/apt.lock because other installers may run at the same time.
set -euo pipefail
if command -v clickhouse-server >/dev/null && command -v clickhouse-client >/dev/null; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
placed=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    placed=yes
fi
trap '[ -n "$placed" ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
flock /tmp/apt.lock $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
flock /tmp/apt.lock $SUDO env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends clickhouse-server clickhouse-client
command -v clickhouse-server clickhouse-client
