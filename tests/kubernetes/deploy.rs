//! The deploy files (issue 90, item 4): `deploy/helm/sluice` rendered and linted by the real
//! Helm (PyPI `helm-python-sdk`: Helm v4's Go SDK as a shared library, called through ctypes,
//! no helm binary), the rendered manifests and `deploy/kubernetes/sluice.yaml` validated
//! against Kubernetes 1.37's strict schemas (PyPI `kubernetes-validate`, offline; the
//! PodMonitor is a custom resource without a shipped schema: skipped and named), the
//! ConfigMap's properties through the real `sluice config check`, and the chart agreeing with
//! the plain manifest. The checker is `tests/kubernetes/deploy/check.py`, run with the
//! virtualenv's python (`.ci/install-kubernetes.sh`); without it these tests skip, or fail
//! when `SLUICE_REQUIRE_KUBERNETES` is set (as `.ci/run` sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::server_proc::{cache_dir, installed_or_skip};

/// Where the virtualenv with helm-python-sdk and kubernetes-validate is.
const VENV_ENV: &str = "SLUICE_KUBERNETES_VENV";
/// Set (as `.ci/run` does) to fail instead of skipping when the checkers are missing.
const REQUIRE_ENV: &str = "SLUICE_REQUIRE_KUBERNETES";
/// The Kubernetes version whose schemas the manifests are validated against (the newest
/// kubernetes-validate 1.37.0 ships).
const KUBE_VERSION: &str = "1.37.0";
/// The objects the chart renders with its default values.
const DEFAULT_KINDS: [&str; 5] = [
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "DaemonSet",
    "ServiceAccount",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chart() -> PathBuf {
    root().join("deploy/helm/sluice")
}

fn plain() -> PathBuf {
    root().join("deploy/kubernetes/sluice.yaml")
}

fn python() -> PathBuf {
    cache_dir(VENV_ENV, "kubernetes-venv").join("bin/python")
}

/// Whether the checkers are installed; `false` means skip (loudly).
fn available() -> bool {
    let ok = Command::new(python())
        .args(["-c", "import helm_python, kubernetes_validate"])
        .output()
        .is_ok_and(|o| o.status.success());
    installed_or_skip(ok, REQUIRE_ENV, || {
        format!(
            "the deploy tests need helm-python-sdk and kubernetes-validate in {} (run .ci/install-kubernetes.sh)",
            python().display()
        )
    })
}

/// `check.py ARGS`: whether it exited 0, its last stdout line as JSON (`Null` if none), and
/// everything it printed (for messages).
fn check(args: &[&str]) -> (bool, Value, String) {
    let o = Command::new(python())
        .arg(root().join("tests/kubernetes/deploy/check.py"))
        .args(args)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let json = out
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    let all = format!("{out}{}", String::from_utf8_lossy(&o.stderr));
    (o.status.success(), json, all)
}

/// The chart rendered with `values` (JSON) into `dir/rendered.yaml`, linted; the report.
fn render(dir: &Path, values: &str) -> (PathBuf, Value) {
    let out = dir.join("rendered.yaml");
    let (ok, report, all) = check(&[
        "render",
        chart().to_str().unwrap(),
        out.to_str().unwrap(),
        values,
    ]);
    assert!(ok, "helm render or lint failed:\n{all}");
    (out, report)
}

/// The objects of a manifest file.
fn objects(file: &Path) -> Vec<Value> {
    let (ok, v, all) = check(&["objects", file.to_str().unwrap()]);
    assert!(ok, "{all}");
    v.as_array().unwrap().clone()
}

fn object<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {objs:?}"))
}

