//! The API server's pod objects, as far as the source reads them (serde keeps only these
//! fields; the rest of a pod is skipped while parsing), and the metadata kept of each:
//! [`PodMeta`], its headers under OpenTelemetry's names made once per pod change. Pure.
//!
//! The workload is read from the pod's controller (its `ownerReferences` entry with
//! `controller: true`, else its first): a `StatefulSet`, `DaemonSet` or `Job` names itself;
//! a `ReplicaSet` is named and its Deployment derived from its name
//! (`<deployment>-<pod-template-hash>`, as OpenTelemetry's `k8sattributes` and Fluent Bit do,
//! without watching ReplicaSets); a Job named `<cronjob>-<digits>` gives its CronJob the
//! same way.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Header names of the API's metadata.
pub(crate) mod names {
    /// The node's name.
    pub(crate) const NODE: &str = "k8s.node.name";
    /// Prefix of one header per pod label.
    pub(crate) const LABEL: &str = "k8s.pod.label.";
    /// Prefix of one header per listed annotation.
    pub(crate) const ANNOTATION: &str = "k8s.pod.annotation.";
    /// The ReplicaSet owning the pod.
    pub(crate) const REPLICASET: &str = "k8s.replicaset.name";
    /// The Deployment of that ReplicaSet.
    pub(crate) const DEPLOYMENT: &str = "k8s.deployment.name";
    /// The StatefulSet owning the pod.
    pub(crate) const STATEFULSET: &str = "k8s.statefulset.name";
    /// The DaemonSet owning the pod.
    pub(crate) const DAEMONSET: &str = "k8s.daemonset.name";
    /// The Job owning the pod.
    pub(crate) const JOB: &str = "k8s.job.name";
    /// The CronJob of that Job.
    pub(crate) const CRONJOB: &str = "k8s.cronjob.name";
}

/// The annotation that skips a whole pod (`"true"`).
pub(crate) const EXCLUDE: &str = "sluice.io/exclude";
/// The annotation listing containers to skip (comma- or space-separated names).
pub(crate) const EXCLUDE_CONTAINERS: &str = "sluice.io/exclude-containers";

/// An object's metadata (pod, list, status: each has some of it).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ObjectMeta {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub resource_version: String,
    #[serde(rename = "continue")]
    pub continue_token: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub owner_references: Vec<OwnerRef>,
}

/// One `ownerReferences` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OwnerRef {
    pub kind: String,
    pub name: String,
    pub controller: Option<bool>,
}

/// A pod, or the Status of a watch's ERROR event (`code`, `message`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Object {
    pub metadata: ObjectMeta,
    pub code: Option<u16>,
    pub message: Option<String>,
}

/// A page of `GET /api/v1/pods`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PodList {
    pub metadata: ObjectMeta,
    pub items: Vec<Object>,
}

/// One line of a watch: `{"type": "ADDED", "object": {...}}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WatchEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub object: Object,
}

/// What the source keeps of a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodMeta {
    /// The pod's uid (its directory's last part).
    pub uid: String,
    /// Headers every event of the pod carries: node, labels, listed annotations, workload.
    pub headers: Vec<(String, String)>,
    /// `sluice.io/exclude: "true"`.
    pub excluded: bool,
    /// The containers `sluice.io/exclude-containers` lists.
    pub excluded_containers: Vec<String>,
}

