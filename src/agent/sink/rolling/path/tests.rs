//! Escapes and rounding against Flume's documented outputs for fixed timestamps and zones.

use super::*;

fn utc_ms(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.3f")
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

fn host() -> HostNames {
    HostNames {
        localhost: "web1".into(),
        ip: "10.0.0.7".into(),
        fqdn: "web1.example.com".into(),
    }
}

fn render(t: &str, ts: i64, zone: Zone, round: Option<Rounding>) -> String {
    let h: Headers = [("app", "shop")].into();
    PathTemplate::parse(t)
        .unwrap()
        .render_confined(&h, Some(ts), zone, round, &host(), false)
        .unwrap()
        .text
}

fn utc() -> Zone {
    Zone::parse("UTC").unwrap()
}

#[test]
fn the_user_guide_rounding_example_gives_its_documented_path() {
    // "an event with timestamp 11:54:34 AM, June 12, 2012 will cause the hdfs path to become
    // /flume/events/2012-06-12/1150/00" (roundValue 10, roundUnit minute).
    let ts = utc_ms("2012-06-12 11:54:34.000");
    let r = Rounding {
        value: 10,
        unit: RoundUnit::Minute,
    };
    assert_eq!(
        render("/flume/events/%Y-%m-%d/%H%M/%S", ts, utc(), Some(r)),
        "/flume/events/2012-06-12/1150/00"
    );
}

#[test]
fn every_time_escape_matches_java_simple_date_format_in_english() {
    let ts = utc_ms("2012-06-02 15:04:05.678");
    let got = render(
        "%a|%A|%b|%B|%c|%d|%D|%e|%H|%I|%j|%k|%l|%m|%M|%n|%p|%s|%S|%t|%y|%Y|%z",
        ts,
        utc(),
        None,
    );
    let want = format!(
        "Sat|Saturday|Jun|June|Sat Jun 2 15:04:05 2012|02|06/02/12|2|15|03|154|15|3|06|04|6|PM|{}|05|{}|12|2012|+0000",
        ts / 1000,
        ts
    );
    assert_eq!(got, want);
}

#[test]
fn headers_hosts_and_percent_are_substituted_and_missing_headers_are_empty() {
    let ts = utc_ms("2020-01-01 00:00:00.000");
    assert_eq!(
        render(
            "/l/%{app}/%{nope}/%[localhost]-%[IP]-%[FQDN]/100%%",
            ts,
            utc(),
            None
        ),
        "/l/shop//web1-10.0.0.7-web1.example.com/100%"
    );
}

#[test]
fn a_named_zone_shifts_the_wall_clock_fields() {
    let ts = utc_ms("2021-07-01 03:30:00.000");
    let la = Zone::parse("America/Los_Angeles").unwrap();
    assert_eq!(render("%Y%m%d/%H %z", ts, la, None), "20210630/20 -0700");
    let fixed = Zone::parse("GMT+05:30").unwrap();
    assert_eq!(render("%H%M %z", ts, fixed, None), "0900 +0530");
}

#[test]
fn hour_rounding_happens_on_the_zones_wall_clock() {
    // 07:59 in Kolkata (+05:30) rounds down to 06:00 local with roundValue 3.
    let ts = utc_ms("2021-07-01 02:29:59.000");
    let z = Zone::parse("Asia/Kolkata").unwrap();
    let r = Rounding {
        value: 3,
        unit: RoundUnit::Hour,
    };
    assert_eq!(
        render("%H%M%S %t", ts, z, Some(r)),
        format!("060000 {}", utc_ms("2021-07-01 00:30:00.000"))
    );
    let s = Rounding {
        value: 15,
        unit: RoundUnit::Second,
    };
    assert_eq!(
        render("%M%S", utc_ms("2021-07-01 02:29:59.999"), utc(), Some(s)),
        "2945"
    );
}

#[test]
fn unknown_escapes_and_unclosed_braces_are_refused_with_their_position() {
    let e = PathTemplate::parse("/a/%Q").unwrap_err();
    assert_eq!(e, TemplateError::UnknownEscape { escape: 'Q', at: 3 });
    assert!(e.to_string().contains("%Q at byte 3"), "{e}");
    assert_eq!(
        PathTemplate::parse("/a/%{app").unwrap_err(),
        TemplateError::Unclosed { open: "%{", at: 3 }
    );
    assert!(PathTemplate::parse("/a/%[host]")
        .unwrap_err()
        .to_string()
        .contains("%[host]"));
    assert_eq!(
        PathTemplate::parse("/a/%").unwrap_err(),
        TemplateError::LonePercent { at: 3 }
    );
}

#[test]
fn a_time_escape_without_a_timestamp_says_the_header_is_missing() {
    let t = PathTemplate::parse("/l/%Y").unwrap();
    let e = t
        .render_confined(&Headers::new(), None, utc(), None, &host(), false)
        .unwrap_err();
    assert!(e.to_string().contains("timestamp header is"), "{e}");
    assert!(!PathTemplate::parse("/l/%{a}").unwrap().needs_time());
}
