//! The two container log formats, told apart per line, and a joined line's messages. Pure.
//!
//! - CRI (containerd, CRI-O): `<RFC3339Nano> <stdout|stderr> <P|F>[:...] <message>`; `P`
//!   is a partial line (the runtime split a long line, at 16 KiB), `F` its last part.
//! - Docker `json-file`: `{"log":"<message>\n","stream":"stdout","time":"<RFC3339Nano>"}`;
//!   a `log` without its final `\n` is a partial line.
//!
//! [`is_partial`] is the joiner's continuation test (`match = before`: a partial line joins
//! the line after it). [`messages`] takes the joined lines and hands out each whole message:
//! its parts' messages concatenated per stream (stdout's and stderr's parts may interleave),
//! with the time of its first part. A line that is neither format is a message of its own,
//! whole, marked unparsed; parts left open at the end (cut at `maxLineBytes`, or held past
//! the wait) go out as they are, marked cut.

/// One message of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// The message (without the runtime's prefix or the final newline).
    pub body: Vec<u8>,
    /// `stdout` or `stderr` (`None` for an unparsed line).
    pub stream: Option<Stream>,
    /// The runtime's time of its first part, ms since the epoch.
    pub time_ms: Option<i64>,
    /// The line was neither CRI nor json-file (sent whole).
    pub unparsed: bool,
    /// Parts of it are in other events (cut at `maxLineBytes` or left open).
    pub cut: bool,
}

/// A container's output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// stdout
    Stdout,
    /// stderr
    Stderr,
}

impl Stream {
    /// Its name, as the runtimes write it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    fn parse(s: &[u8]) -> Option<Stream> {
        match s {
            b"stdout" => Some(Stream::Stdout),
            b"stderr" => Some(Stream::Stderr),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }
}

/// One parsed line.
#[derive(Debug)]
struct Part<'a> {
    stream: Stream,
    partial: bool,
    time_ms: Option<i64>,
    msg: std::borrow::Cow<'a, [u8]>,
}

/// Whether `line` is a partial line of either format (the joiner's continuation test).
pub(crate) fn is_partial(line: &[u8]) -> bool {
    if line.first() == Some(&b'{') {
        return json_log_is_partial(line);
    }
    let mut it = line.splitn(4, |b| *b == b' ');
    let (_, stream, tag) = (it.next(), it.next(), it.next());
    stream.and_then(Stream::parse).is_some() && tag.is_some_and(|t| t.first() == Some(&b'P'))
}

/// A json-file line's `log` string does not end with an escaped newline (scanned, not
/// parsed: the joiner asks this of every line).
fn json_log_is_partial(line: &[u8]) -> bool {
    const KEY: &[u8] = b"\"log\":\"";
    let Some(at) = line.windows(KEY.len()).position(|w| w == KEY) else {
        return false;
    };
    let s = &line[at + KEY.len()..];
    let mut i = 0;
    let mut last_two_newline = false;
    while i < s.len() {
        match s[i] {
            b'\\' => {
                last_two_newline = s.get(i + 1) == Some(&b'n');
                i += 2;
            }
            b'"' => return !last_two_newline,
            _ => {
                last_two_newline = false;
                i += 1;
            }
        }
    }
    false
}

fn cri(line: &[u8]) -> Option<Part<'_>> {
    let mut it = line.splitn(4, |b| *b == b' ');
    let time = super::rfc3339::ms(it.next()?)?;
    let stream = Stream::parse(it.next()?)?;
    let tag = it.next()?;
    let partial = match tag.split(|b| *b == b':').next()? {
        b"P" => true,
        b"F" => false,
        _ => return None,
    };
    let msg = it.next().unwrap_or_default();
    Some(Part {
        stream,
        partial,
        time_ms: Some(time),
        msg: std::borrow::Cow::Borrowed(msg),
    })
}

#[derive(serde::Deserialize)]
struct JsonLine {
    log: String,
    stream: String,
    #[serde(default)]
    time: Option<String>,
}

fn json(line: &[u8]) -> Option<Part<'static>> {
    let j: JsonLine = serde_json::from_slice(line).ok()?;
    let stream = Stream::parse(j.stream.as_bytes())?;
    let mut msg = j.log.into_bytes();
    let partial = msg.last() != Some(&b'\n');
    if !partial {
        msg.pop();
    }
    Some(Part {
        stream,
        partial,
        time_ms: j
            .time
            .as_deref()
            .and_then(|t| super::rfc3339::ms(t.as_bytes())),
        msg: std::borrow::Cow::Owned(msg),
    })
}

fn parse(line: &[u8]) -> Option<Part<'_>> {
    if line.first() == Some(&b'{') {
        json(line)
    } else {
        cri(line)
    }
}

/// A joined line that is one whole CRI line (no parts), as its message, its body the line's
/// own buffer with the runtime's prefix taken off (no copy to a new one); the line back when
/// it is anything else, for [`messages`]. The same message `messages` makes of it.
pub(crate) fn whole_cri_line(mut line: Vec<u8>, cut: bool) -> Result<Message, Vec<u8>> {
    if line.first() == Some(&b'{') || line.contains(&b'\n') {
        return Err(line);
    }
    let (stream, time_ms, at) = match cri(&line) {
        Some(p) if !p.partial => {
            let at = match &p.msg {
                std::borrow::Cow::Borrowed(m) => line.len() - m.len(),
                std::borrow::Cow::Owned(_) => return Err(line),
            };
            (p.stream, p.time_ms, at)
        }
        _ => return Err(line),
    };
    line.drain(..at);
    Ok(Message {
        body: line,
        stream: Some(stream),
        time_ms,
        unparsed: false,
        cut,
    })
}

