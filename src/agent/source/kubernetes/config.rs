//! `kubernetes` settings: the node's tree (`podLogsDir`, `include`, `exclude`,
//! `maxLineBytes`) and every TAILDIR key of how files are followed, kept and given up
//! (`positionFile`, `spoolBytes`, `catchUpBytes`, `idleTimeout`, `batchSize`, ...: the same
//! meaning, see docs/components.md), read with line-numbered errors; the API server's keys
//! are [`super::api::config`]'s.

use std::path::PathBuf;
use std::sync::Arc;

use super::api::{ApiConfig, Store, StoreRef};
use super::node::{NodeConfig, NodeLayout};
use crate::agent::config::ctx::Ctx;
use crate::agent::source::taildir::config::{expand_home, parse_following};
use crate::agent::source::taildir::layout::LayoutRef;
use crate::agent::source::taildir::TaildirConfig;

/// Default `podLogsDir`: where kubelet keeps the containers' logs.
pub(crate) const POD_LOGS_DIR_DEFAULT: &str = "/var/log/pods";
/// Default `positionFile`: on the DaemonSet's `/var/lib/sluice` hostPath.
pub(crate) const POSITION_FILE_DEFAULT: &str = "/var/lib/sluice/kubernetes/positions.json";
/// Default `maxLineBytes`: a line's parts are joined up to this many bytes.
pub(crate) const MAX_LINE_BYTES_DEFAULT: u64 = 1 << 20;
/// Least `maxLineBytes` (a runtime's part is 16 KiB).
pub(crate) const MAX_LINE_BYTES_MIN: u64 = 1024;
/// Largest `maxLineBytes` (the file channel's record limit is 64 MiB).
pub(crate) const MAX_LINE_BYTES_LIMIT: u64 = 60 << 20;
/// Most `include` or `exclude` globs.
pub(crate) const GLOBS_MAX: usize = 1_000;

/// `kubernetes` source settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubernetesConfig {
    /// The node's tree.
    pub(crate) node: NodeConfig,
    /// How files are followed (TAILDIR's machinery), with the node's layout.
    pub(crate) tail: TaildirConfig,
    /// The API server (`None`: `apiServer = none`), and the store its watch fills.
    pub(crate) api: Option<(ApiConfig, StoreRef)>,
}

fn globs(cx: &mut Ctx<'_>, key: &str) -> Vec<String> {
    let v: Vec<String> = cx
        .get(key)
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if v.len() > GLOBS_MAX {
        cx.error(
            key,
            format!("{} globs exceed the limit {GLOBS_MAX}", v.len()),
        );
    }
    v
}

/// Reads a `kubernetes` source's properties.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<KubernetesConfig> {
    let dir = cx
        .get("podLogsDir")
        .unwrap_or_else(|| POD_LOGS_DIR_DEFAULT.to_owned());
    if dir.trim().is_empty() || !dir.starts_with('/') {
        cx.error(
            "podLogsDir",
            format!("must be an absolute directory (kubelet's pod logs, {POD_LOGS_DIR_DEFAULT}), got {dir:?}"),
        );
    }
    // A podLogsDir missing here is no warning (as TAILDIR's directories): `config check` runs
    // off the node too, and the source reads the directory once it appears.
    let position_file = cx
        .get("positionFile")
        .map_or_else(|| PathBuf::from(POSITION_FILE_DEFAULT), |p| expand_home(&p));
    let mut tail = parse_following(cx, position_file);
    let api = super::api::config::parse(cx);
    let node = NodeConfig {
        pod_logs_dir: PathBuf::from(dir.trim()),
        include: globs(cx, "include"),
        exclude: globs(cx, "exclude"),
        max_line_bytes: cx.bytes_usize(
            "maxLineBytes",
            MAX_LINE_BYTES_DEFAULT,
            MAX_LINE_BYTES_MIN,
            MAX_LINE_BYTES_LIMIT,
        ),
        follow_symlinks: tail.follow_symlinks,
        file_header: cx.bool("fileHeader", false),
    };
    if cx.failed() {
        return None;
    }
    let api = api.map(|a| {
        let store = Arc::new(Store::new(a.server.clone(), a.metadata_wait));
        (a, StoreRef(store))
    });
    let store = api.as_ref().map(|(_, s)| s.0.clone());
    match NodeLayout::new(node.clone(), store) {
        Ok(l) => tail.layout = Some(LayoutRef(Arc::new(l))),
        Err(e) => {
            cx.error("podLogsDir", e.to_string());
            return None;
        }
    }
    Some(KubernetesConfig { node, tail, api })
}
