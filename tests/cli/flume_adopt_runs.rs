//! `sluice channel adopt` in the orders an operator runs it (issue 79 item 5), each run's exit
//! code and first words asserted as docs/operations.md states them: a dry run and a real run
//! that the target refuses (exit 3, nothing written), a dry run that passes, the real run, a
//! rerun ("nothing to adopt"), and a dry run after the in-place adoption.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::flume_adopt::fixture;
use crate::support::cli_support::{outcome, sluice};

const IN_PLACE: [&str; 5] = [
    "--flume-checkpoint-dir",
    "checkpoint",
    "--flume-data-dirs",
    "data",
    "--in-place",
];

fn adopt(dir: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["channel", "adopt"];
    args.extend_from_slice(&IN_PLACE);
    args.extend_from_slice(extra);
    let (code, out, err) = outcome(&sluice(dir, &args));
    (code, format!("{out}{err}"))
}

/// Every file under `dir` (relative), to show a run wrote nothing.
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}

fn refused_runs_write_nothing(dir: &Path) {
    let before = files(dir);
    let (code, said) = adopt(
        dir,
        &[
            "--dry-run",
            "--set",
            "capacity=3",
            "--set",
            "transactionCapacity=3",
        ],
    );
    assert_eq!(code, 3, "dry run over capacity: {said}");
    assert!(
        said.contains("refused:") && said.contains("capacity 3"),
        "{said}"
    );
    assert_eq!(files(dir), before, "a dry run wrote");
    let (code, said) = adopt(
        dir,
        &["--set", "capacity=3", "--set", "transactionCapacity=3"],
    );
    assert_eq!(code, 3, "real run over capacity: {said}");
    assert!(said.contains("capacity 3"), "{said}");
    assert_eq!(
        files(dir),
        before,
        "a refused real run left files (adopt.state?)"
    );
}

fn the_passing_dry_run_then_the_real_run(dir: &Path) -> u64 {
    let before = files(dir);
    let (code, said) = adopt(dir, &["--dry-run"]);
    assert_eq!(code, 0, "dry run: {said}");
    assert!(said.contains("a real run can adopt these"), "{said}");
    assert_eq!(files(dir), before, "a dry run wrote");
    let (code, said) = adopt(dir, &[]);
    assert_eq!(code, 0, "real run: {said}");
    let n: u64 = said
        .split("adopted ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'adopted N events' in {said}"));
    assert!(n > 0, "{said}");
    n
}

fn reruns_say_there_is_nothing_to_adopt(dir: &Path, adopted: u64) {
    let (code, said) = adopt(dir, &[]);
    assert_eq!(code, 0, "rerun: {said}");
    assert!(said.contains("nothing to adopt"), "{said}");
    assert!(said.contains(&format!("{adopted} events")), "{said}");
    assert!(!said.contains("interrupted"), "{said}");
    let before = files(dir);
    let (code, said) = adopt(dir, &["--dry-run"]);
    assert_eq!(code, 0, "dry run after the adoption: {said}");
    assert!(said.contains("nothing to adopt"), "{said}");
    assert_eq!(files(dir), before, "a dry run wrote");
}

#[test]
fn refused_then_dry_run_then_adopted_then_rerun_each_exit_as_documented() {
    let tmp = fixture("clean-stop");
    refused_runs_write_nothing(tmp.path());
    let n = the_passing_dry_run_then_the_real_run(tmp.path());
    reruns_say_there_is_nothing_to_adopt(tmp.path(), n);
}
