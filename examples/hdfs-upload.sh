#!/usr/bin/env bash
# Copies the files an hdfs sink has closed in a local staging directory into HDFS, keeping
# their relative paths, and removes each local copy once HDFS has it; then waits and repeats
# (docs/hdfs-alternatives.md). Usage:
#   examples/hdfs-upload.sh STAGING_DIR HDFS_DIR [SECONDS]     # SECONDS=0: one pass, then exit
#   examples/hdfs-upload.sh ./data/hdfs-staging /flume 60
# HDFS=/path/to/hdfs picks Hadoop's client (default: `hdfs` on PATH).
#
# Only closed files are copied: the sink writes `_<name>.tmp` (hdfs.inUsePrefix = _,
# hdfs.inUseSuffix = .tmp) and renames it to `<name>` when it closes it; a closed file is
# never written again. `hdfs dfs -put` writes `<name>._COPYING_` and renames it when
# complete, so HDFS readers never see a partial file under its final name. A crash between
# the copy and the local `rm` copies the same file again on the next pass: `-f` overwrites it
# with the same bytes, so nothing is duplicated. A failed copy keeps the local file and is
# retried on the next pass.
set -uo pipefail
src=${1:?usage: hdfs-upload.sh STAGING_DIR HDFS_DIR [SECONDS]}
dst=${2:?usage: hdfs-upload.sh STAGING_DIR HDFS_DIR [SECONDS]}
every=${3:-60}
hdfs=${HDFS:-hdfs}
src=${src%/}
dst=${dst%/}

upload_pass() {
    local f rel
    while IFS= read -r -d '' f; do
        rel=${f#"$src"/}
        if "$hdfs" dfs -mkdir -p "$dst/$(dirname "$rel")" &&
            "$hdfs" dfs -put -f "$f" "$dst/$rel"; then
            rm -f -- "$f"
            echo "uploaded $f to $dst/$rel"
        else
            echo "upload of $f failed; kept for the next pass" >&2
            return 1
        fi
    done < <(find "$src" -type f ! -name '_*' ! -name '*.tmp' -print0 | sort -z)
}

while :; do
    rc=0
    if [ -d "$src" ]; then upload_pass || rc=$?; fi
    [ "$every" = 0 ] && exit "$rc"
    sleep "$every"
done
