#!/usr/bin/env bash
# What the HDFS tests need on a fresh machine (idempotent): a Java runtime (Debian's headless
# OpenJDK 17) and the Hadoop 2.7.3 HDFS server jars that the Python package pyspark==2.4.8 ships
# (its source archive, fetched with pip into a throw-away venv; about 220 MB, seconds), extracted
# into $SLUICE_HADOOP_HOME (default ~/.cache/sluice/hadoop-2.7.3): `jars/` for the classpath and
# `webapps/{hdfs,datanode,secondary}/WEB-INF/web.xml` (empty web apps the daemons insist on).
# tests/support/hdfs_support/cluster.rs starts a NameNode and a DataNode from them on loopback.
set -euo pipefail

HOME_DIR="${SLUICE_HADOOP_HOME:-$HOME/.cache/sluice/hadoop-2.7.3}"
MARK="$HOME_DIR/.complete"

if ! command -v java >/dev/null; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openjdk-17-jre-headless
fi

if [ -f "$MARK" ]; then
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! python3 -m venv "$work/venv" 2>/dev/null; then
    # Debian's own python3 keeps venv (ensurepip) in a package of its own.
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv
    rm -rf "$work/venv"
    python3 -m venv "$work/venv"
fi
"$work/venv/bin/pip" install -q --disable-pip-version-check setuptools wheel
"$work/venv/bin/pip" download -q --disable-pip-version-check --no-deps --no-build-isolation \
    -d "$work/dl" pyspark==2.4.8
archive=$(ls "$work"/dl/pyspark-2.4.8*)
# The HDFS server's runtime classpath (hadoop-hdfs and its 2.7.3 dependencies), nothing else.
patterns=(
    'hadoop-hdfs-2.7.3.jar' 'hadoop-common-2.7.3.jar' 'hadoop-auth-2.7.3.jar'
    'hadoop-annotations-2.7.3.jar' 'guava-*.jar' 'protobuf-java-*.jar' 'jetty-*.jar'
    'netty-*.jar' 'htrace-core*.jar' 'xmlenc-*.jar' 'commons-*.jar' 'log4j-*.jar' 'slf4j-*.jar'
    'jackson-core-asl-*.jar' 'jackson-mapper-asl-*.jar' 'javax.ws.rs-api-*.jar'
    'servlet-api-*.jar' 'javax.servlet-api-*.jar' 'jersey-*.jar' 'leveldbjni-all-*.jar'
    'xercesImpl-*.jar' 'xml-apis-*.jar' 'jsr305-*.jar' 'avro-*.jar' 'paranamer-*.jar'
    'snappy-java-*.jar' 'gson-*.jar' 'apacheds-*.jar' 'api-*.jar' 'curator-*.jar'
    'zookeeper-*.jar' 'jets3t-*.jar' 'httpclient-*.jar' 'httpcore-*.jar' 'jsp-api-*.jar'
    'activation-*.jar' 'jaxb-*.jar' 'stax-api-*.jar' 'asm-*.jar' 'hadoop-*.jar'
)
globs=()
for p in "${patterns[@]}"; do globs+=("--wildcards" "pyspark-2.4.8/deps/jars/$p"); done
mkdir -p "$work/x"
tar -xzf "$archive" -C "$work/x" "${globs[@]}" 2>/dev/null || true
count=$(ls "$work/x/pyspark-2.4.8/deps/jars" 2>/dev/null | wc -l)
if [ ! -f "$work/x/pyspark-2.4.8/deps/jars/hadoop-hdfs-2.7.3.jar" ]; then
    echo "install-hdfs.sh: hadoop-hdfs-2.7.3.jar not found in $archive ($count jars extracted)" >&2
    exit 1
fi
rm -rf "$HOME_DIR"
mkdir -p "$HOME_DIR/jars"
mv "$work"/x/pyspark-2.4.8/deps/jars/*.jar "$HOME_DIR/jars/"
for app in hdfs datanode secondary; do
    mkdir -p "$HOME_DIR/webapps/$app/WEB-INF"
    cat > "$HOME_DIR/webapps/$app/WEB-INF/web.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<web-app version="2.5" xmlns="http://java.sun.com/xml/ns/javaee"/>
XML
done
touch "$MARK"
echo "install-hdfs.sh: Hadoop 2.7.3 HDFS jars in $HOME_DIR ($count jars)" >&2
