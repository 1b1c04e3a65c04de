//! The S3 sink pointed at its store by the standard AWS endpoint variables alone (no
//! core-site.xml, no endpoint key): `AWS_ENDPOINT_URL_S3` wins over `AWS_ENDPOINT_URL`, which
//! wins over `AWS_ENDPOINT` (each test sets the loser to a port that refuses connections), a
//! plain `http://` endpoint is allowed because it says so, an IP-address endpoint is addressed
//! path-style, and the startup line names the variable that won. A dead endpoint gives error
//! lines naming it, its scheme and the variable (never a bare `builder error`); an endpoint
//! variable that is not a URL is refused at configuration time, naming it.

use crate::support::agent_proc::sluice_bin;
use crate::support::dead_port::dead_port;
use crate::support::hdfs_support::{free_port, lines, netcat_send, HttpAgent};
use crate::support::s3_support::{self, server, ACCESS_KEY, SECRET_KEY};

use super::s3_sink::{s3_agent_conf, send_all, wait_read_back};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for an error line.
const ERROR_WAIT: Duration = Duration::from_secs(30);

/// The agent's environment: the keys, no Hadoop configuration, and `endpoints`.
fn env(endpoints: &[(&str, String)]) -> Vec<(String, String)> {
    let mut env = vec![
        ("AWS_ACCESS_KEY_ID".to_owned(), ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), SECRET_KEY.to_owned()),
        ("HADOOP_CONF_DIR".to_owned(), String::new()),
    ];
    env.extend(endpoints.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    env
}

/// An s3a:// sink whose files roll every 250 lines and upload when idle for 2 s.
fn conf(dir: &Path, nc: u16, bucket: &str) -> String {
    s3_agent_conf(
        dir,
        nc,
        &format!("s3a://{bucket}/env/%Y%m%d/%H"),
        "a1.sinks.k1.hdfs.fileType = DataStream\na1.sinks.k1.hdfs.rollCount = 250\n\
         a1.sinks.k1.hdfs.rollSize = 0\na1.sinks.k1.hdfs.rollInterval = 0\n\
         a1.sinks.k1.hdfs.idleTimeout = 2\n",
    )
}

/// 500 lines through an agent whose endpoint is `winner` = the store, with `loser` set to a
/// port that refuses connections: every line reaches the bucket and the startup line names
/// `winner`.
fn delivers_through(winner: &str, loser: &str) {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let bucket = w.bucket(&winner.to_ascii_lowercase().replace('_', "-"));
    let dead = dead_port();
    let endpoints = [
        (winner, w.endpoint()),
        (loser, format!("http://127.0.0.1:{}", dead.port)),
    ];
    let (nc, http) = (free_port(), free_port());
    let mut a = HttpAgent::spawn_env(
        tmp.path(),
        "a1",
        &conf(tmp.path(), nc, &bucket),
        Vec::new(),
        env(&endpoints),
        http,
        Some(nc),
    );
    let want = lines(winner, 0..500);
    send_all(&a, nc, &want);
    wait_read_back(w, &a, &bucket, "env/", &want);
    let log = a.log_text();
    assert_eq!(a.terminate(), Some(0), "{log}");
    let started = format!("at {} (endpoint from {winner}, http)", w.endpoint());
    assert!(
        log.lines()
            .any(|l| l.contains("S3 store") && l.contains(&started)),
        "no startup line naming {started:?}; log:\n{log}"
    );
    assert!(!log.contains("builder error"), "{log}");
}

#[test]
fn an_agent_with_only_aws_endpoint_url_s3_delivers_every_line_to_the_store() {
    delivers_through("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
}

#[test]
fn an_agent_with_only_aws_endpoint_url_delivers_every_line_to_the_store() {
    delivers_through("AWS_ENDPOINT_URL", "AWS_ENDPOINT");
}

#[test]
fn an_endpoint_that_does_not_answer_is_named_with_its_scheme_and_variable_in_the_errors() {
    let Some(w) = server() else { return };
    let _turn = s3_support::shared_turn();
    let tmp = tempfile::tempdir().unwrap();
    let bucket = w.bucket("dead-endpoint");
    let dead = dead_port();
    let endpoint = format!("http://127.0.0.1:{}", dead.port);
    let (nc, http) = (free_port(), free_port());
    let mut a = HttpAgent::spawn_env(
        tmp.path(),
        "a1",
        &conf(tmp.path(), nc, &bucket),
        Vec::new(),
        env(&[("AWS_ENDPOINT_URL_S3", endpoint.clone())]),
        http,
        Some(nc),
    );
    // The lines are taken into the channel; the sink cannot reach its store.
    assert_eq!(netcat_send(nc, &lines("dead", 0..10)), 10);
    let end = Instant::now() + ERROR_WAIT;
    let named = |l: &str| {
        l.contains(&format!(
            "{endpoint} (endpoint from AWS_ENDPOINT_URL_S3, http)"
        )) && l.contains("check AWS_ENDPOINT_URL_S3")
    };
    loop {
        let log = a.log_text();
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| (l.contains("ERROR") || l.contains("WARN")) && l.contains("127.0.0.1"))
            .collect();
        if !errors.is_empty() && errors.iter().all(|l| named(l)) {
            assert!(!log.contains("builder error"), "{log}");
            break;
        }
        assert!(
            Instant::now() < end,
            "no error line naming {endpoint}, http and AWS_ENDPOINT_URL_S3 (or one that does not); log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(a.terminate(), Some(0), "{}", a.log_text());
}

#[test]
fn an_endpoint_variable_that_is_not_a_url_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let conf_path = tmp.path().join("a1.conf");
    std::fs::write(&conf_path, conf(tmp.path(), free_port(), "some-bucket")).unwrap();
    let out = Command::new(sluice_bin())
        .args(["config", "check", "-n", "a1", "-f"])
        .arg(&conf_path)
        .env_remove("RUST_LOG")
        .envs(env(&[("AWS_ENDPOINT_URL", "127.0.0.1:9000".to_owned())]))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("AWS_ENDPOINT_URL = \"127.0.0.1:9000\"")
            && text.contains("not an http:// or https:// URL"),
        "{text}"
    );
}
