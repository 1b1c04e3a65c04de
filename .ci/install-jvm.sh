#!/usr/bin/env bash
# What the Java-plugin tests (issue 27) need on a fresh machine, idempotent: a JDK (javac builds
# Sluice's Flume-API shim and the tests' plugins), MariaDB (the SQL source's database, started
# by the test on loopback), MariaDB's JDBC driver, and Jackson (the JSON interceptor's libext/). apt runs under /tmp/apt.lock because
# other installers may run at the same time on the same machine.
set -euo pipefail
need=()
command -v javac >/dev/null || need+=(default-jdk-headless)
command -v mariadbd >/dev/null || need+=(mariadb-server)
[ -e /usr/share/java/mariadb-java-client.jar ] || need+=(libmariadb-java)
[ -e /usr/share/java/jackson-databind.jar ] || need+=(libjackson2-databind-java)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    flock /tmp/apt.lock $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # --no-install-recommends: no service is enabled beyond what the package installs; the
    # tests start their own mariadbd in a temp dir and never use the system one.
    flock /tmp/apt.lock $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${need[@]}"
fi
