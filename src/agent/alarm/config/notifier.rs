//! A notifier's keys (`<agent>.notifiers.<name>.*`): its type (webhook, dingtalk, log), an
//! http(s) URL, a DingTalk signing secret, and the timeout, retries and backoff of its sends.

use std::time::Duration;

use super::keys::dur;
use super::types::{NotifierConfig, NotifierKind};
use crate::agent::config::ctx::Ctx;

/// Default notifier request timeout.
pub(crate) const NOTIFY_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);
/// Default retries after a failed notification.
pub(crate) const NOTIFY_RETRIES_DEFAULT: u64 = 3;
/// Most retries a notifier may be configured with.
pub(crate) const NOTIFY_RETRIES_MAX: u64 = 100;
/// Default first pause before a retry (doubling each time).
pub(crate) const NOTIFY_BACKOFF_DEFAULT: Duration = Duration::from_secs(1);
/// Default longest pause between retries.
pub(crate) const NOTIFY_BACKOFF_MAX_DEFAULT: Duration = Duration::from_secs(30);

/// The notifier `name`, or `None` after a problem.
pub(super) fn notifier(cx: &mut Ctx<'_>, name: &str) -> Option<NotifierConfig> {
    let t = cx.required("type")?;
    let kind = match t.to_ascii_lowercase().as_str() {
        "webhook" => NotifierKind::Webhook,
        "dingtalk" => NotifierKind::DingTalk,
        "log" => NotifierKind::Log,
        _ => {
            cx.error(
                "type",
                format!("unknown notifier type {t:?}; supported: webhook, dingtalk, log"),
            );
            return None;
        }
    };
    let url = if kind == NotifierKind::Log {
        None
    } else {
        let u = cx.required("url")?;
        match u.parse::<hyper::Uri>() {
            Ok(uri) if matches!(uri.scheme_str(), Some("http") | Some("https")) => {}
            _ => {
                cx.error(
                    "url",
                    format!("expected an http:// or https:// URL, got {u:?}"),
                );
                return None;
            }
        }
        Some(u)
    };
    let secret = cx.get("secret");
    if secret.is_some() && kind != NotifierKind::DingTalk {
        cx.warn(
            "secret",
            "only dingtalk notifiers sign their requests; ignored",
        );
    }
    let timeout = dur(cx, "timeout", NOTIFY_TIMEOUT_DEFAULT);
    if timeout.is_zero() {
        cx.error("timeout", "must be more than 0");
    }
    let retries = cx.u64("retries", NOTIFY_RETRIES_DEFAULT, 0, NOTIFY_RETRIES_MAX);
    let backoff = dur(cx, "backoff", NOTIFY_BACKOFF_DEFAULT);
    let max_backoff = dur(cx, "maxBackoff", NOTIFY_BACKOFF_MAX_DEFAULT);
    if max_backoff < backoff {
        cx.error("maxBackoff", "must not be shorter than backoff");
    }
    Some(NotifierConfig {
        name: name.to_owned(),
        kind,
        url,
        secret,
        timeout,
        retries,
        backoff,
        max_backoff,
    })
}
