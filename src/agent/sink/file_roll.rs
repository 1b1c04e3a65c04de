//! The `file_roll` sink: writes event bodies (each followed by a newline, with
//! `appendNewline`) to files named like Flume's path managers (`DEFAULT`:
//! `<prefix><start millis>-<n>[.ext]`; `ROLLTIME`: `<prefix><open time>-<n>[.ext]`) under
//! `sink.directory`, starting a new file every `sink.rollInterval` (never when 0). A batch
//! counts as delivered only after it was written, flushed and (with `sink.fsyncPerBatch`,
//! the default; Flume never syncs) fsynced, with the directory fsynced for a new file; after
//! a failed write the file is abandoned and the next batch starts a new one (at least once).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::time::Instant;

use super::SinkError;
use crate::agent::config::ctx::Ctx;
use crate::agent::config::types::{FileRollConfig, PathManager};
use sluice_core::Event;

/// The file_roll sink.
#[derive(Debug)]
pub struct FileRollSink {
    name: String,
    cfg: FileRollConfig,
    start_ms: u128,
    counter: u64,
    current: Option<BufWriter<File>>,
    roll_at: Option<Instant>,
    new_entry: bool,
}

/// Reads `sink.pathManager` and its keys.
pub fn path_manager(cx: &mut Ctx<'_>) -> PathManager {
    let roll_time = match cx.get("sink.pathManager").as_deref() {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("DEFAULT") => false,
        Some(v) if v.eq_ignore_ascii_case("ROLLTIME") => true,
        Some(v) => {
            cx.error(
                "sink.pathManager",
                format!("unknown path manager {v:?}; supported: DEFAULT, ROLLTIME"),
            );
            false
        }
    };
    let java = cx
        .get("sink.pathManager.pattern")
        .unwrap_or_else(|| "yyyyMMddHHmmss".into());
    let pattern = match java_pattern(&java) {
        Ok(p) => p,
        Err(e) => {
            cx.error("sink.pathManager.pattern", e);
            "%Y%m%d%H%M%S".into()
        }
    };
    PathManager {
        roll_time,
        prefix: cx.get("sink.pathManager.prefix").unwrap_or_default(),
        extension: cx.get("sink.pathManager.extension").unwrap_or_default(),
        pattern,
    }
}

/// A Java date pattern (`yyyy MM dd HH mm ss SSS` and literals) as a chrono format.
pub fn java_pattern(p: &str) -> Result<String, String> {
    let mut out = String::new();
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let run = b[i..].iter().take_while(|x| **x == c).count();
        let f = match (c, run) {
            (b'y', 4) => "%Y",
            (b'y', 2) => "%y",
            (b'M', 2) => "%m",
            (b'd', 2) => "%d",
            (b'H', 2) => "%H",
            (b'm', 2) => "%M",
            (b's', 2) => "%S",
            (b'S', 3) => "%3f",
            (c, _) if c.is_ascii_alphabetic() => {
                return Err(format!(
                "unsupported pattern letters {:?} in {p:?}; supported: yyyy yy MM dd HH mm ss SSS",
                &p[i..i + run]
            ))
            }
            (b'%', _) => "%%",
            _ => {
                out.push(c as char);
                i += 1;
                continue;
            }
        };
        out.push_str(f);
        i += run;
    }
    Ok(out)
}

impl FileRollSink {
    /// A sink that opens its first file on its first batch.
    pub fn new(name: &str, cfg: FileRollConfig) -> Self {
        let start_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        FileRollSink {
            name: name.to_owned(),
            cfg,
            start_ms,
            counter: 0,
            current: None,
            roll_at: None,
            new_entry: false,
        }
    }

    fn err(&self, what: &str, e: std::io::Error) -> SinkError {
        SinkError {
            sink: self.name.clone(),
            message: format!("{what} in {}: {e}", self.cfg.directory.display()),
        }
    }

    async fn open_next(&mut self) -> Result<(), SinkError> {
        tokio::fs::create_dir_all(&self.cfg.directory)
            .await
            .map_err(|e| self.err("creating the directory", e))?;
        loop {
            self.counter += 1;
            let pm = &self.cfg.path_manager;
            let series = if pm.roll_time {
                chrono::Local::now().format(&pm.pattern).to_string()
            } else {
                self.start_ms.to_string()
            };
            let mut name = format!("{}{series}-{}", pm.prefix, self.counter);
            if !pm.extension.is_empty() {
                name.push('.');
                name.push_str(&pm.extension);
            }
            let path: PathBuf = self.cfg.directory.join(name);
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
            {
                Ok(f) => {
                    tracing::debug!(sink = %self.name, path = %path.display(), "opened");
                    self.current = Some(BufWriter::new(f));
                    self.new_entry = true;
                    self.roll_at = self.cfg.roll_interval.map(|d| Instant::now() + d);
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(self.err("opening a file", e)),
            }
        }
    }

    /// Closes the current file when its roll interval has passed.
    pub async fn tick(&mut self) -> Result<(), SinkError> {
        if self.roll_at.is_some_and(|t| Instant::now() >= t) {
            self.close().await;
        }
        Ok(())
    }

    /// Writes and flushes a batch.
    pub async fn deliver(&mut self, events: &[Event]) -> Result<(), SinkError> {
        self.tick().await?;
        if self.current.is_none() {
            self.open_next().await?;
        }
        let newline = self.cfg.append_newline;
        let Some(w) = self.current.as_mut() else {
            return Err(SinkError {
                sink: self.name.clone(),
                message: "no open file".into(),
            });
        };
        let mut result = Ok(());
        for e in events {
            result = w.write_all(&e.body).await;
            if result.is_ok() && newline {
                result = w.write_all(b"\n").await;
            }
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            result = w.flush().await;
        }
        if result.is_ok() && self.cfg.fsync_per_batch {
            result = w.get_ref().sync_data().await;
            if result.is_ok() && self.new_entry {
                result = sync_dir(self.cfg.directory.clone()).await;
                self.new_entry = result.is_err();
            }
        }
        if let Err(e) = result {
            self.current = None;
            return Err(self.err("writing", e));
        }
        Ok(())
    }

    /// Flushes and closes the current file.
    pub async fn close(&mut self) {
        if let Some(mut w) = self.current.take() {
            if let Err(e) = w.shutdown().await {
                tracing::warn!(sink = %self.name, error = %e, "closing the file failed");
            }
        }
        self.roll_at = None;
    }
}

/// fsyncs a directory so a new file's entry is durable.
async fn sync_dir(dir: PathBuf) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
        .await
        .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_date_patterns_become_chrono_formats() {
        assert_eq!(java_pattern("yyyyMMddHHmmss").unwrap(), "%Y%m%d%H%M%S");
        assert_eq!(
            java_pattern("yy-MM-dd_HH.mm.ss.SSS").unwrap(),
            "%y-%m-%d_%H.%M.%S.%3f"
        );
        assert!(java_pattern("EEE").unwrap_err().contains("EEE"));
    }
}
