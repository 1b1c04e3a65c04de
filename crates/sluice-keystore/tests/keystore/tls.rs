//! The TLS reader (`sluice_keystore::tls`) against PKCS#12 stores `openssl pkcs12
//! -export` (OpenSSL 3's default PBES2/AES-256-CBC, and `-legacy`: RC2-40 and 3DES) and
//! `keytool -importkeystore` (JDK 17: PBES2/AES-256-CBC) write at test time, checked against
//! what `openssl` itself reads from the same stores; wrong passwords, truncation, a scheme
//! Sluice does not read, and the budget of key-derivation iterations per load.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine;
use sluice_keystore::tls::{
    read_pkcs12, read_pkcs12_named, read_pkcs12_within, TlsStore, KDF_ITERATIONS_BUDGET,
};
use sluice_keystore::KeystoreError;

const PASSWORD: &str = "changeit";
const HINT: &str = "install openssl and the JDK's keytool (bash .ci/install-test-deps.sh)";

/// Runs `prog args` in `dir`; its stdout, or the test fails with its stderr.
fn run(dir: &Path, prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {prog} ({e}): {HINT}"));
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CA and a server certificate it signed (P-256 keys), made once: `ca.pem`, `server.pem`,
/// `server.key` (PKCS#8 PEM).
fn pki() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509", "-keyout", "ca.key", "-out", "ca.pem"];
        ca.extend(ec);
        ca.extend(["-subj", "/CN=Sluice test CA", "-days", "30"]);
        run(d, "openssl", &ca);
        let mut req = vec!["req", "-keyout", "server.key", "-out", "server.csr"];
        req.extend(ec);
        req.extend(["-subj", "/CN=localhost"]);
        run(d, "openssl", &req);
        let sign = [
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "30",
        ];
        run(d, "openssl", &sign);
        dir
    })
    .path()
}

/// `openssl pkcs12 -export` of the server's key and chain into `out`, with `extra` flags.
fn openssl_store(out: &str, extra: &[&str]) -> PathBuf {
    let pass = format!("pass:{PASSWORD}");
    let mut args = vec![
        "pkcs12",
        "-export",
        "-in",
        "server.pem",
        "-inkey",
        "server.key",
    ];
    args.extend(["-certfile", "ca.pem", "-name", "server", "-out", out]);
    args.extend(["-passout", &pass]);
    args.extend(extra);
    run(pki(), "openssl", &args);
    pki().join(out)
}

/// `keytool -importkeystore` of the default openssl store into `out`, a PKCS12 store of
/// keytool's (each test its own files: the tests run at once).
fn keytool_store(out: &str) -> PathBuf {
    let src = openssl_store(&format!("{out}.src"), &[]);
    let src = src.display().to_string();
    let args = [
        "-importkeystore",
        "-noprompt",
        "-srckeystore",
        &src,
        "-srcstoretype",
        "PKCS12",
        "-srcstorepass",
        PASSWORD,
        "-destkeystore",
        out,
        "-deststoretype",
        "PKCS12",
        "-deststorepass",
        PASSWORD,
    ];
    run(pki(), "keytool", &args);
    pki().join(out)
}

/// The DER of each PEM block labelled `label` in `pem`.
fn pem_blocks(pem: &str, label: &str) -> Vec<Vec<u8>> {
    let (begin, end) = (
        format!("-----BEGIN {label}-----"),
        format!("-----END {label}-----"),
    );
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(&begin) {
        let body = &rest[start + begin.len()..];
        let stop = body.find(&end).expect("a PEM block ends");
        let b64: String = body[..stop].split_whitespace().collect();
        let der = base64::engine::general_purpose::STANDARD.decode(b64);
        out.push(der.expect("PEM base64"));
        rest = &body[stop..];
    }
    out
}

/// What openssl reads from `store`: its certificates (DER, in openssl's order) and its key.
fn openssl_reads(store: &Path, extra: &[&str]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (store, pass) = (store.display().to_string(), format!("pass:{PASSWORD}"));
    let mut certs = vec!["pkcs12", "-in", &store, "-passin", &pass, "-nokeys"];
    certs.extend(extra);
    let mut key = vec![
        "pkcs12", "-in", &store, "-passin", &pass, "-nocerts", "-nodes",
    ];
    key.extend(extra);
    let certs = pem_blocks(&run(pki(), "openssl", &certs), "CERTIFICATE");
    let keys = pem_blocks(&run(pki(), "openssl", &key), "PRIVATE KEY");
    (certs, keys)
}

fn file_der(name: &str, label: &str) -> Vec<u8> {
    let pem = std::fs::read_to_string(pki().join(name)).expect("read PEM");
    pem_blocks(&pem, label).remove(0)
}

fn read(path: &Path) -> TlsStore {
    let bytes = std::fs::read(path).expect("read store");
    read_pkcs12_named(&path.display().to_string(), &bytes, PASSWORD).expect("read the store")
}

