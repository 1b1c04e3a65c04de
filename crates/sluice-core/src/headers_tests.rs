//! Tests of [`Headers`]: key order, the inline index, rewrites bounding the buffer, and
//! equality, map form and `Debug` independent of the buffer's layout.

use super::*;

#[test]
fn pairs_come_back_in_key_order_with_the_last_value_of_each_key() {
    let mut h = Headers::new();
    h.insert("b", "2");
    h.insert("a", "1");
    h.insert("", "");
    h.insert("b", "two");
    h.insert("ключ", "значение");
    let pairs: Vec<_> = h.iter().collect();
    assert_eq!(
        pairs,
        [("", ""), ("a", "1"), ("b", "two"), ("ключ", "значение")]
    );
    assert_eq!((h.get("b"), h.get("c")), (Some("two"), None));
    assert_eq!(&h["a"], "1");
    assert_eq!(h.text_bytes(), 1 + 1 + 1 + 3 + "ключзначение".len());
}

#[test]
fn up_to_three_pairs_are_indexed_inline_and_a_fourth_moves_the_index_out() {
    let mut h = Headers::with_capacity(2);
    for k in ["timestamp", "host", "topic"] {
        h.insert(k, "v");
    }
    assert!(!h.index.spilled(), "three pairs allocated an index");
    h.insert("file", "v");
    assert!(h.index.spilled());
    assert_eq!(
        h.keys().collect::<Vec<_>>(),
        ["file", "host", "timestamp", "topic"]
    );
}

#[test]
fn remove_retain_and_many_rewrites_keep_the_pairs_and_bound_the_buffer() {
    let mut h: Headers = [("k", "v"), ("x", "y")].into();
    assert_eq!(h.remove("k").as_deref(), Some("v"));
    assert_eq!(h.remove("k"), None);
    for i in 0..1000 {
        h.insert("x", i.to_string());
    }
    assert_eq!(h.get("x"), Some("999"));
    assert!(h.text.len() <= 4 * h.text_bytes(), "{}", h.text.len());
    h.extend([("a", "1"), ("b", "2"), ("c", "3")]);
    h.retain(|k, _| k != "b");
    assert_eq!(h.keys().collect::<Vec<_>>(), ["a", "c", "x"]);
    h.retain(|_, _| false);
    assert!(h.is_empty());
    assert_eq!(h.text_bytes(), 0);
}

