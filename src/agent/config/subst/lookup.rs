//! The `${date:PATTERN}` lookup: the current local time formatted with a `SimpleDateFormat`
//! pattern (translated by `crate::agent::config::joda`; letters it does not know are refused).

use chrono::Local;

use crate::agent::config::joda::{self, JodaError};

/// The current local time formatted with `pattern`, or why the pattern is refused.
pub(crate) fn date_lookup(pattern: &str) -> Result<String, JodaError> {
    if pattern.is_empty() {
        return Err(JodaError::Empty);
    }
    let strftime = joda::to_strftime(pattern)?;
    let bad = chrono::format::StrftimeItems::new(&strftime)
        .any(|item| matches!(item, chrono::format::Item::Error));
    if bad {
        return Err(JodaError::Untranslatable(pattern.to_owned()));
    }
    Ok(Local::now().format(&strftime).to_string())
}
