//! Flume's `log-N` files: records from offset 0, each the op byte `0x7F`, a big-endian
//! 4-byte length and that many bytes of length-delimited protobuf (a
//! `TransactionEventHeader`, the record, an empty footer); `0x80` (OP_EOF) fills the rest of
//! the file Flume grew ahead, and `0x00` marks a record voided by Flume's integrity tool. An
//! encrypted file (its `log-N.meta` names the key alias and the IV) has the record bytes in
//! AES/CTR/NoPadding, every record from the file's IV (Flume restarts its cipher per record).

mod record;

pub use record::{Next, Op, Record, OP_EOF, OP_NOOP, OP_RECORD, RECORD_PREFIX};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use aes::cipher::{KeyIvInit, StreamCipher};
use prost::Message;
use zeroize::Zeroizing;

use super::error::{corrupt, io_err, present, read_small, FlumeError};
use super::limits::{META_BYTES_MAX, RECORD_PAYLOAD_BYTES_MAX};
use super::proto;
use super::refusal::RecordDamage;
use super::window::Window;
use crate::invariant::hot_assert;
use record::{decode_op, stop};
use sluice_core::io::{Fs, FsFile, Links};
use sluice_core::Headers;
use sluice_core::{Bytes, Event};

/// The keys of an encrypted channel by alias (AES keys of 16, 24 or 32 bytes).
pub type FlumeKeys = BTreeMap<String, Zeroizing<Vec<u8>>>;

/// The cipher of an encrypted file.
#[derive(Clone)]
struct Cipher {
    key: Zeroizing<Vec<u8>>,
    iv: [u8; 16],
}

impl Cipher {
    /// Deciphers one record's bytes in place (each record from the file's IV).
    fn apply(&self, buf: &mut [u8]) -> Result<(), RecordDamage> {
        let iv = &self.iv;
        match self.key.len() {
            16 => ctr::Ctr128BE::<aes::Aes128>::new_from_slices(&self.key, iv)
                .map(|mut c| c.apply_keystream(buf)),
            24 => ctr::Ctr128BE::<aes::Aes192>::new_from_slices(&self.key, iv)
                .map(|mut c| c.apply_keystream(buf)),
            32 => ctr::Ctr128BE::<aes::Aes256>::new_from_slices(&self.key, iv)
                .map(|mut c| c.apply_keystream(buf)),
            _ => Err(aes::cipher::InvalidLength),
        }
        .map_err(|_| RecordDamage::KeyLength {
            key_bytes: self.key.len(),
        })
    }
}

/// One `log-N` and its meta.
pub struct LogFile {
    /// `N`.
    pub id: u32,
    /// The file.
    pub path: PathBuf,
    /// Its `log-N.meta`, when there is one Flume finished.
    pub meta: Option<proto::LogFileMetaData>,
    /// The key alias, when encrypted.
    pub key_alias: Option<String>,
    file: Arc<dyn FsFile>,
    len: u64,
    cipher: Option<Cipher>,
    window: parking_lot::Mutex<Window>,
}

impl std::fmt::Debug for LogFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFile")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("len", &self.len)
            .field("key_alias", &self.key_alias)
            .finish_non_exhaustive()
    }
}

