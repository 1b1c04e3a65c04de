//! The keystore reader (`sluice_keystore`) against keystores the JDK's keytool makes at
//! test time, checked against the key bytes Java reads; the reference Flume keystore through
//! `KeyFiles`; wrong passwords, damage and hostile bytes (typed errors, never a panic).

#![allow(
    clippy::disallowed_methods,
    reason = "the tests write keystores and password files with std::fs"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod damage;
mod java;
mod tls;

use sluice_core::io::StdFs;
use sluice_core::keys::KeyFiles;
use sluice_keystore::{Keystore, KeystoreError, KeystoreFormat};

use java::{genseckey, hex, java_key, store_bytes};

fn key_hex(store: &str, alias: &str, store_pw: &str, key_pw: Option<&str>) -> String {
    let ks = Keystore::parse(&store_bytes(store)).expect("parse");
    let key = ks.secret_key(alias, store_pw, key_pw).expect("secret key");
    format!("{} {}", key.algorithm(), hex(key.bytes()))
}

#[test]
fn jceks_aes_keys_with_store_and_own_passwords_match_what_java_reads() {
    let s = "several.jceks";
    genseckey(s, "jceks", "k128", 128, "store-pw", "store-pw");
    genseckey(s, "jceks", "k256", 256, "store-pw", "store-pw");
    genseckey(s, "jceks", "own128", 128, "store-pw", "own-pw-1");
    genseckey(s, "jceks", "own256", 256, "store-pw", "own-pw-2");
    let ks = Keystore::parse(&store_bytes(s)).expect("parse");
    assert_eq!(ks.format(), KeystoreFormat::Jceks);
    let mut aliases = ks.aliases();
    aliases.sort();
    assert_eq!(aliases, ["k128", "k256", "own128", "own256"]);
    for (alias, key_pw, bits) in [
        ("k128", None, 128),
        ("k256", None, 256),
        ("own128", Some("own-pw-1"), 128),
        ("own256", Some("own-pw-2"), 256),
    ] {
        let ours = key_hex(s, alias, "store-pw", key_pw);
        let java = java_key(s, "JCEKS", alias, "store-pw", key_pw.unwrap_or("store-pw"));
        assert_eq!(ours, java, "{alias}");
        assert_eq!(ours.len(), "AES ".len() + bits / 4, "{alias}");
    }
}

#[test]
fn pkcs12_secret_keys_match_what_java_reads() {
    let s = "keys.p12";
    genseckey(s, "pkcs12", "p128", 128, "p12-store-pw", "p12-store-pw");
    genseckey(s, "pkcs12", "p256", 256, "p12-store-pw", "p12-store-pw");
    let ks = Keystore::parse(&store_bytes(s)).expect("parse");
    assert_eq!(ks.format(), KeystoreFormat::Pkcs12);
    for alias in ["p128", "p256"] {
        let ours = key_hex(s, alias, "p12-store-pw", None);
        assert_eq!(
            ours,
            java_key(s, "PKCS12", alias, "p12-store-pw", "p12-store-pw")
        );
    }
    let key = ks.secret_key("p256", "p12-store-pw", None).expect("key");
    assert_eq!((key.algorithm(), key.len_bits()), ("AES", 256));
}

/// JDK 17's keytool refuses non-ASCII passwords for PKCS12 stores ("Password is not ASCII":
/// its PBES2 key protection), so only JCEKS, whose store digest takes UTF-16, can have one.
#[test]
fn a_non_ascii_jceks_store_password_works() {
    let pw = "stø-pässwörd-密码";
    genseckey("nonascii.jceks", "jceks", "k", 128, pw, "ascii-key-pw");
    let ours = key_hex("nonascii.jceks", "k", pw, Some("ascii-key-pw"));
    assert_eq!(
        ours,
        java_key("nonascii.jceks", "JCEKS", "k", pw, "ascii-key-pw")
    );
}

#[test]
fn a_non_ascii_jceks_key_password_is_refused_as_java_refuses_it() {
    genseckey("ascii-key.jceks", "jceks", "k", 128, "store-pw", "store-pw");
    let ks = Keystore::parse(&store_bytes("ascii-key.jceks")).expect("parse");
    let err = ks.secret_key("k", "store-pw", Some("kéy")).unwrap_err();
    assert!(matches!(err, KeystoreError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("non-ASCII"), "{err}");
}

/// `shared/reference` beside the repository or one of its parents, or `$SLUICE_SHARED`.
fn shared_reference() -> std::path::PathBuf {
    if let Some(s) = std::env::var_os("SLUICE_SHARED") {
        return std::path::PathBuf::from(s).join("reference");
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.ancestors()
        .map(|a| a.join("shared/reference"))
        .find(|p| p.is_dir())
        .expect("no shared/reference beside the repository (set SLUICE_SHARED)")
}

#[test]
fn the_reference_flume_keystore_loads_through_key_files_as_flume_configures_it() {
    let dir = shared_reference().join("flume-channel/encrypted/keys");
    let files = KeyFiles {
        keystore_file: dir.join("keystore.jceks"),
        store_password_file: dir.join("keystore.password"),
        keys: vec![
            ("key-0".to_owned(), None),
            ("key-1".to_owned(), Some(dir.join("key-1.password"))),
        ],
    };
    let loaded = sluice_keystore::load_key_files(&StdFs, &files).expect("load");
    let bits: Vec<_> = loaded
        .keys
        .iter()
        .map(|k| (k.alias(), k.len_bits()))
        .collect();
    assert_eq!(bits, [("key-0", 128), ("key-1", 256)]);
    let store = dir.join("keystore.jceks").display().to_string();
    let java0 = java::java_key(&store, "JCEKS", "key-0", "store-pass-0", "store-pass-0");
    let java1 = java::java_key(&store, "JCEKS", "key-1", "store-pass-0", "key-pass-1");
    assert_eq!(format!("AES {}", hex(loaded.keys[0].bytes())), java0);
    assert_eq!(format!("AES {}", hex(loaded.keys[1].bytes())), java1);
    for w in &loaded.warnings {
        assert!(!w.message.contains("store-pass-0") && !w.message.contains("key-pass-1"));
    }
}
