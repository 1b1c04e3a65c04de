//! 2,000 pods on one node, each with a container's log (CRI and json-file alternately), and
//! the test API server holding the 2,000 pods: the list comes in pages of 500 (`limit` and
//! `continue`), every line comes out once with its path's and its pod's metadata, and the
//! agent's memory stays bounded: its peak RSS (`VmHWM` from `/proc/<pid>/status`) under
//! [`RSS_MAX_MIB`].

use serde_json::json;

use crate::api::{events, h, metric, setup, start, wait_until};
use crate::api_server::pod;
use crate::node::{message, Container, Format, Want};
use crate::output::assert_each_once;

/// Pods on the node.
const PODS: usize = 2_000;
/// Messages each pod's container writes.
const PER_POD: usize = 3;
/// The agent's peak RSS allowed with 2,000 pods (the benchmark aims at 64 MiB; the
/// bound leaves room for a test build's allocator and a loaded machine).
const RSS_MAX_MIB: u64 = 128;

/// The peak resident set of process `pid`, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"))
}

#[test]
fn two_thousand_pods_are_listed_in_pages_and_read_once_each_with_their_metadata_in_bounded_memory()
{
    let (tmp, pods, server) = setup();
    let root = tmp.path();
    let mut wants: Vec<Want> = Vec::new();
    // Written in groups, each container closed after (2,000 open files are not needed here).
    for i in 0..PODS {
        let format = if i % 2 == 0 {
            Format::Cri
        } else {
            Format::Json
        };
        let ns = format!("team-{}", i % 20);
        let mut c = Container::new(&pods, &ns, &format!("app-{i}"), "main", format);
        server.put(pod(
            &c.namespace,
            &c.pod,
            &c.uid,
            json!({"app": c.pod.clone()}),
            json!({}),
            Some(("StatefulSet", &format!("set-{}", i % 20))),
        ));
        for m in 0..PER_POD {
            c.write(&message(&format!("app-{i}-m{m}"), 120), "stdout");
        }
        wants.extend(c.wants.clone());
    }
    let mut agent = start(root, &server.keys());
    let got = events(root, "app-", PODS * PER_POD, &agent);
    assert_each_once(&got, &wants);
    for g in &got {
        let pod = h(g, "k8s.pod.name").unwrap();
        assert_eq!(h(g, "k8s.pod.label.app"), Some(pod), "{g:?}");
        assert!(h(g, "k8s.statefulset.name").is_some(), "{g:?}");
    }
    wait_until("every pod's metadata held", &agent, || {
        metric(&agent, "PodsWithMetadata") == PODS as u64
    });
    assert_eq!(metric(&agent, "EventsWithoutApiMetadataCount"), 0);
    let pages: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| !r.contains("watch=1"))
        .collect();
    assert_eq!(pages.len(), PODS / 500, "{pages:?}");
    assert!(pages.iter().all(|r| r.contains("limit=500")), "{pages:?}");
    assert!(
        pages[1..].iter().all(|r| r.contains("continue=")),
        "{pages:?}"
    );
    let rss_mib = peak_rss_kib(agent.pid()) / 1024;
    agent.terminate();
    eprintln!(
        "{PODS} pods: {} messages once each, peak RSS {rss_mib} MiB",
        wants.len()
    );
    assert!(
        rss_mib <= RSS_MAX_MIB,
        "peak RSS {rss_mib} MiB with {PODS} pods, over {RSS_MAX_MIB} MiB"
    );
}