#[test]
fn equality_map_form_and_debug_ignore_the_buffer_layout() {
    let mut a = Headers::new();
    a.insert("h", "old");
    a.insert("h", "new");
    let b: Headers = [("h", "new")].into();
    assert_eq!(a, b);
    assert_ne!(a, Headers::new());
    assert_eq!(a.to_map(), BTreeMap::from([("h".into(), "new".into())]));
    assert_eq!(Headers::from(a.to_map()), b);
    assert_eq!(format!("{a:?}"), r#"{"h": "new"}"#);
}

proptest::proptest! {
    /// Any mix of inserts (in order, out of order, replacing), removals and retains gives
    /// the pairs and lookups a `BTreeMap` gives.
    #[test]
    fn behaves_as_a_sorted_map(
        ops in proptest::collection::vec(
            (0u8..4, proptest::sample::select(vec!["", "a", "b", "hos", "host", "hostname", "sluiceId", "sluiceIdx", "timestamp", "ключ", "z"]), "[a-z0-9]{0,6}"),
            0..40,
        )
    ) {
        let (mut h, mut model) = (Headers::new(), BTreeMap::new());
        for (op, key, value) in ops {
            match op {
                0 | 1 => {
                    h.insert(key, &value);
                    model.insert(key.to_owned(), value);
                }
                2 => proptest::prop_assert_eq!(h.remove(key), model.remove(key)),
                _ => {
                    h.retain(|k, _| k != key);
                    model.remove(key);
                }
            }
            for probe in ["", "a", "hos", "host", "hostnam", "sluiceId", "ключ", "zz"] {
                proptest::prop_assert_eq!(h.get(probe), model.get(probe).map(String::as_str));
            }
        }
        proptest::prop_assert_eq!(h.to_map(), model);
    }

    /// Keys order as `str`s do: prefixes, equal keys, bytes past 0x7f, any length.
    #[test]
    fn keys_order_as_their_bytes(a in "[ab\\x00\\x7fé]{0,12}", b in "[ab\\x00\\x7fé]{0,12}") {
        proptest::prop_assert_eq!(super::key_cmp(a.as_bytes(), b.as_bytes()), a.cmp(&b));
        proptest::prop_assert_eq!(super::key_cmp(b.as_bytes(), a.as_bytes()), b.cmp(&a));
        proptest::prop_assert_eq!(super::key_cmp(a.as_bytes(), a.as_bytes()), std::cmp::Ordering::Equal);
    }
}

#[test]
fn headers_sized_up_front_take_pairs_past_their_room() {
    let mut h = Headers::with_capacity_text(1, 4);
    h.insert("timestamp", "1065910455003");
    h.insert("Facility", "4");
    h.insert("host", "h");
    assert_eq!(
        h.iter().collect::<Vec<_>>(),
        [
            ("Facility", "4"),
            ("host", "h"),
            ("timestamp", "1065910455003")
        ]
    );
    assert_eq!(h.get("host"), Some("h"));
}

#[test]
fn insertion_order_survives_replaced_values_of_any_length_removals_and_rebuilds() {
    let mut h = Headers::new();
    for (k, v) in [
        ("headerKey2", "v2"),
        ("datacenter", "NYC"),
        ("a", "1"),
        ("z", "26"),
    ] {
        h.insert(k, v);
    }
    h.insert("datacenter", "NEW_YORK_CITY");
    h.insert("headerKey2", "x");
    h.insert("a", "1");
    let keys = |h: &Headers| {
        h.iter_inserted()
            .map(|(k, _)| k.to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&h), ["headerKey2", "datacenter", "a", "z"]);
    assert_eq!(h.get("datacenter"), Some("NEW_YORK_CITY"));
    assert_eq!(h.get("z"), Some("26"));
    h.remove("headerKey2");
    h.insert("headerKey2", "back");
    assert_eq!(keys(&h), ["datacenter", "a", "z", "headerKey2"]);
    // Enough removals to rebuild the buffer: the order stays.
    for i in 0..50 {
        h.insert(format!("tmp{i}"), "t");
    }
    h.retain(|k, _| !k.starts_with("tmp"));
    assert!(h.unused == 0 || h.unused <= h.text.len() / 2);
    assert_eq!(keys(&h), ["datacenter", "a", "z", "headerKey2"]);
    assert_eq!(h.iter_inserted().len(), 4);
}

proptest::proptest! {
    /// Whatever the mix of inserts, replacements and removals, `iter_inserted` gives the pairs
    /// in the order their keys were first inserted since they were last removed.
    #[test]
    fn iter_inserted_follows_a_model_of_first_insertions(
        ops in proptest::collection::vec(
            (0u8..4, proptest::sample::select(vec!["", "a", "b", "host", "datacenter", "headerKey2", "sluiceId", "timestamp", "ключ", "z"]), "[a-z0-9]{0,9}"),
            0..60,
        )
    ) {
        let mut h = Headers::new();
        let mut model: Vec<(String, String)> = Vec::new();
        for (op, key, value) in ops {
            if op == 3 {
                h.remove(key);
                model.retain(|(k, _)| k != key);
            } else {
                h.insert(key, &value);
                match model.iter_mut().find(|(k, _)| k == key) {
                    Some(pair) => pair.1 = value,
                    None => model.push((key.to_owned(), value)),
                }
            }
            let got: Vec<(String, String)> = h
                .iter_inserted()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            proptest::prop_assert_eq!(&got, &model);
        }
    }
}

#[test]
fn a_copy_with_room_is_equal_and_takes_its_extra_pairs_without_growing() {
    let mut template = Headers::new();
    for (k, v) in [
        ("k8s.pod.name", "web-1"),
        ("k8s.namespace.name", "shop"),
        ("a", "1"),
        ("z", "26"),
        ("k8s.container.name", "app"),
    ] {
        template.insert(k, v);
    }
    template.remove("a");
    let mut copy = template.clone_with_room(2, 32);
    assert_eq!(copy, template);
    assert!(copy.iter_inserted().eq(template.iter_inserted()));
    let (text_cap, index_cap) = (copy.text.capacity(), copy.index.capacity());
    copy.insert("log.iostream", "stdout");
    copy.insert("timestamp", "1764417600123");
    copy.insert("sluiceId", "0123456789abcdef:42");
    assert_eq!(copy.text.capacity(), text_cap);
    assert!(copy.index.capacity() >= index_cap);
    let mut by_insert = template.clone();
    by_insert.insert("log.iostream", "stdout");
    by_insert.insert("timestamp", "1764417600123");
    by_insert.insert("sluiceId", "0123456789abcdef:42");
    assert_eq!(copy, by_insert);
    assert!(copy.iter_inserted().eq(by_insert.iter_inserted()));
    assert_eq!(template.len(), 4);
}

#[test]
fn an_id_added_after_a_timestamp_is_walked_last_without_a_sort() {
    let mut h = Headers::new();
    let mut model = Vec::new();
    for k in [
        "k8s.container.name",
        "k8s.namespace.name",
        "k8s.pod.name",
        "log.iostream",
    ] {
        h.insert(k, "v");
        model.push(k);
    }
    h.insert("timestamp", "1700000000000");
    h.insert("sluiceId", "0123456789abcdef:42");
    model.extend(["timestamp", "sluiceId"]);
    let it = h.iter_inserted();
    assert!(matches!(
        it.order,
        super::InsertedOrder::Walk { late: Some(4) }
    ));
    assert_eq!(it.map(|(k, _)| k).collect::<Vec<_>>(), model);
    assert_eq!(h.get("sluiceId"), Some("0123456789abcdef:42"));
    assert_eq!(h.get("timestamp"), Some("1700000000000"));
    assert_eq!(h.get("log.iostream"), Some("v"));
    assert_eq!(h.get("k8s.pod.name"), Some("v"));
    assert_eq!(h.get("m"), None);

    // Two pairs out of key order: sorted, still in insertion order.
    h.insert("a", "first of all keys, inserted last");
    model.push("a");
    let it = h.iter_inserted();
    assert!(matches!(it.order, super::InsertedOrder::Sorted(_)));
    assert_eq!(it.map(|(k, _)| k).collect::<Vec<_>>(), model);
}
