//! The API server's keys of a `kubernetes` source: `apiServer`, `tokenFile`, `caFile`,
//! `nodeName`, `annotations`, `metadataWait`, with the defaults a pod gives
//! (`KUBERNETES_SERVICE_HOST`/`_PORT`, the service account's token and `ca.crt`, `NODE_NAME`
//! from the downward API). `apiServer = none` runs without the API (the path's metadata
//! alone). Outside a pod, with no `apiServer`, the config is refused naming the key: there is
//! no API server and no token to read pods with.

use std::path::PathBuf;
use std::time::Duration;

use crate::agent::config::ctx::Ctx;

/// The service account's token in a pod.
pub(crate) const TOKEN_FILE_DEFAULT: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// The cluster's CA in a pod.
pub(crate) const CA_FILE_DEFAULT: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
/// Default `metadataWait`.
pub(crate) const METADATA_WAIT_DEFAULT: Duration = Duration::from_secs(5);
/// Longest `metadataWait`.
pub(crate) const METADATA_WAIT_MAX: Duration = Duration::from_secs(600);
/// Most `annotations` listed.
pub(crate) const ANNOTATIONS_MAX: usize = 100;

/// How the source reaches the API server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiConfig {
    /// `apiServer`: `https://host:port` (or `http://`), without a trailing `/`.
    pub server: String,
    /// `tokenFile`: read again before every request (projected tokens rotate); missing: no
    /// `Authorization` header.
    pub token_file: PathBuf,
    /// `caFile`: the CA the server is checked against; `None` (not set and no pod's
    /// `ca.crt`): the public web roots.
    pub ca_file: Option<PathBuf>,
    /// `nodeName` (or `NODE_NAME`): whose pods are listed. `None`: no pod can be selected.
    pub node_name: Option<String>,
    /// `annotations`: the annotations sent as `k8s.pod.annotation.<key>`.
    pub annotations: Vec<String>,
    /// `metadataWait`: how long a pod unknown to the watch waits for its metadata.
    pub metadata_wait: Duration,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The API server a pod is given (`KUBERNETES_SERVICE_HOST`, `_PORT`), if this is a pod.
fn in_pod_server() -> Option<String> {
    let host = env("KUBERNETES_SERVICE_HOST")?;
    let port = env("KUBERNETES_SERVICE_PORT").unwrap_or_else(|| "443".to_owned());
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    Some(format!("https://{host}:{port}"))
}

/// Reads the API keys; `None` with `apiServer = none` (or after an error).
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<ApiConfig> {
    let given = cx.get("apiServer").map(|s| s.trim().to_owned());
    let token_key = cx.get("tokenFile").map(|s| s.trim().to_owned());
    let ca_key = cx.get("caFile").map(|s| s.trim().to_owned());
    let node_key = cx.get("nodeName").map(|s| s.trim().to_owned());
    let annotations = annotations(cx);
    let metadata_wait = cx.duration("metadataWait", METADATA_WAIT_DEFAULT);
    if metadata_wait > METADATA_WAIT_MAX {
        cx.error(
            "metadataWait",
            format!("at most {} s", METADATA_WAIT_MAX.as_secs()),
        );
    }
    let server = server(cx, given.as_deref())?;
    if cx.failed() {
        return None;
    }
    let ca_file = match ca_key {
        Some(p) => Some(PathBuf::from(p)),
        None => Some(PathBuf::from(CA_FILE_DEFAULT)).filter(|p| p.exists()),
    };
    Some(ApiConfig {
        server,
        token_file: PathBuf::from(token_key.unwrap_or_else(|| TOKEN_FILE_DEFAULT.to_owned())),
        ca_file,
        node_name: node_key
            .filter(|n| !n.is_empty())
            .or_else(|| env("NODE_NAME")),
        annotations,
        metadata_wait,
    })
}

/// `annotations`: comma- or space-separated keys.
fn annotations(cx: &mut Ctx<'_>) -> Vec<String> {
    let annotations: Vec<String> = cx
        .get("annotations")
        .map(|v| {
            v.split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if annotations.len() > ANNOTATIONS_MAX {
        cx.error(
            "annotations",
            format!(
                "{} annotations exceed the limit {ANNOTATIONS_MAX}",
                annotations.len()
            ),
        );
    }
    annotations
}

/// The API server `apiServer` names (`given`), or a pod's; `None` with `none` (or after an
/// error).
fn server(cx: &mut Ctx<'_>, given: Option<&str>) -> Option<String> {
    match given {
        Some(s) if s.eq_ignore_ascii_case("none") => None,
        Some(s) => {
            let ok = (s.starts_with("https://") || s.starts_with("http://"))
                && s.parse::<hyper::Uri>().is_ok_and(|u| u.host().is_some());
            if !ok {
                cx.error(
                    "apiServer",
                    format!("expected https://<host>:<port> (or none), got {s:?}"),
                );
            }
            Some(s.trim_end_matches('/').to_owned())
        }
        None => match in_pod_server() {
            Some(s) => Some(s),
            None => {
                cx.error(
                    "apiServer",
                    "not set, and this is not a pod (no KUBERNETES_SERVICE_HOST): there is no \
                     API server and no service account token to read pod metadata with; set \
                     apiServer = https://<host>:<port> (with tokenFile and caFile), or \
                     apiServer = none for the path's metadata alone",
                );
                None
            }
        },
    }
}
