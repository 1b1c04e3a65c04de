//! A PKCS12 keystore (keytool's default store type) seals the channel as a JCEKS one does:
//! `sluice channel put`, `dump` and `verify` with its key.

use std::process::Command;

use super::{assert_no_plaintext, lines, secret, with_stdin, MARKER};

/// A PKCS12 keystore (keytool's default store type) works as a JCEKS one does: events put
/// with `sluice channel put` are sealed, read back by `dump`, and `verify` checks every tag.
#[test]
fn a_pkcs12_keystore_seals_the_channel_too() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let out = Command::new("keytool")
        .current_dir(dir)
        .args([
            "-genseckey",
            "-alias",
            "p12-key",
            "-keyalg",
            "AES",
            "-keysize",
            "256",
        ])
        .args(["-storetype", "pkcs12", "-keystore", "keys/keys.p12"])
        .args(["-storepass", "p12-secret", "-keypass", "p12-secret"])
        .output()
        .expect("run keytool");
    assert!(
        out.status.success(),
        "keytool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    secret(&dir.join("keys/p12.password"), "p12-secret\n");
    let run = |verb: &str, stdin: &str| {
        let mut args: Vec<String> = [
            "channel",
            verb,
            "--checkpoint-dir",
            "ckpt",
            "--data-dirs",
            "data",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for kv in [
            "encryption.activeKey=p12-key",
            "encryption.cipherProvider=AESCTRNOPADDING",
            "encryption.keyProvider=JCEKSFILE",
            "encryption.keyProvider.keyStoreFile=keys/keys.p12",
            "encryption.keyProvider.keyStorePasswordFile=keys/p12.password",
            "encryption.keyProvider.keys=p12-key",
        ] {
            args.push("--set".into());
            args.push(kv.into());
        }
        with_stdin(dir, &args, stdin)
    };
    std::fs::create_dir_all(dir.join("ckpt")).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let events: String = lines("p12", 200).iter().map(|l| format!("{l}\n")).collect();
    let put = run("put", &events);
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    assert_no_plaintext(dir);
    let verify = run("verify", "");
    let err = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success() && err.contains("p12-key="), "{err}");
    let dump = run("dump", "");
    let text = String::from_utf8_lossy(&dump.stdout);
    assert_eq!(text.matches(MARKER).count(), 200, "{text}");
}
