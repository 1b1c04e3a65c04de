//! Exactly-once output on S3 with the uploads in the background: staging on the simulated
//! file system, the bucket the `object_store` crate's in-memory store. A file the committed
//! snapshot lists as open that rolled since, and waits for its upload, is mid-upload or is
//! uploaded when the machine dies, is cut back at start to the snapshot's bytes, once, under
//! its key; a failed batch is cut back while uploads run.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use object_store::memory::InMemory;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};

use super::super::config::s3::Connection;
use super::super::config::RollingConfig;
use super::super::path::HostNames;
use super::super::resume::decode;
use super::super::store::s3::staging::{staged_bytes, StagedGauge};
use super::super::store::s3::transfer::Transfer;
use super::super::store::s3::{S3Config, S3Store};
use super::super::store::Store;
use super::tests::{cfg, events, write_through_a_fault};
use super::RollingWriter;
use sluice_core::io::SimFs;

struct Bucket {
    rt: tokio::runtime::Runtime,
    mem: Arc<InMemory>,
}

impl Bucket {
    fn new() -> Bucket {
        Bucket {
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            mem: Arc::new(InMemory::new()),
        }
    }

    fn store(&self, c: &RollingConfig, fs: &SimFs) -> Arc<S3Store> {
        let s3 = c.s3.clone().unwrap();
        let gauge = Arc::new(StagedGauge::new(
            s3.max_staged_bytes,
            &s3.staging_dir,
            String::new(),
        ));
        let xfer = Transfer {
            cfg: s3,
            fs: Arc::new(fs.clone()),
            client: self.mem.clone(),
            bridge: crate::agent::sink::rolling::bridge::Bridge::new(self.rt.handle().clone()),
            call_timeout: Duration::from_secs(5),
            retry_max: Duration::from_secs(1),
            keys: c.keys,
            gauge,
        };
        Arc::new(S3Store::with_client(xfer, "/out").unwrap())
    }

    /// Every line of every object, sorted.
    fn lines(&self) -> Vec<String> {
        let mem = self.mem.clone();
        let mut got = self.rt.block_on(async move {
            let mut out = Vec::new();
            let metas: Vec<_> = mem.list(None).collect().await;
            for m in metas {
                let body = mem.get(&m.unwrap().location).await.unwrap();
                let bytes = body.bytes().await.unwrap();
                out.extend(String::from_utf8_lossy(&bytes).lines().map(str::to_owned));
            }
            out
        });
        got.sort();
        got
    }

    fn put(&self, key: &str, bytes: Vec<u8>) {
        let mem = self.mem.clone();
        let key = ObjPath::from(key);
        self.rt
            .block_on(async move { mem.put(&key, bytes.into()).await })
            .unwrap();
    }
}

fn s3_cfg(roll_count: u64) -> RollingConfig {
    let mut c = cfg("/out/%{app}");
    c.roll_count = Some(roll_count);
    c.s3 = Some(S3Config::for_tests("b", Connection::default()));
    c
}

fn started(c: &RollingConfig, store: &Arc<S3Store>, resume: Option<&[u8]>) -> RollingWriter {
    let s: Arc<dyn Store> = store.clone();
    let mut w = RollingWriter::on_store(c.clone(), s, HostNames::default(), 1000).unwrap();
    w.recover(resume.and_then(decode).as_ref()).unwrap();
    w
}

fn expected(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("line-{i:04}")).collect()
}

/// Where the upload of the rolled file stands when the machine dies.
#[derive(Clone, Copy, Debug)]
enum Upload {
    Queued,
    DoneStagedFileKept,
    Done,
}

#[test]
fn a_listed_file_rolled_since_is_cut_back_to_the_snapshot_wherever_its_upload_stood() {
    for (seed, upload) in [Upload::Queued, Upload::DoneStagedFileKept, Upload::Done]
        .into_iter()
        .enumerate()
    {
        let (fs, bucket, c) = (SimFs::new(seed as u64), Bucket::new(), s3_cfg(6));
        let store = bucket.store(&c, &fs);
        let mut w = started(&c, &store, None);
        let t = Instant::now();
        // Committed: 4 lines in the open file F.
        w.write_batch(&events(0..4), t, 0).unwrap();
        let committed = w.cursor().unwrap();
        // Delivered, never committed: F takes two more lines and rolls (rollCount 6), the
        // rest opens G.
        store.pause_background();
        w.write_batch(&events(4..9), t, 0).unwrap();
        let staged_f = fs_files(&fs, Path::new("/staging/out/a"));
        assert_eq!(
            staged_f.len(),
            2,
            "{upload:?}: F queued, G open: {staged_f:?}"
        );
        match upload {
            Upload::Queued => {}
            Upload::DoneStagedFileKept => {
                // The upload completed; the machine died before the staged file went.
                let f = &staged_f[0];
                let bytes = sluice_core::io::read_file(&fs, f).unwrap();
                let name = f.file_name().unwrap().to_str().unwrap();
                bucket.put(&format!("out/a/{}", name.trim_end_matches(".tmp")), bytes);
            }
            Upload::Done => {
                store.resume_background();
                store.drain(Duration::from_secs(10));
            }
        }
        let image = fs.crash_image(seed as u64);
        drop((w, store));
        let store = bucket.store(&c, &image);
        let mut w = started(&c, &store, Some(&committed));
        store.drain(Duration::from_secs(10));
        assert_eq!(
            bucket.lines(),
            expected(0..4),
            "{upload:?}: the snapshot's bytes"
        );
        // The channel gives the uncommitted batch again: each line once.
        w.write_batch(&events(4..9), t, 0).unwrap();
        w.stop(t, Duration::from_secs(10)).unwrap();
        assert_eq!(bucket.lines(), expected(0..9), "{upload:?}");
        let left = staged_bytes(&image, Path::new("/staging")).unwrap();
        assert_eq!(left, 0, "{upload:?}: nothing left staged");
        assert_eq!(store.gauge().bytes(), 0, "{upload:?}");
    }
}

