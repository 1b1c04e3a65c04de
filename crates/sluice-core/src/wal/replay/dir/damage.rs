//! What one directory's replay does with damage: a segment with a bad header, damaged
//! records, a torn tail; each classified and decided by the [`RecoveryPolicy`], logged, and
//! (on disk, when the policy cuts) truncated or removed.
//!
//! [`RecoveryPolicy`]: crate::wal::policy::RecoveryPolicy

use std::path::Path;
use std::sync::Arc;

use super::DirReplay;
use crate::io::FsFile;
use crate::wal::policy::{Action, Damage, Position};
use crate::wal::record::RecordKind;
use crate::wal::replay::files::HeaderProblem;
use crate::wal::replay::report::{io_err, FoundSegment, ReplayError};
use crate::wal::seal::FrameCodec;
use crate::wal::segment::{scan_records, ScanOutcome, ScanProblem};

impl DirReplay<'_> {
    pub(super) fn header_damage(
        &mut self,
        file: Arc<dyn FsFile>,
        path: &Path,
        id: u32,
        newest: bool,
        problem: HeaderProblem,
    ) -> Result<(), ReplayError> {
        let position = if newest {
            Position::Tail
        } else {
            Position::Inside
        };
        let action = self.policy.decide(problem.damage(), position);
        let detail = problem.to_string();
        if action == Action::Fail {
            return Err(ReplayError::Corrupt {
                path: path.to_path_buf(),
                offset: 0,
                detail,
            });
        }
        self.out
            .report
            .problems
            .push(format!("{}:0: {detail} (segment ignored)", path.display()));
        tracing::warn!(path = %path.display(), %detail, "ignoring a segment with a bad header");
        // Its id stays taken so that no new segment is created under its name. A newest
        // segment whose header was never completely written holds no record: it is removed.
        self.out.max_ignored_id = self.out.max_ignored_id.max(id);
        debug_assert!(
            newest || action != Action::Cut,
            "only a newest segment is cut"
        );
        if action == Action::Cut && self.repair.on_disk() {
            drop(file);
            self.fs
                .remove_file(path)
                .and_then(|()| self.fs.sync_dir(self.dir))
                .map_err(io_err("remove the header-less segment", path))?;
        }
        Ok(())
    }

    pub(super) fn record_damage(
        &mut self,
        file: &dyn FsFile,
        found: &mut FoundSegment,
        scan: &ScanOutcome,
        problem: &ScanProblem,
        newest: bool,
    ) -> Result<(), ReplayError> {
        let detail = problem.error.to_string();
        // In the newest segment everything from the first damage on may be the unsynced
        // region of a crash, where writes persist torn, dropped or out of order: readable
        // records after the damage are cut too (and said so). Elsewhere it is damage.
        let to_eof = scan
            .skipped
            .last()
            .is_none_or(|(o, n)| o + n >= scan.file_len);
        let position = if newest && to_eof {
            Position::Tail
        } else {
            Position::Inside
        };
        let action = self.policy.decide(Damage::BadRecords, position);
        if action == Action::Fail {
            let detail = match scan.readable_after {
                Some(next) => format!(
                    "{detail}; readable records follow at offset {next} (damage inside \
                     the segment: recoveryPolicy=salvage or `sluice channel salvage` keeps them)"
                ),
                None => detail,
            };
            return Err(ReplayError::Corrupt {
                path: found.path.clone(),
                offset: problem.offset,
                detail,
            });
        }
        debug_assert!(
            newest || action != Action::Cut,
            "only a newest segment is cut"
        );
        let path = &found.path;
        for (o, n) in &scan.skipped {
            if action == Action::Cut && o + n >= scan.file_len {
                continue;
            }
            self.out.report.skipped.push((path.clone(), *o, *n));
            let what = format!("{}:{o}: {n} damaged bytes skipped", path.display());
            self.out.report.problems.push(what);
            tracing::warn!(path = %path.display(), offset = o, bytes = n, "skipped damaged records");
        }
        if action == Action::Cut {
            self.cut_tail(file, found, scan, &detail)?;
        }
        Ok(())
    }

    /// Cuts the newest segment after its last good record (or before its last skipped
    /// region), counting the committed events readable in what is cut.
    fn cut_tail(
        &mut self,
        file: &dyn FsFile,
        found: &mut FoundSegment,
        scan: &ScanOutcome,
        detail: &str,
    ) -> Result<(), ReplayError> {
        let path = &found.path;
        let cut = scan.skipped.last().map_or(scan.valid_end, |(o, _)| *o);
        assert!(
            cut <= scan.file_len,
            "cut {cut} beyond the end {}",
            scan.file_len
        );
        let dropped = scan.file_len - cut;
        self.out.report.truncated.push((path.clone(), cut, dropped));
        let also = match scan.readable_after {
            Some(next) => {
                let cost = committed_events_from(file, path, next, &found.codec)?;
                self.out.report.events_cut += cost;
                if cost > 0 {
                    tracing::error!(path = %path.display(), offset = next, events = cost, "the cut tail holds committed events");
                }
                format!(
                    "; readable records from offset {next} cut with it, holding {cost} \
                     committed events"
                )
            }
            None => String::new(),
        };
        self.out.report.problems.push(format!(
            "{}:{cut}: torn tail of {dropped} bytes ({detail}{also})",
            path.display()
        ));
        tracing::warn!(path = %path.display(), offset = cut, bytes = dropped, %detail, "truncating a torn tail");
        if self.repair.on_disk() {
            truncate(file, path, cut)?;
        }
        found.len = cut;
        Ok(())
    }
}

pub(super) fn truncate(file: &dyn FsFile, path: &Path, len: u64) -> Result<(), ReplayError> {
    file.set_len(len)
        .and_then(|()| file.sync_data())
        .map_err(io_err("truncate", path))
}

/// The events counted by the commit records readable from `from` on (resynchronising past
/// damage; records read with `codec`): what cutting the segment at or before `from` costs.
pub(super) fn committed_events_from(
    file: &dyn FsFile,
    path: &Path,
    from: u64,
    codec: &FrameCodec,
) -> Result<u64, ReplayError> {
    let mut events = 0u64;
    scan_records(file, from, codec, true, |_, meta| {
        if let (RecordKind::Commit, Some((puts, _))) = (meta.kind, meta.commit) {
            events += u64::from(puts);
        }
    })
    .map_err(io_err("read", path))?;
    Ok(events)
}
