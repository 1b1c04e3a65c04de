//! The TAILDIR position file in Flume's JSON format, `[{"inode":..,"pos":..,"file":".."}]`,
//! so a Flume agent's file can be taken over and ours read by Flume. Pure codec plus the
//! load that turns a damaged or foreign file into a clear error and a documented fallback.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::agent::atomic_file;

/// One followed file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosEntry {
    /// The file's inode.
    pub inode: u64,
    /// Bytes whose events were committed.
    pub pos: u64,
    /// Its absolute path when last seen.
    pub file: String,
}

/// Renders entries as Flume does (Gson, no spaces, keys in this order).
pub fn render(entries: &[PosEntry]) -> Vec<u8> {
    serde_json::to_vec(entries).unwrap_or_else(|_| b"[]".to_vec())
}

/// Parses a position file's contents. An empty file counts as no entries (Flume writes one
/// before its first position).
pub fn parse(bytes: &[u8]) -> Result<Vec<PosEntry>, serde_json::Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    serde_json::from_slice::<Vec<PosEntry>>(bytes)
}

/// Loads `path`. A missing file is empty; a damaged one is moved aside to `.corrupt`, logged
/// with its path and the reason, and every file starts as if never seen (from the
/// beginning, or the end with `skipToEnd`).
pub(crate) fn load(path: &Path) -> Vec<PosEntry> {
    let bytes = match atomic_file::read(path) {
        Ok(Some(b)) => b,
        Ok(None) => return Vec::new(),
        Err(e) => {
            tracing::error!(position_file = %path.display(), error = %e, "position file unreadable; files start as if never seen");
            return Vec::new();
        }
    };
    match parse(&bytes) {
        Ok(v) => v,
        Err(reason) => {
            let aside: Result<PathBuf, _> = atomic_file::set_aside(path);
            tracing::error!(
                position_file = %path.display(),
                %reason,
                set_aside = %aside.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|e| e.to_string()),
                "position file is damaged; files start as if never seen (from the beginning, or the end with skipToEnd)"
            );
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_render_exactly_as_flume_writes_them() {
        let e = vec![
            PosEntry {
                inode: 2496272,
                pos: 12,
                file: "/var/log/test1/example.log".into(),
            },
            PosEntry {
                inode: 2496275,
                pos: 0,
                file: "/var/log/test2/log1.log".into(),
            },
        ];
        assert_eq!(
            String::from_utf8(render(&e)).unwrap(),
            r#"[{"inode":2496272,"pos":12,"file":"/var/log/test1/example.log"},{"inode":2496275,"pos":0,"file":"/var/log/test2/log1.log"}]"#
        );
    }

    #[test]
    fn a_flume_position_file_with_spaces_and_any_key_order_is_read() {
        let flume = br#"[ {"file":"/a/b.log","pos":77,"inode":9} ]"#;
        assert_eq!(
            parse(flume).unwrap(),
            vec![PosEntry {
                inode: 9,
                pos: 77,
                file: "/a/b.log".into()
            }]
        );
        assert_eq!(parse(b"").unwrap(), vec![]);
    }

    #[test]
    fn a_damaged_position_file_is_set_aside_and_loads_as_empty() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("taildir_position.json");
        std::fs::write(&p, b"[{\"inode\":1,\"pos\":").unwrap();
        assert!(parse(b"{\"inode\":1}").is_err());
        assert_eq!(load(&p), vec![]);
        assert!(d.path().join("taildir_position.json.corrupt").exists());
        assert!(!p.exists());
    }
}
