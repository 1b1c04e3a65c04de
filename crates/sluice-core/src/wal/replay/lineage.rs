//! What tells the channel's own segments from others before any is read: the channel's id,
//! and the first of its segments (in any directory) that names it and that is sealed. A
//! channel names itself in every segment it starts from its first named one on (version 4,
//! or sealed), and seals every one from its first sealed one on; `dir/foreign.rs` sets aside
//! or refuses what breaks either.

use std::path::PathBuf;

use super::files::{list_segments, read_header};
use super::report::ReplayError;
use crate::io::{Fs, OpenMode};
use crate::wal::seal::read_seal_block;
use crate::wal::segment::channel_tag;

/// The channel's id and the two turns of its history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lineage {
    /// The channel's id (`channel/channel_id.rs`).
    pub channel: [u8; 16],
    /// The id of its first segment naming it (and it alone), if any.
    pub first_named: Option<u32>,
    /// The id of its first sealed segment naming it, if any.
    pub first_sealed: Option<u32>,
}

impl Lineage {
    /// The lineage of channel `channel` from the segments in `dirs`. Only segments naming
    /// this channel count, so that a segment of another channel cannot move either turn.
    /// Segments whose header or seal block do not read are left to the replay.
    pub fn of(fs: &dyn Fs, dirs: &[PathBuf], channel: [u8; 16]) -> Result<Lineage, ReplayError> {
        let mut l = Lineage {
            channel,
            first_named: None,
            first_sealed: None,
        };
        let tag = channel_tag(&channel);
        for dir in dirs {
            for (id, path) in list_segments(fs, dir)? {
                if l.first_sealed.is_some_and(|f| f < id) {
                    break;
                }
                let Ok(file) = fs.open(&path, OpenMode::Read) else {
                    continue;
                };
                let Some(header) = file
                    .len()
                    .ok()
                    .and_then(|len| read_header(file.as_ref(), id, len).ok())
                else {
                    continue;
                };
                let ours_sealed = header.is_sealed()
                    && read_seal_block(file.as_ref(), id).is_ok_and(|b| b.channel == channel);
                if ours_sealed || header.channel_tag == Some(tag) {
                    l.first_named = Some(l.first_named.map_or(id, |f| f.min(id)));
                }
                if ours_sealed {
                    l.first_sealed = Some(l.first_sealed.map_or(id, |f| f.min(id)));
                    // Later segments of this directory change neither turn.
                    break;
                }
            }
        }
        Ok(l)
    }
}
