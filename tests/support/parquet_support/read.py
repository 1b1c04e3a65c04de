"""Reads the Parquet files of a directory with pyarrow AND DuckDB (two readers written
independently of Sluice), checks they agree row for row, and prints:
  line 1: {"files": N, "pyarrow": {column: type}, "duckdb": {column: type}}
  then one line per row, files in name order: JSON [timestamp ms or null, body length,
  CRC-32 of the body, sorted [key, value] header pairs, {lifted column: value}].
Files ending in .rows or .tmp (staged rows, a file being written) are not read.
Exit 1 with a message when a file cannot be read or the readers disagree."""
import json
import os
import sys
import zlib

import duckdb
import pyarrow.parquet as pq

FIXED = ("timestamp", "headers", "body")


def ms(v):
    if v is None:
        return None
    return int(v.timestamp() * 1000) if hasattr(v, "timestamp") else int(v)


def rows_pyarrow(path):
    t = pq.read_table(path)
    types = {f.name: str(f.type) for f in t.schema}
    cols = t.to_pydict()
    extra = [c for c in t.column_names if c not in FIXED]
    out = []
    for i in range(t.num_rows):
        ts = cols["timestamp"][i]
        ts = None if ts is None else int(ts.timestamp() * 1000) if hasattr(ts, "timestamp") else ts
        headers = sorted([list(p) for p in cols["headers"][i]])
        body = cols["body"][i]
        body = body.encode() if isinstance(body, str) else body
        out.append([ts, len(body), zlib.crc32(body), headers, {c: cols[c][i] for c in extra}])
    return types, out, extra


def rows_duckdb(path, extra):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()}
    select = ", ".join(['epoch_ms("timestamp")', "headers", "body"] + [f'"{c}"' for c in extra])
    out = []
    for r in con.execute(f"SELECT {select} FROM read_parquet('{path}')").fetchall():
        ts, headers, body = r[0], r[1], r[2]
        body = body.encode() if isinstance(body, str) else bytes(body)
        pairs = sorted([[k, v] for k, v in headers.items()]) if isinstance(headers, dict) else sorted([list(p) for p in headers])
        out.append([ts, len(body), zlib.crc32(body), pairs, {c: r[3 + i] for i, c in enumerate(extra)}])
    return types, out


def main():
    d = sys.argv[1]
    names = sorted(n for n in os.listdir(d) if not n.endswith((".rows", ".tmp")) and os.path.isfile(os.path.join(d, n)))
    head = {"files": len(names), "pyarrow": {}, "duckdb": {}}
    lines = []
    for n in names:
        p = os.path.join(d, n)
        try:
            pa_types, pa_rows, extra = rows_pyarrow(p)
            dk_types, dk_rows = rows_duckdb(p, extra)
        except Exception as e:  # a final name that is not a whole Parquet file
            print(f"{n}: not readable: {e}", file=sys.stderr)
            return 1
        if pa_rows != dk_rows:
            print(f"{n}: pyarrow and duckdb disagree", file=sys.stderr)
            return 1
        head["pyarrow"], head["duckdb"] = pa_types, dk_types
        lines.extend(json.dumps(r) for r in pa_rows)
    sys.stdout.write(json.dumps(head) + "\n")
    for l in lines:
        sys.stdout.write(l + "\n")
    return 0


sys.exit(main())