/// The messages of one joined line (its physical lines separated by `\n`); `cut` when the
/// joiner split it at `maxLineBytes`. At least one message.
pub(crate) fn messages(joined: &[u8], cut: bool, out: &mut Vec<Message>) {
    let mut open: [Option<Message>; 2] = [None, None];
    let before = out.len();
    for line in joined.split(|b| *b == b'\n') {
        let Some(p) = parse(line) else {
            out.push(Message {
                body: line.to_vec(),
                stream: None,
                time_ms: None,
                unparsed: true,
                cut,
            });
            continue;
        };
        let slot = &mut open[p.stream.index()];
        let m = slot.get_or_insert_with(|| Message {
            body: Vec::new(),
            stream: Some(p.stream),
            time_ms: p.time_ms,
            unparsed: false,
            cut,
        });
        m.body.extend_from_slice(&p.msg);
        if !p.partial {
            if let Some(m) = slot.take() {
                out.push(m);
            }
        }
    }
    for m in open.into_iter().flatten() {
        out.push(Message { cut: true, ..m });
    }
    if out.len() == before {
        out.push(Message {
            body: Vec::new(),
            stream: None,
            time_ms: None,
            unparsed: true,
            cut,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(joined: &str) -> Vec<Message> {
        let mut out = Vec::new();
        messages(joined.as_bytes(), false, &mut out);
        out
    }

    #[test]
    fn cri_partials_merge_per_stream_with_the_first_parts_time() {
        let j = "2024-01-02T03:04:05.123456789Z stdout P hel\n\
                 2024-01-02T03:04:06Z stderr F oops\n\
                 2024-01-02T03:04:07Z stdout F lo";
        let m = all(j);
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].body.as_slice(), m[0].stream),
            (&b"oops"[..], Some(Stream::Stderr))
        );
        assert_eq!(
            (m[1].body.as_slice(), m[1].stream),
            (&b"hello"[..], Some(Stream::Stdout))
        );
        assert_eq!(m[1].time_ms, Some(1_704_164_645_123));
        assert!(!m[1].cut && !m[1].unparsed);
    }

    #[test]
    fn json_file_lines_lose_their_newline_and_partials_join() {
        let j = r#"{"log":"a \"q\" ","stream":"stdout","time":"2024-01-02T03:04:05.5Z"}"#
            .to_owned()
            + "\n"
            + r#"{"log":"end\n","stream":"stdout","time":"2024-01-02T03:04:06Z"}"#;
        assert!(is_partial(j.split('\n').next().unwrap().as_bytes()));
        let m = all(&j);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].body, b"a \"q\" end");
        assert_eq!(m[0].time_ms, Some(1_704_164_645_500));
    }

    #[test]
    fn a_whole_cri_line_keeps_its_buffer_and_is_the_message_messages_makes() {
        for (line, cut) in [
            ("2024-01-02T03:04:05.123456789Z stdout F hello world", false),
            ("2024-01-02T03:04:05Z stderr F:x ", true),
            ("2024-01-02T03:04:05Z stdout F", false),
            ("2024-01-02T03:04:05Z stdout P part", false),
            (
                "2024-01-02T03:04:05Z stdout F a\n2024-01-02T03:04:05Z stdout F b",
                false,
            ),
            (r#"{"log":"x\n","stream":"stdout"}"#, false),
            ("not a line", false),
        ] {
            let mut want = Vec::new();
            messages(line.as_bytes(), cut, &mut want);
            match whole_cri_line(line.as_bytes().to_vec(), cut) {
                Ok(m) => assert_eq!(vec![m], want, "{line}"),
                Err(back) => assert_eq!(back, line.as_bytes(), "{line}"),
            }
        }
        assert!(whole_cri_line(b"2024-01-02T03:04:05Z stdout F hi".to_vec(), false).is_ok());
    }

    #[test]
    fn partial_test_knows_both_formats() {
        assert!(is_partial(b"2024-01-02T03:04:05Z stdout P x"));
        assert!(!is_partial(b"2024-01-02T03:04:05Z stdout F x"));
        assert!(!is_partial(b"garbage P x"));
        assert!(!is_partial(br#"{"log":"x\n","stream":"stdout"}"#));
        // An escaped backslash before `n` is no newline.
        assert!(is_partial(br#"{"log":"x\\n","stream":"stdout"}"#));
    }

    #[test]
    fn garbled_lines_and_invalid_escapes_go_whole_marked_unparsed() {
        for bad in [
            "2024-01-02T03:04:05Z stdout",
            "2024-13-02T03:04:05Z stdout F month 13",
            "2024-01-02T03:04:05Z stdboth F x",
            "2024-01-02T03:04:05Z stdout X x",
            r#"{"log":"bad \q escape\n","stream":"stdout","time":"2024-01-02T03:04:05Z"}"#,
            "plain text",
        ] {
            let m = all(bad);
            assert_eq!(m.len(), 1, "{bad}");
            assert!(m[0].unparsed, "{bad}");
            assert_eq!(m[0].body, bad.as_bytes());
        }
    }

    #[test]
    fn a_part_left_open_goes_out_marked_cut() {
        let m = all("2024-01-02T03:04:05Z stdout P only a part");
        assert_eq!(m.len(), 1);
        assert!(m[0].cut);
        assert_eq!(m[0].body, b"only a part");
    }
}
