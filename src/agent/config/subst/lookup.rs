//! The `${date:PATTERN}` lookup: the current local time formatted with a `SimpleDateFormat`
//! pattern (translated by `crate::agent::config::joda`; letters it does not know are refused).

use chrono::Local;

use crate::agent::config::joda;

/// The current local time formatted with `pattern`, or why the pattern is refused.
pub(crate) fn date_lookup(pattern: &str) -> Result<String, String> {
    if pattern.is_empty() {
        return Err("a date pattern is needed (${date:yyyy-MM-dd})".into());
    }
    let strftime = joda::to_strftime(pattern)?;
    let bad = chrono::format::StrftimeItems::new(&strftime)
        .any(|item| matches!(item, chrono::format::Item::Error));
    if bad {
        return Err(format!("cannot translate date pattern {pattern:?}"));
    }
    Ok(Local::now().format(&strftime).to_string())
}
