//! A failed store request as a typed error that says where it went and what to change.
//!
//! `object_store`'s own text can be a bare `HTTP error: builder error` (its HTTP client's
//! words for a URL it will not send to); an [`S3Error`] always names the bucket, the
//! endpoint with its scheme and the setting that named it, the operation and the key, the
//! store's reason with every cause under it, and what to set. It travels inside an
//! `io::Error` (the sink's `Store` trait speaks `io`) whose kind the sink reads.

use std::io;

use crate::agent::sink::rolling::config::endpoint::EndpointFrom;
use crate::agent::sink::rolling::config::s3::S3Config;

/// Most characters of the store's reason kept in a message.
pub const REASON_CHARS_MAX: usize = 400;
/// Most characters of one tag (`Code`, `Message`) of an S3 error body kept.
pub const TAG_CHARS_MAX: usize = 200;

/// What kind of failure a store error is, for the hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The HTTP client refused to build the request (the endpoint is not a usable URL).
    Endpoint,
    /// No connection or no answer.
    Unreachable,
    /// The credentials or the signature were refused.
    Refused,
    /// The bucket does not exist.
    NoBucket,
    /// Anything else the store answered.
    Other,
}

/// One failed store request.
#[derive(Debug, thiserror::Error)]
#[error("{store}: {what} {key}: {reason} ({hint})")]
pub struct S3Error {
    /// The bucket, the endpoint, its scheme and where it came from ([`S3Config::describe`]).
    pub store: String,
    /// The endpoint, `None` for AWS S3.
    pub endpoint: Option<String>,
    /// Which setting named it.
    pub endpoint_from: EndpointFrom,
    /// The operation (`uploading to`, `listing`).
    pub what: String,
    /// The object key or prefix.
    pub key: String,
    /// The store's reason, with its causes.
    pub reason: String,
    /// The kind of failure.
    pub class: Class,
    /// What to check or set.
    pub hint: String,
}

impl S3Error {
    /// The error of `what` on `key` against the store of `cfg`.
    pub fn new(
        cfg: &S3Config,
        what: &str,
        key: &str,
        e: &(dyn std::error::Error + 'static),
    ) -> S3Error {
        let text = chain(e);
        let class = classify(&text);
        let mut reason: String = text
            .lines()
            .next()
            .unwrap_or("")
            .trim_end_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .chars()
            .take(REASON_CHARS_MAX)
            .collect();
        for tag in ["Code", "Message"] {
            if let Some(v) = xml_tag(&text, tag) {
                reason.push_str(&format!(" {tag}: {v}."));
            }
        }
        S3Error {
            store: cfg.describe(),
            endpoint: cfg.conn.endpoint.clone(),
            endpoint_from: cfg.conn.endpoint_from,
            what: what.to_owned(),
            key: key.to_owned(),
            reason,
            class,
            hint: hint(class, cfg),
        }
    }

    /// The `io::Error` kind the sink reads (refused credentials, a missing bucket).
    pub fn kind(&self) -> io::ErrorKind {
        match self.class {
            Class::Refused => io::ErrorKind::PermissionDenied,
            Class::NoBucket => io::ErrorKind::NotFound,
            _ => io::ErrorKind::Other,
        }
    }
}

/// An object store error as an `io::Error` carrying an [`S3Error`].
pub fn s3_err(
    cfg: &S3Config,
    what: &str,
    key: &str,
    e: &(dyn std::error::Error + 'static),
) -> io::Error {
    let err = S3Error::new(cfg, what, key, e);
    io::Error::new(err.kind(), err)
}

/// The error's text with each cause under it that it does not already say (`builder
/// error: URL scheme is not allowed`).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !s.is_empty() && !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cause = c.source();
    }
    text
}

/// Whether `text` holds `number` as a number of its own: not inside a longer one (a retry's
/// `in 3.625004039s` holds the digits 403).
fn has_number(text: &str, number: &str) -> bool {
    let part_of_number = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
    text.match_indices(number).any(|(i, _)| {
        !part_of_number(text[..i].chars().next_back())
            && !part_of_number(text[i + number.len()..].chars().next())
    })
}

fn classify(text: &str) -> Class {
    let lower = text.to_ascii_lowercase();
    if has_number(text, "403")
        || text.contains("SignatureDoesNotMatch")
        || text.contains("InvalidAccessKeyId")
    {
        Class::Refused
    } else if text.contains("NoSuchBucket") {
        Class::NoBucket
    } else if lower.contains("builder error")
        || lower.contains("url scheme")
        || lower.contains("relative url")
        || lower.contains("invalid url")
        || lower.contains("empty host")
    {
        Class::Endpoint
    } else if lower.contains("error sending request")
        || lower.contains("connect")
        || lower.contains("dns error")
        || lower.contains("timed out")
        || lower.contains("connection")
    {
        Class::Unreachable
    } else {
        Class::Other
    }
}

