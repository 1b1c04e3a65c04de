//! A segment that is not the channel's own: a plain segment whose id is past the channel's
//! first sealed segment. A channel that seals writes no plain segment after its first sealed
//! one (and cannot open without its keys while any sealed segment is left), so such a segment
//! was copied in from elsewhere; merging it would let its puts and takes replace committed
//! events. It is refused naming the file, or set aside whole under `salvage`: never read into
//! the channel, its committed events counted and logged, its id kept taken.

use std::path::Path;

use super::damage::committed_events_from;
use super::DirReplay;
use crate::io::FsFile;
use crate::wal::policy::{Action, Damage, Position};
use crate::wal::replay::report::ReplayError;
use crate::wal::seal::FrameCodec;
use crate::wal::segment::SegmentHeader;

impl DirReplay<'_> {
    /// Whether segment `id` with `header` is a plain segment past the first sealed one.
    pub(super) fn is_foreign(&self, id: u32, header: &SegmentHeader) -> bool {
        !header.is_sealed() && self.first_sealed.is_some_and(|first| id > first)
    }

    /// Refuses segment `id` (a plain one past the first sealed segment), or sets it aside.
    pub(super) fn foreign(
        &mut self,
        file: &dyn FsFile,
        path: &Path,
        id: u32,
        header: &SegmentHeader,
    ) -> Result<(), ReplayError> {
        let first = self.first_sealed.unwrap_or_default();
        let detail = format!(
            "plain segment {id} in a sealed channel: the channel seals every segment from \
             segment {first} on, so this one was copied in from elsewhere and is not read"
        );
        if self.policy.decide(Damage::Foreign, Position::Inside) == Action::Fail {
            return Err(ReplayError::Corrupt {
                path: path.to_path_buf(),
                offset: 0,
                detail: format!(
                    "{detail} (remove the file, or open with recoveryPolicy=salvage to set it \
                     aside)"
                ),
            });
        }
        let codec = FrameCodec::plain(header.record_salt());
        let events = committed_events_from(file, path, header.records_start(), &codec)?;
        tracing::error!(path = %path.display(), events, "set aside a plain segment in a sealed channel: its events are not delivered");
        self.out.report.set_aside.push((path.to_path_buf(), events));
        self.out.report.events_set_aside += events;
        self.out.report.problems.push(format!(
            "{}:0: {detail} (set aside: {events} committed events in it not delivered)",
            path.display()
        ));
        // Its id stays taken, so that no new segment is created under its name.
        self.out.max_ignored_id = self.out.max_ignored_id.max(id);
        Ok(())
    }
}
