//! `sluice top`: a terminal view of an agent's `/metrics` (Flume's JSON) for hosts without
//! a browser. Polls every `--interval`, prints one table per component kind with rates per
//! second (from two polls) and channel fill; redraws in place on a terminal, prints plain
//! blocks of lines otherwise (pipes, scripts). `--once` polls twice, prints once and exits.
//!
//! Limits: each request has a connect/read/write timeout ([`REQUEST_TIMEOUT`]) and an answer
//! is read up to [`ANSWER_BYTES_MAX`]; the interval is clamped to [`INTERVAL_MIN`]..=
//! [`INTERVAL_MAX`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::cli::exit::{self, Usage};

/// Timeout of each connect, write and read.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read.
pub const ANSWER_BYTES_MAX: u64 = 16 << 20;
/// Shortest interval between polls.
pub const INTERVAL_MIN: Duration = Duration::from_millis(100);
/// Longest interval between polls.
pub const INTERVAL_MAX: Duration = Duration::from_secs(3600);

/// Arguments of `sluice top`.
#[derive(clap::Args, Debug)]
pub struct TopArgs {
    /// The agent's metrics URL (`-Dflume.monitoring.type=http`).
    #[arg(long, default_value = "http://127.0.0.1:41414/metrics")]
    pub url: String,
    /// Seconds between polls (fractions allowed).
    #[arg(long, default_value_t = 2.0)]
    pub interval: f64,
    /// Poll twice (one interval apart), print once and exit.
    #[arg(long)]
    pub once: bool,
}

/// Flume's JSON: component key -> attribute -> value.
pub type Metrics = BTreeMap<String, BTreeMap<String, String>>;

/// `http://host:port/path` -> (host:port, path).
fn split_url(url: &str) -> anyhow::Result<(String, String)> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(Usage(format!("--url must start with http:// (got {url:?})")).into());
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/metrics"),
    };
    if authority.is_empty() {
        return Err(Usage(format!("--url has no host (got {url:?})")).into());
    }
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path.to_owned()))
}

/// One `GET` of the metrics JSON.
fn fetch(authority: &str, path: &str) -> anyhow::Result<Metrics> {
    let addr = authority
        .to_socket_addrs()
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("{authority} has no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT).with_context(|| {
        format!("cannot connect to {addr} (is an agent running with -Dflume.monitoring.type=http?)")
    })?;
    s.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    s.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .with_context(|| format!("sending the request to {addr}"))?;
    let mut raw = Vec::new();
    s.take(ANSWER_BYTES_MAX)
        .read_to_end(&mut raw)
        .with_context(|| format!("reading the answer of {addr}"))?;
    let text = String::from_utf8_lossy(&raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("{addr} sent no HTTP answer");
    };
    let status = head.lines().next().unwrap_or("");
    if status.split(' ').nth(1) != Some("200") {
        bail!("{addr}{path} answered {status:?}");
    }
    serde_json::from_str(body).with_context(|| format!("{addr}{path} did not answer Flume's JSON"))
}

fn num(m: &Metrics, key: &str, attr: &str) -> Option<f64> {
    m.get(key)?.get(attr)?.parse().ok()
}

/// Events per second of `attr` between two polls `dt` apart ("-" without a previous poll).
fn rate(prev: Option<&Metrics>, cur: &Metrics, key: &str, attr: &str, dt: f64) -> String {
    match (prev.and_then(|p| num(p, key, attr)), num(cur, key, attr)) {
        (Some(a), Some(b)) if dt > 0.0 => format!("{:.1}", ((b - a) / dt).max(0.0)),
        _ => "-".to_owned(),
    }
}

fn value(cur: &Metrics, key: &str, attr: &str) -> String {
    cur.get(key)
        .and_then(|g| g.get(attr))
        .cloned()
        .unwrap_or_else(|| "-".to_owned())
}

fn table(out: &mut String, header: &[&str], rows: Vec<Vec<String>>) {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |out: &mut String, cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(&width).enumerate() {
            if i == 0 {
                let _ = write!(l, "{c:<w$}");
            } else {
                let _ = write!(l, "  {c:>w$}");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(out, header.to_vec());
    for r in &rows {
        line(out, r.iter().map(String::as_str).collect());
    }
}

fn keys<'a>(m: &'a Metrics, kind: &str) -> Vec<&'a String> {
    m.iter()
        .filter(|(_, g)| g.get("Type").map(String::as_str) == Some(kind))
        .map(|(k, _)| k)
        .collect()
}

fn short(key: &str) -> String {
    key.split_once('.').map_or(key, |(_, n)| n).to_owned()
}

