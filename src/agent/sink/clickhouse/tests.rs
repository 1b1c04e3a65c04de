//! The INSERT requests the sink builds: their URL settings with and without the server's
//! `insert_deduplication_token`, and the same token for a take sent again.

use std::time::Duration;

use sluice_core::dedup::EVENT_ID_HEADER;
use sluice_core::Event;

use super::client::uri;
use super::config::{ClickHouseConfig, Secret};
use super::schema::{parse_describe, plan};
use super::{rows, ClickHouseSink};

fn sink(dedup_token: bool) -> ClickHouseSink {
    let cfg = ClickHouseConfig {
        urls: vec!["http://127.0.0.1:8123".into()],
        database: "logs".into(),
        table: "events".into(),
        user: "default".into(),
        password: Secret::None,
        batch_size: 10,
        batch_bytes_max: 1 << 20,
        gzip: false,
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        columns: Vec::new(),
        tls: None,
    };
    let mut s = ClickHouseSink::new("k1", cfg);
    let d = parse_describe("body\tString\t\t\t\nsluice_id\tString\t\t\t\n");
    s.columns = plan("logs.events", &d, &[]).unwrap();
    s.has_id_column = true;
    s.features.dedup_token = dedup_token;
    s.features.skip_dedup = true;
    s
}

fn take(s: &ClickHouseSink) -> rows::Rows {
    let events: Vec<Event> = (1..=3)
        .map(|i| {
            Event::new(format!("line {i}")).header(EVENT_ID_HEADER, format!("00000000000000ab:{i}"))
        })
        .collect();
    rows::Rows::encode(&s.columns, &events, Vec::new())
}

fn setting(req: &super::InsertRequest, name: &str) -> Option<String> {
    req.params()
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| (*v).to_owned())
}

fn token(req: &super::InsertRequest) -> Option<String> {
    setting(req, "insert_deduplication_token")
}

#[test]
fn where_the_server_has_it_an_insert_carries_a_deduplication_token_of_its_rows() {
    let s = sink(true);
    let rows = take(&s);
    let req = s.insert_request(&rows, &[0, 1, 2]);
    let t = token(&req).expect("a token");
    assert!(t.ends_with(&format!("-3-{}", req.body.len())), "{t}");
    assert_eq!(
        t.split('-').next().map(str::len),
        Some(32),
        "128 bits of SHA-256: {t}"
    );
    let again = s.insert_request(&rows, &[0, 1, 2]);
    assert_eq!(
        token(&again),
        Some(t.clone()),
        "a take sent again, the same token"
    );
    assert_ne!(
        token(&s.insert_request(&rows, &[0, 1])),
        Some(t.clone()),
        "other rows, another token"
    );
    let u = uri("http://h:8123", &req.sql, &req.params(), true);
    assert!(
        u.starts_with("http://h:8123/?query=INSERT%20INTO%20%60logs%60.%60events%60%20FORMAT%20JSONEachRow&query_id=sluice-logs.events-"),
        "{u}"
    );
    assert!(
        req.settings[0].1.starts_with(&s.query_prefix) && s.query_prefix.ends_with('-'),
        "{u}"
    );
    assert!(
        u.contains(&format!("&insert_deduplication_token={t}")),
        "{u}"
    );
}

#[test]
fn on_18_16_an_insert_carries_no_deduplication_token() {
    let s = sink(false);
    let rows = take(&s);
    let req = s.insert_request(&rows, &[0, 1, 2]);
    assert_eq!(token(&req), None);
    let u = uri("http://h:8123", &req.sql, &req.params(), true);
    assert!(!u.contains("insert_deduplication_token"), "{u}");
    assert_eq!(
        req.body,
        &b"{\"body\":\"line 1\",\"sluice_id\":\"00000000000000ab:1\"}\n{\"body\":\"line 2\",\"sluice_id\":\"00000000000000ab:2\"}\n{\"body\":\"line 3\",\"sluice_id\":\"00000000000000ab:3\"}\n"[..]
    );
    let gaps = s.insert_request(&rows, &[0, 2]);
    assert_eq!(
        gaps.body,
        &b"{\"body\":\"line 1\",\"sluice_id\":\"00000000000000ab:1\"}\n{\"body\":\"line 3\",\"sluice_id\":\"00000000000000ab:3\"}\n"[..],
        "rows with a gap between them: copied, in their order"
    );
}

#[test]
fn a_block_without_event_ids_is_sent_with_block_deduplication_off() {
    // The same line twice, one take each, without ids: the same bytes, two events.
    let mut s = sink(true);
    let plain: Vec<Event> = vec![Event::new("same line")];
    let rows = rows::Rows::encode(&s.columns, &plain, Vec::new());
    let req = s.insert_request(&rows, &[0]);
    assert_eq!(setting(&req, "insert_deduplicate").as_deref(), Some("0"));
    assert_eq!(token(&req), None, "no token that would drop the second");
    // With ids, ClickHouse may drop a block sent again.
    let ided = take(&s);
    let req = s.insert_request(&ided, &[0, 1, 2]);
    assert_eq!(setting(&req, "insert_deduplicate"), None);
    assert!(token(&req).is_some());
    // A table without `sluice_id`: no row's bytes hold its id.
    s.has_id_column = false;
    let req = s.insert_request(&ided, &[0, 1, 2]);
    assert_eq!(setting(&req, "insert_deduplicate").as_deref(), Some("0"));
    assert_eq!(token(&req), None);
    // A server without the setting: nothing the server would refuse.
    s.features.skip_dedup = false;
    assert_eq!(
        setting(&s.insert_request(&rows, &[0]), "insert_deduplicate"),
        None
    );
}

#[test]
fn the_query_id_prefix_names_the_host_and_is_safe_in_sql() {
    let mut s = sink(false);
    assert_eq!(
        super::query_prefix(&s.cfg, Some("edge-7.dc".into())),
        "sluice-logs.events-edge-7.dc-"
    );
    s.cfg.table = "ev'ents x".into();
    assert_eq!(super::query_prefix(&s.cfg, None), "sluice-logs.ev_ents_x--");
}

#[test]
fn an_unknown_outcome_on_one_sink_makes_every_sink_of_the_table_read_back() {
    // k1 and k2 take from one channel into one table; k2 loses an INSERT's answer.
    let (mut k1, mut k2) = (sink(false), sink(false));
    k1.cfg.table = "shared_unknowns".into();
    k2.cfg.table = "shared_unknowns".into();
    k1.unknowns = super::shared::Unknowns::of(&k1.cfg.urls, &k1.cfg.qualified());
    k2.unknowns = super::shared::Unknowns::of(&k2.cfg.urls, &k2.cfg.qualified());
    k1.unknowns_seen = k1.unknowns.now();
    let before = k1.unknowns.now();
    k2.unknown_outcome();
    assert!(k2.uncertain);
    assert_ne!(
        k1.unknowns.now(),
        before,
        "k1 sees it: its next take reads back first"
    );
    // Another table's count does not move.
    let other = super::shared::Unknowns::of(&k1.cfg.urls, "logs.elsewhere");
    let o = other.now();
    k2.unknown_outcome();
    assert_eq!(other.now(), o);
}
