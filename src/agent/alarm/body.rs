//! What a notification says, as pure functions: the generic JSON body (the same object
//! `GET /alarms` lists, plus `state` and `clearedAt`), the DingTalk robot's markdown body, and
//! DingTalk's signed URL (`timestamp` and `sign` = URL-encoded base64 of HMAC-SHA256 over
//! `"{timestamp}\n{secret}"` keyed by the secret, as DingTalk documents).

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::notice::{Alarm, Notice, NoticeState};

/// RFC 3339 (UTC, milliseconds) of a wall-clock time in ms since the epoch.
pub(crate) fn rfc3339(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The JSON object of an active alarm (`GET /alarms`).
pub(crate) fn alarm_json(a: &Alarm) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(a.name));
    m.insert("id".into(), json!(a.id));
    m.insert("raisedAt".into(), json!(rfc3339(a.raised_at_ms)));
    m.insert("message".into(), json!(a.message));
    m.insert("severity".into(), json!(a.severity.word()));
    m.insert("agent".into(), json!(a.agent));
    if let Some(metric) = &a.metric {
        m.insert("metric".into(), json!(metric));
    }
    m.insert("value".into(), json!(a.value));
    if let Some(t) = a.threshold {
        m.insert("threshold".into(), json!(t));
    }
    if let Some(u) = &a.upstream {
        m.insert("source".into(), json!(u.source));
        m.insert("clientIp".into(), json!(u.key.ip.to_string()));
        m.insert("clientAgent".into(), json!(u.key.agent));
        m.insert("clientSink".into(), json!(u.key.sink));
    }
    m
}

/// The generic webhook body of a notice.
pub(crate) fn webhook(n: &Notice) -> Vec<u8> {
    let mut m = alarm_json(&n.alarm);
    m.insert("state".into(), json!(n.state.word()));
    m.insert(
        "clearedAt".into(),
        match n.cleared_at_ms {
            Some(ms) => json!(rfc3339(ms)),
            None => Value::Null,
        },
    );
    if let Some(v) = n.value {
        m.insert("value".into(), json!(v));
    }
    Value::Object(m).to_string().into_bytes()
}

/// The DingTalk robot body: `msgtype` markdown with a title and a text.
pub(crate) fn dingtalk(n: &Notice) -> Vec<u8> {
    let a = &n.alarm;
    let state = match n.state {
        NoticeState::Raised => "RAISED",
        NoticeState::Cleared => "CLEARED",
    };
    let title = format!("[{state}] {} on {}", a.name, a.agent);
    let mut text = format!(
        "### {title}\n\n- **message**: {}\n- **severity**: {}\n- **raised at**: {}\n",
        a.message,
        a.severity.word(),
        rfc3339(a.raised_at_ms)
    );
    if let Some(ms) = n.cleared_at_ms {
        text.push_str(&format!("- **cleared at**: {}\n", rfc3339(ms)));
    }
    if let Some(metric) = &a.metric {
        text.push_str(&format!("- **metric**: {metric}\n"));
    }
    if let Some(v) = n.value.or(a.value) {
        text.push_str(&format!("- **value**: {v}\n"));
    }
    if let Some(t) = a.threshold {
        text.push_str(&format!("- **threshold**: {t}\n"));
    }
    if let Some(u) = &a.upstream {
        text.push_str(&format!(
            "- **source**: {}\n- **client**: {} (agent {}, sink {})\n",
            u.source,
            u.key.ip,
            u.key.agent.as_deref().unwrap_or("-"),
            u.key.sink.as_deref().unwrap_or("-")
        ));
    }
    json!({"msgtype": "markdown", "markdown": {"title": title, "text": text}})
        .to_string()
        .into_bytes()
}

/// `url` with DingTalk's `timestamp` and `sign` parameters for `secret` at `timestamp_ms`.
pub(crate) fn dingtalk_signed_url(url: &str, secret: &str, timestamp_ms: u64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{timestamp_ms}\n{secret}").as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    let mut sign = String::with_capacity(b64.len() + 8);
    for c in b64.chars() {
        match c {
            '+' => sign.push_str("%2B"),
            '/' => sign.push_str("%2F"),
            '=' => sign.push_str("%3D"),
            c => sign.push(c),
        }
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}timestamp={timestamp_ms}&sign={sign}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::alarm::config::AlarmSeverity;
    use crate::agent::alarm::upstreams::UpstreamKey;
    use crate::agent::alarm::UpstreamAlarm;

    fn upstream_alarm() -> Alarm {
        Alarm {
            id: "r1.upstreamGone[10.0.0.7/edge/k1]".into(),
            name: "r1.upstreamGone".into(),
            severity: AlarmSeverity::Warn,
            message: "upstream gone".into(),
            agent: "collector".into(),
            raised_at_ms: 1_700_000_000_000,
            metric: None,
            value: None,
            threshold: None,
            notifiers: None,
            upstream: Some(UpstreamAlarm {
                source: "r1".into(),
                key: UpstreamKey {
                    ip: "10.0.0.7".parse().unwrap(),
                    agent: Some("edge".into()),
                    sink: Some("k1".into()),
                },
            }),
        }
    }

    #[test]
    fn the_dingtalk_signature_matches_dingtalks_recipe() {
        // Expected value computed with Python's hmac/hashlib/base64/urllib.parse.quote_plus.
        let u = dingtalk_signed_url(
            "https://oapi.dingtalk.com/robot/send?access_token=T",
            "SEC123",
            1_700_000_000_000,
        );
        assert_eq!(
            u,
            "https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1700000000000\
             &sign=lkcPI1uoxBY1gUnCnnPH1Kkru0Hqjo7rFpA3haIVhEQ%3D"
        );
    }

    #[test]
    fn a_cleared_webhook_body_carries_every_field() {
        let n = Notice {
            alarm: upstream_alarm(),
            state: NoticeState::Cleared,
            cleared_at_ms: Some(1_700_000_060_000),
            value: None,
        };
        let v: Value = serde_json::from_slice(&webhook(&n)).unwrap();
        assert_eq!(v["state"], "cleared");
        assert_eq!(v["name"], "r1.upstreamGone");
        assert_eq!(v["raisedAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(v["clearedAt"], "2023-11-14T22:14:20.000Z");
        assert_eq!(v["clientIp"], "10.0.0.7");
        assert_eq!(v["clientAgent"], "edge");
        assert_eq!(v["clientSink"], "k1");
        assert_eq!(v["source"], "r1");
        assert_eq!(v["agent"], "collector");
        assert_eq!(v["severity"], "warn");
    }

    #[test]
    fn the_dingtalk_body_is_markdown_with_title_and_text() {
        let n = Notice {
            alarm: upstream_alarm(),
            state: NoticeState::Raised,
            cleared_at_ms: None,
            value: None,
        };
        let v: Value = serde_json::from_slice(&dingtalk(&n)).unwrap();
        assert_eq!(v["msgtype"], "markdown");
        assert_eq!(
            v["markdown"]["title"],
            "[RAISED] r1.upstreamGone on collector"
        );
        let text = v["markdown"]["text"].as_str().unwrap();
        assert!(text.contains("10.0.0.7 (agent edge, sink k1)"), "{text}");
    }
}