fn kinds(report: &Value) -> Vec<String> {
    report["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_chart_renders_with_default_values_and_passes_helm_lint() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (_, report) = render(tmp.path(), "{}");
    assert_eq!(kinds(&report), DEFAULT_KINDS, "{report}");
    assert!(
        report["helm"].as_str().unwrap().starts_with("v4."),
        "not Helm 4: {report}"
    );
    let findings = report["lint"].as_array().unwrap();
    assert!(
        findings.iter().all(|m| m["severity"].as_u64() < Some(2)),
        "lint warned: {report}"
    );
}

#[test]
fn the_chart_renders_a_pod_monitor_extra_volumes_and_env_when_asked() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let values = r#"{"podMonitor": {"enabled": true, "interval": "30s"},
        "extraVolumes": [{"name": "docker", "hostPath": {"path": "/var/lib/docker/containers", "type": "Directory"}}],
        "extraVolumeMounts": [{"name": "docker", "mountPath": "/var/lib/docker/containers", "readOnly": true}],
        "env": [{"name": "RUST_LOG", "value": "info"}],
        "podAnnotations": {"example.com/team": "logs"}}"#;
    let (file, report) = render(tmp.path(), values);
    assert!(
        kinds(&report).contains(&"PodMonitor".to_owned()),
        "{report}"
    );
    let objs = objects(&file);
    let pm = object(&objs, "PodMonitor");
    let ds = object(&objs, "DaemonSet");
    let pod = &ds["spec"]["template"];
    let endpoint = &pm["spec"]["podMetricsEndpoints"][0];
    assert_eq!(endpoint["path"], "/prometheus", "{pm}");
    assert_eq!(endpoint["interval"], "30s", "{pm}");
    let container = &pod["spec"]["containers"][0];
    assert_eq!(container["ports"][0]["name"], endpoint["port"], "{ds}");
    assert_eq!(
        pm["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"],
        "the PodMonitor selects the agent's pods"
    );
    let volumes = pod["spec"]["volumes"].as_array().unwrap();
    assert!(
        volumes.iter().any(|v| v["name"] == "docker"
            && v["hostPath"]["path"] == "/var/lib/docker/containers"),
        "{volumes:?}"
    );
    let mounts = container["volumeMounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["name"] == "docker" && m["readOnly"] == true),
        "{mounts:?}"
    );
    let env: Vec<&Value> = container["env"].as_array().unwrap().iter().collect();
    assert_eq!(env[0]["name"], "NODE_NAME");
    assert_eq!(env[1]["name"], "RUST_LOG");
    assert_eq!(
        pod["metadata"]["annotations"]["example.com/team"], "logs",
        "{pod}"
    );
    let (ok, v, all) = check(&["validate", KUBE_VERSION, file.to_str().unwrap()]);
    assert!(ok, "{all}");
    assert_eq!(v["validated"], 5, "{v}");
    assert_eq!(
        v["skipped"],
        serde_json::json!([format!("{}: PodMonitor/sluice", file.display())]),
        "only the custom resource goes unchecked: {v}"
    );
}

#[test]
fn the_chart_without_rbac_or_its_service_account_runs_under_the_named_one() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let values =
        r#"{"rbac": {"create": false}, "serviceAccount": {"create": false, "name": "logs"}}"#;
    let (file, report) = render(tmp.path(), values);
    assert_eq!(kinds(&report), ["ConfigMap", "DaemonSet"], "{report}");
    let objs = objects(&file);
    let pod = &object(&objs, "DaemonSet")["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "logs");
}

#[test]
fn a_template_error_fails_the_render() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("sluice");
    std::fs::create_dir_all(broken.join("templates")).unwrap();
    for f in ["Chart.yaml", "values.yaml"] {
        std::fs::copy(chart().join(f), broken.join(f)).unwrap();
    }
    for e in std::fs::read_dir(chart().join("templates")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let text = text.replace("include \"sluice.fullname\"", "include \"sluice.fulname\"");
        std::fs::write(broken.join("templates").join(p.file_name().unwrap()), text).unwrap();
    }
    let out = tmp.path().join("out.yaml");
    let (ok, _, all) = check(&[
        "render",
        broken.to_str().unwrap(),
        out.to_str().unwrap(),
        "{}",
    ]);
    assert!(!ok, "a broken chart rendered:\n{all}");
    assert!(all.contains("no template \"sluice.fulname\""), "{all}");
}

#[test]
fn the_rendered_chart_and_the_plain_manifest_pass_the_kubernetes_1_37_schemas() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (file, _) = render(tmp.path(), "{}");
    let (ok, v, all) = check(&[
        "validate",
        KUBE_VERSION,
        file.to_str().unwrap(),
        plain().to_str().unwrap(),
    ]);
    assert!(ok, "{all}");
    assert_eq!(v["validated"], 5 + 6, "every object checked: {v}");
    assert_eq!(v["skipped"], serde_json::json!([]), "{v}");
}

#[test]
fn a_manifest_with_a_wrongly_typed_or_unknown_field_fails_the_schema_check() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(plain()).unwrap();
    for (from, to, named) in [
        (
            "containerPort: 41414",
            "containerPort: http",
            "containers.0.ports.0.containerPort",
        ),
        (
            "terminationGracePeriodSeconds: 30",
            "terminationGracePeriod: 30",
            "'terminationGracePeriod' was unexpected",
        ),
    ] {
        let bad = tmp.path().join("bad.yaml");
        std::fs::write(&bad, text.replace(from, to)).unwrap();
        let (ok, v, all) = check(&["validate", KUBE_VERSION, bad.to_str().unwrap()]);
        assert!(!ok, "{to}: {all}");
        assert!(v["errors"].to_string().contains(named), "{to}: {v}");
    }
}

