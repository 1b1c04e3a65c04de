//! Flume's header order, checked against a real JVM (issue 87, item 11). Flume writes an
//! event's headers (`HEADER_AND_TEXT`, `avro_event`, its logger) in the order its
//! `HashMap<String, String>` iterates: buckets in order, a bucket's pairs in insertion order,
//! resizes and tree bins included. `sluice_wire::java_map` replays that table; here a small
//! Java program (`hashmap_order/HashMapOrder.java`) prints `HashMap.toString()` for 10,000
//! random header sets (random keys, keys that share a bucket at every table size, keys with
//! equal hashes, random insertion order, up to 160 pairs: tables of 16 to 256 buckets and tree
//! bins) and each must equal Sluice's. Then the User Guide's static interceptor keys
//! (`datacenter`, and `headerKey2`, which shares its bucket) through a real agent's
//! `header_and_text`, byte for byte as Java prints them, in both insertion orders.
//! `SLUICE_SEED=<n>` repeats a run's sets.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::multihop::{free_port, Client, Proc, WAIT};
use crate::support::wait::wait_until;
use sluice::wire::java_map::{hashmap_order, write_map_string};

type Pairs = Vec<(String, String)>;

/// Compiles the Java program into `dir`.
fn compile(dir: &Path) {
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/hashmap_order/HashMapOrder.java");
    let out = Command::new("javac")
        .args(["-encoding", "UTF-8", "-d"])
        .arg(dir)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "javac: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What Java's `HashMap.toString()` prints for each set, filled in the set's order.
fn java_prints(dir: &Path, sets: &[Pairs]) -> Vec<String> {
    let mut child = Command::new("java")
        .arg("-cp")
        .arg(dir)
        .arg("HashMapOrder")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for set in sets {
        let fields: Vec<&str> = set
            .iter()
            .flat_map(|(k, v)| [k.as_str(), v.as_str()])
            .collect();
        input.push_str(&fields.join("\t"));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    out.split_terminator('\n').map(str::to_owned).collect()
}

/// What Sluice writes for the set.
fn sluice_prints(set: &Pairs) -> String {
    let pairs = hashmap_order(set.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut out = Vec::new();
    write_map_string(&mut out, &pairs);
    String::from_utf8(out).unwrap()
}

/// Header names seen in Flume's documentation and Sluice's sources, and a few beyond ASCII.
const WORDS: &[&str] = &[
    "host",
    "timestamp",
    "datacenter",
    "headerKey2",
    "hostname",
    "topic",
    "partition",
    "offset",
    "key",
    "Severity",
    "Facility",
    "priority",
    "file",
    "basename",
    "uuid",
    "state",
    "namenode",
    "datanode",
    "ключ",
    "東京",
    "Zürich",
    "😀x",
];

/// A key whose `String.hashCode()` is `h` (1,200 ≤ h < 60,000): two UTF-16 units
/// `c0 * 31 + c1`, `c1` in 62..93 (no tab, no surrogate); a hash under 2^16 spreads to itself.
fn key_of_hash(h: u32) -> String {
    let c1 = h % 31 + 62;
    char::decode_utf16([((h - c1) / 31) as u16, c1 as u16])
        .map(|c| c.unwrap())
        .collect()
}

fn random_key(rng: &mut fastrand::Rng) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    let len = rng.usize(1..=12);
    (0..len)
        .map(|_| char::from(CHARS[rng.usize(..CHARS.len())]))
        .collect()
}

/// `count` keys of one bucket at tables up to `stride` buckets (hash ≡ base mod `stride`).
fn bucket_keys(rng: &mut fastrand::Rng, count: usize) -> Vec<String> {
    let stride = [16u32, 64, 256][rng.usize(..3)];
    let base = rng.u32(..stride);
    (0..count)
        .map(|_| key_of_hash(base + stride * rng.u32(1200 / stride + 1..58_000 / stride)))
        .collect()
}

/// `count` keys with one hash (blocks of `Aa` and `BB`, which hash alike): a tree bin orders
/// them by `compareTo`.
fn equal_hash_keys(rng: &mut fastrand::Rng, count: usize) -> Vec<String> {
    (0..count)
        .map(|_| {
            (0..5)
                .map(|_| if rng.bool() { "Aa" } else { "BB" })
                .collect()
        })
        .collect()
}

/// One random header set: a mix of the families above, deduplicated, shuffled.
fn random_set(rng: &mut fastrand::Rng) -> Pairs {
    let mut keys: Vec<String> = Vec::new();
    match rng.usize(..4) {
        0 => keys.extend((0..rng.usize(0..24)).map(|_| WORDS[rng.usize(..WORDS.len())].to_owned())),
        1 => {
            let n = rng.usize(2..40);
            keys.extend(bucket_keys(rng, n));
        }
        2 => {
            let n = rng.usize(2..32);
            keys.extend(equal_hash_keys(rng, n));
        }
        _ => {}
    }
    let extra = [rng.usize(0..12), rng.usize(0..60), rng.usize(60..160)][rng.usize(..3)];
    keys.extend((0..extra).map(|_| random_key(rng)));
    if rng.usize(..3) == 0 {
        let n = rng.usize(0..20);
        keys.extend(bucket_keys(rng, n));
    }
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    rng.shuffle(&mut keys);
    keys.into_iter()
        .enumerate()
        .map(|(i, k)| (k, format!("v{i}")))
        .collect()
}

#[test]
fn header_order_equals_javas_hashmap_for_10000_random_header_sets() {
    let seed = std::env::var("SLUICE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("seed {seed} (SLUICE_SEED={seed} repeats it)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let sets: Vec<Pairs> = (0..10_000).map(|_| random_set(&mut rng)).collect();
    let tmp = tempfile::tempdir().unwrap();
    compile(tmp.path());
    let java = java_prints(tmp.path(), &sets);
    assert_eq!(java.len(), sets.len());
    let big = sets.iter().filter(|s| s.len() > 96).count();
    let mut differ = Vec::new();
    for (set, want) in sets.iter().zip(&java) {
        if sluice_prints(set) != *want {
            differ.push((set, want));
        }
    }
    eprintln!(
        "{} sets, {big} of them past 96 pairs (a 256-bucket table)",
        sets.len()
    );
    if let Some((set, want)) = differ.first() {
        panic!(
            "{} of {} sets differ (seed {seed}); first: inserted {set:?}\njava:   {want}\nsluice: {}",
            differ.len(),
            sets.len(),
            sluice_prints(set)
        );
    }
}

/// A netcat source whose two static interceptors put `first` then `second`.
fn source(name: &str, port: u16, first: (&str, &str), second: (&str, &str)) -> String {
    format!(
        "a1.sources.{name}.type = netcat\na1.sources.{name}.bind = 127.0.0.1\n\
         a1.sources.{name}.port = {port}\na1.sources.{name}.channels = c1\n\
         a1.sources.{name}.interceptors = i1 i2\n\
         a1.sources.{name}.interceptors.i1.type = static\n\
         a1.sources.{name}.interceptors.i1.key = {}\na1.sources.{name}.interceptors.i1.value = {}\n\
         a1.sources.{name}.interceptors.i2.type = static\n\
         a1.sources.{name}.interceptors.i2.key = {}\na1.sources.{name}.interceptors.i2.value = {}\n",
        first.0, first.1, second.0, second.1
    )
}

#[test]
fn the_user_guides_static_headers_come_out_of_header_and_text_as_java_prints_them() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dc = ("datacenter", "NEW_YORK");
    let k2 = ("headerKey2", "headerValue2");
    let (p1, p2) = (free_port(), free_port());
    let conf = format!(
        "a1.sources = r1 r2\na1.channels = c1\na1.sinks = k1\n{}{}\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\na1.channels.c1.minimumRequiredSpace = 1048576\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {r}/out\na1.sinks.k1.sink.rollInterval = 0\n\
         a1.sinks.k1.sink.serializer = header_and_text\n",
        source("r1", p1, k2, dc),
        source("r2", p2, dc, k2),
        r = root.display()
    );
    let agent = Proc::start(root, "a1", &conf, p1, &[]);
    for (port, body) in [(p1, "key2-first"), (p2, "datacenter-first")] {
        let mut client = None;
        wait_until(
            WAIT,
            || {
                client = Client::connect(port).ok();
                client.is_some()
            },
            || "no netcat".into(),
        );
        assert_eq!(client.unwrap().send(&[body.to_owned()]), 1);
    }
    let read = || -> Vec<String> {
        let mut lines = Vec::new();
        for f in std::fs::read_dir(root.join("out"))
            .into_iter()
            .flatten()
            .flatten()
        {
            lines.extend(
                std::fs::read_to_string(f.path())
                    .unwrap_or_default()
                    .lines()
                    .map(str::to_owned),
            );
        }
        lines.sort();
        lines
    };
    wait_until(
        WAIT,
        || read().len() >= 2,
        || format!("{:?}\n{}", read(), agent.log_text()),
    );
    compile(root);
    let own = |a: (&str, &str), b: (&str, &str)| {
        vec![
            (a.0.to_owned(), a.1.to_owned()),
            (b.0.to_owned(), b.1.to_owned()),
        ]
    };
    let java = java_prints(root, &[own(k2, dc), own(dc, k2)]);
    assert_eq!(
        java[0], "{headerKey2=headerValue2, datacenter=NEW_YORK}",
        "the two keys share a bucket"
    );
    let mut want = vec![
        format!("{} key2-first", java[0]),
        format!("{} datacenter-first", java[1]),
    ];
    want.sort();
    assert_eq!(read(), want);
}
