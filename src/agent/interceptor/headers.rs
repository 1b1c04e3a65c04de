//! The interceptors that set one header: `timestamp`, `host`, `static` and `uuid`. Each can keep
//! a value already present (`preserveExisting`), with Flume's per-type default for that flag.

use std::net::{IpAddr, ToSocketAddrs};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{bool_prop, string_prop, Interceptor};
use crate::agent::component::{ComponentError, Props};
use sluice_core::Event;

/// Sets `header` to `value` unless `preserve` is on and the header is already present.
fn set_header<V: AsRef<str>>(
    mut e: Event,
    preserve: bool,
    header: &str,
    value: impl FnOnce() -> V,
) -> Event {
    if !(preserve && e.headers.contains_key(header)) {
        e.headers.insert(header, value());
    }
    e
}

/// Milliseconds since the Unix epoch from the system clock (0 if the clock is before 1970).
fn system_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `timestamp`: the time of interception in epoch milliseconds, as decimal text.
/// Keys: `headerName` (default `timestamp`), `preserveExisting` (default false).
#[derive(Debug, Clone)]
pub(crate) struct TimestampInterceptor {
    header: String,
    preserve: bool,
    clock: fn() -> i64,
}

impl TimestampInterceptor {
    /// Builds from properties, reading the system clock.
    pub(crate) fn from_props(props: &Props) -> Result<Self, ComponentError> {
        Ok(TimestampInterceptor {
            header: string_prop(props, "headerName", "timestamp"),
            preserve: bool_prop(props, "preserveExisting", false)?,
            clock: system_millis,
        })
    }

    /// The same interceptor with another clock (epoch milliseconds), for tests.
    #[cfg(test)]
    pub(crate) fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }
}

impl Interceptor for TimestampInterceptor {
    fn intercept(&self, e: Event) -> Option<Event> {
        let mut text = MillisText::default();
        Some(set_header(e, self.preserve, &self.header, || {
            text.set((self.clock)())
        }))
    }

    /// As [`TimestampInterceptor::intercept`] on each event (the clock read for each), the
    /// text written again only when the millisecond changed: no `String` per event.
    fn intercept_batch(&self, v: Vec<Event>) -> Vec<Event> {
        let mut text = MillisText::default();
        let mut last = None;
        v.into_iter()
            .map(|e| {
                set_header(e, self.preserve, &self.header, || {
                    let ms = (self.clock)();
                    if last != Some(ms) {
                        last = Some(ms);
                        text.set(ms);
                    }
                    text.as_str()
                })
            })
            .collect()
    }
}

/// Epoch milliseconds as decimal text, on the stack.
#[derive(Debug, Default)]
struct MillisText {
    buf: [u8; 20],
    at: usize,
}

