//! The exit codes of every `sluice` subcommand, defined once (docs/operations.md lists them).
//!
//! `0` the command did its work and found nothing wrong; `1` it did its work and the thing it
//! checked is bad; `2` the command line is wrong; `3` it could not do its work at all.

/// Done; nothing wrong.
pub const OK: i32 = 0;
/// The checked thing is bad: the configuration has errors, the channel is not sound, events
/// are unreadable or lost, a line was not acknowledged.
pub const FAILED_CHECK: i32 = 1;
/// The command line is wrong: an unknown option, a missing argument, a bad `-D` value
/// (clap's own usage errors exit 2 as well).
pub const USAGE: i32 = 2;
/// The command could not do its work: a file or directory missing or unreadable, a channel in
/// use by another process, recovery refusing a channel, a peer that cannot be reached.
pub const CANNOT_RUN: i32 = 3;

/// A usage error: wrap a message in it (`anyhow::Error::from(Usage(..))`) to exit [`USAGE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// The exit code of a failed command: [`USAGE`] for a [`Usage`] error, else [`CANNOT_RUN`].
pub fn code_of(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<Usage>().is_some() {
        USAGE
    } else {
        CANNOT_RUN
    }
}

/// `e` and its causes as one line, `outer: inner: ...`, leaving out a cause whose text the line
/// already holds (many errors print their cause in their own message and expose it as their
/// `source()` too; `{:#}` would say it twice).
pub fn render(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.is_empty() {
            line = text;
        } else if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("open x: {source}")]
    struct Outer {
        source: std::io::Error,
    }

    #[test]
    fn render_says_a_cause_once_even_when_the_message_already_holds_it() {
        let io = std::io::Error::other("disk on fire");
        let e = anyhow::Error::from(Outer { source: io }).context("starting");
        assert_eq!(render(&e), "starting: open x: disk on fire");
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(render(&e), "outer: inner");
    }

    #[test]
    fn usage_errors_exit_2_and_everything_else_3() {
        assert_eq!(code_of(&Usage("bad".into()).into()), USAGE);
        assert_eq!(code_of(&anyhow::anyhow!("io")), CANNOT_RUN);
    }
}
