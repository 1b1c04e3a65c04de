//! `/health` while a sink cannot write its output, and `/ready` while a source cannot bind:
//! each answer names the component and what to fix (`sink.directory`, the port taken).

use crate::support::status_support::{get, start_agent, HttpAgent};

/// Waits until `path` answers 503 with every one of `needles` in its body; returns it.
fn wait_503(agent: &HttpAgent, path: &str, needles: &[&str]) -> serde_json::Value {
    let mut last = String::new();
    agent.wait_until(&format!("{path} to name {needles:?}"), || {
        let Some(a) = get(agent.http, path, None) else {
            return false;
        };
        last = a.body.clone();
        a.status == 503 && needles.iter().all(|n| a.body.contains(n))
    });
    serde_json::from_str(&last).unwrap()
}

#[test]
fn health_is_503_naming_the_sink_and_sink_directory_while_file_roll_cannot_create_it() {
    let tmp = tempfile::tempdir().unwrap();
    // A directory under a regular file cannot be created, by root either.
    let blocker = tmp.path().join("blocker");
    std::fs::write(&blocker, b"").unwrap();
    let out = blocker.join("out");
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.totalEvents = 10\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 1000\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.sink.directory = {}\n",
        out.display()
    );
    let agent = start_agent(tmp.path(), &conf);
    let path = out.display().to_string();
    let v = wait_503(&agent, "/health", &["SINK.k1", "sink.directory"]);
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{v}");
    assert_eq!(problems[0]["component"], "SINK.k1");
    let reason = problems[0]["reason"].as_str().unwrap();
    assert!(reason.contains("cannot write its output"), "{reason}");
    assert!(
        reason.contains(&format!("sink.directory {path}")),
        "{reason}"
    );
    let warn = agent
        .log_text()
        .lines()
        .find(|l| l.contains("WARN") && l.contains("delivery failed"))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        warn.contains("sink.directory"),
        "the WARN names the key: {warn:?}"
    );
    // Once the directory can be made the sink writes, and the agent is healthy again.
    std::fs::remove_file(&blocker).unwrap();
    agent.wait_until("/health to answer 200", || {
        get(agent.http, "/health", None).is_some_and(|h| h.status == 200)
    });
}

#[test]
fn health_is_503_naming_hdfs_path_while_a_local_hdfs_sink_cannot_create_it() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("blocker");
    std::fs::write(&blocker, b"").unwrap();
    let out = blocker.join("out");
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = seq\na1.sources.r1.totalEvents = 10\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\na1.channels.c1.capacity = 1000\n\
         a1.sinks.k1.type = hdfs\na1.sinks.k1.channel = c1\n\
         a1.sinks.k1.hdfs.path = {}\na1.sinks.k1.hdfs.fileType = DataStream\n",
        out.display()
    );
    let agent = start_agent(tmp.path(), &conf);
    let path = out.display().to_string();
    let v = wait_503(&agent, "/health", &["SINK.k1", "hdfs.path"]);
    let reason = v["problems"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("cannot write its output"), "{reason}");
    assert!(reason.contains(&format!("hdfs.path {path}")), "{reason}");
}

#[test]
fn ready_names_the_source_and_the_address_whose_port_is_taken() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let conf = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
    );
    let agent = start_agent(tmp.path(), &conf);
    let address = format!("127.0.0.1:{port}");
    let v = wait_503(&agent, "/ready", &["source r1", &address]);
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.to_lowercase().contains("in use"), "{reason}");
    assert!(!reason.contains("replaying"), "{reason}");
    drop(taken);
}
