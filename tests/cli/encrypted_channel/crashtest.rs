//! `sluice crashtest` on sealed segments: SIGKILL and power-loss rounds with a Flume user's
//! encryption keys lose nothing acknowledged, and every segment they leave is sealed.

use std::path::PathBuf;

use super::{encryption, files, keys};
use crate::support::cli_support::sluice;

#[test]
fn crashtest_rounds_on_sealed_segments_lose_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    keys(dir);
    let base = format!("{}/", dir.display());
    let set: Vec<String> = encryption("key-1", "key-0 key-1", &base)
        .into_iter()
        .flat_map(|(k, v)| ["--set".to_owned(), format!("{k}={v}")])
        .collect();
    for mode in [&["--max-run-ms", "150"][..], &["--power-loss"][..]] {
        let run = dir.join(if mode[0] == "--power-loss" {
            "pl"
        } else {
            "kill"
        });
        let run_s = run.display().to_string();
        let mut args = vec![
            "crashtest",
            "--dir",
            &run_s,
            "--rounds",
            "5",
            "--seed",
            "65",
        ];
        args.extend_from_slice(mode);
        args.extend(set.iter().map(String::as_str));
        let out = sluice(dir, &args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode:?}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let last = stdout.lines().last().unwrap_or("");
        assert!(
            last.contains(" lost=0 ") && !last.contains("acked=0 "),
            "{mode:?}: {last}"
        );
        if mode[0] != "--power-loss" {
            let segs: Vec<PathBuf> = files(&run.join("data"))
                .into_iter()
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("log-"))
                })
                .collect();
            assert!(!segs.is_empty());
            for s in segs {
                let b = std::fs::read(&s).unwrap();
                assert_eq!(
                    b.get(8..12),
                    Some(&[3u8, 0, 0, 0][..]),
                    "{} is not sealed",
                    s.display()
                );
            }
        }
    }
}
