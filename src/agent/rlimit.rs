//! The open-file limit: servers raise the soft `RLIMIT_NOFILE` to the hard limit at start, so
//! the descriptors sources, the metrics server and the file channel need are not capped by a
//! shell's low default (often 1,024).

/// The open-file limits before and after [`raise_nofile_limit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NofileLimits {
    /// The soft limit found at start.
    pub soft_before: u64,
    /// The soft limit now.
    pub soft_after: u64,
    /// The hard limit.
    pub hard: u64,
}

/// Where the soft limit stops when the hard limit is unlimited.
pub(crate) const NOFILE_TARGET_MAX: u64 = 1 << 20;

/// Raises the soft open-file limit to the hard limit (at most [`NOFILE_TARGET_MAX`]).
// `rlim_t` is u64 on 64-bit Linux but not everywhere.
#[allow(clippy::unnecessary_cast)]
pub fn raise_nofile_limit() -> std::io::Result<NofileLimits> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let soft_before = lim.rlim_cur as u64;
    let hard = lim.rlim_max as u64;
    let target = if lim.rlim_max == libc::RLIM_INFINITY {
        NOFILE_TARGET_MAX
    } else {
        hard
    };
    if soft_before >= target {
        return Ok(NofileLimits {
            soft_before,
            soft_after: soft_before,
            hard,
        });
    }
    let new = libc::rlimit {
        rlim_cur: target as libc::rlim_t,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: setrlimit reads the struct we own.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(NofileLimits {
        soft_before,
        soft_after: target,
        hard,
    })
}

/// The soft open-file limit now (after [`raise_nofile_limit`], the one in force);
/// `u64::MAX` when unlimited.
// `rlim_t` is u64 on 64-bit Linux but not everywhere.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn nofile_soft_limit() -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if lim.rlim_cur == libc::RLIM_INFINITY {
        return Ok(u64::MAX);
    }
    Ok(lim.rlim_cur as u64)
}
