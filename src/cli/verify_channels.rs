//! `sluice config check --verify-channels`: after a configuration passed its checks, runs
//! `sluice channel verify` (read-only, the same code) on every file channel it names. A
//! channel whose directories do not exist yet has nothing to verify (reported, not a
//! failure). Exit codes: 0 every channel is sound, 1 one is not, 3 one could not be checked
//! (an agent holds it open: verify refuses, as `channel verify` does).

use std::sync::Arc;

use sluice::agent::registry::ChannelKind;
use sluice::agent::topology::AgentConfig;
use sluice_core::inspect::{checkpoint_dirs, verify};
use sluice_core::io::{Fs, StdFs};
use sluice_core::FileChannelConfig;

use crate::cli::exit;

/// How one channel's verification ended, as an exit code.
fn verify_one(name: &str, cfg: &FileChannelConfig) -> i32 {
    let ckpts = checkpoint_dirs(cfg);
    let dirs: Vec<&std::path::PathBuf> =
        ckpts.iter().map(|(_, d)| d).chain(&cfg.data_dirs).collect();
    if dirs.iter().all(|d| !d.exists()) {
        println!("channel {name}: not created yet (no directory exists); nothing to verify");
        return exit::OK;
    }
    if let Some(d) = dirs.iter().find(|d| !d.is_dir()) {
        eprintln!(
            "channel {name}: cannot verify: {} does not exist or is not a directory",
            d.display()
        );
        return exit::CANNOT_RUN;
    }
    let fs: Arc<dyn Fs> = Arc::new(StdFs);
    match verify(fs, cfg) {
        Err(e) => {
            eprintln!("channel {name}: cannot verify: {e}");
            exit::CANNOT_RUN
        }
        Ok(v) => {
            for p in &v.problems {
                println!("channel {name}: {p}");
            }
            if let Some(why) = &v.open_refusal {
                println!("channel {name}: open would refuse the channel: {why}");
            }
            if v.is_sound() {
                println!(
                    "channel {name}: sound (segments: {}, good records: {}, events after recovery: {})",
                    v.segments, v.records, v.queued
                );
                exit::OK
            } else {
                println!("channel {name}: NOT SOUND: {} problems", v.problems.len());
                exit::FAILED_CHECK
            }
        }
    }
}

/// Verifies every file channel of `config`; the worst exit code (3 over 1 over 0).
pub fn run(config: &AgentConfig) -> i32 {
    let mut code = exit::OK;
    for (name, ch) in &config.channels {
        if let ChannelKind::File(cfg) = &ch.kind {
            let c = verify_one(name, cfg);
            code = match (code, c) {
                (exit::CANNOT_RUN, _) | (_, exit::CANNOT_RUN) => exit::CANNOT_RUN,
                (exit::FAILED_CHECK, _) | (_, exit::FAILED_CHECK) => exit::FAILED_CHECK,
                _ => exit::OK,
            };
        }
    }
    code
}
