#!/usr/bin/env bash
# Debian's `zookeeper` package, for the ZooKeeper configuration source's test: the test runs
# its own server (`java -cp` the package's jars, `org.apache.zookeeper.server.ZooKeeperServerMain`)
# with a zoo.cfg of its own on a free loopback port and a temp data dir, so the package's own
# daemon is never started (policy-rc.d, `--no-install-recommends`: no `zookeeperd`).
# Idempotent; apt runs under /tmp/apt.lock because other installers may run at the same time.
set -euo pipefail
if [ -e /usr/share/java/zookeeper.jar ]; then
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
    apt-get install -y -q --no-install-recommends zookeeper
ls /usr/share/java/zookeeper.jar
