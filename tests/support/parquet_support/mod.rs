//! Reading the `parquet` serializer's files back with pyarrow AND DuckDB (`read.py`, in the
//! virtualenv `.ci/install-parquet-tools.sh` makes at `$SLUICE_PARQUET_VENV`, default
//! `~/.cache/sluice/parquet-venv`). Missing tools skip a test, or fail it when
//! `SLUICE_REQUIRE_PARQUET` is set (as `.ci/run` does).
#![allow(dead_code)]

pub mod bench;
pub mod events;

/// Kill -9 rounds of a Parquet kill test: `ci` (a bounded run, as `.ci/run` runs it), or
/// `SLUICE_PARQUET_ROUNDS` (the 20: `SLUICE_PARQUET_ROUNDS=20`).
pub fn kill_rounds(ci: usize) -> usize {
    std::env::var("SLUICE_PARQUET_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ci)
}

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the virtualenv is.
pub const VENV_ENV: &str = "SLUICE_PARQUET_VENV";
/// Set to fail instead of skipping when pyarrow or DuckDB is missing.
pub const REQUIRE_ENV: &str = "SLUICE_REQUIRE_PARQUET";

/// The virtualenv's Python with pyarrow and DuckDB, or `None` (after saying why) when they
/// are missing and not required.
pub fn python() -> Option<PathBuf> {
    let venv = std::env::var_os(VENV_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/sluice/parquet-venv")
        });
    let py = venv.join("bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import pyarrow, duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    let why = format!(
        "pyarrow and duckdb not found in {} (run .ci/install-parquet-tools.sh)",
        venv.display()
    );
    assert!(std::env::var_os(REQUIRE_ENV).is_none(), "{why}");
    eprintln!("skipped: {why}");
    None
}

/// What the two readers found in a directory's Parquet files (they agree, row for row).
#[derive(Debug)]
pub struct Read {
    /// Parquet files read.
    pub files: usize,
    /// Column types as pyarrow names them.
    pub pyarrow: BTreeMap<String, String>,
    /// Column types as DuckDB names them.
    pub duckdb: BTreeMap<String, String>,
    /// One summary per row ([`row`]), files in name order.
    pub rows: Vec<serde_json::Value>,
}

/// Reads `dir`'s final Parquet files; `Err` with the readers' message when one cannot be
/// read or the readers disagree.
pub fn read(python: &Path, dir: &Path) -> Result<Read, String> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/parquet_support/read.py");
    let out = Command::new(python)
        .arg(script)
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let head: serde_json::Value =
        serde_json::from_str(lines.next().unwrap_or("{}")).map_err(|e| e.to_string())?;
    let types = |k: &str| -> BTreeMap<String, String> {
        head[k]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(c, t)| (c.clone(), t.as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let rows = lines
        .map(|l| serde_json::from_str(l).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    Ok(Read {
        files: head["files"].as_u64().unwrap_or(0) as usize,
        pyarrow: types("pyarrow"),
        duckdb: types("duckdb"),
        rows,
    })
}

/// A row's summary as `read.py` prints it: the timestamp, the body's length and CRC-32,
/// the header pairs sorted, the lifted columns.
pub fn row(
    ts: Option<i64>,
    body: &[u8],
    headers: &[(&str, &str)],
    lifted: &[(&str, Option<&str>)],
) -> serde_json::Value {
    let mut pairs: Vec<[&str; 2]> = headers.iter().map(|(k, v)| [*k, *v]).collect();
    pairs.sort();
    let lifted: serde_json::Map<String, serde_json::Value> = lifted
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::json!(v)))
        .collect();
    serde_json::json!([ts, body.len(), crc32fast::hash(body), pairs, lifted])
}