/// The store has one key, named `server`, whose chain is the server's then the CA's
/// certificate, and whose key and certificates are the ones openssl reads from it.
fn assert_key_and_chain(store: &TlsStore, path: &Path, openssl_flags: &[&str]) {
    let [key] = store.keys() else {
        panic!("one key expected in {}: {store:?}", path.display());
    };
    assert_eq!(key.friendly_name(), Some("server"));
    assert!(key.local_key_id().is_some(), "the key has a localKeyId");
    let chain: Vec<&[u8]> = store.chain(key).iter().map(|c| c.der()).collect();
    let want = [
        file_der("server.pem", "CERTIFICATE"),
        file_der("ca.pem", "CERTIFICATE"),
    ];
    assert_eq!(chain, want.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let (mut openssl_certs, openssl_keys) = openssl_reads(path, openssl_flags);
    let mut ours: Vec<Vec<u8>> = store.certs().iter().map(|c| c.der().to_vec()).collect();
    ours.sort();
    openssl_certs.sort();
    assert_eq!(ours, openssl_certs, "the certificates openssl reads");
    assert_eq!(
        openssl_keys,
        [key.pkcs8_der().to_vec()],
        "the key openssl reads"
    );
}

#[test]
fn an_openssl_pkcs12_gives_its_key_and_chain_as_openssl_reads_them() {
    let path = openssl_store("default.p12", &[]);
    let store = read(&path);
    assert_key_and_chain(&store, &path, &[]);
    assert_eq!(
        store.keys()[0].pkcs8_der(),
        file_der("server.key", "PRIVATE KEY"),
        "the key openssl was given"
    );
}

#[test]
fn a_legacy_openssl_pkcs12_with_rc2_and_3des_reads_the_same() {
    let path = openssl_store("legacy.p12", &["-legacy"]);
    let info = Command::new("openssl")
        .args(["pkcs12", "-info", "-noout", "-legacy", "-passin"])
        .arg(format!("pass:{PASSWORD}"))
        .arg("-in")
        .arg(&path)
        .output()
        .expect("openssl");
    let info = String::from_utf8_lossy(&info.stderr);
    assert!(info.contains("pbeWithSHA1And40BitRC2-CBC"), "{info}");
    assert!(info.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{info}");
    assert_key_and_chain(&read(&path), &path, &["-legacy"]);
}

#[test]
fn a_keytool_pkcs12_gives_its_key_and_chain_leaf_first() {
    let path = keytool_store("keytool.p12");
    assert_key_and_chain(&read(&path), &path, &[]);
}

#[test]
fn a_keytool_truststore_lists_its_trusted_certificates() {
    let args = [
        "-importcert",
        "-noprompt",
        "-alias",
        "ca",
        "-file",
        "ca.pem",
        "-keystore",
        "trust.p12",
        "-storetype",
        "PKCS12",
        "-storepass",
        PASSWORD,
    ];
    run(pki(), "keytool", &args);
    let store = read(&pki().join("trust.p12"));
    assert!(store.keys().is_empty());
    let [cert] = store.certs() else {
        panic!("one certificate expected: {store:?}");
    };
    assert_eq!(cert.der(), file_der("ca.pem", "CERTIFICATE"));
    assert_eq!(cert.friendly_name(), Some("ca"));
}

#[test]
fn a_wrong_password_is_the_store_password_error_naming_the_file() {
    for path in [
        openssl_store("wrong-pw.p12", &[]),
        keytool_store("wrong-pw-keytool.p12"),
    ] {
        let name = path.display().to_string();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let err = read_pkcs12_named(&name, &bytes, "not-it").unwrap_err();
        assert!(matches!(err, KeystoreError::StorePassword { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&name) && text.contains("wrong store password"),
            "{text}"
        );
        assert!(!text.contains("not-it"), "the password leaked: {text}");
    }
}

#[test]
fn a_store_without_a_mac_refuses_a_wrong_password_when_its_contents_do_not_decrypt() {
    let path = openssl_store("nomac.p12", &["-nomac"]);
    assert_key_and_chain(&read(&path), &path, &[]);
    let bytes = std::fs::read(&path).expect("read");
    let err = read_pkcs12(&bytes, "not-it").unwrap_err();
    assert!(matches!(err, KeystoreError::StorePassword { .. }), "{err}");
}

#[test]
fn a_truncated_store_is_corrupt_at_every_length_never_a_panic() {
    let bytes = std::fs::read(openssl_store("truncated.p12", &[])).expect("read");
    for len in 0..bytes.len() {
        let err = read_pkcs12(&bytes[..len], PASSWORD).unwrap_err();
        assert!(
            matches!(err, KeystoreError::Corrupt { .. }),
            "{len} of {} bytes: {err}",
            bytes.len()
        );
    }
    let err = read_pkcs12(&bytes[..bytes.len() / 2], PASSWORD).unwrap_err();
    assert!(err.to_string().contains("corrupt or truncated"), "{err}");
}

#[test]
fn contents_encrypted_with_a_scheme_sluice_does_not_read_are_refused_naming_its_oid() {
    // PBES2 with DES-EDE3-CBC for the certificates, and with AES for the key.
    let path = openssl_store("des3.p12", &["-certpbe", "des-ede3-cbc"]);
    let err = read_pkcs12(&std::fs::read(&path).expect("read"), PASSWORD).unwrap_err();
    let KeystoreError::UnsupportedScheme { oid, part, .. } = &err else {
        panic!("not an unsupported scheme: {err}");
    };
    assert_eq!(oid, "1.2.840.113549.3.7", "{err}");
    assert_eq!(part, "the store's content 0", "{err}");
    let text = err.to_string();
    assert!(
        text.contains("DES-EDE3-CBC") && text.contains("re-export"),
        "{text}"
    );
    // pbeWithSHAAnd128BitRC4 for the key: named by its OID, with the key's name.
    let rc4 = [
        "-legacy",
        "-keypbe",
        "PBE-SHA1-RC4-128",
        "-certpbe",
        "AES-256-CBC",
    ];
    let path = openssl_store("rc4.p12", &rc4);
    let err = read_pkcs12(&std::fs::read(&path).expect("read"), PASSWORD).unwrap_err();
    let KeystoreError::UnsupportedScheme {
        oid, part, scheme, ..
    } = &err
    else {
        panic!("not an unsupported scheme: {err}");
    };
    assert_eq!(
        (oid.as_str(), part.as_str(), *scheme),
        (
            "1.2.840.113549.1.12.1.1",
            "key \"server\"",
            "pbeWithSHAAnd128BitRC4"
        ),
        "{err}"
    );
}

/// The stores mutated below: openssl's default, `-legacy`, and `-nomac` (whose contents are
/// reached by every mutation: nothing stops it before decryption).
fn mutation_bases() -> &'static [Vec<u8>; 3] {
    static BASES: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
    BASES.get_or_init(|| {
        let read = |name, flags: &[&str]| std::fs::read(openssl_store(name, flags)).expect("read");
        [
            read("mut-default.p12", &[]),
            read("mut-legacy.p12", &["-legacy"]),
            read("mut-nomac.p12", &["-nomac"]),
        ]
    })
}

/// The keys' and certificates' bytes, to compare two reads.
fn contents(store: &TlsStore) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let keys = store
        .keys()
        .iter()
        .map(|k| k.pkcs8_der().to_vec())
        .collect();
    let certs = store.certs().iter().map(|c| c.der().to_vec()).collect();
    (keys, certs)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 128, ..Default::default() })]

    /// A store with a MAC either reads exactly as before or fails; none panics.
    #[test]
    fn mutated_stores_read_with_the_right_password_never_panic_nor_change_under_a_mac(
        which in 0usize..3,
        edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 0u8..8), 1..4),
    ) {
        let base = &mutation_bases()[which];
        let mut bytes = base.clone();
        for (at, bit) in &edits {
            bytes[at.index(base.len())] ^= 1 << bit;
        }
        let got = read_pkcs12(&bytes, PASSWORD);
        if which < 2 {
            if let Ok(store) = got {
                let want = read_pkcs12(base, PASSWORD).expect("the base store reads");
                proptest::prop_assert_eq!(contents(&store), contents(&want));
            }
        }
    }
}

