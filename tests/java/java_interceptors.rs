//! Users' Java interceptors (issue 67) on a real JVM: compiled by the test with the JDK's
//! javac against Sluice's shim, Jackson from Debian in the plugin's `libext/`, run in the
//! chain between Sluice's own interceptors; a batch that throws is refused and redelivered; a
//! JVM that exits is restarted while the agent's other source goes on; kill -9 of the agent
//! with a Java interceptor in the chain loses nothing acknowledged.

use crate::support::java_support;
use crate::support::lines_support::{duplicates, netcat_send, wait_for_all, written};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use java_support::*;

/// Compiles the test interceptors and the example's `JsonHeaders` (examples/java-interceptor/)
/// into `plugins.d/icpt`, with Jackson in its `libext/`.
fn interceptors(root: &Path) -> PathBuf {
    let plugins_d = root.join("plugins.d");
    let jackson: Vec<PathBuf> = ["jackson-databind", "jackson-core", "jackson-annotations"]
        .iter()
        .map(|j| PathBuf::from(format!("/usr/share/java/{j}.jar")))
        .collect();
    let mut src = java_files(&test_plugins().join("interceptors"));
    src.push(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples/java-interceptor/JsonHeaders.java"),
    );
    plugin(&plugins_d, "icpt", &src, &jackson, &[]);
    let libext = plugins_d.join("icpt/libext");
    std::fs::create_dir_all(&libext).unwrap();
    for j in &jackson {
        std::fs::copy(j, libext.join(j.file_name().unwrap())).unwrap();
    }
    plugins_d
}

/// Every file's bytes under `dir` and its subdirectories, by path relative to `dir`.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The body the BatchMarker interceptor adds: every byte value but the newline.
fn marker_body() -> Vec<u8> {
    (0u8..=255).filter(|b| *b != b'\n').collect()
}

const SERVICES: [&str; 3] = ["api", "web", "db"];

/// Line `n` as the test writes it (`svc`, renamed `service` by Sluice's search_replace first).
fn json_line(n: usize) -> String {
    let level = if n % 7 == 0 { "error" } else { "info" };
    format!(
        "{{\"svc\":\"{}\",\"level\":\"{level}\",\"n\":{n},\"msg\":\"caf\u{e9} {n}\"}}",
        SERVICES[n % 3]
    )
}

/// netcat -> search_replace (Sluice) -> JsonHeaders (Java, Jackson) -> DropTenth (Java) ->
/// BatchMarker (Java) -> static dc=eu (Sluice); multiplexing on `level`; hdfs paths on
/// `%{dc}/%{service}` under `root`'s `out` and `err`.
fn routing_conf(root: &Path, port: u16) -> String {
    let d = root.display();
    // search_replace (Sluice) -> JsonHeaders (Java, Jackson) -> DropTenth (Java) ->
    // BatchMarker (Java) -> static dc=eu (Sluice); multiplexing on `level`; hdfs paths on
    // `%{dc}/%{service}`.
    format!(
        "a1.sources = r1\na1.channels = c1 c2\na1.sinks = k1 k2\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1 c2\n\
         a1.sources.r1.interceptors = rename json drop mark dc\n\
         a1.sources.r1.interceptors.rename.type = search_replace\n\
         a1.sources.r1.interceptors.rename.searchPattern = \"svc\"\n\
         a1.sources.r1.interceptors.rename.replaceString = \"service\"\n\
         a1.sources.r1.interceptors.json.type = example.JsonHeaders$Builder\n\
         a1.sources.r1.interceptors.json.fields = service level\n\
         a1.sources.r1.interceptors.drop.type = sluicetest.icpt.DropTenth$Builder\n\
         a1.sources.r1.interceptors.mark.type = sluicetest.icpt.BatchMarker$Builder\n\
         a1.sources.r1.interceptors.mark.service = marker\n\
         a1.sources.r1.interceptors.dc.type = static\n\
         a1.sources.r1.interceptors.dc.key = dc\na1.sources.r1.interceptors.dc.value = eu\n\
         a1.sources.r1.selector.type = multiplexing\na1.sources.r1.selector.header = level\n\
         a1.sources.r1.selector.mapping.error = c2\na1.sources.r1.selector.default = c1\n\
         a1.channels.c1.type = memory\na1.channels.c2.type = memory\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = {d}/out/%{{dc}}/%{{service}}\n\
         a1.sinks.k1.hdfs.fileType = DataStream\na1.sinks.k1.hdfs.rollInterval = 0\n\
         a1.sinks.k1.hdfs.rollSize = 0\na1.sinks.k1.hdfs.rollCount = 0\n\
         a1.sinks.k2.type = hdfs\na1.sinks.k2.channel = c2\n\
         a1.sinks.k2.hdfs.path = {d}/err/%{{dc}}/%{{service}}\n\
         a1.sinks.k2.hdfs.fileType = DataStream\na1.sinks.k2.hdfs.rollInterval = 0\n\
         a1.sinks.k2.hdfs.rollSize = 0\na1.sinks.k2.hdfs.rollCount = 0\n"
    )
}

