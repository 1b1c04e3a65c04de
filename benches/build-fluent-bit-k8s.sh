#!/usr/bin/env bash
# Builds Fluent Bit 5.1.1 as ../shared/peers/setup.sh's binary was built (the same cmake flags,
# README of run.py), plus its `kubernetes` filter, which that minimal build leaves out: the
# peer of benches/k8s_node.py (issue 90). Not run by CI.
#
#   bash benches/build-fluent-bit-k8s.sh SRC OUT
#
# SRC: Fluent Bit's source at tag v5.1.1 (a checkout, or `git archive v5.1.1` unpacked).
# OUT: where the binary goes (OUT/fluent-bit). Needs cmake, flex, bison, libssl-dev,
# libyaml-dev and libsqlite3-dev (apt). About 10 minutes on 2 idle cores.
set -euo pipefail
src=$(cd "$1" && pwd)
out=$2
mkdir -p "$src/build" "$out"
cd "$src/build"
cmake .. -DFLB_RELEASE=On -DFLB_IPO=Off -DFLB_MINIMAL=On -DFLB_EXAMPLES=Off -DFLB_SHARED_LIB=Off \
  -DFLB_WASM=Off -DFLB_LUAJIT=Off -DFLB_KAFKA=Off -DFLB_ZIG=Off -DFLB_PROXY_GO=Off \
  -DFLB_STREAM_PROCESSOR=Off -DFLB_CUSTOM_CALYPTIA=Off -DFLB_PREFER_SYSTEM_LIB_SQLITE=On \
  -DFLB_IN_TAIL=On -DFLB_IN_FORWARD=On -DFLB_IN_SYSLOG=On -DFLB_IN_TCP=On -DFLB_IN_STORAGE_BACKLOG=On \
  -DFLB_IN_EMITTER=On -DFLB_OUT_FORWARD=On -DFLB_OUT_FILE=On -DFLB_OUT_NULL=On -DFLB_OUT_STDOUT=On \
  -DFLB_FILTER_KUBERNETES=On >/dev/null
make -j"$(nproc)" fluent-bit-bin >/dev/null
cp bin/fluent-bit "$out/fluent-bit"
"$out/fluent-bit" --help 2>&1 | grep -q "kubernetes" || { echo "no kubernetes filter in the build" >&2; exit 1; }
"$out/fluent-bit" --version | head -1
