//! A node in a directory: the test writes container logs the way containerd (CRI) and
//! docker (json-file) do, splitting a long line into 16 KiB partial lines, and rotates them
//! the way kubelet does at `containerLogMaxSize`: `<n>.log` renamed `<n>.log.<time>`, a fresh
//! `<n>.log` opened, every rotated file but the newest gzipped (`.tmp`, renamed `.gz`, the
//! original removed), and past `containerLogMaxFiles` the oldest removed. Every message
//! written is remembered with the metadata its event must carry.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The runtimes' partial-line size.
pub const PART_BYTES: usize = 16 * 1024;

/// A runtime's log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Cri,
    Json,
}

/// One message written, as its event must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    pub body: String,
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub container: String,
    pub restart: u32,
    pub stream: &'static str,
    pub time_ms: i64,
    /// The lines it took in the file (a part per 16 KiB).
    pub lines: usize,
}

/// One container's log files.
pub struct Container {
    pub namespace: String,
    pub pod: String,
    pub uid: String,
    pub name: String,
    pub dir: PathBuf,
    pub format: Format,
    pub restart: u32,
    file: File,
    size: u64,
    /// `containerLogMaxSize`.
    max_size: u64,
    /// `containerLogMaxFiles` (the live one included).
    max_files: usize,
    /// Rotations so far (the rotated names' fake times).
    rotations: u64,
    /// Whether rotated files are compressed by `maybe_rotate` itself.
    pub compress: bool,
    /// No rotation at the size limit for now (kubelet checks every 10 s, not at each write).
    pub hold: bool,
    pub wants: Vec<Want>,
    clock_ms: i64,
}

fn stamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}

impl Container {
    /// How many `.gz` files kubelet's rotation left in the container's directory.
    pub fn gzipped(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".gz")
            })
            .count()
    }

    /// A container of the pod `<namespace>_<pod>_<uid>` under `root`.
    pub fn new(root: &Path, namespace: &str, pod: &str, name: &str, format: Format) -> Self {
        let uid = format!("uid-{pod}-{}", fastrand::u32(..));
        let dir = root.join(format!("{namespace}_{pod}_{uid}")).join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let file = File::create(dir.join("0.log")).unwrap();
        Container {
            namespace: namespace.into(),
            pod: pod.into(),
            uid,
            name: name.into(),
            dir,
            format,
            restart: 0,
            file,
            size: 0,
            max_size: 64 * 1024,
            max_files: 5,
            rotations: 0,
            compress: true,
            hold: false,
            wants: Vec::new(),
            clock_ms: 1_704_067_200_000,
        }
    }

    /// kubelet's `containerLogMaxSize` and `containerLogMaxFiles` for this container.
    pub fn limits(&mut self, max_size: u64, max_files: usize) {
        self.max_size = max_size;
        self.max_files = max_files;
    }

    /// The live file (`<restart>.log`).
    pub fn live_file(&self) -> PathBuf {
        self.live()
    }

    /// The pod's directory.
    pub fn pod_dir(&self) -> PathBuf {
        self.dir.parent().unwrap().to_path_buf()
    }

    fn live(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.restart))
    }

    /// Writes one message on `stream` (split into partial lines at 16 KiB), rotating first
    /// when the live file reached the size limit.
    pub fn write(&mut self, body: &str, stream: &'static str) {
        self.maybe_rotate();
        self.clock_ms += 1;
        let t = stamp(self.clock_ms);
        let parts: Vec<&[u8]> = if body.is_empty() {
            vec![b""]
        } else {
            body.as_bytes().chunks(PART_BYTES).collect()
        };
        let mut text = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let p = std::str::from_utf8(p).unwrap();
            match self.format {
                Format::Cri => {
                    let tag = if last { "F" } else { "P" };
                    text.extend_from_slice(format!("{t} {stream} {tag} {p}\n").as_bytes());
                }
                Format::Json => {
                    let log = if last { format!("{p}\n") } else { p.to_owned() };
                    let line = serde_json::json!({"log": log, "stream": stream, "time": t});
                    text.extend_from_slice(format!("{line}\n").as_bytes());
                }
            }
        }
        self.file.write_all(&text).unwrap();
        self.size += text.len() as u64;
        self.wants.push(Want {
            body: body.into(),
            namespace: self.namespace.clone(),
            pod: self.pod.clone(),
            uid: self.uid.clone(),
            container: self.name.clone(),
            restart: self.restart,
            stream,
            time_ms: self.clock_ms,
            lines: parts.len(),
        });
    }

    /// Writes raw bytes to the live file (bad input), expecting no event of its own.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.file.write_all(bytes).unwrap();
        self.size += bytes.len() as u64;
    }

    /// Rotates when the live file reached `containerLogMaxSize`.
    pub fn maybe_rotate(&mut self) {
        if self.size >= self.max_size && !self.hold {
            self.rotate();
        }
    }

    /// kubelet's rotation: rename the live file, reopen, compress the older rotated files
    /// (when `compress`), remove the ones past `containerLogMaxFiles`.
    pub fn rotate(&mut self) {
        self.rotations += 1;
        let secs = 1_704_067_200 + self.rotations as i64;
        let name = chrono::DateTime::from_timestamp(secs, 0)
            .unwrap()
            .format("%Y%m%d-%H%M%S")
            .to_string();
        let live = self.live();
        std::fs::rename(&live, self.dir.join(format!("{}.log.{name}", self.restart))).unwrap();
        self.file = File::create(&live).unwrap();
        self.size = 0;
        if self.compress {
            self.compress_rotated();
        }
        self.remove_excess();
    }

    /// Gzips every rotated file of this restart but the newest, as kubelet does.
    pub fn compress_rotated(&mut self) {
        let mut rotated = self.rotated_plain();
        rotated.pop();
        for p in rotated {
            let gz = PathBuf::from(format!("{}.gz", p.display()));
            let tmp = PathBuf::from(format!("{}.tmp", p.display()));
            let data = std::fs::read(&p).unwrap();
            let mut enc = flate2::write::GzEncoder::new(
                File::create(&tmp).unwrap(),
                flate2::Compression::fast(),
            );
            enc.write_all(&data).unwrap();
            enc.finish().unwrap().sync_all().unwrap();
            std::fs::rename(&tmp, &gz).unwrap();
            std::fs::remove_file(&p).unwrap();
        }
    }

    fn rotated_plain(&self) -> Vec<PathBuf> {
        let prefix = format!("{}.log.", self.restart);
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy().into_owned();
                n.starts_with(&prefix) && !n.ends_with(".gz") && !n.ends_with(".tmp")
            })
            .collect();
        v.sort();
        v
    }

    fn remove_excess(&mut self) {
        let mut all: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".log."))
            .collect();
        all.sort();
        while all.len() + 1 > self.max_files {
            std::fs::remove_file(all.remove(0)).unwrap();
        }
    }

    /// The container restarts: its next log is `<restart + 1>.log`.
    pub fn restart(&mut self) {
        self.restart += 1;
        self.file = File::create(self.live()).unwrap();
        self.size = 0;
    }
}

/// A message of `len` bytes naming `tag` (no newline, no `}`).
pub fn message(tag: &str, len: usize) -> String {
    let mut s = format!("{tag} ");
    while s.len() < len {
        s.push((b'a' + (s.len() % 26) as u8) as char);
    }
    s.truncate(len.max(tag.len()));
    s
}
