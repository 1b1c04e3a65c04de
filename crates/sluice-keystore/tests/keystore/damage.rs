//! Wrong passwords, missing aliases, damaged, truncated and hostile keystores, and bad key
//! files: each a typed error naming what is wrong, never a panic (the fuzz body runs here on
//! random bytes and on mutations of real keystores).

use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use sluice_core::io::StdFs;
use sluice_core::keys::KeyFiles;
use sluice_keystore::{EntryKind, Keystore, KeystoreError};

use crate::java::{genseckey, store_bytes, text_file, workdir};

#[path = "../../../../fuzz/src/keystore_parse.rs"]
mod keystore_parse;

/// A JCEKS store (`a` with the store password, `b` with `key-pw`) and a PKCS12 one.
fn stores() -> &'static (Vec<u8>, Vec<u8>) {
    static STORES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    STORES.get_or_init(|| {
        genseckey("damage.jceks", "jceks", "a", 128, "store-pw", "store-pw");
        genseckey("damage.jceks", "jceks", "b", 256, "store-pw", "key-pw");
        genseckey("damage.p12", "pkcs12", "a", 128, "store-pw", "store-pw");
        (store_bytes("damage.jceks"), store_bytes("damage.p12"))
    })
}

#[test]
fn a_wrong_store_password_is_reported_as_wrong_password_or_damage() {
    for bytes in [&stores().0, &stores().1] {
        let ks = Keystore::parse(bytes).expect("parse");
        let err = ks.secret_key("a", "not-it", None).unwrap_err();
        assert!(matches!(err, KeystoreError::StorePassword { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("wrong store password") && text.contains("damaged"),
            "{text}"
        );
        assert!(!text.contains("not-it"), "the password leaked: {text}");
    }
}

#[test]
fn a_wrong_key_password_names_the_alias() {
    let ks = Keystore::parse(&stores().0).expect("parse");
    let err = ks.secret_key("b", "store-pw", Some("nope")).unwrap_err();
    assert!(
        matches!(&err, KeystoreError::KeyPassword { alias, .. } if alias == "b"),
        "{err}"
    );
    assert!(
        ks.secret_key("b", "store-pw", None).is_err(),
        "store password opened key b"
    );
    assert_eq!(
        ks.secret_key("B", "store-pw", Some("key-pw"))
            .unwrap()
            .len_bits(),
        256
    );
}

#[test]
fn a_missing_alias_lists_the_aliases_present() {
    let ks = Keystore::parse(&stores().0).expect("parse");
    let err = ks.secret_key("key-9", "store-pw", None).unwrap_err();
    match &err {
        KeystoreError::NoSuchAlias { alias, present, .. } => {
            assert_eq!(alias, "key-9");
            let mut present = present.clone();
            present.sort();
            assert_eq!(present, ["a", "b"]);
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("a, b") || err.to_string().contains("b, a"));
}

#[test]
fn every_single_bit_flip_is_a_typed_error_never_a_wrong_key() {
    for bytes in [&stores().0, &stores().1] {
        let good = Keystore::parse(bytes)
            .unwrap()
            .secret_key("a", "store-pw", None)
            .unwrap();
        for i in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            if let Ok(ks) = Keystore::parse(&bad) {
                if let Ok(key) = ks.secret_key("a", "store-pw", None) {
                    // Only bytes outside what the digest or MAC covers may change silently.
                    assert_eq!(key.bytes(), good.bytes(), "flip at {i} changed the key");
                }
            }
        }
    }
}

#[test]
fn a_keystore_truncated_at_every_length_is_a_typed_error() {
    for bytes in [&stores().0, &stores().1] {
        for len in 0..bytes.len() {
            let result =
                Keystore::parse(&bytes[..len]).and_then(|ks| ks.secret_key("a", "store-pw", None));
            assert!(result.is_err(), "truncated to {len} bytes, still read");
        }
    }
    let err = Keystore::parse(&stores().0[..100]).unwrap_err();
    assert!(matches!(err, KeystoreError::Corrupt { .. }), "{err}");
}

#[test]
fn a_jks_keystore_is_refused_with_a_hint() {
    let mut jks = vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 0];
    jks.extend([0u8; 20]);
    let err = Keystore::parse(&jks).unwrap_err();
    assert!(matches!(err, KeystoreError::Jks { .. }), "{err}");
    assert!(err.to_string().contains("keytool -genseckey"), "{err}");
}

#[test]
fn a_directory_given_as_a_password_file_names_the_file_and_its_config_key() {
    let store = workdir().join("damage.jceks");
    let _ = stores();
    let files = KeyFiles {
        keystore_file: store.clone(),
        store_password_file: text_file("damage.storepw", "store-pw\n"),
        keys: vec![("b".to_owned(), Some(workdir().to_path_buf()))],
    };
    let err = sluice_keystore::load_key_files(&StdFs, &files).unwrap_err();
    assert!(
        matches!(&err, KeystoreError::NotAFile { config_key, .. } if config_key == "keys.b.passwordFile"),
        "{err}"
    );
    let missing = KeyFiles {
        store_password_file: PathBuf::from("/nonexistent/pw"),
        ..files.clone()
    };
    let err = sluice_keystore::load_key_files(&StdFs, &missing).unwrap_err();
    assert!(err.to_string().contains("keyStorePasswordFile"), "{err}");
}

#[test]
fn key_files_trim_one_line_ending_and_warn_about_readable_files() {
    let _ = stores();
    let pw = text_file("damage.keypw", "key-pw\r\n");
    std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let files = KeyFiles {
        keystore_file: workdir().join("damage.jceks"),
        store_password_file: text_file("damage.storepw2", "store-pw\n"),
        keys: vec![("a".to_owned(), None), ("b".to_owned(), Some(pw.clone()))],
    };
    let loaded = sluice_keystore::load_key_files(&StdFs, &files).expect("load");
    assert_eq!(loaded.keys.len(), 2);
    assert!(
        loaded.warnings.iter().any(|w| w.path == pw),
        "{:?}",
        loaded.warnings
    );
    assert!(loaded
        .warnings
        .iter()
        .all(|w| !w.message.contains("key-pw")));
}

#[test]
fn a_secret_keys_debug_shows_no_key_bytes() {
    let ks = Keystore::parse(&stores().0).expect("parse");
    let key = ks.secret_key("a", "store-pw", None).expect("key");
    let debug = format!("{key:?}");
    assert!(
        debug.contains("len_bits: 128") && debug.contains("AES"),
        "{debug}"
    );
    let hex: String = key.bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert!(!debug.contains(&hex) && !debug.contains(&format!("{:?}", key.bytes())));
    let _ = EntryKind::SecretKey;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), magic in 0usize..3) {
        let mut input = match magic {
            0 => vec![0xCE, 0xCE, 0xCE, 0xCE, 0, 0, 0, 2],
            1 => vec![0x30],
            _ => Vec::new(),
        };
        input.extend(bytes);
        keystore_parse::run(&input);
    }

    #[test]
    fn mutated_real_keystores_never_panic(
        which in 0usize..2,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = if which == 0 { stores().0.clone() } else { stores().1.clone() };
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        keystore_parse::run(&bytes);
        let len = cut.index(bytes.len() + 1);
        keystore_parse::run(&bytes[..len]);
    }
}
