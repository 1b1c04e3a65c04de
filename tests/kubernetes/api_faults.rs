//! The API server's faults and the annotations that exclude: a stale token refused (401,
//! named in `/health` and the log) until the token file is rewritten; the API server down
//! (lines flow with their path's metadata, counted, `/health` names it); pods and
//! containers excluded by annotation; `config check` refusing a config with no API server
//! outside a pod.

use serde_json::json;

use crate::api::{assert_labelled, events, h, metric, plain, setup, start, wait_until, write};
use crate::api_server::pod;
use crate::node::{Container, Format};
use crate::output::{config, written};
use crate::support::cli_support::outcome;
use crate::support::nats_support::health;
use crate::support::ports::free_port;

#[test]
fn a_stale_token_is_refused_and_named_until_the_token_file_is_rewritten() {
    let (tmp, pods, server) = setup();
    let root = tmp.path();
    let mut a = Container::new(&pods, "default", "before", "main", Format::Cri);
    server.put(plain(&a, json!({"app": "before"})));
    let mut agent = start(root, &server.keys());
    assert_labelled(root, &mut a, "before", &agent);
    // The server takes another token: the agent's next watch is refused.
    server.set_token("t2");
    server.end_watches();
    wait_until("/health naming the 401", &agent, || {
        let (_, body) = health(agent.http);
        body.contains("HTTP 401") && body.contains(&format!("127.0.0.1:{}", server.port))
    });
    assert!(
        agent.log_text().contains("HTTP 401"),
        "{}",
        agent.log_text()
    );
    // Lines of a pod the agent cannot learn of flow meanwhile, counted.
    let mut b = Container::new(&pods, "default", "during", "main", Format::Cri);
    server.put(plain(&b, json!({"app": "during"})));
    write(&mut b, "during", 20);
    events(root, "during-m", 20, &agent);
    // The token file is rewritten (a projected token rotated): the agent recovers.
    std::fs::write(server.dir.join("token"), "t2").unwrap();
    wait_until("/health without the API server", &agent, || {
        let (code, body) = health(agent.http);
        code == 200 && !body.contains("HTTP 401")
    });
    let mut c = Container::new(&pods, "default", "after", "main", Format::Cri);
    server.put(plain(&c, json!({"app": "after"})));
    assert_labelled(root, &mut c, "after", &agent);
    let without = written(root)
        .iter()
        .filter(|g| h(g, "k8s.node.name").is_none())
        .count() as u64;
    assert!(
        without > 0,
        "lines of the unknown pod went without metadata"
    );
    assert_eq!(metric(&agent, "EventsWithoutApiMetadataCount"), without);
    agent.terminate();
}

#[test]
fn with_the_api_server_down_lines_flow_with_their_path_metadata_counted_and_health_names_it() {
    let (tmp, pods, server) = setup();
    let root = tmp.path();
    let dead = free_port();
    let mut keys = server.keys();
    keys[0].1 = format!("https://127.0.0.1:{dead}");
    let mut a = Container::new(&pods, "default", "lonely", "main", Format::Json);
    let mut agent = start(root, &keys);
    write(&mut a, "lonely", 100);
    for g in events(root, "lonely-m", 100, &agent) {
        assert_eq!(h(&g, "k8s.pod.name"), Some("lonely"), "{g:?}");
        assert_eq!(h(&g, "k8s.pod.uid"), Some(a.uid.as_str()), "{g:?}");
        assert_eq!(h(&g, "k8s.node.name"), None, "{g:?}");
    }
    assert_eq!(metric(&agent, "EventsWithoutApiMetadataCount"), 100);
    let (code, body) = health(agent.http);
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("degraded") && body.contains(&format!("127.0.0.1:{dead}")),
        "{body}"
    );
    assert!(agent.log_text().contains(&format!("127.0.0.1:{dead}")));
    agent.terminate();
}

#[test]
fn pods_and_containers_excluded_by_annotation_are_not_read() {
    let (tmp, pods, server) = setup();
    let root = tmp.path();
    let mut gone = Container::new(&pods, "default", "quiet", "main", Format::Cri);
    let mut side = Container::new(&pods, "default", "mixed", "sidecar", Format::Cri);
    let mut main = Container::new(&pods, "default", "mixed", "main", Format::Cri);
    main.uid = side.uid.clone();
    let main_dir = pods
        .join(format!("default_mixed_{}", side.uid))
        .join("main");
    std::fs::rename(&main.dir, &main_dir).unwrap();
    std::fs::remove_dir(main.pod_dir()).unwrap();
    main.dir = main_dir;
    let mut kept = Container::new(&pods, "default", "kept", "main", Format::Cri);
    let ex = json!({"sluice.io/exclude": "true"});
    server.put(pod("default", "quiet", &gone.uid, json!({}), ex, None));
    let ex = json!({"sluice.io/exclude-containers": "sidecar, other"});
    server.put(pod("default", "mixed", &side.uid, json!({}), ex, None));
    server.put(plain(&kept, json!({"app": "kept"})));
    let mut agent = start(root, &server.keys());
    write(&mut gone, "quiet", 20);
    write(&mut side, "sidecar", 20);
    write(&mut main, "mixed-main", 20);
    write(&mut kept, "kept", 20);
    events(root, "mixed-main-m", 20, &agent);
    events(root, "kept-m", 20, &agent);
    // A moment for anything excluded to show.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let got = written(root);
    assert!(
        !got.iter()
            .any(|g| g.body.starts_with("quiet") || g.body.starts_with("sidecar")),
        "excluded lines were sent"
    );
    assert_eq!(got.len(), 40);
    agent.terminate();
}

#[test]
fn config_check_refuses_a_source_with_no_api_server_outside_a_pod_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let text = config(tmp.path(), &[]).replace("a1.sources.r1.apiServer = none\n", "");
    std::fs::write(tmp.path().join("a1.properties"), &text).unwrap();
    let (code, out, err) = outcome(&check(tmp.path()));
    assert_ne!(code, 0, "{out}{err}");
    let text = format!("{out}{err}");
    assert!(
        text.contains("apiServer") && text.contains("KUBERNETES_SERVICE_HOST"),
        "{text}"
    );
    let ok = config(
        tmp.path(),
        &[("apiServer", "https://kubernetes.default.svc")],
    );
    std::fs::write(tmp.path().join("a1.properties"), ok).unwrap();
    let (code, out, err) = outcome(&check(tmp.path()));
    assert_eq!(code, 0, "{out}{err}");
}

/// `sluice config check` of `dir/a1.properties`, outside a pod.
fn check(dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .current_dir(dir)
        .args(["config", "check", "-n", "a1", "-f", "a1.properties"])
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}