impl MillisText {
    /// Writes `ms` (as `i64::to_string` does); the text.
    fn set(&mut self, ms: i64) -> &str {
        let mut n = ms.unsigned_abs();
        self.at = self.buf.len();
        loop {
            self.at -= 1;
            self.buf[self.at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if ms < 0 {
            self.at -= 1;
            self.buf[self.at] = b'-';
        }
        self.as_str()
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and '-' are written.
        std::str::from_utf8(&self.buf[self.at..]).unwrap_or_default()
    }
}

/// `host`: this machine's address or name, found once when the interceptor is built.
/// Keys: `hostHeader` (default `host`), `useIP` (default true), `preserveExisting` (default
/// false). If the address cannot be found, events pass unchanged, as in Flume.
#[derive(Debug, Clone)]
pub(crate) struct HostInterceptor {
    header: String,
    preserve: bool,
    host: Option<String>,
}

impl HostInterceptor {
    /// Builds from properties, looking up the local host name and, with `useIP`, its address.
    pub(crate) fn from_props(props: &Props) -> Result<Self, ComponentError> {
        let use_ip = bool_prop(props, "useIP", true)?;
        let name = hostname::get()
            .ok()
            .and_then(|n| n.into_string().ok())
            .filter(|n| !n.is_empty());
        let host = match (use_ip, name) {
            (_, None) => None,
            (false, Some(n)) => Some(n),
            (true, Some(n)) => resolve(&n).map(|ip| ip.to_string()),
        };
        Self::with_host(props, host)
    }

    /// Builds from properties with a given host value (`None`: leave events unchanged).
    pub(crate) fn with_host(props: &Props, host: Option<String>) -> Result<Self, ComponentError> {
        Ok(HostInterceptor {
            header: string_prop(props, "hostHeader", "host"),
            preserve: bool_prop(props, "preserveExisting", false)?,
            host,
        })
    }
}

/// The first address `name` resolves to, IPv4 first (Java's default preference).
fn resolve(name: &str) -> Option<IpAddr> {
    let addrs: Vec<IpAddr> = (name, 0).to_socket_addrs().ok()?.map(|a| a.ip()).collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
}

impl Interceptor for HostInterceptor {
    fn intercept(&self, e: Event) -> Option<Event> {
        match &self.host {
            Some(h) => Some(set_header(e, self.preserve, &self.header, || h.as_str())),
            None => Some(e),
        }
    }
}

/// `static`: a fixed header. Keys: `key` (default `key`), `value` (default `value`),
/// `preserveExisting` (default **true**).
#[derive(Debug, Clone)]
pub(crate) struct StaticInterceptor {
    key: String,
    value: String,
    preserve: bool,
}

impl StaticInterceptor {
    /// Builds from properties.
    pub(crate) fn from_props(props: &Props) -> Result<Self, ComponentError> {
        Ok(StaticInterceptor {
            key: string_prop(props, "key", "key"),
            value: string_prop(props, "value", "value"),
            preserve: bool_prop(props, "preserveExisting", true)?,
        })
    }
}

impl Interceptor for StaticInterceptor {
    fn intercept(&self, e: Event) -> Option<Event> {
        Some(set_header(e, self.preserve, &self.key, || {
            self.value.as_str()
        }))
    }
}

/// `uuid`: a random (v4) UUID, optionally prefixed. Keys: `headerName` (default `id`),
/// `preserveExisting` (default **true**), `prefix` (default empty).
#[derive(Debug, Clone)]
pub(crate) struct UuidInterceptor {
    header: String,
    preserve: bool,
    prefix: String,
}

impl UuidInterceptor {
    /// Builds from properties.
    pub(crate) fn from_props(props: &Props) -> Result<Self, ComponentError> {
        Ok(UuidInterceptor {
            header: string_prop(props, "headerName", "id"),
            preserve: bool_prop(props, "preserveExisting", true)?,
            prefix: props.get("prefix").cloned().unwrap_or_default(),
        })
    }
}

impl Interceptor for UuidInterceptor {
    fn intercept(&self, e: Event) -> Option<Event> {
        Some(set_header(e, self.preserve, &self.header, || {
            format!("{}{}", self.prefix, uuid::Uuid::new_v4())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::agent::component::props_of as props;

    fn run(i: &dyn Interceptor, e: Event) -> Event {
        i.intercept(e).expect("header interceptors never drop")
    }

    #[test]
    fn timestamp_sets_epoch_millis_and_overwrites_by_default() {
        let t = TimestampInterceptor::from_props(&Props::new())
            .unwrap()
            .with_clock(|| 1_700_000_000_123);
        let e = run(&t, Event::new("x").header("timestamp", "old"));
        assert_eq!(&e.headers["timestamp"], "1700000000123");
    }

    #[test]
    fn timestamp_text_is_what_to_string_gives() {
        let mut t = MillisText::default();
        for ms in [0, 7, 10, 1_700_000_000_123, -1, -45, i64::MAX, i64::MIN] {
            assert_eq!(t.set(ms), ms.to_string());
        }
    }

    #[test]
    fn timestamp_of_a_batch_sets_each_event_as_one_at_a_time() {
        let t = TimestampInterceptor::from_props(&Props::new())
            .unwrap()
            .with_clock(|| 1_700_000_000_123);
        let batch = vec![Event::new("a"), Event::new("b").header("timestamp", "1")];
        let out = t.intercept_batch(batch);
        assert_eq!(out.len(), 2);
        for e in &out {
            assert_eq!(&e.headers["timestamp"], "1700000000123");
        }
        let p = props(&[("preserveExisting", "true")]);
        let t = TimestampInterceptor::from_props(&p)
            .unwrap()
            .with_clock(|| 9);
        let out = t.intercept_batch(vec![
            Event::new("a").header("timestamp", "1"),
            Event::new("b"),
        ]);
        assert_eq!(&out[0].headers["timestamp"], "1");
        assert_eq!(&out[1].headers["timestamp"], "9");
    }

    #[test]
    fn timestamp_preserves_an_existing_header_when_asked() {
        let p = props(&[("preserveExisting", "true"), ("headerName", "ts")]);
        let t = TimestampInterceptor::from_props(&p)
            .unwrap()
            .with_clock(|| 5);
        assert_eq!(
            run(&t, Event::new("x").header("ts", "1"))
                .headers
                .get("ts")
                .unwrap(),
            "1"
        );
        assert_eq!(run(&t, Event::new("x")).headers.get("ts").unwrap(), "5");
    }

    #[test]
    fn timestamp_from_the_system_clock_is_after_2020() {
        let t = TimestampInterceptor::from_props(&Props::new()).unwrap();
        let ms: i64 = run(&t, Event::new("x")).headers["timestamp"]
            .parse()
            .unwrap();
        assert!(ms > 1_577_836_800_000, "{ms}");
    }

    #[test]
    fn host_uses_its_header_and_preserve_flag() {
        let h = HostInterceptor::with_host(&Props::new(), Some("10.0.0.7".into())).unwrap();
        let e = run(&h, Event::new("x").header("host", "old"));
        assert_eq!(&e.headers["host"], "10.0.0.7");
        let p = props(&[("hostHeader", "origin"), ("preserveExisting", "true")]);
        let h = HostInterceptor::with_host(&p, Some("a".into())).unwrap();
        assert_eq!(
            run(&h, Event::new("x").header("origin", "b"))
                .headers
                .get("origin")
                .unwrap(),
            "b"
        );
        assert_eq!(run(&h, Event::new("x")).headers.get("origin").unwrap(), "a");
    }

    #[test]
    fn host_without_an_address_leaves_events_unchanged() {
        let h = HostInterceptor::with_host(&Props::new(), None).unwrap();
        assert_eq!(run(&h, Event::new("x")), Event::new("x"));
    }

    #[test]
    fn host_by_name_sets_the_system_host_name() {
        let h = HostInterceptor::from_props(&props(&[("useIP", "false")])).unwrap();
        let want = hostname::get().unwrap().into_string().unwrap();
        assert_eq!(run(&h, Event::new("x")).headers["host"], want);
    }

    #[test]
    fn host_by_ip_sets_a_parseable_address_when_the_name_resolves() {
        let h = HostInterceptor::from_props(&Props::new()).unwrap();
        if let Some(v) = run(&h, Event::new("x")).headers.get("host") {
            assert!(v.parse::<IpAddr>().is_ok(), "{v}");
        }
    }

    #[test]
    fn static_defaults_to_key_value_and_preserves_existing() {
        let s = StaticInterceptor::from_props(&Props::new()).unwrap();
        assert_eq!(
            run(&s, Event::new("x")).headers.get("key").unwrap(),
            "value"
        );
        assert_eq!(
            run(&s, Event::new("x").header("key", "mine"))
                .headers
                .get("key")
                .unwrap(),
            "mine"
        );
        let p = props(&[
            ("key", "dc"),
            ("value", "eu-1"),
            ("preserveExisting", "false"),
        ]);
        let s = StaticInterceptor::from_props(&p).unwrap();
        assert_eq!(
            run(&s, Event::new("x").header("dc", "us"))
                .headers
                .get("dc")
                .unwrap(),
            "eu-1"
        );
    }

    #[test]
    fn uuid_sets_a_fresh_prefixed_v4_uuid_and_preserves_existing() {
        let p = props(&[("prefix", "evt-")]);
        let u = UuidInterceptor::from_props(&p).unwrap();
        let a = run(&u, Event::new("x"))
            .headers
            .get("id")
            .unwrap()
            .to_owned();
        let b = run(&u, Event::new("x"))
            .headers
            .get("id")
            .unwrap()
            .to_owned();
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(a.strip_prefix("evt-").unwrap()).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(
            run(&u, Event::new("x").header("id", "keep"))
                .headers
                .get("id")
                .unwrap(),
            "keep"
        );
        let p = props(&[("preserveExisting", "false"), ("headerName", "uid")]);
        let u = UuidInterceptor::from_props(&p).unwrap();
        assert_ne!(
            run(&u, Event::new("x").header("uid", "old"))
                .headers
                .get("uid")
                .unwrap(),
            "old"
        );
    }
}
