//! A file_roll sink renamed and renamed back (`a` → `b` → `a`) over one file channel and one
//! directory: the channel keeps each sink's cursor by name, and `a`'s was left from the first
//! run. Before, `a` came back to it and cut its output back: every file `b` had written and
//! committed since sorted after the cursor and was removed (committed lines lost). Now a
//! start forgets the cursors of sinks that no longer read the channel, so `a` starts afresh.

use std::path::Path;

use super::exactly_once::append;
use crate::support::file_sources_support::{duplicates, start_agent, wait_for_all};

fn conf(root: &Path, sink: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = {sink}\n\
         a1.sources.r1.type = TAILDIR\na1.sources.r1.channels = c1\n\
         a1.sources.r1.positionFile = {r}/pos/taildir_position.json\n\
         a1.sources.r1.filegroups = f1\na1.sources.r1.filegroups.f1 = {r}/logs/app\\\\.log\n\
         a1.sources.r1.batchSize = 7\n\
         a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {r}/ck\n\
         a1.channels.c1.dataDirs = {r}/data\na1.channels.c1.minimumRequiredSpace = 1048576\n\
         a1.sinks.{sink}.type = file_roll\na1.sinks.{sink}.channel = c1\n\
         a1.sinks.{sink}.sink.directory = {r}/out\na1.sinks.{sink}.sink.rollInterval = 0\n\
         a1.sinks.{sink}.sink.batchSize = 5\n",
        r = root.display()
    )
}

#[test]
fn a_sink_renamed_and_renamed_back_does_not_cut_away_what_the_other_name_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    let conf_path = root.join("agent.properties");
    let out = root.join("out");
    let mut want = Vec::new();
    for (run, (sink, n)) in [("a", 30), ("b", 40), ("a", 20)].into_iter().enumerate() {
        std::fs::write(&conf_path, conf(root, sink)).unwrap();
        let mut agent = start_agent(root, &conf_path, run);
        // file_roll opens a new file at each start: each run's lines in files of their own.
        want.extend(append(root, want.len(), want.len() + n));
        let counts = wait_for_all(&out, &want, &agent);
        assert_eq!(duplicates(&counts), 0, "run {run}: {counts:?}");
        assert_eq!(agent.terminate(), Some(0));
    }
    // One more start of `a`, with a few more lines (so it runs before it is stopped).
    let mut agent = start_agent(root, &conf_path, 3);
    want.extend(append(root, want.len(), want.len() + 5));
    let counts = wait_for_all(&out, &want, &agent);
    assert_eq!(agent.terminate(), Some(0));
    assert_eq!(counts.len(), want.len());
    assert_eq!(duplicates(&counts), 0);
}
