//! The agent's budget for the event caches of all its file channels, `-Dsluice.tailCacheTotal`
//! (bytes; default [`TAIL_CACHE_TOTAL_DEFAULT`]), installed in the core before any channel
//! opens. `tailCacheSize` still bounds each channel; this bounds them together
//! (docs/configuration.md, "Memory").

/// The default budget: 256 MiB for all the agent's channels together, what one channel's
/// `tailCacheSize` allowed before, so a one-channel agent keeps its speed (16 MiB put W2's
/// edge at 52-55 MiB instead of 186-200 but cost 27 % more CPU per event: its sink lags a
/// file read at once, and each miss reads the segment back; docs/performance.md, "Memory").
pub const TAIL_CACHE_TOTAL_DEFAULT: u64 = 256 << 20;

/// The `-D` key.
pub const KEY: &str = "sluice.tailCacheTotal";

/// The budget `-Dsluice.tailCacheTotal=VALUE` asks for (`None`: the default); an error names
/// the key and the value.
pub fn parse(value: Option<&str>) -> Result<u64, String> {
    match value {
        None => Ok(TAIL_CACHE_TOTAL_DEFAULT),
        Some(v) => v.trim().parse::<u64>().map_err(|_| {
            format!("-D{KEY}={v}: expected a number of bytes (0 keeps no events in memory)")
        }),
    }
}

/// Installs the budget for this process's channels.
pub fn install(total: u64) {
    let bytes = usize::try_from(total).unwrap_or(usize::MAX);
    if !sluice_core::CacheBudget::install(bytes) {
        tracing::debug!("the event caches' budget was installed before");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_a_number_and_garbage() {
        assert_eq!(parse(None), Ok(TAIL_CACHE_TOTAL_DEFAULT));
        assert_eq!(parse(Some(" 1048576 ")), Ok(1 << 20));
        assert_eq!(parse(Some("0")), Ok(0));
        let e = parse(Some("16m")).unwrap_err();
        assert!(e.contains("sluice.tailCacheTotal=16m"), "{e}");
    }
}