/// Each `kept` line (renamed `service`) is in `{out|err}/eu/{service}/` by its level.
fn each_kept_line_is_in_its_level_and_service_path(root: &Path, kept: &[usize]) {
    for (sub, level) in [("out", "info"), ("err", "error")] {
        let files = files_under(&root.join(sub));
        for svc in SERVICES {
            let got: Vec<String> = files
                .iter()
                .filter(|(k, _)| k.starts_with(&format!("eu/{svc}/")))
                .flat_map(|(_, v)| {
                    String::from_utf8(v.clone())
                        .unwrap()
                        .lines()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect();
            let want: Vec<String> = kept
                .iter()
                .filter(|n| SERVICES[**n % 3] == svc && (**n % 7 == 0) == (level == "error"))
                .map(|n| json_line(*n).replace("\"svc\"", "\"service\""))
                .collect();
            let mut sorted = got.clone();
            sorted.sort();
            let mut want_sorted = want.clone();
            want_sorted.sort();
            assert_eq!(sorted, want_sorted, "{sub}/eu/{svc}");
        }
    }
}

/// One marker per batch, its bytes exact, routed by its own headers (level unset: the
/// default channel), after Sluice's static interceptor set dc.
fn one_exact_marker_per_batch_in_the_default_channel(root: &Path) {
    let out = files_under(&root.join("out"));
    let markers: Vec<&Vec<u8>> = out
        .iter()
        .filter(|(k, _)| k.starts_with("eu/marker/"))
        .map(|(_, v)| v)
        .collect();
    let mut unit = marker_body();
    unit.push(b'\n');
    let bytes: Vec<u8> = markers.into_iter().flatten().copied().collect();
    assert!(!bytes.is_empty(), "no marker event arrived");
    assert_eq!(bytes.len() % unit.len(), 0);
    assert!(bytes.chunks(unit.len()).all(|c| c == unit.as_slice()));
    assert!(files_under(&root.join("err"))
        .keys()
        .all(|k| !k.contains("marker")));
}

#[test]
fn java_interceptors_route_json_lines_by_their_fields_between_sluices_own_interceptors() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins_d = interceptors(tmp.path());
    let port = free_port();
    let conf = routing_conf(tmp.path(), port);
    let mut a = java_agent(tmp.path(), &conf, &plugins_d, Some(port));
    const N: usize = 1000;
    let lines: Vec<String> = (1..=N).map(json_line).collect();
    for chunk in lines.chunks(100) {
        assert_eq!(netcat_send(port, chunk), chunk.len(), "{}", a.log_text());
    }
    let kept: Vec<usize> = (1..=N).filter(|n| n % 10 != 0).collect();
    a.wait_until("every kept line in a file", || {
        let files = files_under(&tmp.path().join("out"));
        let err = files_under(&tmp.path().join("err"));
        let count = |m: &BTreeMap<String, Vec<u8>>| {
            m.iter()
                .filter(|(k, _)| !k.contains("marker"))
                .map(|(_, v)| v.iter().filter(|b| **b == b'\n').count())
                .sum::<usize>()
        };
        count(&files) + count(&err) >= kept.len()
    });
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());

    each_kept_line_is_in_its_level_and_service_path(tmp.path(), &kept);
    one_exact_marker_per_batch_in_the_default_channel(tmp.path());
}

/// A spooling directory source into a file_roll sink through the Faulty interceptor at
/// `line-01500` in `mode`, beside a netcat source without interceptors when `netcat`.
fn faulty_conf(d: &Path, mode: &str, netcat: Option<u16>) -> String {
    let d = d.display();
    let mut conf = format!(
        "a1.sources = sp{}\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.sp.type = spooldir\na1.sources.sp.spoolDir = {d}/spool\n\
         a1.sources.sp.channels = c1\na1.sources.sp.batchSize = 100\n\
         a1.sources.sp.interceptors = f\n\
         a1.sources.sp.interceptors.f.type = sluicetest.icpt.Faulty$Builder\n\
         a1.sources.sp.interceptors.f.at = line-01500\n\
         a1.sources.sp.interceptors.f.mode = {mode}\n\
         a1.sources.sp.interceptors.f.once = {d}/once\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 100000\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {d}/out\na1.sinks.k1.sink.rollInterval = 0\n",
        if netcat.is_some() { " nc" } else { "" }
    );
    if let Some(port) = netcat {
        conf.push_str(&format!(
            "a1.sources.nc.type = netcat\na1.sources.nc.bind = 127.0.0.1\n\
             a1.sources.nc.port = {port}\na1.sources.nc.channels = c1\n"
        ));
    }
    conf
}

