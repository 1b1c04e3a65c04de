//! The secret that signs the nats sink's progress records (HMAC-SHA256, `ring`), so a record
//! some other publisher to the stream put on `<progressSubject>.<origin>` is refused instead
//! of making the sink drop events as "already stored" (issue 87; docs/nats.md has why a MAC
//! and not a subject permission).
//!
//! Where it comes from ([`KeySource`]):
//! - `progressKeyFile` set: that file (at least [`KEY_BYTES_MIN`] bytes, surrounding
//!   whitespace ignored); it must exist. Sinks on several hosts that write records of the same
//!   origins (collectors that each get an edge's events) share one such file.
//! - unset: `nats-progress.key` beside the sink's channel (the parent of a file channel's
//!   `checkpointDir`, as the dead letter's default directory), made on first use with 32
//!   random bytes (hex), written to a temporary file, fsynced and linked into place without
//!   replacing a file another sink made meanwhile; then read back. It survives restarts with
//!   the channel whose origin it signs for; sinks on one channel share it.
//!
//! Files are opened with `O_NOFOLLOW`: a link planted where the key should be is refused.

#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "the key file is on the real disk beside the channel and tested there (DESIGN.md, the agent's std::fs rule)"
)]

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ring::hmac;

/// Shortest secret accepted, in bytes.
pub(crate) const KEY_BYTES_MIN: usize = 16;
/// Longest key file read, in bytes.
const KEY_FILE_BYTES_MAX: u64 = 4096;
/// The file name of the key made beside the channel.
pub(crate) const DEFAULT_KEY_FILE: &str = "nats-progress.key";

/// Where a sink's key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// `progressKeyFile`: must exist.
    Given(PathBuf),
    /// Beside the channel: made on first use.
    Made(PathBuf),
}

impl KeySource {
    /// The file.
    pub(crate) fn path(&self) -> &Path {
        match self {
            KeySource::Given(p) | KeySource::Made(p) => p,
        }
    }
}

/// The default key file of a sink whose channel's `checkpointDir` is `checkpoint_dir`.
pub(crate) fn default_path(checkpoint_dir: Option<&Path>) -> PathBuf {
    match checkpoint_dir.and_then(Path::parent) {
        Some(p) if !p.as_os_str().is_empty() => p.join(DEFAULT_KEY_FILE),
        _ => PathBuf::from(DEFAULT_KEY_FILE),
    }
}

/// Why a sink has no key (it then delivers nothing: it cannot sign its records).
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    /// The file cannot be read or made.
    #[error("progress key file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file holds too little.
    #[error("progress key file {} holds {bytes} bytes; a key needs at least {KEY_BYTES_MIN} (e.g. `head -c 32 /dev/urandom | xxd -p -c 64`)", path.display())]
    Short {
        /// The file.
        path: PathBuf,
        /// Its secret's length.
        bytes: usize,
    },
}

/// The signing key and its public id (the first 8 hex digits of SHA-256 of the secret),
/// which records carry so a refusal can say "signed with another key".
#[derive(Clone)]
pub(crate) struct ProgressKey {
    key: hmac::Key,
    id: String,
}

impl std::fmt::Debug for ProgressKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProgressKey({})", self.id)
    }
}

impl ProgressKey {
    /// The key of `secret`.
    pub(crate) fn new(secret: &[u8]) -> ProgressKey {
        let digest = ring::digest::digest(&ring::digest::SHA256, secret);
        ProgressKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            id: hex(&digest.as_ref()[..4]),
        }
    }

    /// The key's public id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The MAC of `text`, as 64 hex digits.
    pub(crate) fn sign(&self, text: &str) -> String {
        hex(hmac::sign(&self.key, text.as_bytes()).as_ref())
    }

    /// Whether `mac_hex` is the MAC of `text` (compared in constant time).
    pub(crate) fn verify(&self, text: &str, mac_hex: &str) -> bool {
        unhex(mac_hex).is_some_and(|tag| hmac::verify(&self.key, text.as_bytes(), &tag).is_ok())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Reads (or, for [`KeySource::Made`], makes) the key. Blocking: call it off the runtime.
pub(crate) fn load(source: &KeySource) -> Result<ProgressKey, KeyError> {
    let path = source.path();
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    if let KeySource::Made(_) = source {
        match read_secret(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => make(path).map_err(io)?,
            _ => {}
        }
    }
    let secret = read_secret(path).map_err(io)?;
    if secret.len() < KEY_BYTES_MIN {
        return Err(KeyError::Short {
            path: path.to_owned(),
            bytes: secret.len(),
        });
    }
    Ok(ProgressKey::new(&secret))
}

/// The file's bytes without surrounding whitespace; a link is refused (`O_NOFOLLOW`).
fn read_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let mut out = Vec::new();
    f.take(KEY_FILE_BYTES_MAX).read_to_end(&mut out)?;
    let start = out.iter().position(|b| !b.is_ascii_whitespace());
    let end = out.iter().rposition(|b| !b.is_ascii_whitespace());
    Ok(match (start, end) {
        (Some(s), Some(e)) => out[s..=e].to_vec(),
        _ => Vec::new(),
    })
}

/// Makes the key file: 32 random bytes as hex in a temporary file, fsynced, hard-linked into
/// place (never replacing a file another sink made first), the directory fsynced.
fn make(path: &Path) -> std::io::Result<()> {
    let mut secret = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| std::io::Error::other("the system's random source failed"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(
        ".{DEFAULT_KEY_FILE}.{}",
        uuid::Uuid::new_v4().simple()
    ));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(format!("{}\n", hex(&secret)).as_bytes())?;
        f.sync_all()?;
        match std::fs::hard_link(&tmp, path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    written?;
    std::fs::File::open(&dir)?.sync_all()?;
    tracing::info!(file = %path.display(), "made the nats sink's progress key (it signs the sink's progress records; keep it with the channel)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_key_is_kept_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let src = KeySource::Made(dir.path().join("sub").join(DEFAULT_KEY_FILE));
        let a = load(&src).unwrap();
        let b = load(&src).unwrap();
        assert_eq!(a.id(), b.id());
        assert!(b.verify("x", &a.sign("x")));
        assert!(!b.verify("y", &a.sign("x")));
    }

    #[test]
    fn a_given_key_must_exist_be_long_enough_and_not_be_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        assert!(load(&KeySource::Given(p.clone())).is_err());
        std::fs::write(&p, "short\n").unwrap();
        assert!(matches!(
            load(&KeySource::Given(p.clone())),
            Err(KeyError::Short { bytes: 5, .. })
        ));
        std::fs::write(&p, "  0123456789abcdef0123\n").unwrap();
        let k = load(&KeySource::Given(p.clone())).unwrap();
        assert_eq!(k.id(), ProgressKey::new(b"0123456789abcdef0123").id());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        assert!(load(&KeySource::Given(link)).is_err());
    }

    #[test]
    fn the_default_file_is_beside_the_channel() {
        assert_eq!(
            default_path(Some(Path::new("/var/lib/flume/ck"))),
            PathBuf::from("/var/lib/flume/nats-progress.key")
        );
        assert_eq!(default_path(None), PathBuf::from(DEFAULT_KEY_FILE));
    }
}