impl PodMeta {
    /// The metadata of `pod` on `node`, with the annotations listed in `annotations`.
    pub(crate) fn of(pod: ObjectMeta, node: &str, annotations: &[String]) -> PodMeta {
        let mut headers = vec![(names::NODE.to_owned(), node.to_owned())];
        for (k, v) in &pod.labels {
            headers.push((format!("{}{k}", names::LABEL), v.clone()));
        }
        for a in annotations {
            if let Some(v) = pod.annotations.get(a) {
                headers.push((format!("{}{a}", names::ANNOTATION), v.clone()));
            }
        }
        headers.extend(workload(&pod.owner_references));
        let excluded = pod
            .annotations
            .get(EXCLUDE)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let excluded_containers = pod
            .annotations
            .get(EXCLUDE_CONTAINERS)
            .map(|v| {
                v.split([',', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        PodMeta {
            uid: pod.uid,
            headers,
            excluded,
            excluded_containers,
        }
    }
}

/// The workload headers of a pod with these owners.
fn workload(owners: &[OwnerRef]) -> Vec<(String, String)> {
    let Some(o) = owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or_else(|| owners.first())
    else {
        return Vec::new();
    };
    let one = |k: &str| vec![(k.to_owned(), o.name.clone())];
    match o.kind.as_str() {
        "ReplicaSet" => {
            let mut h = one(names::REPLICASET);
            if let Some(d) = strip_suffix(&o.name, |c| c.is_ascii_alphanumeric()) {
                h.push((names::DEPLOYMENT.to_owned(), d.to_owned()));
            }
            h
        }
        "StatefulSet" => one(names::STATEFULSET),
        "DaemonSet" => one(names::DAEMONSET),
        "Job" => {
            let mut h = one(names::JOB);
            if let Some(c) = strip_suffix(&o.name, |c| c.is_ascii_digit()) {
                h.push((names::CRONJOB.to_owned(), c.to_owned()));
            }
            h
        }
        _ => Vec::new(),
    }
}

/// `name` without its last `-<suffix>` when the suffix is non-empty and all `ok` characters
/// and something is left before it.
fn strip_suffix(name: &str, ok: impl Fn(char) -> bool) -> Option<&str> {
    let (head, tail) = name.rsplit_once('-')?;
    (!head.is_empty() && !tail.is_empty() && tail.chars().all(ok)).then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: &str) -> PodMeta {
        let o: Object = serde_json::from_str(json).unwrap();
        PodMeta::of(o.metadata, "node-1", &["team".to_owned()])
    }

    fn header<'a>(m: &'a PodMeta, k: &str) -> Option<&'a str> {
        m.headers
            .iter()
            .find(|(hk, _)| hk == k)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn a_replicaset_owner_gives_its_deployment_and_labels_and_listed_annotations_are_kept() {
        let m = pod(
            r#"{"metadata":{"name":"web-7d4b9c-x2x","uid":"u1","labels":{"app":"web"},
            "annotations":{"team":"core","other":"no"},
            "ownerReferences":[{"kind":"ReplicaSet","name":"web-7d4b9c","controller":true}]},
            "spec":{"nodeName":"node-1"}}"#,
        );
        assert_eq!(header(&m, "k8s.deployment.name"), Some("web"));
        assert_eq!(header(&m, "k8s.replicaset.name"), Some("web-7d4b9c"));
        assert_eq!(header(&m, "k8s.pod.label.app"), Some("web"));
        assert_eq!(header(&m, "k8s.pod.annotation.team"), Some("core"));
        assert_eq!(header(&m, "k8s.pod.annotation.other"), None);
        assert_eq!(header(&m, "k8s.node.name"), Some("node-1"));
    }

    #[test]
    fn a_job_of_a_cronjob_names_both_and_exclusions_are_read() {
        let m = pod(
            r#"{"metadata":{"uid":"u2","annotations":{"sluice.io/exclude":"True",
            "sluice.io/exclude-containers":"a, b"},
            "ownerReferences":[{"kind":"Job","name":"backup-28901234"}]}}"#,
        );
        assert_eq!(header(&m, "k8s.job.name"), Some("backup-28901234"));
        assert_eq!(header(&m, "k8s.cronjob.name"), Some("backup"));
        assert!(m.excluded);
        assert_eq!(m.excluded_containers, ["a", "b"]);
        let m =
            pod(r#"{"metadata":{"uid":"u3","ownerReferences":[{"kind":"Job","name":"once"}]}}"#);
        assert_eq!(header(&m, "k8s.cronjob.name"), None);
    }
}