fn spool(dir: &Path, lines: &[String]) {
    let spool = dir.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    let tmp = dir.join("lines.txt");
    std::fs::write(
        &tmp,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    std::fs::rename(&tmp, spool.join("lines.txt")).unwrap();
}

fn line_numbers(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:05}")).collect()
}

#[test]
fn a_batch_an_interceptor_throws_on_is_refused_and_redelivered_nothing_lost_or_doubled() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins_d = interceptors(tmp.path());
    let conf = faulty_conf(tmp.path(), "throw", None);
    let lines = line_numbers("line", 0..3000);
    spool(tmp.path(), &lines);
    let a = java_agent(tmp.path(), &conf, &plugins_d, None);
    let out = tmp.path().join("out");
    let got = wait_for_all(&[out], &lines, Duration::from_secs(60), || a.log_text());
    assert_eq!(duplicates(&got), 0);
    assert_eq!(got.len(), lines.len());
    let log = a.log_text();
    assert!(
        tmp.path().join("once").exists(),
        "the interceptor never threw"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("sluicetest.icpt.Faulty$Builder")
                && l.contains("boom at line-01500")
                && l.contains("retrying")),
        "{log}"
    );
}

#[test]
fn an_interceptor_that_exits_its_jvm_is_restarted_while_the_other_source_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins_d = interceptors(tmp.path());
    let port = free_port();
    let conf = faulty_conf(tmp.path(), "exit", Some(port));
    let lines = line_numbers("line", 0..3000);
    let mut a = java_agent(tmp.path(), &conf, &plugins_d, Some(port));
    spool(tmp.path(), &lines);
    a.wait_until("the interceptor's JVM exited", || {
        a.log_text()
            .lines()
            .any(|l| l.contains("restarting") && l.contains("status 5"))
    });
    let native = line_numbers("native", 0..50);
    assert_eq!(netcat_send(port, &native), native.len(), "{}", a.log_text());
    let mut want = lines.clone();
    want.extend(native);
    let out = tmp.path().join("out");
    let got = wait_for_all(
        std::slice::from_ref(&out),
        &want,
        Duration::from_secs(60),
        || a.log_text(),
    );
    assert_eq!(duplicates(&got), 0);
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
    assert_eq!(written(&out).len(), want.len());
}

#[test]
fn kill_9_with_a_java_interceptor_in_the_chain_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins_d = interceptors(tmp.path());
    let port = free_port();
    let d = tmp.path().display();
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.sources.r1.interceptors = p\n\
         a1.sources.r1.interceptors.p.type = sluicetest.icpt.PassThrough$Builder\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {d}/ckpt\n\
         a1.channels.c1.dataDirs = {d}/data\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {d}/out\na1.sinks.k1.sink.rollInterval = 0\n"
    );
    let mut a = java_agent(tmp.path(), &conf, &plugins_d, Some(port));
    let lines = line_numbers("line", 0..20_000);
    // Sent 200 lines a connection; the count of lines answered OK so far.
    let acked = Arc::new(AtomicUsize::new(0));
    let sender = {
        let (lines, acked) = (lines.clone(), acked.clone());
        std::thread::spawn(move || {
            for chunk in lines.chunks(200) {
                let ok = netcat_send(port, chunk);
                acked.fetch_add(ok, Ordering::SeqCst);
                if ok < chunk.len() {
                    return;
                }
            }
        })
    };
    a.wait_until("5,000 lines acknowledged", || {
        acked.load(Ordering::SeqCst) >= 5000
    });
    a.kill9();
    sender.join().unwrap();
    let acked = acked.load(Ordering::SeqCst);
    assert!(
        acked < lines.len(),
        "every line was acknowledged before the kill"
    );
    let out = tmp.path().join("out");
    a.restart();
    let got = wait_for_all(
        std::slice::from_ref(&out),
        &lines[..acked],
        Duration::from_secs(60),
        || a.log_text(),
    );
    assert!(got.len() >= acked);
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
}
