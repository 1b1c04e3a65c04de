//! The API server's metadata, against the test API server (`api_server.rs`, HTTPS with a CA
//! and a token made at test time): labels, the workload and the listed annotations on every
//! line; a label change followed; a watch that ends resumed from its resourceVersion (a
//! bookmark's); a deleted pod's last lines with its metadata; `410 Gone` as a status and as
//! an ERROR event answered by a new list. The
//! faults (a stale token, the server down), exclusions and `config check`: `api_faults.rs`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api_server::{pod, ApiServer, GoneAs, NODE};
use crate::node::{message, Container, Format};
use crate::output::{config, written, Got};
use crate::support::agent_proc::HttpAgent;
use crate::support::ports::free_port;

/// The bound of every wait.
const WAIT: Duration = Duration::from_secs(90);

/// The agent on `root` with the API keys `keys` (and `annotations = team`).
pub fn start(root: &Path, keys: &[(&'static str, String)]) -> HttpAgent {
    let mut extra: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.push(("annotations", "team"));
    let conf = config(root, &extra);
    let args = vec!["--no-reload-conf".to_owned()];
    HttpAgent::spawn_env(root, "a1", &conf, args, Vec::new(), free_port(), None)
}

/// Waits (bounded) until `f` holds.
pub fn wait_until(what: &str, agent: &HttpAgent, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !f() {
        assert!(
            Instant::now() < end,
            "not within {WAIT:?}: {what}; log:\n{}",
            agent.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The events whose body starts with `prefix`, once at least `n` were written.
pub fn events(root: &Path, prefix: &str, n: usize, agent: &HttpAgent) -> Vec<Got> {
    let mut got = Vec::new();
    wait_until(&format!("{n} events of {prefix}"), agent, || {
        got = written(root)
            .into_iter()
            .filter(|g| g.body.starts_with(prefix))
            .collect();
        got.len() >= n
    });
    got
}

/// Writes `n` messages tagged `tag` into `c`.
pub fn write(c: &mut Container, tag: &str, n: usize) {
    for i in 0..n {
        c.write(&message(&format!("{tag}-m{i}"), 60), "stdout");
    }
}

pub fn h<'a>(g: &'a Got, k: &str) -> Option<&'a str> {
    g.headers.get(k).map(String::as_str)
}

/// The test's root, its node's pod logs and a server with token `t1`.
pub fn setup() -> (tempfile::TempDir, std::path::PathBuf, ApiServer) {
    let tmp = tempfile::tempdir().unwrap();
    let pods = tmp.path().join("pods");
    std::fs::create_dir_all(&pods).unwrap();
    let server = ApiServer::start(&tmp.path().join("api"), "t1");
    (tmp, pods, server)
}

pub fn plain(c: &Container, labels: Value) -> Value {
    pod(&c.namespace, &c.pod, &c.uid, labels, json!({}), None)
}

/// Four pods, each of another workload, with 50 lines each: every line carries the pod's
/// labels, the listed annotation and its workload; then a label change is followed.
#[test]
fn labels_workload_and_listed_annotations_are_on_every_line_and_a_label_change_is_followed() {
    let (tmp, pods, server) = setup();
    let root = tmp.path();
    let mut web = Container::new(&pods, "shop", "web-5d9f7c-x2x9z", "web", Format::Cri);
    let mut db = Container::new(&pods, "shop", "db-0", "db", Format::Json);
    let mut job = Container::new(&pods, "ops", "backup-28901234-q7", "backup", Format::Cri);
    let mut ds = Container::new(&pods, "kube-system", "agent-k2", "agent", Format::Cri);
    server.put(web_pod(&web, "front"));
    let owned = |c: &Container, labels: Value, owner: (&str, &str)| {
        pod(&c.namespace, &c.pod, &c.uid, labels, json!({}), Some(owner))
    };
    server.put(owned(&db, json!({"app": "db"}), ("StatefulSet", "db")));
    server.put(owned(&job, json!({}), ("Job", "backup-28901234")));
    server.put(owned(&ds, json!({}), ("DaemonSet", "agent")));
    let mut agent = start(root, &server.keys());
    for (c, tag) in [
        (&mut web, "web"),
        (&mut db, "db"),
        (&mut job, "job"),
        (&mut ds, "ds"),
    ] {
        write(c, tag, 50);
    }
    assert_workloads(root, &web, &agent);
    server.put(web_pod(&web, "back"));
    label_change_followed(root, &mut web, &agent);
    assert_eq!(metric(&agent, "EventsWithoutApiMetadataCount"), 0);
    agent.terminate();
}

/// The web pod (a Deployment's), its `tier` label `tier`.
fn web_pod(web: &Container, tier: &str) -> Value {
    pod(
        &web.namespace,
        &web.pod,
        &web.uid,
        json!({"app": "web", "tier": tier}),
        json!({"team": "core", "other": "not listed"}),
        Some(("ReplicaSet", "web-5d9f7c")),
    )
}

fn assert_workloads(root: &Path, web: &Container, agent: &HttpAgent) {
    for g in events(root, "web-m", 50, agent) {
        assert_eq!(h(&g, "k8s.node.name"), Some(NODE), "{g:?}");
        assert_eq!(h(&g, "k8s.pod.label.app"), Some("web"), "{g:?}");
        assert_eq!(h(&g, "k8s.pod.label.tier"), Some("front"), "{g:?}");
        assert_eq!(h(&g, "k8s.pod.annotation.team"), Some("core"), "{g:?}");
        assert_eq!(h(&g, "k8s.pod.annotation.other"), None, "{g:?}");
        assert_eq!(h(&g, "k8s.deployment.name"), Some("web"), "{g:?}");
        assert_eq!(h(&g, "k8s.replicaset.name"), Some("web-5d9f7c"), "{g:?}");
        assert_eq!(h(&g, "k8s.pod.name"), Some(web.pod.as_str()), "{g:?}");
    }
    for g in events(root, "db-m", 50, agent) {
        assert_eq!(h(&g, "k8s.statefulset.name"), Some("db"), "{g:?}");
        assert_eq!(h(&g, "k8s.pod.label.app"), Some("db"), "{g:?}");
    }
    for g in events(root, "job-m", 50, agent) {
        assert_eq!(h(&g, "k8s.job.name"), Some("backup-28901234"), "{g:?}");
        assert_eq!(h(&g, "k8s.cronjob.name"), Some("backup"), "{g:?}");
    }
    for g in events(root, "ds-m", 50, agent) {
        assert_eq!(h(&g, "k8s.daemonset.name"), Some("agent"), "{g:?}");
    }
}

/// Probes until one carries the changed label, then every later line does.
fn label_change_followed(root: &Path, web: &mut Container, agent: &HttpAgent) {
    let mut seen = false;
    for i in 0..100 {
        web.write(&format!("probe-{i}"), "stdout");
        let g = events(root, &format!("probe-{i}"), 1, agent);
        if h(&g[0], "k8s.pod.label.tier") == Some("back") {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(seen, "the label change never reached the lines");
    write(web, "after", 30);
    for g in events(root, "after-m", 30, agent) {
        assert_eq!(h(&g, "k8s.pod.label.tier"), Some("back"), "{g:?}");
    }
}

/// A source gauge of the agent.
pub fn metric(agent: &HttpAgent, key: &str) -> u64 {
    agent.json()["SOURCE.r1"][key]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Whether the server saw a watch request from resourceVersion `rv`.
fn watched_from(server: &ApiServer, rv: u64) -> bool {
    let needle = format!("resourceVersion={rv} ");
    server
        .requests()
        .iter()
        .any(|r| r.contains("watch=1") && r.contains(&needle))
}

fn lists(server: &ApiServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| !r.contains("watch=1") && r.ends_with("-> 200"))
        .count()
}

/// Writes 20 lines tagged `name` into `c` and checks each carries `app = <name>`.
pub fn assert_labelled(root: &Path, c: &mut Container, name: &str, agent: &HttpAgent) {
    write(c, name, 20);
    for g in events(root, &format!("{name}-m"), 20, agent) {
        assert_eq!(h(&g, "k8s.pod.label.app"), Some(name), "{g:?}");
    }
}

#[test]
fn a_watch_that_ends_resumes_from_its_resource_version_and_410_gone_lists_again() {
    let (tmp, pods, server) = setup();
    let root = tmp.path();
    let mut agent = start(root, &server.keys());
    wait_until("a watch", &agent, || {
        server.requests().iter().any(|r| r.contains("watch=1"))
    });
    // A bookmark, then the watch ends: the next one starts at the bookmark's version, and
    // sees a pod added meanwhile.
    let rv = server.bookmark();
    server.end_watches();
    let mut a = Container::new(&pods, "default", "resumed", "main", Format::Cri);
    server.put(plain(&a, json!({"app": "resumed"})));
    wait_until("a watch from the bookmark", &agent, || {
        watched_from(&server, rv)
    });
    write(&mut a, "resumed", 20);
    for g in events(root, "resumed-m", 20, &agent) {
        assert_eq!(h(&g, "k8s.pod.label.app"), Some("resumed"), "{g:?}");
    }
    assert_eq!(lists(&server), 1, "{:?}", server.requests());
    // The pod is deleted while its directory is still there: its last lines keep its labels.
    server.delete(plain(&a, json!({"app": "resumed"})));
    write(&mut a, "deleted", 20);
    for g in events(root, "deleted-m", 20, &agent) {
        assert_eq!(h(&g, "k8s.pod.label.app"), Some("resumed"), "{g:?}");
    }
    // 410 Gone as an HTTP status, then as an ERROR event: each answered by a new list,
    // which shows a pod no watch event announced.
    for (n, gone) in [(2, GoneAs::Http), (3, GoneAs::Event)] {
        let name = format!("relisted-{n}");
        let mut c = Container::new(&pods, "default", &name, "main", Format::Cri);
        server.forget_history(gone);
        server.put_silently(plain(&c, json!({"app": name})));
        server.end_watches();
        wait_until("a new list", &agent, || lists(&server) >= n);
        assert_labelled(root, &mut c, &name, &agent);
    }
    let reqs = server.requests();
    assert!(reqs.iter().any(|r| r.ends_with("-> 410")), "{reqs:?}");
    agent.terminate();
}
