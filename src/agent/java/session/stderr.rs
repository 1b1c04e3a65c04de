//! The JVM's stderr logged under the component's name, each line at the level it names (or
//! the level of the line before, for a stack trace), cut at [`LOG_LINE_MAX`].

use tokio::io::{AsyncBufReadExt, BufReader};

use super::LOG_LINE_MAX;

/// Logs the JVM's stderr: `LEVEL logger message` lines (the shim's slf4j) at their level,
/// stack-trace lines at the level before them, anything else at INFO.
pub(super) async fn log_stderr(stderr: tokio::process::ChildStderr, name: String, class: String) {
    let mut r = BufReader::with_capacity(16 << 10, stderr);
    let mut level = tracing::Level::INFO;
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        match read_line_capped(&mut r, &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        let (lvl, msg) = parse_log_line(text, level);
        level = lvl;
        match lvl {
            tracing::Level::ERROR => {
                tracing::error!(component = %name, class = %class, "{msg}")
            }
            tracing::Level::WARN => tracing::warn!(component = %name, class = %class, "{msg}"),
            tracing::Level::INFO => tracing::info!(component = %name, class = %class, "{msg}"),
            tracing::Level::DEBUG => {
                tracing::debug!(component = %name, class = %class, "{msg}")
            }
            tracing::Level::TRACE => {
                tracing::trace!(component = %name, class = %class, "{msg}")
            }
        }
    }
}

/// One stderr line's level and text; `before` is the level of the line before it.
pub(crate) fn parse_log_line(text: &str, before: tracing::Level) -> (tracing::Level, &str) {
    for (word, lvl) in [
        ("ERROR ", tracing::Level::ERROR),
        ("WARN ", tracing::Level::WARN),
        ("INFO ", tracing::Level::INFO),
        ("DEBUG ", tracing::Level::DEBUG),
        ("TRACE ", tracing::Level::TRACE),
    ] {
        if let Some(rest) = text.strip_prefix(word) {
            return (lvl, rest);
        }
    }
    let t = text.trim_start();
    if text.starts_with(char::is_whitespace) || t.starts_with("Caused by") || t.starts_with("...") {
        return (before, text);
    }
    (tracing::Level::INFO, text)
}

/// Reads one line into `buf`, keeping at most [`LOG_LINE_MAX`] bytes of it.
async fn read_line_capped<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(total);
        }
        let (used, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = LOG_LINE_MAX.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..used.min(room)]);
        r.consume(used);
        total += used;
        if done {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn log_lines_keep_their_level_and_stack_traces_follow_the_line_before() {
        assert_eq!(
            parse_log_line("WARN a.B hello", Level::INFO),
            (Level::WARN, "a.B hello")
        );
        assert_eq!(
            parse_log_line("\tat a.B.c(B.java:1)", Level::ERROR).0,
            Level::ERROR
        );
        assert_eq!(parse_log_line("Caused by: x", Level::WARN).0, Level::WARN);
        assert_eq!(parse_log_line("plain", Level::ERROR).0, Level::INFO);
    }
}
