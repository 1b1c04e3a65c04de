//! `sluice channel adopt --dry-run` with a target named (`--checkpoint-dir`/`--data-dirs`,
//! `--in-place`, or `-f/-n/-c`): checks what the real run would refuse only after writing
//! its state into the checkpoint directory: the new channel's capacity against the events
//! to adopt, the free space of its directories, its keys (each password tried), and an
//! encrypted Flume channel adopted without keys (`--allow-plaintext`).

use std::path::Path;

use sluice_core::io::{Fs, StdFs};
use sluice_core::FileChannelConfig;
use sluice_flume::adopt::Survey;

use crate::cli::exit::CANNOT_RUN;

/// Bytes the staged channel needs besides the events' own: segment and record framing,
/// checkpoint (a generous bound: 64 bytes an event plus 1 MiB).
fn overhead_bytes(events: u64) -> u64 {
    events.saturating_mul(64).saturating_add(1 << 20)
}

/// Checks the target `t` for the events `s` holds; prints each refusal and returns
/// `CANNOT_RUN` (3: a real run would adopt nothing) if any, else `code` (the survey's).
pub(super) fn check_target(
    t: &FileChannelConfig,
    s: &Survey,
    allow_plaintext: bool,
    code: i32,
) -> anyhow::Result<i32> {
    let mut refusals = Vec::new();
    if s.events > t.capacity {
        refusals.push(format!(
            "Flume's channel holds {} events, more than the new channel's capacity {}: raise it (--set capacity={} or capacity in the agent's file) before the real run",
            s.events, t.capacity, s.events
        ));
    }
    let need = s
        .bytes
        .saturating_add(overhead_bytes(s.events))
        .saturating_add(t.minimum_required_space_bytes);
    for dir in &t.data_dirs {
        if let Some(free) = free_bytes(dir) {
            if free < need {
                refusals.push(format!(
                    "{} has {free} bytes free; the adopted events need about {need} (their {} bytes, framing, and minimumRequiredSpace {}): free space or give other --data-dirs",
                    dir.display(), s.bytes, t.minimum_required_space_bytes
                ));
            }
        }
    }
    match &t.encryption {
        Some(enc) => {
            if let Err(e) = enc.keyring(&StdFs) {
                refusals.push(format!("the new channel's keys: {e}"));
            }
        }
        None => {
            let sealed = s.report.files.iter().find(|(_, _, a)| a.is_some());
            if let (Some((path, _, _)), false) = (sealed, allow_plaintext) {
                refusals.push(format!(
                    "Flume's channel is encrypted (e.g. {}) but the new channel has no encryption keys: give it encryption.* (--set or -f/-n/-c), or pass --allow-plaintext to accept plaintext",
                    path.display()
                ));
            }
        }
    }
    for r in &refusals {
        println!("refused: {r}");
    }
    if refusals.is_empty() {
        println!(
            "target: {} (capacity {}): a real run can adopt these {} events",
            t.checkpoint_dir.display(),
            t.capacity,
            s.events
        );
        Ok(code)
    } else {
        println!("dry run: the real run would adopt nothing; nothing was written");
        Ok(CANNOT_RUN)
    }
}

/// Free bytes where `dir` is (or would be made: its nearest existing ancestor).
fn free_bytes(dir: &Path) -> Option<u64> {
    let fs = StdFs;
    let mut at = Some(dir);
    while let Some(d) = at {
        if let Ok(free) = fs.available_space(d) {
            return Some(free);
        }
        at = d.parent().filter(|p| !p.as_os_str().is_empty());
    }
    fs.available_space(Path::new(".")).ok()
}
