//! The alarm routes of the metrics server: `GET /alarms` (the active alarms as a JSON list)
//! and `DELETE /alarms/upstreams?source=&ip=&agent=&sink=` (forget remembered upstreams that
//! match every given parameter; at least one is required; answers `{"forgotten": n}`).

use std::net::IpAddr;

use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::body::alarm_json;
use super::AlarmBoard;

/// The answer (status, content type, body) when `path` is an alarm route, else `None`.
pub(crate) fn answer(
    method: &Method,
    path: &str,
    query: Option<&str>,
    board: &AlarmBoard,
) -> Option<(StatusCode, &'static str, String)> {
    const JSON: &str = "application/json";
    match (method, path) {
        (&Method::GET, "/alarms") => {
            let list: Vec<Value> = board
                .active()
                .iter()
                .map(|a| Value::Object(alarm_json(a)))
                .collect();
            Some((StatusCode::OK, JSON, Value::Array(list).to_string()))
        }
        (&Method::DELETE, "/alarms/upstreams") => Some(forget(query.unwrap_or(""), board)),
        (_, "/alarms") | (_, "/alarms/upstreams") => Some((
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "use GET /alarms or DELETE /alarms/upstreams?ip=...\n".to_owned(),
        )),
        _ => None,
    }
}

fn forget(query: &str, board: &AlarmBoard) -> (StatusCode, &'static str, String) {
    let bad = |m: String| (StatusCode::BAD_REQUEST, "text/plain", m + "\n");
    let (mut source, mut ip, mut agent, mut sink) = (None, None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(v) = percent_decode(v) else {
            return bad(format!("bad percent-encoding in {pair:?}"));
        };
        match k {
            "source" => source = Some(v),
            "ip" => match v.parse::<IpAddr>() {
                Ok(a) => ip = Some(a),
                Err(_) => return bad(format!("ip: not an IP address: {v:?}")),
            },
            "agent" => agent = Some(v),
            "sink" => sink = Some(v),
            _ => return bad(format!("unknown parameter {k:?} (source, ip, agent, sink)")),
        }
    }
    if source.is_none() && ip.is_none() && agent.is_none() && sink.is_none() {
        return bad("give at least one of source, ip, agent, sink".to_owned());
    }
    let n = board.forget_upstreams(source.as_deref(), ip, agent.as_deref(), sink.as_deref());
    (
        StatusCode::OK,
        "application/json",
        json!({ "forgotten": n }).to_string(),
    )
}

/// `%XX` and `+` decoded; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_takes_escapes_and_refuses_bad_ones() {
        assert_eq!(percent_decode("a%2Fb+c").as_deref(), Some("a/b c"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }

    #[test]
    fn forgetting_needs_a_filter_and_a_valid_ip() {
        let r = AlarmBoard::default();
        let m = Method::DELETE;
        let a = |q| answer(&m, "/alarms/upstreams", Some(q), &r).unwrap().0;
        assert_eq!(a(""), StatusCode::BAD_REQUEST);
        assert_eq!(a("ip=nope"), StatusCode::BAD_REQUEST);
        assert_eq!(a("color=red"), StatusCode::BAD_REQUEST);
        assert_eq!(a("ip=127.0.0.1"), StatusCode::OK);
        let (s, _, body) = answer(&Method::GET, "/alarms", None, &r).unwrap();
        assert_eq!((s, body.as_str()), (StatusCode::OK, "[]"));
        assert!(answer(&Method::GET, "/metrics", None, &r).is_none());
    }
}
