//! The `hdfs` sink's share of the process's open-file limit: `hdfs.maxOpenFiles` (default
//! 5,000) above what `RLIMIT_NOFILE` leaves once [`FD_HEADROOM`] descriptors are kept for
//! sockets, channel files and the runtime is clamped when the sink is built (one WARN naming
//! both numbers), and an open that still fails for want of descriptors ([`out_of_descriptors`])
//! closes the least recently used bucket and is tried once more (`writer.rs`).

use std::io;

use super::config::RollingConfig;

/// Descriptors kept for everything else in the agent (sockets, channel segments, the
/// metrics server, the runtime) when the sink's share of the open-file limit is computed.
pub const FD_HEADROOM: u64 = 64;

/// `configured` clamped to `soft_limit` less [`FD_HEADROOM`] (at least 1); `None` when it
/// fits already.
pub fn clamp_max_open_files(configured: usize, soft_limit: u64) -> Option<usize> {
    let share = soft_limit.saturating_sub(FD_HEADROOM).max(1);
    let share = usize::try_from(share).unwrap_or(usize::MAX);
    (configured > share).then_some(share)
}

/// Whether `e` says the process (EMFILE) or the system (ENFILE) has no descriptor left.
pub fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}

/// Clamps `cfg.max_open_files` to the open-file limit in force, less [`FD_HEADROOM`].
pub(super) fn clamp_to_nofile(name: &str, cfg: &mut RollingConfig) {
    let limit = match crate::agent::rlimit::nofile_soft_limit() {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(sink = %name, error = %e, "cannot read the open-file limit; {} is not checked against it", cfg.keys.of("hdfs.maxOpenFiles"));
            return;
        }
    };
    if let Some(clamped) = clamp_max_open_files(cfg.max_open_files, limit) {
        let key = cfg.keys.of("hdfs.maxOpenFiles");
        tracing::warn!(
            sink = %name,
            "{key} {} is above the open-file limit {limit} less {} descriptors kept for the rest of the agent; keeping at most {clamped} files open (raise the limit with ulimit -n, or lower {key})",
            cfg.max_open_files,
            FD_HEADROOM,
        );
        cfg.max_open_files = clamped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_open_files_above_the_limit_less_the_headroom_is_clamped_to_it() {
        assert_eq!(clamp_max_open_files(5000, 1024), Some(960));
        assert_eq!(clamp_max_open_files(5000, 256), Some(192));
        assert_eq!(clamp_max_open_files(100, 1024), None);
        assert_eq!(clamp_max_open_files(960, 1024), None);
        assert_eq!(clamp_max_open_files(5000, 10), Some(1));
        assert_eq!(clamp_max_open_files(5000, u64::MAX), None);
    }

    #[test]
    fn emfile_and_enfile_are_out_of_descriptors_and_enoent_is_not() {
        assert!(out_of_descriptors(&io::Error::from_raw_os_error(
            libc::EMFILE
        )));
        assert!(out_of_descriptors(&io::Error::from_raw_os_error(
            libc::ENFILE
        )));
        assert!(!out_of_descriptors(&io::Error::from_raw_os_error(
            libc::ENOENT
        )));
    }
}
