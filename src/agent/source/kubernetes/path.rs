//! What a container log's path tells: `<podLogsDir>/<namespace>_<pod>_<uid>/<container>/`
//! `<restart>.log` (kubelet's layout since 1.14), and the rotated `<restart>.log.<time>`. Pure.
//!
//! Namespace and pod names are DNS labels and subdomains (no `_`), so the pod directory's
//! name splits at its first and last `_`; the uid is the rest. A name that does not split so
//! (a directory kubelet did not make) gives no pod metadata; its files are still read.

/// The OpenTelemetry names of the path's metadata headers.
pub(crate) mod names {
    /// The pod's namespace.
    pub(crate) const NAMESPACE: &str = "k8s.namespace.name";
    /// The pod's name.
    pub(crate) const POD: &str = "k8s.pod.name";
    /// The pod's uid.
    pub(crate) const POD_UID: &str = "k8s.pod.uid";
    /// The container's name.
    pub(crate) const CONTAINER: &str = "k8s.container.name";
    /// The container's restart count (its log file's number).
    pub(crate) const RESTART_COUNT: &str = "k8s.container.restart_count";
    /// `stdout` or `stderr`.
    pub(crate) const IOSTREAM: &str = "log.iostream";
    /// The log file's path.
    pub(crate) const FILE_PATH: &str = "log.file.path";
}

/// A pod directory's name, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodDir {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Pod uid.
    pub uid: String,
}

/// Splits `<namespace>_<pod>_<uid>`; `None` when a part is empty or missing.
pub(crate) fn pod_dir(name: &str) -> Option<PodDir> {
    let (namespace, rest) = name.split_once('_')?;
    let (pod, uid) = rest.rsplit_once('_')?;
    if namespace.is_empty() || pod.is_empty() || uid.is_empty() {
        return None;
    }
    Some(PodDir {
        namespace: namespace.to_owned(),
        pod: pod.to_owned(),
        uid: uid.to_owned(),
    })
}

/// The restart count of a log file's name: `<n>.log` or `<n>.log.<YYYYMMDD-HHMMSS>`.
pub(crate) fn restart_count(file_name: &str) -> Option<u32> {
    let (n, rest) = file_name.split_once('.')?;
    if !(rest == "log" || rest.strip_prefix("log.").is_some_and(is_rotation_stamp)) {
        return None;
    }
    n.parse().ok()
}

/// `YYYYMMDD-HHMMSS`, kubelet's rotation suffix.
pub(crate) fn is_rotation_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 15
        && b[8] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 8 || c.is_ascii_digit())
}

/// The file-name pattern of a container directory's logs (live and rotated, not `.gz`).
pub(crate) const LOG_FILE_PATTERN: &str = r"^[0-9]+\.log(\.[0-9]{8}-[0-9]{6})?$";

/// Whether `text` matches the glob `pattern` (`*` any run of characters, `?` one; no
/// character classes), as `include`/`exclude` are matched against `namespace/pod/container`.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_directory_splits_at_its_first_and_last_underscore() {
        let d =
            pod_dir("kube-system_coredns-5d78c9869d-abcde_0b6f1c2e-1111-2222-3333-444455556666")
                .unwrap();
        assert_eq!(d.namespace, "kube-system");
        assert_eq!(d.pod, "coredns-5d78c9869d-abcde");
        assert_eq!(d.uid, "0b6f1c2e-1111-2222-3333-444455556666");
        assert_eq!(pod_dir("nounderscore"), None);
        assert_eq!(pod_dir("ns__uid"), None);
        assert_eq!(pod_dir("_pod_uid"), None);
    }

    #[test]
    fn restart_counts_come_from_live_and_rotated_names_only() {
        assert_eq!(restart_count("0.log"), Some(0));
        assert_eq!(restart_count("12.log.20240101-120000"), Some(12));
        assert_eq!(restart_count("1.log.20240101-120000.gz"), None);
        assert_eq!(restart_count("1.log.tmp"), None);
        assert_eq!(restart_count("x.log"), None);
        let re = regex::Regex::new(LOG_FILE_PATTERN).unwrap();
        assert!(re.is_match("3.log") && re.is_match("3.log.20240101-120000"));
        assert!(
            !re.is_match("3.log.20240101-120000.gz") && !re.is_match("3.log.20240101-120000.tmp")
        );
    }

    #[test]
    fn globs_match_namespace_pod_container() {
        assert!(glob("kube-system/*", "kube-system/coredns-1/coredns"));
        assert!(glob("*/*/istio-proxy", "default/web-1/istio-proxy"));
        assert!(!glob("*/*/istio-proxy", "default/web-1/web"));
        assert!(glob("default/web-?/*", "default/web-1/web"));
        assert!(!glob("default", "default/web-1/web"));
        assert!(glob("*", "a/b/c"));
    }
}