#[test]
fn a_load_past_its_kdf_budget_is_refused_naming_it_before_or_at_the_derivation_that_passes_it() {
    // OpenSSL 3's defaults: MAC, certificate content and key at 2,048 iterations each.
    let path = openssl_store("budget.p12", &[]);
    let name = path.display().to_string();
    let bytes = std::fs::read(&path).expect("read");
    assert!(read_pkcs12_within(&name, &bytes, PASSWORD, 3 * 2048).is_ok());
    // The MAC and the certificate content are declared in the outer layer: refused unrun.
    let err = read_pkcs12_within(&name, &bytes, PASSWORD, 4095).unwrap_err();
    let KeystoreError::KdfBudget { budget, needed, .. } = &err else {
        panic!("not the budget: {err}");
    };
    assert_eq!((*budget, *needed), (4095, 4096), "{err}");
    // The key is charged when reached, before its derivation.
    let err = read_pkcs12_within(&name, &bytes, PASSWORD, 3 * 2048 - 1).unwrap_err();
    assert!(
        matches!(err, KeystoreError::KdfBudget { needed: 6144, .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&name) && text.contains("KDF_ITERATIONS_BUDGET") && text.contains("6143"),
        "{text}"
    );
}

#[test]
fn stores_of_a_handful_of_bags_at_600000_iterations_load_within_the_default_budget() {
    let path = openssl_store("iter600k.p12", &["-iter", "600000"]);
    // A MAC, a certificate content and a key at 600,000: read with the default budget.
    assert_key_and_chain(&read(&path), &path, &[]);
    let bytes = std::fs::read(&path).expect("read");
    let name = path.display().to_string();
    assert!(read_pkcs12_within(&name, &bytes, PASSWORD, KDF_ITERATIONS_BUDGET).is_ok());
}
