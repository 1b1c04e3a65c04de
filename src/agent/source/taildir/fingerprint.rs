//! Fingerprints of followed files, so a restart can tell a file that only grew while the
//! source was stopped from one truncated and rewritten, or deleted and re-created on the same
//! inode (resuming such a file at its old offset would skip that many bytes of new lines).
//!
//! A fingerprint is taken at a committed position `pos`: SHA-256 (first 16 bytes, hex) of the
//! file's first `min(pos, HEAD_BYTES)` bytes and of the `min(pos, TAIL_BYTES)` bytes before
//! `pos`. Bytes before a committed position were read and committed, so an append never
//! changes them: a file whose hashes differ at restart, or that is now shorter than the
//! fingerprint's position, was rewritten and is read again from its start. That holds for a
//! fingerprint older than the saved position too (it covers less), so fingerprints are saved
//! only with the durable position writes (every `writePosInterval`, when idle, at stop).
//!
//! They live beside the position file, in `<positionFile>.fingerprints` (JSON), not in it:
//! Flume's reader of the position file fails on a key it does not know (its Gson loop never
//! skips unknown values), so the position file stays exactly Flume's and still moves between
//! Flume and Sluice. Without a fingerprint (a Flume position file) a file resumes as before:
//! at its position if the file is at least that long.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::agent::atomic_file;

/// Bytes hashed from a file's start.
pub(crate) const HEAD_BYTES: u64 = 1024;
/// Bytes hashed before the position.
pub(crate) const TAIL_BYTES: u64 = 256;

/// The fingerprint of one followed file at a position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The file's inode.
    pub inode: u64,
    /// The committed position it was taken at.
    pub pos: u64,
    /// Hash of the first `min(pos, HEAD_BYTES)` bytes.
    pub head: String,
    /// Hash of the `min(pos, TAIL_BYTES)` bytes before `pos`.
    pub tail: String,
}

/// The fingerprint file of a position file.
pub(crate) fn path_of(position_file: &Path) -> PathBuf {
    let mut name = position_file.file_name().unwrap_or_default().to_os_string();
    name.push(".fingerprints");
    position_file.with_file_name(name)
}

fn hash(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = String::with_capacity(32);
    for b in &d.as_ref()[..16] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

fn read_range(file: &File, at: u64, len: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, at)?;
    Ok(buf)
}

/// The hashes of `file` at `pos`: (head, tail). An error if the file is shorter than `pos`.
fn hashes(file: &File, pos: u64) -> std::io::Result<(String, String)> {
    let head = read_range(file, 0, pos.min(HEAD_BYTES))?;
    let tail_len = pos.min(TAIL_BYTES);
    let tail = read_range(file, pos - tail_len, tail_len)?;
    Ok((hash(&head), hash(&tail)))
}

/// Takes the fingerprint of `file` (inode `inode`) at `pos`.
pub(crate) fn take(file: &File, inode: u64, pos: u64) -> std::io::Result<Fingerprint> {
    let (head, tail) = hashes(file, pos)?;
    Ok(Fingerprint {
        inode,
        pos,
        head,
        tail,
    })
}

/// Takes the fingerprint at `pos` of a file whose fingerprint at an earlier committed
/// position was `prev`: once that position is past [`HEAD_BYTES`] its head hash covers the
/// same committed bytes, which an append does not change, so only the tail is read and hashed
/// (a TAILDIR commit takes one per batch). Otherwise as [`take`].
pub(crate) fn take_after(
    prev: Option<&Fingerprint>,
    file: &File,
    inode: u64,
    pos: u64,
) -> std::io::Result<Fingerprint> {
    match prev {
        Some(p) if p.inode == inode && p.pos >= HEAD_BYTES && pos >= p.pos => {
            let tail_len = pos.min(TAIL_BYTES);
            let tail = read_range(file, pos - tail_len, tail_len)?;
            Ok(Fingerprint {
                inode,
                pos,
                head: p.head.clone(),
                tail: hash(&tail),
            })
        }
        _ => take(file, inode, pos),
    }
}

