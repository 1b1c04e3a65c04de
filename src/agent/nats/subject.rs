//! NATS subjects as the nats sink and source check them: a subject is dot-separated
//! non-empty tokens without whitespace; a filter may use `*` (one token) and a final `>`
//! (one or more tokens). Pure functions, for the stream check at start and for the subjects
//! a template gives per event.

/// Longest subject the sink publishes to (the server's own limit is larger; a subject
/// this long is a template gone wrong).
pub(crate) const SUBJECT_BYTES_MAX: usize = 1024;

/// Why `s` is not a subject a message can be published to, if it is not.
pub(crate) fn publish_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("the subject is empty");
    }
    if s.len() > SUBJECT_BYTES_MAX {
        return Some("the subject is longer than 1024 bytes");
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("the subject contains whitespace or a control character");
    }
    if s.split('.').any(str::is_empty) {
        return Some("the subject has an empty token (a `%{header}` missing from the event?)");
    }
    if s.split('.').any(|t| t == "*" || t == ">") {
        return Some("the subject contains a wildcard (`*` or `>`)");
    }
    None
}

/// Whether the subject `subject` matches `filter` (`*` one token, a final `>` the rest).
pub(crate) fn matches(filter: &str, subject: &str) -> bool {
    let mut f = filter.split('.');
    let mut s = subject.split('.');
    loop {
        match (f.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_one_token_or_the_rest() {
        assert!(matches("logs.>", "logs.a.b"));
        assert!(!matches("logs.>", "logs"));
        assert!(matches("logs.*", "logs.a"));
        assert!(!matches("logs.*", "logs.a.b"));
        assert!(matches("sluice.progress.S.*", "sluice.progress.S.00ab"));
        assert!(!matches("a.b", "a.c"));
        assert!(matches("a.b", "a.b"));
    }

    #[test]
    fn a_subject_with_an_empty_token_or_a_space_is_refused() {
        assert!(publish_problem("logs.").is_some());
        assert!(publish_problem("logs..a").is_some());
        assert!(publish_problem("logs.a b").is_some());
        assert!(publish_problem("").is_some());
        assert!(publish_problem("logs.*").is_some());
        assert_eq!(publish_problem("logs.web-1.x"), None);
    }
}
