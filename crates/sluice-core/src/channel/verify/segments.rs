//! Segment checks of `verify`: every header, every record (with the scanner replay uses,
//! resynchronising after damage), every put decoded in full, every commit's counts.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::report::{problem, read_problem, Problem, Verification};
use crate::channel::{ChannelError, FileChannelConfig};
use crate::io::{Fs, FsFile, OpenMode};
use crate::wal::assemble::{Assembler, Fed};
use crate::wal::record::{frame_len, FRAME_BYTES_MAX};
use crate::wal::replay::{list_segments, read_header, segment_codec};
use crate::wal::seal::{FrameCodec, Keyring};
use crate::wal::segment::scan_records;
use crate::wal::table::SegmentTable;
use crate::wal::{EventPtr, RecordKind};

/// A segment whose header is good.
pub(super) struct ScannedSegment {
    /// Index of its data directory.
    pub dir_index: usize,
    /// Its length in bytes.
    pub len: u64,
}

/// What the scan leaves for the later checks.
pub(super) struct Scan {
    /// Segments with a good header, by id.
    pub found: BTreeMap<u32, ScannedSegment>,
    /// Every put record that decoded in full, as (`EventPtr::to_u64`, seq), sorted: the queue
    /// check need not read these again.
    pub good_puts: Vec<(u64, u64)>,
}

/// Scans every segment of every data directory, adding what it finds to `v`.
pub(super) fn scan_all(
    fs: &dyn Fs,
    config: &FileChannelConfig,
    keyring: Option<&Keyring>,
    v: &mut Verification,
) -> Result<Scan, ChannelError> {
    let table = SegmentTable::default();
    let mut found: BTreeMap<u32, ScannedSegment> = BTreeMap::new();
    let mut good_puts = Vec::new();
    let mut first_path: HashMap<u32, PathBuf> = HashMap::new();
    for (dir_index, dir) in config.data_dirs.iter().enumerate() {
        let segments = list_segments(fs, dir).map_err(ChannelError::Recovery)?;
        let mut asm = Assembler::default();
        for (id, path) in segments {
            v.segments += 1;
            if let Some(first) = first_path.insert(id, path.clone()) {
                v.problems.push(problem(
                    &path,
                    0,
                    format!("segment id {id} also exists as {}", first.display()),
                ));
                continue;
            }
            let io = |op: &'static str| {
                let path = path.clone();
                move |source| ChannelError::Io { op, path, source }
            };
            let file = fs.open(&path, OpenMode::Read).map_err(io("open"))?;
            let len = file.len().map_err(io("stat"))?;
            v.bytes += len;
            let header = match read_header(file.as_ref(), id, len) {
                Ok(h) => h,
                Err(what) => {
                    v.problems.push(problem(&path, 0, what.to_string()));
                    continue;
                }
            };
            let codec = match segment_codec(file.as_ref(), &header, keyring) {
                Ok(Ok(codec)) => codec,
                Ok(Err(what)) => {
                    v.problems.push(problem(&path, 0, what.to_string()));
                    continue;
                }
                Err(what) => {
                    v.problems.push(problem(&path, 0, what.to_string()));
                    continue;
                }
            };
            if let Some(key) = &codec.key {
                *v.sealed_by.entry(key.alias().to_owned()).or_default() += 1;
            }
            found.insert(id, ScannedSegment { dir_index, len });
            table.insert(id, dir_index, path.clone(), file.clone(), codec.clone());
            let mut problems = scan_segment(
                &table,
                (id, &path, &file, (&codec, header.records_start())),
                &mut asm,
                &mut good_puts,
                v,
            )
            .map_err(io("read"))?;
            problems.sort_by_key(|p| p.offset);
            v.problems.extend(problems);
        }
        v.unfinished_txns += asm.unfinished().txns;
    }
    good_puts.sort_unstable();
    debug_assert!(
        found.len() as u64 <= v.segments,
        "more good segments than files"
    );
    Ok(Scan { found, good_puts })
}

/// Reads every record of one segment; `asm` carries the directory's open transactions.
fn scan_segment(
    table: &SegmentTable,
    (id, path, file, (codec, from)): (u32, &Path, &Arc<dyn FsFile>, (&FrameCodec, u64)),
    asm: &mut Assembler,
    good_puts: &mut Vec<(u64, u64)>,
    v: &mut Verification,
) -> std::io::Result<Vec<Problem>> {
    let mut problems = Vec::new();
    let scan = scan_records(file.as_ref(), from, codec, true, |offset, meta| {
        let ptr = match asm.feed(id, offset, meta) {
            Ok(Fed::Committed {
                mismatch: Some(m), ..
            }) => {
                problems.push(problem(path, offset, m.to_string()));
                return;
            }
            Ok(_) => u32::try_from(offset).map(|offset| EventPtr {
                segment: id,
                offset,
            }),
            Err(e) => {
                problems.push(problem(path, offset, e.to_string()));
                return;
            }
        };
        // Decode the whole put (the scanner checks the frame and checksum only).
        if let (RecordKind::Put, Ok(ptr)) = (meta.kind, ptr) {
            match table.read_event(ptr, meta.seq) {
                Ok(_) => good_puts.push((ptr.to_u64(), meta.seq)),
                Err(e) => problems.push(read_problem(path, offset, e)),
            }
        }
    })?;
    v.records += scan.records;
    for (offset, bytes) in &scan.skipped {
        let what = damage_at(file.as_ref(), *offset, scan.file_len, codec);
        let extent = if offset + bytes >= scan.file_len {
            format!("{bytes} bytes to the end of the file are unreadable")
        } else {
            format!("{bytes} bytes are unreadable before the next good record")
        };
        problems.push(problem(path, *offset, format!("{what}; {extent}")));
    }
    Ok(problems)
}

/// What is wrong with the frame at `offset` (which the scanner could not decode with `codec`).
fn damage_at(file: &dyn FsFile, offset: u64, file_len: u64, codec: &FrameCodec) -> String {
    let avail = file_len.saturating_sub(offset);
    let mut head = vec![0u8; avail.min(8) as usize];
    if let Err(e) = file.read_exact_at(&mut head, offset) {
        return format!("cannot read: {e}");
    }
    let total = match frame_len(&head) {
        Ok(t) => t,
        Err(e) => return e.to_string(),
    };
    let want = (total.min(FRAME_BYTES_MAX) as u64).min(avail) as usize;
    let mut frame = vec![0u8; want];
    if let Err(e) = file.read_exact_at(&mut frame, offset) {
        return format!("cannot read: {e}");
    }
    match codec.decode_meta(&frame, offset) {
        Ok(_) => "record unreadable".to_owned(),
        Err(e) => e.to_string(),
    }
}