#[test]
fn the_docs_show_the_configmap_properties_as_deployed() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let props = tmp.path().join("plain.properties");
    let (ok, _, all) = check(&["props", plain().to_str().unwrap(), props.to_str().unwrap()]);
    assert!(ok, "{all}");
    let deployed: Vec<String> = std::fs::read_to_string(&props)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let page = std::fs::read_to_string(root().join("docs/kubernetes.md")).unwrap();
    let block = page
        .split("The ConfigMap's properties file:\n\n```properties\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/kubernetes.md shows the ConfigMap's properties");
    let shown: Vec<&str> = block.lines().collect();
    assert_eq!(
        shown, deployed,
        "docs/kubernetes.md and deploy/kubernetes/sluice.yaml differ"
    );
}

/// `sluice config check -n node -f FILE` with the environment a pod of the DaemonSet has.
fn config_check(file: &Path) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "config",
            "check",
            "-n",
            "node",
            "-f",
            file.to_str().unwrap(),
        ])
        .env_remove("RUST_LOG")
        .env("NODE_NAME", "node-1")
        .env("KUBERNETES_SERVICE_HOST", "10.96.0.1")
        .env("KUBERNETES_SERVICE_PORT", "443")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), all)
}

#[test]
fn the_configmap_properties_of_the_chart_and_the_plain_manifest_pass_config_check() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (rendered, _) = render(tmp.path(), "{}");
    for (name, file) in [("chart", rendered), ("plain", plain())] {
        let props = tmp.path().join(format!("{name}.properties"));
        let (ok, _, all) = check(&["props", file.to_str().unwrap(), props.to_str().unwrap()]);
        assert!(ok, "{all}");
        let (code, out) = config_check(&props);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(!out.contains("warning:"), "{name}: {out}");
        assert!(
            out.contains("1 sources, 1 channels, 1 sinks"),
            "{name}: {out}"
        );
    }
}

#[test]
fn the_chart_with_default_values_renders_the_plain_manifest_but_for_labels() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (file, _) = render(tmp.path(), "{}");
    let (ok, v, all) = check(&["agree", file.to_str().unwrap(), plain().to_str().unwrap()]);
    assert!(
        ok,
        "the chart and deploy/kubernetes/sluice.yaml differ:\n{all}"
    );
    assert_eq!(v["differences"], serde_json::json!([]), "{v}");
}

#[test]
fn the_plain_manifest_mounts_probes_and_bounds_the_agent_as_docs_say() {
    if !available() {
        return;
    }
    let objs = objects(&plain());
    let rules = &object(&objs, "ClusterRole")["rules"];
    assert_eq!(
        rules,
        &serde_json::json!([{"apiGroups": [""], "resources": ["pods", "namespaces"],
            "verbs": ["get", "list", "watch"]}])
    );
    let pod = &object(&objs, "DaemonSet")["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    let bound = sluice::agent::runtime::SHUTDOWN_BOUND.as_secs();
    assert!(
        grace > bound,
        "grace {grace} s within the agent's stop bound {bound} s"
    );
    assert_eq!(
        pod["tolerations"],
        serde_json::json!([{"operator": "Exists"}])
    );
    let env = &c["env"][0];
    assert_eq!(env["name"], "NODE_NAME");
    assert_eq!(env["valueFrom"]["fieldRef"]["fieldPath"], "spec.nodeName");
    let port = c["ports"][0]["containerPort"].as_u64().unwrap();
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(args.contains(&format!("-Dflume.monitoring.port={port}").as_str()));
    assert!(
        args.contains(&"-Dflume.monitoring.bind=0.0.0.0"),
        "{args:?}"
    );
    for (probe, path) in [("livenessProbe", "/health"), ("readinessProbe", "/ready")] {
        assert_eq!(c[probe]["httpGet"]["path"], path);
        assert_eq!(c[probe]["httpGet"]["port"], c["ports"][0]["name"]);
    }
    for k in ["requests", "limits"] {
        assert!(c["resources"][k]["memory"].is_string(), "{k}: {c}");
        assert!(c["resources"][k]["cpu"].is_string(), "{k}: {c}");
    }
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    let (mounts, volumes) = (&c["volumeMounts"], &pod["volumes"]);
    assert_eq!(named(mounts, "varlog")["readOnly"], true);
    assert_eq!(named(volumes, "varlog")["hostPath"]["path"], "/var/log");
    assert_eq!(named(mounts, "state")["mountPath"], "/var/lib/sluice");
    assert_eq!(
        named(volumes, "state")["hostPath"]["path"],
        "/var/lib/sluice"
    );
}

/// The element of a JSON list whose `name` is `name`.
fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}
