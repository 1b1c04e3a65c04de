//! A segment that is not the channel's own, told by its header before any record is read
//! (the rules are the channel's [`Lineage`](crate::wal::replay::Lineage)):
//! - it names another channel (a version-4 header's tag, a sealed segment's seal block);
//! - it is plain (any version) and its id is past the channel's first sealed segment: a
//!   channel that seals writes no plain segment after its first sealed one;
//! - it names no channel (version 1 or 2) and its id is past the channel's first segment
//!   naming it: a channel that names itself writes no unnamed segment after that.
//!
//! Such a segment was copied in from elsewhere; merging it would let its puts and takes
//! replace or remove committed events. It is refused naming the file, or set aside whole under
//! `salvage`: never read into the channel, its committed events counted and logged, its id
//! kept taken.

use std::path::Path;

use super::damage::committed_events_from;
use super::DirReplay;
use crate::io::FsFile;
use crate::wal::policy::{Action, Damage, Position};
use crate::wal::replay::files::segment_codec;
use crate::wal::replay::report::ReplayError;
use crate::wal::seal::{read_seal_block, FrameCodec};
use crate::wal::segment::{channel_tag, SegmentHeader};

impl DirReplay<'_> {
    /// Why segment `id` with `header` is not the channel's own (`None`: its header says it
    /// is). A seal block that does not read is left to the codec, which reports it as damage.
    pub(super) fn not_own(
        &self,
        file: &dyn FsFile,
        id: u32,
        header: &SegmentHeader,
    ) -> Option<String> {
        let l = &self.lineage;
        let ours = hex(&l.channel);
        if header.is_sealed() {
            let block = read_seal_block(file, id).ok()?;
            return (block.channel != l.channel).then(|| {
                format!(
                    "segment {id} belongs to another channel (its seal block names channel {}, \
                     this channel is {ours}), so it was copied in from elsewhere and is not read",
                    hex(&block.channel)
                )
            });
        }
        if let Some(tag) = header.channel_tag {
            if tag != channel_tag(&l.channel) {
                return Some(format!(
                    "segment {id} belongs to another channel (its header names channel {}…, \
                     this channel is {ours}), so it was copied in from elsewhere and is not read",
                    hex(&tag)
                ));
            }
        }
        if let Some(first) = l.first_sealed.filter(|f| id > *f) {
            return Some(format!(
                "plain segment {id} in a sealed channel: the channel seals every segment from \
                 segment {first} on, so this one was copied in from elsewhere and is not read"
            ));
        }
        let first = l
            .first_named
            .filter(|f| id > *f && header.channel_tag.is_none())?;
        Some(format!(
            "segment {id} is of format version {}, which names no channel, but the channel \
             names itself in every segment from segment {first} on, so this one was copied in \
             from elsewhere and is not read",
            header.version
        ))
    }

    /// Refuses segment `id` (not the channel's own, for reason `why`), or sets it aside.
    pub(super) fn foreign(
        &mut self,
        file: &dyn FsFile,
        path: &Path,
        (id, header): (u32, &SegmentHeader),
        why: &str,
    ) -> Result<(), ReplayError> {
        if self.policy.decide(Damage::Foreign, Position::Inside) == Action::Fail {
            return Err(ReplayError::Corrupt {
                path: path.to_path_buf(),
                offset: 0,
                detail: format!(
                    "{why} (remove the file, or open with recoveryPolicy=salvage to set it \
                     aside)"
                ),
            });
        }
        // A sealed one counts only if its key is here (the same keys as this channel's).
        let codec = if header.is_sealed() {
            segment_codec(file, header, self.keyring)
                .ok()
                .and_then(Result::ok)
        } else {
            Some(FrameCodec::plain(header.record_salt()))
        };
        let events = match codec {
            Some(c) => committed_events_from(file, path, header.records_start(), &c)?,
            None => 0,
        };
        tracing::error!(path = %path.display(), events, why, "set aside a segment that is not the channel's: its events are not delivered");
        self.out.report.set_aside.push((path.to_path_buf(), events));
        self.out.report.events_set_aside += events;
        self.out.report.problems.push(format!(
            "{}:0: {why} (set aside: {events} committed events in it not delivered)",
            path.display()
        ));
        // Its id stays taken, so that no new segment is created under its name.
        self.out.max_ignored_id = self.out.max_ignored_id.max(id);
        Ok(())
    }
}

fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
