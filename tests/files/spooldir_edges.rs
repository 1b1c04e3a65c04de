//! Issue 25, spooldir in the real `sluice agent` (file channel → file_roll): with the BLOB
//! deserializer's default `maxBlobLength` (100 MB, more than the file channel stores in one
//! event), an 80 MB file is set aside (it keeps its name, the log says why) and the files
//! behind it are delivered; `config check` warns about the setting, naming both numbers.

use crate::support::file_sources_support;

use std::time::{Duration, SystemTime};

use file_sources_support::{channel_and_sink, start_agent, wait_for_all, wait_until};

fn conf(root: &std::path::Path) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = spooldir\na1.sources.r1.channels = c1\n\
         a1.sources.r1.spoolDir = {r}/spool\na1.sources.r1.pollDelay = 100\n\
         a1.sources.r1.deserializer = org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder\n{}",
        channel_and_sink(root, 100),
        r = root.display()
    )
}

#[test]
fn a_blob_larger_than_the_channel_stores_is_set_aside_and_the_files_behind_it_go_on() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let spool = root.join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    // The big file is the oldest, so it is read first.
    let big = spool.join("a-big.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(80_000_000).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    drop(f);
    let want: Vec<String> = (0..3).map(|i| format!("small blob {i}")).collect();
    for (i, w) in want.iter().enumerate() {
        std::fs::write(spool.join(format!("b-{i}.txt")), w).unwrap();
    }
    let conf_path = root.join("agent.properties");
    std::fs::write(&conf_path, conf(root)).unwrap();

    let check = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["config", "check", "-n", "a1", "-f"])
        .arg(&conf_path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout).into_owned()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(
        said.contains("deserializer.maxBlobLength") && said.contains("100000000"),
        "config check warns: {said}"
    );
    assert!(
        said.contains("67108864"),
        "names the channel's limit: {said}"
    );

    let mut a = start_agent(root, &conf_path, 0);
    let counts = wait_for_all(&root.join("out"), &want, &a);
    assert_eq!(counts.len(), want.len(), "only the small files: {counts:?}");
    let done = |i| spool.join(format!("b-{i}.txt.COMPLETED")).exists();
    wait_until(|| (0..3).all(done));
    a.terminate();
    let log = a.log_text();
    assert!(big.exists(), "the big file keeps its name");
    assert!(log.contains("a-big.bin"), "{log}");
    assert!(log.contains("skipped until it changes"), "{log}");
    for i in 0..3 {
        assert!(done(i), "b-{i}.txt completed");
    }
}