fn hint(class: Class, cfg: &S3Config) -> String {
    let set = cfg.conn.endpoint_from.what_to_set();
    match class {
        Class::Endpoint => format!("the endpoint is not a URL requests can be sent to: {set}"),
        Class::Unreachable => match &cfg.conn.endpoint {
            Some(e) => format!("no answer from {e}: is the store there? {set}"),
            None => format!("no answer from AWS S3; {set}"),
        },
        Class::Refused => format!(
            "the store refused the credentials or the signature: check fs.s3a.access.key/fs.s3a.secret.key (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and the region signed for; and that {} is the store meant",
            cfg.conn.endpoint.as_deref().unwrap_or("AWS S3")
        ),
        Class::NoBucket => format!(
            "no bucket {} at {}: create it, or check the path's bucket and the endpoint",
            cfg.bucket,
            cfg.conn.endpoint.as_deref().unwrap_or("AWS S3")
        ),
        Class::Other => set,
    }
}

/// The text of the first `<tag>` of an S3 error body, at most [`TAG_CHARS_MAX`] bytes.
fn xml_tag<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find("</")?;
    let v = &text[start..start + len];
    Some(v.get(..TAG_CHARS_MAX).unwrap_or(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::sink::rolling::config::s3::Connection;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    fn cfg(endpoint: Option<&str>, from: EndpointFrom) -> S3Config {
        let conn = Connection {
            endpoint: endpoint.map(str::to_owned),
            endpoint_from: from,
            ..Connection::default()
        };
        S3Config::for_tests("logs", conn)
    }

    #[test]
    fn a_builder_error_names_the_endpoint_its_scheme_the_variable_and_the_cause() {
        let e = Layer(
            "Generic S3 error: HTTP error: builder error",
            Some(Box::new(Layer("URL scheme is not allowed", None))),
        );
        let c = cfg(
            Some("http://127.0.0.1:9"),
            EndpointFrom::Env("AWS_ENDPOINT_URL"),
        );
        let err = S3Error::new(&c, "uploading to", "a/b", &e);
        let text = err.to_string();
        assert_eq!(err.class, Class::Endpoint, "{text}");
        for want in [
            "http://127.0.0.1:9",
            "AWS_ENDPOINT_URL",
            "http)",
            "URL scheme is not allowed",
            "uploading to a/b",
        ] {
            assert!(text.contains(want), "{want:?} not in {text}");
        }
    }

    #[test]
    fn an_error_without_an_endpoint_says_what_to_set_for_another_store() {
        let e = Layer("Generic S3 error: error sending request", None);
        let text = S3Error::new(&cfg(None, EndpointFrom::Aws), "listing", "p", &e).to_string();
        assert!(text.contains("AWS S3"), "{text}");
        assert!(text.contains("AWS_ENDPOINT_URL_S3"), "{text}");
        assert!(text.contains("fs.s3a.endpoint"), "{text}");
    }

    #[test]
    fn a_refused_connection_whose_retry_time_holds_403_is_unreachable() {
        let text = "Generic S3 error: Error performing GET http://127.0.0.1:33421/b?list-type=2 \
            in 3.625004039s, after 10 retries - HTTP error: error sending request: client error \
            (Connect): tcp connect error: Connection refused (os error 111)";
        assert_eq!(classify(text), Class::Unreachable);
        assert_eq!(
            classify("Client error with status 403 Forbidden: AccessDenied"),
            Class::Refused
        );
        assert!(!has_number("took 1.403s", "403") && !has_number("port 14030", "403"));
    }

    #[test]
    fn refused_credentials_and_a_missing_bucket_keep_their_io_kinds() {
        let c = cfg(Some("https://s3.example"), EndpointFrom::CoreSite);
        let refused = Layer(
            "Client error with status 403 Forbidden: <Code>SignatureDoesNotMatch</Code>",
            None,
        );
        let err = s3_err(&c, "listing", "p", &refused);
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(
            err.to_string().contains("Code: SignatureDoesNotMatch."),
            "{err}"
        );
        let missing = Layer("<Code>NoSuchBucket</Code>", None);
        assert_eq!(
            s3_err(&c, "listing", "p", &missing).kind(),
            io::ErrorKind::NotFound
        );
    }
}
