//! The phases of a local `sluice bench` run: the ones `--phase` names (put, take, both,
//! mixed) on the file channel or the in-memory queue, a timed reopen between them with
//! `--reopen`, and the verification of what was taken back.

use std::time::Duration;

use anyhow::Context;
use sluice_core::{FileChannel, FileChannelConfig};

use super::args::{BenchArgs, PhaseArg, Stop};
use super::memory::MemoryQueue;
use super::payload::Payload;
use super::queue::{BenchQueue, FileQueue};
use super::reopen::{self, ReopenResult};
use super::report::{self, Verification};
use super::workload::{self, PhaseResult, PhaseSpec};

/// What every phase of a run shares.
pub(super) struct Phases<'a> {
    args: &'a BenchArgs,
    payload: &'a Payload,
    config: &'a FileChannelConfig,
    memory: MemoryQueue,
    every: Option<Duration>,
    stop: Stop,
    batch: usize,
}

impl<'a> Phases<'a> {
    pub(super) fn new(
        args: &'a BenchArgs,
        payload: &'a Payload,
        config: &'a FileChannelConfig,
        stop: Stop,
        batch: usize,
    ) -> Phases<'a> {
        Phases {
            args,
            payload,
            config,
            memory: MemoryQueue::default(),
            every: args.checkpoint_every_ms.map(Duration::from_millis),
            stop,
            batch,
        }
    }

    /// Runs the phases `--phase` names, on `file` when it is open (else the memory queue),
    /// with a reopen between them when asked.
    pub(super) fn run(
        &self,
        file: &mut Option<FileChannel>,
    ) -> anyhow::Result<(Vec<PhaseResult>, Option<ReopenResult>)> {
        let args = self.args;
        let (putters, takers) = (args.putters.max(1), args.takers.max(1));
        let mut phases: Vec<PhaseResult> = Vec::new();
        let mut reopened = None;
        match args.phase {
            PhaseArg::Put | PhaseArg::Both => {
                phases.push(self.one(self.spec("put", putters, 0), file)?);
                if args.reopen {
                    reopened = Some(reopen_now(file, self.config, args.drop_caches)?);
                }
                if args.phase == PhaseArg::Both {
                    let mut s = self.spec("take", 0, takers);
                    s.take_limit = Some(phases[0].put);
                    phases.push(self.one(s, file)?);
                }
            }
            PhaseArg::Take => {
                if args.reopen {
                    reopened = Some(reopen_now(file, self.config, args.drop_caches)?);
                }
                let mut s = self.spec("take", 0, takers);
                s.take_limit = args.events;
                s.check_size = false;
                phases.push(self.one(s, file)?);
            }
            PhaseArg::Mixed => phases.push(self.one(self.spec("mixed", putters, takers), file)?),
        }
        Ok((phases, reopened))
    }

    fn spec(&self, name: &'static str, putters: usize, takers: usize) -> PhaseSpec {
        PhaseSpec {
            name,
            putters,
            stop: self.stop,
            takers,
            take_limit: None,
            batch: self.batch,
            first_id: 0,
            check_size: true,
        }
    }

    /// One phase, on the file channel (checkpointing every `--checkpoint-every-ms`) or the
    /// memory queue.
    fn one(&self, spec: PhaseSpec, file: &Option<FileChannel>) -> anyhow::Result<PhaseResult> {
        let progress = !self.args.quiet;
        match file {
            Some(ch) => {
                let q = FileQueue(ch.clone());
                let f = || ch.checkpoint().context("checkpoint");
                let ck = self.every.map(|e| (e, &f as workload::CheckpointFn<'_>));
                workload::run_phase(spec, &q, self.payload, ck, progress)
            }
            None => workload::run_phase(
                spec,
                &self.memory as &dyn BenchQueue,
                self.payload,
                None,
                progress,
            ),
        }
    }
}

/// Closes the channel, times the reopens, and opens it again for what follows.
fn reopen_now(
    file: &mut Option<FileChannel>,
    config: &FileChannelConfig,
    drop_caches: bool,
) -> anyhow::Result<reopen::ReopenResult> {
    let ch = file.take().context("--reopen needs the file channel")?;
    ch.close().context("closing before the reopen")?;
    drop(ch);
    let r = reopen::measure(config, &std::env::temp_dir(), drop_caches)?;
    *file = Some(FileChannel::open(config.clone()).context("opening after the reopen")?);
    Ok(r)
}

/// Checks what was taken: every id put exactly once (both, mixed), or only intact (take).
pub(super) fn verification(phase: PhaseArg, phases: &mut [PhaseResult]) -> Option<Verification> {
    let put: u64 = phases.iter().map(|p| p.put).sum();
    let mut ids = Vec::new();
    let mut damaged = (0u64, Vec::new());
    for p in phases.iter_mut() {
        ids.append(&mut p.taken_ids);
        damaged.0 += p.damaged.0;
        damaged.1.append(&mut p.damaged.1);
    }
    match phase {
        PhaseArg::Put => None,
        PhaseArg::Both | PhaseArg::Mixed => Some(report::verify(put, ids, damaged)),
        PhaseArg::Take => {
            // Ids of an earlier run are unknown: check intact and unique only.
            let n = ids.iter().copied().max().map_or(0, |m| m + 1);
            let mut v = report::verify(n, ids, damaged);
            v.problems.retain(|p| !p.contains("not taken back"));
            v.missing = 0;
            v.put = 0;
            v.ok = v.problems.is_empty() && v.damaged == 0;
            Some(v)
        }
    }
}