/// The tables of one refresh: channels, sources, sinks. Rates need `prev` (`dt` seconds
/// earlier); without it they show `-`.
pub fn render(prev: Option<&Metrics>, cur: &Metrics, dt: f64) -> String {
    let mut out = String::new();
    let rows = keys(cur, "CHANNEL")
        .into_iter()
        .map(|k| {
            let fill = num(cur, k, "ChannelFillPercentage").unwrap_or(0.0);
            vec![
                short(k),
                format!("{fill:.1}"),
                format!(
                    "{}/{}",
                    value(cur, k, "ChannelSize"),
                    value(cur, k, "ChannelCapacity")
                ),
                rate(prev, cur, k, "EventPutSuccessCount", dt),
                rate(prev, cur, k, "EventTakeSuccessCount", dt),
            ]
        })
        .collect();
    table(
        &mut out,
        &["CHANNEL", "fill%", "size/capacity", "put/s", "take/s"],
        rows,
    );
    out.push('\n');
    let rows = keys(cur, "SOURCE")
        .into_iter()
        .map(|k| {
            vec![
                short(k),
                rate(prev, cur, k, "EventReceivedCount", dt),
                rate(prev, cur, k, "EventAcceptedCount", dt),
                value(cur, k, "OpenConnectionCount"),
                value(cur, k, "ChannelWriteFail"),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "SOURCE",
            "received/s",
            "accepted/s",
            "connections",
            "write fails",
        ],
        rows,
    );
    out.push('\n');
    let rows = keys(cur, "SINK")
        .into_iter()
        .map(|k| {
            vec![
                short(k),
                rate(prev, cur, k, "EventDrainSuccessCount", dt),
                value(cur, k, "EventWriteFail"),
                value(cur, k, "ConnectionFailedCount"),
                cur.get(k)
                    .and_then(|g| g.get("ConnectionDownMillis"))
                    .map_or("-".to_owned(), |ms| format!("{ms} ms")),
            ]
        })
        .collect();
    table(
        &mut out,
        &["SINK", "drained/s", "write fails", "conn fails", "down"],
        rows,
    );
    out
}

/// Runs `sluice top`.
pub fn run(args: TopArgs) -> anyhow::Result<i32> {
    if !args.interval.is_finite() || args.interval <= 0.0 {
        return Err(Usage(format!(
            "--interval must be a positive number of seconds (got {})",
            args.interval
        ))
        .into());
    }
    let interval = Duration::from_secs_f64(args.interval).clamp(INTERVAL_MIN, INTERVAL_MAX);
    let (authority, path) = split_url(&args.url)?;
    let tty = std::io::stdout().is_terminal();
    let mut prev: Option<(Instant, Metrics)> = None;
    loop {
        let at = Instant::now();
        let cur = fetch(&authority, &path)?;
        let dt = prev
            .as_ref()
            .map_or(0.0, |(t, _)| at.duration_since(*t).as_secs_f64());
        let show = !args.once || prev.is_some();
        if show {
            let body = render(prev.as_ref().map(|(_, m)| m), &cur, dt);
            let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
            let mut out = std::io::stdout().lock();
            if tty && !args.once {
                // Home and clear, then the new frame.
                write!(out, "\x1b[H\x1b[2J")?;
            }
            writeln!(
                out,
                "sluice top  {}  {now}  every {:?}\n",
                args.url, interval
            )?;
            write!(out, "{body}")?;
            if !tty {
                writeln!(out)?;
            }
            out.flush()?;
            if args.once {
                return Ok(exit::OK);
            }
        }
        prev = Some((at, cur));
        std::thread::sleep(interval.saturating_sub(at.elapsed()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(put: u64) -> Metrics {
        let json = format!(
            r#"{{"CHANNEL.c1":{{"Type":"CHANNEL","ChannelFillPercentage":"12.5","ChannelSize":"125","ChannelCapacity":"1000","EventPutSuccessCount":"{put}","EventTakeSuccessCount":"0"}},
               "SOURCE.r1":{{"Type":"SOURCE","EventReceivedCount":"{put}","EventAcceptedCount":"{put}","OpenConnectionCount":"2","ChannelWriteFail":"0"}},
               "SINK.k1":{{"Type":"SINK","EventDrainSuccessCount":"0","EventWriteFail":"0","ConnectionFailedCount":"1","ConnectionDownMillis":"1500"}}}}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn rates_come_from_two_polls_and_fill_from_the_gauge() {
        let text = render(Some(&metrics(100)), &metrics(300), 2.0);
        let c1 = text.lines().find(|l| l.starts_with("c1")).unwrap();
        let cells: Vec<&str> = c1.split_whitespace().collect();
        assert_eq!(cells, ["c1", "12.5", "125/1000", "100.0", "0.0"]);
        let k1 = text.lines().find(|l| l.starts_with("k1")).unwrap();
        assert!(k1.ends_with("1500 ms"), "{k1}");
    }

    #[test]
    fn without_a_previous_poll_rates_are_dashes() {
        let text = render(None, &metrics(300), 0.0);
        let r1 = text.lines().find(|l| l.starts_with("r1")).unwrap();
        assert_eq!(
            r1.split_whitespace().collect::<Vec<_>>(),
            ["r1", "-", "-", "2", "0"]
        );
    }

    #[test]
    fn urls_other_than_plain_http_are_usage_errors() {
        assert!(split_url("https://x/metrics").is_err());
        assert_eq!(
            split_url("http://127.0.0.1:41414").unwrap(),
            ("127.0.0.1:41414".to_owned(), "/metrics".to_owned())
        );
    }
}
