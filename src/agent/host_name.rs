//! This machine's host name (`gethostname(2)`), for what names the agent's host: the
//! monitoring server's `Host` check, the clickhouse sink's `query_id`.

/// This machine's host name, if it has one.
pub(crate) fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname(2) writes at most `buf.len()` bytes into a buffer this frame owns.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = std::str::from_utf8(buf.get(..end)?).ok()?;
    (!name.is_empty()).then(|| name.to_owned())
}