/// Whether `file` still holds, before `fp.pos`, the bytes the fingerprint was taken of.
/// `Ok(false)` when it differs or is shorter.
pub(crate) fn still_matches(fp: &Fingerprint, file: &File) -> std::io::Result<bool> {
    match hashes(file, fp.pos) {
        Ok((head, tail)) => Ok(head == fp.head && tail == fp.tail),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether the file at `path` (inode `inode`) was rewritten since `fp` was taken: its bytes
/// before the fingerprint's position changed, or it is shorter. Without a fingerprint of this
/// inode (a Flume position file) nothing can be told: false.
pub(crate) fn rewritten(path: &Path, inode: u64, fp: Option<&Fingerprint>) -> bool {
    let Some(fp) = fp else { return false };
    check(path, inode, fp).is_some_and(|same| !same)
}

/// Whether the file at `path` is inode `inode` and still holds the bytes `fp` was taken of
/// (the positive answer [`rewritten`] does not give: false when it cannot be told).
pub(crate) fn holds(path: &Path, inode: u64, fp: &Fingerprint) -> bool {
    check(path, inode, fp) == Some(true)
}

/// Whether the file at `path` still holds `fp`'s bytes (another inode there: `false`);
/// `None` when nothing can be told: `fp` is not of `inode` or of no bytes, or the file cannot
/// be read (logged at debug).
fn check(path: &Path, inode: u64, fp: &Fingerprint) -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    if fp.inode != inode || fp.pos == 0 {
        return None;
    }
    let same = File::open(path).and_then(|f| {
        if f.metadata()?.ino() != inode {
            return Ok(false);
        }
        still_matches(fp, &f)
    });
    same.map_err(|e| tracing::debug!(file = %path.display(), error = %e, "fingerprint not checked"))
        .ok()
}

/// Renders fingerprints as JSON.
pub(crate) fn render(fps: &[Fingerprint]) -> Vec<u8> {
    serde_json::to_vec(fps).unwrap_or_else(|_| b"[]".to_vec())
}

/// Loads the fingerprint file of `position_file`, by inode. A missing file is empty (a
/// position file written by Flume); a damaged one is logged and ignored.
pub(crate) fn load(position_file: &Path) -> HashMap<u64, Fingerprint> {
    let path = path_of(position_file);
    let parsed = match atomic_file::read(&path) {
        Ok(None) => return HashMap::new(),
        Ok(Some(b)) => serde_json::from_slice::<Vec<Fingerprint>>(&b).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match parsed {
        Ok(v) => v.into_iter().map(|f| (f.inode, f)).collect(),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "fingerprint file unreadable; files resume at their positions unchecked");
            HashMap::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grown_file_matches_and_a_rewritten_or_shorter_one_does_not() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        std::fs::write(&p, b"line one\nline two\n").unwrap();
        let fp = take(&File::open(&p).unwrap(), 1, 9).unwrap();
        std::fs::write(&p, b"line one\nline two\nline three\n").unwrap();
        assert!(still_matches(&fp, &File::open(&p).unwrap()).unwrap());
        std::fs::write(&p, b"LINE ONE\nline two\nline three\n").unwrap();
        assert!(!still_matches(&fp, &File::open(&p).unwrap()).unwrap());
        std::fs::write(&p, b"line").unwrap();
        assert!(!still_matches(&fp, &File::open(&p).unwrap()).unwrap());
    }

    #[test]
    fn an_older_fingerprint_still_tells_a_grown_file_from_a_rewritten_one() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        std::fs::write(&p, b"line one\n").unwrap();
        let ino = std::fs::metadata(&p).unwrap().ino();
        let fp = take(&File::open(&p).unwrap(), ino, 9).unwrap();
        // Grown well past the fingerprint (the saved position may be later than it).
        std::fs::write(&p, b"line one\nline two\nline three\n").unwrap();
        assert!(!rewritten(&p, ino, Some(&fp)));
        assert!(!rewritten(&p, ino, None), "no fingerprint: nothing to tell");
        let other = Fingerprint {
            inode: ino + 1,
            ..fp.clone()
        };
        assert!(!rewritten(&p, ino, Some(&other)), "another inode's");
        std::fs::write(&p, b"LINE one\nline two\nline three\n").unwrap();
        assert!(rewritten(&p, ino, Some(&fp)));
        std::fs::write(&p, b"line").unwrap();
        assert!(
            rewritten(&p, ino, Some(&fp)),
            "shorter than what was committed"
        );
    }

    #[test]
    fn the_bytes_just_before_the_position_count_even_past_the_head() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        let mut text = vec![b'x'; 5000];
        std::fs::write(&p, &text).unwrap();
        let fp = take(&File::open(&p).unwrap(), 1, 5000).unwrap();
        text[4900] = b'y';
        std::fs::write(&p, &text).unwrap();
        assert!(!still_matches(&fp, &File::open(&p).unwrap()).unwrap());
    }

    #[test]
    fn hashes_keep_their_saved_form_and_a_later_fingerprint_reuses_only_a_full_head() {
        // Saved fingerprints compare as text: the first 16 bytes of SHA-256, lowercase hex.
        assert_eq!(hash(b"abc"), "ba7816bf8f01cfea414140de5dae2223");
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        let text: Vec<u8> = (0..6000u32).map(|i| b'a' + (i % 23) as u8).collect();
        std::fs::write(&p, &text).unwrap();
        let f = File::open(&p).unwrap();
        let mut prev: Option<Fingerprint> = None;
        for pos in [0, 10, 700, 1023, 1024, 1500, 1500, 4000, 6000] {
            let later = take_after(prev.as_ref(), &f, 3, pos).unwrap();
            assert_eq!(later, take(&f, 3, pos).unwrap(), "at {pos}");
            prev = Some(later);
        }
        // Another inode's, or a position before the last: taken whole.
        let other = take_after(prev.as_ref(), &f, 4, 6000).unwrap();
        assert_eq!(other, take(&f, 4, 6000).unwrap());
        assert_eq!(
            take_after(prev.as_ref(), &f, 3, 2000).unwrap(),
            take(&f, 3, 2000).unwrap()
        );
    }

    #[test]
    fn fingerprints_round_trip_and_live_beside_the_position_file() {
        let d = tempfile::tempdir().unwrap();
        let pos = d.path().join("taildir_position.json");
        assert_eq!(
            path_of(&pos),
            d.path().join("taildir_position.json.fingerprints")
        );
        assert!(load(&pos).is_empty());
        let fp = Fingerprint {
            inode: 7,
            pos: 3,
            head: "ab".into(),
            tail: "cd".into(),
        };
        std::fs::write(path_of(&pos), render(std::slice::from_ref(&fp))).unwrap();
        assert_eq!(load(&pos).get(&7), Some(&fp));
        std::fs::write(path_of(&pos), b"[{").unwrap();
        assert!(load(&pos).is_empty());
    }
}
