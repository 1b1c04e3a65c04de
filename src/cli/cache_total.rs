//! The agent's budget for the event caches of all its file channels, `-Dsluice.tailCacheTotal`
//! (bytes; default [`TAIL_CACHE_TOTAL_DEFAULT`]), installed in the core before any channel
//! opens. `tailCacheSize` still bounds each channel; this bounds them together
//! (docs/configuration.md, "Memory").

/// The default budget: 16 MiB for all the agent's channels together. File sources read no
/// further ahead of a sink that takes than half their channel's share (`source::pace`), so
/// the sink's takes still hit the cache: W2's edge peaked at 42-44 MiB (186-217 at 256 MiB)
/// for no more CPU per event (docs/performance.md, "Memory").
pub const TAIL_CACHE_TOTAL_DEFAULT: u64 = 16 << 20;

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
