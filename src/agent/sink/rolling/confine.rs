//! Keeps what an event contributes to an `hdfs` path inside the path's template. Pure.
//!
//! A header value (`%{name}` in `hdfs.path` or `hdfs.filePrefix`) is text from a remote
//! client; it may only ever fill part of one path component. So while a path is rendered:
//! - in a value, `/` becomes `%2F` and every control character (NUL, newline, ESC, ...) the
//!   `%XX` of each of its UTF-8 bytes; every other byte, `%` included, is kept;
//! - a component that a value helped make and that is `.` or `..` becomes `%2E` / `%2E%2E`;
//! - `/` from the template (its text and time escapes such as `%D`) still separates
//!   directories, so `hdfs.path = /logs/%{app}/x` still makes `/logs/<app>/x`;
//! - in a file name (`hdfs.filePrefix`) every `/` is escaped: a prefix is one name.
//!
//! The longest component a value helped make is reported, with the headers that made it, so
//! the sink can refuse an event whose name no file system takes (more than
//! [`NAME_BYTES_MAX`] bytes) instead of failing its batch forever.

/// Longest file or directory name, in bytes (Linux's `NAME_MAX`).
pub const NAME_BYTES_MAX: usize = 255;
/// Longest path, in bytes (Linux's `PATH_MAX` less its terminating NUL).
pub const PATH_BYTES_MAX: usize = 4095;
/// Characters of a component quoted in a refusal.
pub const PREVIEW_CHARS_MAX: usize = 64;

/// Appends `v` with `/` and control characters percent-encoded (see the module docs).
pub fn escape_into(out: &mut String, v: &str) {
    for c in v.chars() {
        if c == '/' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
}

/// A component made (in part) by an event's headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPart {
    /// Its length in bytes.
    pub len: usize,
    /// The escapes that filled it (`%{app}`), comma-separated.
    pub sources: String,
    /// Its first [`PREVIEW_CHARS_MAX`] characters.
    pub preview: String,
}

/// A rendered path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confined {
    /// The path (or file name).
    pub text: String,
    /// Whether any header value is part of it.
    pub from_event: bool,
    /// The longest component a header value helped make.
    pub longest_event_part: Option<EventPart>,
}

/// Builds a path from template text (trusted) and header values (confined).
#[derive(Debug)]
pub struct PathBuilder {
    text: String,
    one_name: bool,
    start: usize,
    sources: Vec<String>,
    from_event: bool,
    longest: Option<EventPart>,
}

impl PathBuilder {
    /// A builder of a directory path, or with `one_name` of a single file name.
    pub fn new(one_name: bool) -> Self {
        PathBuilder {
            text: String::new(),
            one_name,
            start: 0,
            sources: Vec::new(),
            from_event: false,
            longest: None,
        }
    }

    /// Template text: its `/` separate components (escaped in a file name).
    pub fn trusted(&mut self, s: &str) {
        if self.one_name {
            escape_slashes(&mut self.text, s);
            return;
        }
        let mut parts = s.split('/');
        if let Some(first) = parts.next() {
            self.text.push_str(first);
        }
        for p in parts {
            self.end_component();
            self.text.push('/');
            self.start = self.text.len();
            self.text.push_str(p);
        }
    }

    /// Text from the machine (host names): escaped, but not the event's.
    pub fn escaped(&mut self, s: &str) {
        escape_into(&mut self.text, s);
    }

    /// A header value, from escape `source` (`%{app}`).
    pub fn from_event(&mut self, source: &str, v: &str) {
        escape_into(&mut self.text, v);
        self.from_event = true;
        if !self.sources.iter().any(|s| s == source) {
            self.sources.push(source.to_owned());
        }
    }

    fn end_component(&mut self) {
        if self.sources.is_empty() {
            return;
        }
        let comp = &self.text[self.start..];
        if comp == "." || comp == ".." {
            let dots = comp.len();
            self.text.truncate(self.start);
            for _ in 0..dots {
                self.text.push_str("%2E");
            }
        }
        let comp = &self.text[self.start..];
        if self.longest.as_ref().is_none_or(|l| comp.len() > l.len) {
            self.longest = Some(EventPart {
                len: comp.len(),
                sources: self.sources.join(", "),
                preview: comp.chars().take(PREVIEW_CHARS_MAX).collect(),
            });
        }
        self.sources.clear();
    }

    /// The path.
    pub fn finish(mut self) -> Confined {
        self.end_component();
        Confined {
            text: self.text,
            from_event: self.from_event,
            longest_event_part: self.longest,
        }
    }
}

fn escape_slashes(out: &mut String, s: &str) {
    let mut parts = s.split('/');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for p in parts {
        out.push_str("%2F");
        out.push_str(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(parts: &[(&str, bool)]) -> Confined {
        let mut b = PathBuilder::new(false);
        for (s, event) in parts {
            if *event {
                b.from_event("%{h}", s);
            } else {
                b.trusted(s);
            }
        }
        b.finish()
    }

    #[test]
    fn values_cannot_add_separators_dot_components_or_control_characters() {
        assert_eq!(
            dir(&[("/d/", false), ("../../x", true)]).text,
            "/d/..%2F..%2Fx"
        );
        assert_eq!(
            dir(&[("/d/", false), ("..", true), ("/y", false)]).text,
            "/d/%2E%2E/y"
        );
        assert_eq!(dir(&[("/d/", false), (".", true)]).text, "/d/%2E");
        assert_eq!(
            dir(&[("/d/", false), ("a\0b\n\u{1b}", true)]).text,
            "/d/a%00b%0A%1B"
        );
        // A dot component needs the value: the template's own `..` is the operator's.
        assert_eq!(dir(&[("/d/../", false), ("a", true)]).text, "/d/../a");
        // A value beside template text is not a dot component.
        assert_eq!(dir(&[("/d/x", false), ("..", true)]).text, "/d/x..");
        assert_eq!(dir(&[("/d/.", false), (".", true)]).text, "/d/%2E%2E");
    }

    #[test]
    fn template_slashes_separate_directories_and_values_keep_other_bytes() {
        let c = dir(&[("/logs/", false), ("a%2Fb é", true), ("/x", false)]);
        assert_eq!(c.text, "/logs/a%2Fb é/x");
        assert!(c.from_event);
        let c = dir(&[("/logs/x", false)]);
        assert!(!c.from_event && c.longest_event_part.is_none());
    }

    #[test]
    fn the_longest_component_a_value_made_is_reported_with_its_sources() {
        let long = "a".repeat(300);
        let mut b = PathBuilder::new(false);
        b.trusted("/d/");
        b.from_event("%{app}", &long);
        b.trusted("-");
        b.from_event("%{host}", "h");
        b.trusted("/short");
        let c = b.finish();
        let p = c.longest_event_part.unwrap();
        assert_eq!(p.len, 302);
        assert_eq!(p.sources, "%{app}, %{host}");
        assert_eq!(p.preview.len(), PREVIEW_CHARS_MAX);
    }

    #[test]
    fn a_file_name_escapes_every_slash() {
        let mut b = PathBuilder::new(true);
        b.trusted("06/12/");
        b.from_event("%{a}", "../x");
        assert_eq!(b.finish().text, "06%2F12%2F..%2Fx");
    }
}