/// The id of a Flume log file's name (`log-<digits>`, nothing after).
pub fn log_id(name: &str) -> Option<u32> {
    let d = name.strip_prefix("log-")?;
    (!d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .then(|| d.parse().ok())
        .flatten()
}

impl LogFile {
    /// Opens `path` (log `id`) and reads its meta; an encrypted file needs its key in `keys`.
    pub fn open(
        fs: &dyn Fs,
        id: u32,
        path: PathBuf,
        keys: &FlumeKeys,
    ) -> Result<LogFile, FlumeError> {
        let file = fs
            .open_regular(&path, Links::Refuse)
            .map_err(io_err("open", &path))?;
        let len = file.len().map_err(io_err("measure", &path))?;
        let meta_path = PathBuf::from(format!("{}.meta", path.display()));
        let meta = if present(fs, &meta_path) {
            let b = read_small(fs, &meta_path, META_BYTES_MAX)?;
            if b.is_empty() {
                None
            } else {
                Some(
                    proto::LogFileMetaData::decode_length_delimited(b.as_slice()).map_err(|e| {
                        corrupt(&meta_path, 0, format!("not a LogFileMetaData: {e}"))
                    })?,
                )
            }
        } else {
            None
        };
        let (key_alias, cipher) = match meta.as_ref().and_then(|m| m.encryption.as_ref()) {
            None => (None, None),
            Some(enc) => {
                if !enc.cipher_provider.eq_ignore_ascii_case("AESCTRNOPADDING") {
                    return Err(FlumeError::UnknownCipher {
                        path,
                        provider: enc.cipher_provider.clone(),
                    });
                }
                let Some(key) = keys.get(&enc.key_alias) else {
                    return Err(FlumeError::MissingKey {
                        path,
                        alias: enc.key_alias.clone(),
                    });
                };
                let iv: [u8; 16] = enc
                    .parameters
                    .as_deref()
                    .and_then(|p| p.try_into().ok())
                    .ok_or_else(|| corrupt(&meta_path, 0, "an IV that is not 16 bytes"))?;
                let cipher = Cipher {
                    key: key.clone(),
                    iv,
                };
                (Some(enc.key_alias.clone()), Some(cipher))
            }
        };
        hot_assert!(
            key_alias.is_some() == cipher.is_some(),
            "a file is deciphered exactly when its meta names a key"
        );
        Ok(LogFile {
            id,
            path,
            meta,
            key_alias,
            file,
            len,
            cipher,
            window: parking_lot::Mutex::new(Window::default()),
        })
    }

    /// The file's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where a replay after checkpoint `woid` may start reading this file (Flume's
    /// `skipToLastCheckpointPosition`): the checkpoint's position when the meta is of that
    /// checkpoint or an earlier one, else the backup's, else the start.
    pub fn start_for(&self, woid: Option<i64>) -> u64 {
        let (Some(m), Some(w)) = (&self.meta, woid) else {
            return 0;
        };
        if m.checkpoint_write_order_id <= w {
            return u64::try_from(m.checkpoint_position).unwrap_or(0);
        }
        match (
            m.backup_checkpoint_write_order_id,
            m.backup_checkpoint_position,
        ) {
            (Some(bw), Some(bp)) if bw <= w => u64::try_from(bp).unwrap_or(0),
            _ => 0,
        }
    }

    /// Reads `n` bytes at `at`; `None` when the file ends first.
    fn bytes_at(&self, at: u64, n: u64) -> Result<Option<Vec<u8>>, FlumeError> {
        self.window
            .lock()
            .read(self.file.as_ref(), self.len, at, n)
            .map_err(io_err("read", &self.path))
    }

    /// The op byte and the (deciphered) payload of the record at `at`, or where reading stops.
    fn payload_at(&self, at: u64) -> Result<Result<(u8, Bytes), Next>, FlumeError> {
        let Some(prefix) = self.bytes_at(at, RECORD_PREFIX)? else {
            return Ok(Err(self.end_or_torn(at)?));
        };
        let op = prefix[0];
        if op == OP_EOF {
            return Ok(Err(Next::End));
        }
        if op != OP_RECORD && op != OP_NOOP {
            return Ok(Err(stop(at, RecordDamage::UnknownOp { op })));
        }
        let n = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]);
        if n > i32::MAX as u32 {
            let len = n as i32;
            return Ok(Err(stop(at, RecordDamage::NegativeLength { len })));
        }
        if at + RECORD_PREFIX + u64::from(n) <= self.len && u64::from(n) > RECORD_PAYLOAD_BYTES_MAX
        {
            // Inside the file (a sparse one, or a planted length): refused before reading.
            return Err(FlumeError::OverLimit {
                path: self.path.clone(),
                offset: at + 1,
                what: "a record length in bytes",
                claimed: u64::from(n),
                max: RECORD_PAYLOAD_BYTES_MAX,
            });
        }
        let Some(mut payload) = self.bytes_at(at + RECORD_PREFIX, u64::from(n))? else {
            let file_bytes = self.len;
            return Ok(Err(stop(at, RecordDamage::Torn { len: n, file_bytes })));
        };
        hot_assert!(
            payload.len() as u64 == u64::from(n) && at + RECORD_PREFIX + u64::from(n) <= self.len,
            "the window gives what was asked, within the file"
        );
        if let Some(c) = &self.cipher {
            if let Err(why) = c.apply(&mut payload) {
                return Ok(Err(stop(at, why)));
            }
        }
        Ok(Ok((op, Bytes::from(payload))))
    }

    /// The file ends at `at` with fewer than a prefix's bytes: the end when nothing or only
    /// OP_EOF is left, a torn record otherwise.
    fn end_or_torn(&self, at: u64) -> Result<Next, FlumeError> {
        let left = self.len.saturating_sub(at);
        let tail = self.bytes_at(at, left)?.unwrap_or_default();
        Ok(if tail.iter().all(|b| *b == OP_EOF) {
            Next::End
        } else {
            stop(at, RecordDamage::ShortTail { left })
        })
    }

    /// Reads the record at `at`; returns it and where the next one starts.
    pub fn next_at(&self, at: u64) -> Result<(Next, u64), FlumeError> {
        let (op, payload) = match self.payload_at(at)? {
            Ok(p) => p,
            Err(next) => return Ok((next, at)),
        };
        let after = at + RECORD_PREFIX + payload.len() as u64;
        hot_assert!(
            after > at && after <= self.len,
            "the next record starts after this one, within the file"
        );
        if op == OP_NOOP {
            return Ok((Next::Voided, after));
        }
        Ok(match decode_op(payload, at) {
            Ok(r) => (Next::Record(r), after),
            Err(why) => (stop(at, why), at),
        })
    }

    /// The event of the put record at `offset`, its CRC32 checked.
    pub fn read_event(&self, offset: u64) -> Result<Event, FlumeError> {
        let payload = match self.payload_at(offset)? {
            Ok((OP_RECORD, p)) => p,
            Ok(_) => return Err(corrupt(&self.path, offset, "a voided record")),
            Err(Next::Stopped(s)) => return Err(corrupt(&self.path, offset, s.why.to_string())),
            Err(_) => return Err(corrupt(&self.path, offset, "no record here")),
        };
        let mut buf = payload;
        let header = proto::TransactionEventHeader::decode_length_delimited(&mut buf)
            .map_err(|e| corrupt(&self.path, offset, format!("record header: {e}")))?;
        if header.r#type != 1 {
            return Err(corrupt(&self.path, offset, "not a put record"));
        }
        let put = proto::Put::decode_length_delimited(&mut buf)
            .map_err(|e| corrupt(&self.path, offset, format!("put record: {e}")))?;
        let ev = put.event.unwrap_or_default();
        if let Some(sum) = put.checksum {
            let crc = crc32fast::hash(&ev.body);
            if sum as u64 != u64::from(crc) {
                return Err(corrupt(
                    &self.path,
                    offset,
                    format!("the put's CRC32 {crc:08x} does not match the {sum:08x} written"),
                ));
            }
        }
        let mut headers = Headers::with_capacity(ev.headers.len());
        for h in &ev.headers {
            headers.insert(&h.key, h.value.as_deref().unwrap_or(""));
        }
        Ok(Event::with_headers(headers, ev.body))
    }
}

/// Finds every `log-N` in `data_dirs`, sorted by id, and opens each.
pub fn discover(
    fs: &dyn Fs,
    data_dirs: &[PathBuf],
    keys: &FlumeKeys,
) -> Result<Vec<LogFile>, FlumeError> {
    let mut found: BTreeMap<u32, PathBuf> = BTreeMap::new();
    for dir in data_dirs {
        let names = fs.list_dir(dir).map_err(io_err("list", dir))?;
        for name in names {
            let Some(id) = log_id(&name) else { continue };
            let path = dir.join(&name);
            if let Some(first) = found.insert(id, path.clone()) {
                return Err(FlumeError::DuplicateLog {
                    id,
                    first,
                    second: path,
                });
            }
        }
    }
    if found.is_empty() {
        return Err(FlumeError::NoLogs {
            dirs: join(data_dirs),
        });
    }
    found
        .into_iter()
        .map(|(id, path)| LogFile::open(fs, id, path, keys))
        .collect()
}

/// Directories as one comma-separated string.
pub(crate) fn join(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A pointer's file id and offset.
pub fn split_ptr(ptr: u64) -> (u32, u64) {
    ((ptr >> 32) as u32, ptr & 0xFFFF_FFFF)
}
