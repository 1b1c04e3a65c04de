//! `Headers` against a `BTreeMap<String, String>` model: after every insert, insert-if-absent,
//! remove, retain or clear, the pairs, their order, lookups and byte count must be the map's.

use std::collections::BTreeMap;

use proptest::prelude::*;
use sluice_core::{Event, Headers};

#[derive(Debug, Clone)]
enum Op {
    Insert(String, String),
    InsertIfAbsent(String, String),
    Remove(String),
    /// Keeps the pairs whose key is not longer than this.
    RetainKeysUpTo(usize),
    Clear,
}

/// Few distinct keys (so replacing and removing happen often), some non-ASCII and empty.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-d]{1,3}",
        Just("ключ".to_owned()),
        Just("timestamp".to_owned()),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9]{0,12}", "\\PC{0,6}"]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (key(), value()).prop_map(|(k, v)| Op::Insert(k, v)),
        2 => (key(), value()).prop_map(|(k, v)| Op::InsertIfAbsent(k, v)),
        2 => key().prop_map(Op::Remove),
        1 => (0usize..4).prop_map(Op::RetainKeysUpTo),
        1 => Just(Op::Clear),
    ]
}

fn assert_same(h: &Headers, model: &BTreeMap<String, String>) {
    let pairs: Vec<(&str, &str)> = h.iter().collect();
    let want: Vec<(&str, &str)> = model
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(pairs, want);
    assert_eq!(h.len(), model.len());
    assert_eq!(h.is_empty(), model.is_empty());
    let bytes: usize = model.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert_eq!(h.text_bytes(), bytes);
    for k in ["", "a", "ab", "ключ", "timestamp", "zz"] {
        assert_eq!(h.get(k), model.get(k).map(String::as_str), "key {k:?}");
        assert_eq!(h.contains_key(k), model.contains_key(k));
    }
    assert_eq!(&h.to_map(), model);
    assert_eq!(&Headers::from(model.clone()), h);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn headers_behave_as_a_sorted_map(ops in prop::collection::vec(op(), 1..60)) {
        let mut h = Headers::new();
        let mut model = BTreeMap::new();
        for op in ops {
            match op {
                Op::Insert(k, v) => {
                    h.insert(&k, &v);
                    model.insert(k, v);
                }
                Op::InsertIfAbsent(k, v) => {
                    h.insert_if_absent(&k, || v.clone());
                    model.entry(k).or_insert(v);
                }
                Op::Remove(k) => {
                    assert_eq!(h.remove(&k), model.remove(&k));
                }
                Op::RetainKeysUpTo(n) => {
                    h.retain(|k, _| k.chars().count() <= n);
                    model.retain(|k, _| k.chars().count() <= n);
                }
                Op::Clear => {
                    h.clear();
                    model.clear();
                }
            }
            assert_same(&h, &model);
        }
        // An event built from the map carries the same headers.
        let e = Event::with_headers(model.clone(), b"x".to_vec());
        assert_same(&e.headers, &model);
    }
}