#[test]
fn a_failed_batch_is_cut_back_while_rolled_files_upload_and_the_retry_writes_it_once() {
    for k in 0..24u64 {
        let (fs, bucket, c) = (SimFs::new(k), Bucket::new(), s3_cfg(4));
        let store = bucket.store(&c, &fs);
        let mut w = started(&c, &store, None);
        let t = Instant::now();
        write_through_a_fault(&mut w, &fs, k, t);
        w.stop(t, Duration::from_secs(10)).unwrap();
        assert_eq!(bucket.lines(), expected(0..12), "fault at +{k}");
    }
}

/// The files in `dir`, sorted.
fn fs_files(fs: &SimFs, dir: &Path) -> Vec<std::path::PathBuf> {
    use sluice_core::io::Fs;
    let mut names = fs.list_dir(dir).unwrap_or_default();
    names.sort();
    names.into_iter().map(|n| dir.join(n)).collect()
}

#[test]
fn a_head_the_store_did_not_answer_fails_the_cut_back_instead_of_reading_as_no_object() {
    use super::super::bucket::Naming;
    use super::super::format::Layout;
    use super::super::resume::{cut_back, Newer, Snapshot};
    use super::super::store::s3::connect;
    // A port nothing listens on: every request is refused (a network failure, no 404).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (fs, bucket) = (SimFs::new(7), Bucket::new());
    let mut c = s3_cfg(6);
    let s3 = c.s3.as_mut().unwrap();
    s3.conn.endpoint = Some(format!("http://127.0.0.1:{port}"));
    s3.conn.access_key = Some("ak".into());
    s3.conn.secret_key = Some("sk".into());
    let timeout = Duration::from_millis(300);
    let xfer = Transfer {
        cfg: s3.clone(),
        fs: Arc::new(fs.clone()),
        client: connect::client(s3, timeout).unwrap(),
        bridge: crate::agent::sink::rolling::bridge::Bridge::new(bucket.rt.handle().clone()),
        call_timeout: timeout,
        retry_max: timeout,
        keys: c.keys,
        gauge: Arc::new(StagedGauge::new(
            1 << 30,
            Path::new("/staging"),
            String::new(),
        )),
    };
    let store = S3Store::with_client(xfer, "/out").unwrap();
    let naming = Naming {
        suffix: String::new(),
        in_use_prefix: String::new(),
        in_use_suffix: ".tmp".into(),
        fixed_prefix: Some("FlumeData".into()),
    };
    // The snapshot lists a file that is not staged: uploaded, as far as the sink knows.
    let snap = Snapshot {
        root: "/out".into(),
        counter: 1005,
        files: vec![("/out/a/FlumeData.1005.tmp".into(), 40)],
    };
    let r = cut_back(&store, &naming, Layout::of(&c), &snap, Newer::Listed(&[]));
    let e = r.expect_err("a failed HEAD is not an absent object");
    assert!(
        e.to_string().contains("looking up out/a/FlumeData.1005"),
        "the error names the lookup and the key: {e}"
    );
    let target = Path::new("/out/a/FlumeData.1006");
    assert!(store.exists(target).is_err());
    assert!(
        !store.name_taken(target).unwrap(),
        "a new name is taken as free while the store does not answer"
    );
}

#[test]
fn an_s3_sinks_runtime_lines_name_its_plain_keys() {
    use super::super::keys::KeyNames;
    let mut c = s3_cfg(6);
    c.keys = KeyNames::Plain;
    c.s3.as_mut().unwrap().max_staged_bytes = 1000;
    // The staging bound, as the sink sets it up.
    let gauge = super::super::store::Target::of(&c).staged_gauge();
    gauge.add(1000);
    let e = gauge.admit(1).unwrap_err().to_string();
    assert!(e.contains("would pass maxStagedBytes (1000)"), "{e}");
    // A poison event's reason.
    let mut timed = c.clone();
    timed.path = "/out/%Y".into();
    let bucket = Bucket::new();
    let mut w = started(&timed, &bucket.store(&timed, &SimFs::new(2)), None);
    let refused = w
        .write_batch(&[sluice_core::Event::new("x")], Instant::now(), 0)
        .unwrap();
    let why = &refused[0].reason;
    assert!(why.contains("useLocalTimeStamp=true"), "{why}");
    for text in [&e, why] {
        assert!(!text.contains("hdfs."), "an hdfs.* key in {text}");
    }
    w.stop(Instant::now(), Duration::ZERO).unwrap();
}
