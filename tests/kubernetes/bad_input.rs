//! Bad input on a node: garbled and truncated CRI and json-file lines, json-file lines with
//! invalid escapes (`\q`, a lone surrogate), a message longer than `maxLineBytes`, a pod
//! directory whose name does not parse, and symbolic links planted in the tree pointing
//! outside it. Nothing is dropped, nothing outside the tree is read, and no event is longer
//! than `maxLineBytes`. A line of 100 MB without a newline: `huge_line.rs`.

use crate::node::{message, Container, Format};
use crate::output::{config, settled};
use crate::support::file_sources_support::start_agent;

const MAX_LINE: usize = 64 * 1024;

#[test]
fn bad_lines_go_whole_marked_long_ones_in_bounded_parts_and_planted_links_are_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let pods = root.join("pods");
    std::fs::create_dir_all(&pods).unwrap();
    // Garbled lines among good ones.
    let mut c = Container::new(&pods, "default", "bad-1", "app", Format::Cri);
    c.write("good before", "stdout");
    let garbled = [
        "2024-01-02T03:04:05Z stdout",
        "2024-01-02T03:04:05Z stdout X not a tag",
        "2024-01-0",
        r#"{"log":"bad \q escape\n","stream":"stdout","time":"2024-01-02T03:04:05Z"}"#,
        r#"{"log":"lone \ud800 surrogate\n","stream":"stdout","time":"2024-01-02T03:04:05Z"}"#,
        // Truncated: a json-file line cut after its log (taken for a partial line), a
        // json-file line cut inside it, a CRI line cut inside its time.
        r#"{"log":"cut after the log","stre"#,
        r#"{"log":"cut inside the lo"#,
        "2024-01-02T03:04:05.1234",
        "plain words",
    ];
    for g in garbled {
        c.write_raw(format!("{g}\n").as_bytes());
    }
    c.write("good after", "stderr");
    // A message of 200 KiB: 13 partial lines, cut into events of at most MAX_LINE.
    let long = message("long-message", 200 * 1024);
    c.write(&long, "stdout");
    plant_odd_dir_and_links(root, &pods, &c);

    let conf = root.join("agent.properties");
    let max = MAX_LINE.to_string();
    std::fs::write(&conf, config(root, &[("maxLineBytes", max.as_str())])).unwrap();
    let mut agent = start_agent(root, &conf, 0);
    // good 2 + garbled 5 + long (4 parts) + odd 1.
    let got = settled(root, 2 + garbled.len() + 4 + 1, &agent);
    agent.terminate();
    let log = agent.log_text();
    check_output(&got, &log, &garbled, &long);
}

/// A pod directory whose name does not parse, and links planted in the tree pointing outside it.
fn plant_odd_dir_and_links(root: &std::path::Path, pods: &std::path::Path, c: &Container) {
    // A pod directory whose name does not parse.
    let odd = pods.join("not-a-pod-dir").join("c1");
    std::fs::create_dir_all(&odd).unwrap();
    std::fs::write(
        odd.join("0.log"),
        "2024-01-02T03:04:05Z stdout F from an odd dir\n",
    )
    .unwrap();
    // Links planted in the tree, pointing outside it.
    let outside = root.join("outside");
    std::fs::create_dir_all(outside.join("c")).unwrap();
    std::fs::write(
        outside.join("c/0.log"),
        "2024-01-02T03:04:05Z stdout F SECRET dir\n",
    )
    .unwrap();
    std::fs::write(
        outside.join("0.log"),
        "2024-01-02T03:04:05Z stdout F SECRET file\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, pods.join("default_planted-1_uid-p")).unwrap();
    std::os::unix::fs::symlink(outside.join("c"), c.dir.parent().unwrap().join("planted")).unwrap();
    std::os::unix::fs::symlink(outside.join("0.log"), c.dir.join("7.log")).unwrap();
}

/// The long message: every byte, in order, in parts of at most `MAX_LINE`, each marked.
fn check_cut_parts(got: &[crate::output::Got], long: &str) {
    let parts: Vec<_> = got
        .iter()
        .filter(|g| {
            g.body.starts_with("long-message")
                || (g.headers.contains_key("log.cut")
                    && g.headers.get("k8s.pod.name").map(String::as_str) == Some("bad-1"))
        })
        .collect();
    assert!(parts.len() >= 4, "cut into parts: {}", parts.len());
    assert!(parts
        .iter()
        .all(|p| p.body.len() <= MAX_LINE && p.headers.contains_key("log.cut")));
    let joined: String = parts.iter().map(|p| p.body.as_str()).collect();
    assert_eq!(joined, long, "the parts joined are the message");
}

/// What came out: the garbled lines whole and marked, the cut parts, the odd directory, and
/// nothing through the planted links.
fn check_output(got: &[crate::output::Got], log: &str, garbled: &[&str], long: &str) {
    let bodies: Vec<&str> = got.iter().map(|g| g.body.as_str()).collect();
    let bad1: Vec<String> = got
        .iter()
        .filter(|g| g.headers.get("k8s.pod.name").map(String::as_str) == Some("bad-1"))
        .map(|g| format!("{:.60} {:?}", g.body, g.headers.keys().collect::<Vec<_>>()))
        .collect();
    eprintln!("bad-1 events: {bad1:#?}");
    for &g in garbled {
        let e: Vec<_> = got.iter().filter(|x| x.body == g).collect();
        assert_eq!(e.len(), 1, "garbled line sent once, whole: {g}");
        assert!(
            e[0].headers.contains_key("log.parse_error"),
            "{:?}",
            e[0].headers
        );
        assert_eq!(
            e[0].headers.get("k8s.pod.name").map(String::as_str),
            Some("bad-1")
        );
    }
    assert!(bodies.contains(&"good before") && bodies.contains(&"good after"));
    check_cut_parts(got, long);
    // The odd directory: read, with the container's metadata and no pod's.
    let odd_ev: Vec<_> = got.iter().filter(|g| g.body == "from an odd dir").collect();
    assert_eq!(odd_ev.len(), 1);
    assert_eq!(
        odd_ev[0]
            .headers
            .get("k8s.container.name")
            .map(String::as_str),
        Some("c1")
    );
    assert!(!odd_ev[0].headers.contains_key("k8s.pod.name"));
    assert!(
        log.contains("not-a-pod-dir"),
        "the odd directory is named in the log"
    );
    // Nothing through the planted links.
    assert!(
        !bodies.iter().any(|b| b.contains("SECRET")),
        "a planted link was followed"
    );
    assert!(
        log.contains("symbolic link"),
        "the planted links are named in the log"
    );
}
