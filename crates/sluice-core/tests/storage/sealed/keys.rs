//! Sealed segments and their keys: keys rotate, a retired key still needed is refused by
//! name, a wrong password or a missing keystore is one error naming the file and the key.

use super::{bodies, put_all, sealed_config};
use crate::common::{drain, Bed};
use sluice_core::io::write_file_atomic;
use sluice_core::FileChannel;

#[test]
fn keys_rotate_and_a_retired_key_still_needed_is_refused_by_name() {
    for bed in Bed::both() {
        let mut config = sealed_config(&bed, "key-0");
        let early = bodies("k0", 150);
        put_all(&bed.open(&config), &early);
        config.encryption.as_mut().unwrap().active_key = "key-1".into();
        let late = bodies("k1", 150);
        {
            let ch = bed.open(&config);
            put_all(&ch, &late);
            let by = ch.sealed_by();
            let aliases: Vec<&str> = by.iter().map(|(a, _)| a.as_str()).collect();
            assert_eq!(aliases, ["key-0", "key-1"], "oldest key first: {by:?}");
        }
        let mut without = config.clone();
        without
            .encryption
            .as_mut()
            .unwrap()
            .key_files
            .keys
            .retain(|(a, _)| a != "key-0");
        let e = FileChannel::open_with_fs(without, bed.fs.clone())
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"key-0\"") && e.contains("segment"), "{e}");
        let mut plain = config.clone();
        plain.encryption = None;
        let e = FileChannel::open_with_fs(plain, bed.fs.clone())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no encryption") && e.contains("\"key-0\""),
            "{e}"
        );
        let ch = bed.open(&config);
        let got = drain(&ch);
        assert_eq!(got, [early, late].concat(), "every event once, in order");
    }
}

#[test]
fn a_wrong_password_or_missing_file_is_one_error_naming_the_file_and_the_key() {
    let bed = Bed::sim(3);
    let config = sealed_config(&bed, "key-1");
    let files = &config.encryption.as_ref().unwrap().key_files;
    write_file_atomic(bed.fs.as_ref(), &files.store_password_file, b"wrong\n").unwrap();
    let e = FileChannel::open_with_fs(config.clone(), bed.fs.clone())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("keystore.jceks") || e.contains("keystore.password"),
        "{e}"
    );
    assert!(!e.contains('\n'), "one line: {e}");
    let mut missing = config.clone();
    missing.encryption.as_mut().unwrap().key_files.keystore_file = bed.root.join("keys/none.jceks");
    let e = FileChannel::open_with_fs(missing, bed.fs.clone())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("none.jceks") && e.contains("keyStoreFile"),
        "{e}"
    );
}
