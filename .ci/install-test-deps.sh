#!/usr/bin/env bash
# Everything the test suite needs on a fresh machine, each part idempotent: the build's
# system packages, Chromium for the status-page test, tansu for the kafka tests, Python's
# thrift package for the thrift tests, the OpenTelemetry Python SDK for the otlp tests, openssl
# and keytool for the RPC security tests, a Java runtime and Hadoop 2.7.3's HDFS jars for the
# hdfs_cluster tests, a JDK, MariaDB and its JDBC driver for the Java plugin tests, cargo-deb
# and systemd-analyze for the packaging test, gmond for the Ganglia reporter test, promtool
# for the test that lints /metrics, SeaweedFS and boto3 for the object-storage tests, and
# ZooKeeper's jars for the ZooKeeper configuration source's test (and the clickhouse tests),
# ClickHouse for the clickhouse sink's tests, pyarrow and DuckDB for the parquet serializer's
# tests, and helm-python-sdk and kubernetes-validate for the tests of the Helm chart and the
# Kubernetes manifests.
set -euo pipefail
cd "$(dirname "$0")"
bash ./install-build.sh
bash ./install-prom-status.sh
bash ./install-kafka.sh
bash ./install-thrift.sh
bash ./install-otel.sh
bash ./install-parquet-tools.sh
bash ./install-rpcsec.sh
bash ./install-hdfs.sh
bash ./install-jvm.sh
bash ./install-package.sh
bash ./install-ganglia.sh
bash ./install-promtool.sh
bash ./install-seaweedfs.sh
bash ./install-zookeeper.sh
bash ./install-nats.sh
bash ./install-clickhouse.sh
bash ./install-kubernetes.sh
