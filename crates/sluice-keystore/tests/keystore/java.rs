//! Keystores made at test time by the JDK's `keytool`, and the key bytes Java itself reads from
//! them (a tiny program compiled with `javac`): the oracle the native reader must match.
//! Passwords travel through UTF-8 files and a UTF-8 locale, so non-ASCII ones arrive intact.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const HINT: &str = "install the JDK's tools with `bash .ci/install-test-deps.sh`";

const PRINT_KEY: &str = r#"
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.security.*;

public class PrintKey {
    static char[] pw(String file) throws IOException {
        return new String(Files.readAllBytes(Paths.get(file)), StandardCharsets.UTF_8).toCharArray();
    }
    public static void main(String[] a) throws Exception {
        KeyStore ks = KeyStore.getInstance(a[0]);
        try (InputStream in = new FileInputStream(a[1])) { ks.load(in, pw(a[2])); }
        Key k = ks.getKey(a[3], pw(a[4]));
        StringBuilder sb = new StringBuilder();
        for (byte b : k.getEncoded()) sb.append(String.format("%02x", b));
        System.out.println(k.getAlgorithm() + " " + sb);
    }
}
"#;

/// A scratch directory with `PrintKey.class` compiled in it, shared by the tests.
pub fn workdir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("PrintKey.java"), PRINT_KEY).expect("write java");
        run(
            Command::new("javac")
                .arg("PrintKey.java")
                .current_dir(dir.path()),
            "javac",
        );
        dir
    })
    .path()
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} ({e}): {HINT}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `text` to a file of the work directory and returns its path.
pub fn text_file(name: &str, text: &str) -> PathBuf {
    let path = workdir().join(name.replace('/', "_"));
    std::fs::write(&path, text).expect("write file");
    path
}

/// `keytool -genseckey` of an AES key into `store` (created if missing).
pub fn genseckey(store: &str, kind: &str, alias: &str, bits: u32, store_pw: &str, key_pw: &str) {
    let sp = text_file(&format!("{store}.{alias}.sp"), store_pw);
    let kp = text_file(&format!("{store}.{alias}.kp"), key_pw);
    let mut cmd = Command::new("keytool");
    cmd.current_dir(workdir())
        .args(["-J-Dfile.encoding=UTF-8", "-genseckey", "-keyalg", "AES"])
        .args(["-alias", alias, "-keysize", &bits.to_string()])
        .args(["-storetype", kind, "-keystore", store])
        .arg("-storepass:file")
        .arg(&sp)
        .arg("-keypass:file")
        .arg(&kp);
    run(&mut cmd, "keytool");
}

/// What Java reads: the key's algorithm and its bytes as lowercase hex.
pub fn java_key(store: &str, kind: &str, alias: &str, store_pw: &str, key_pw: &str) -> String {
    let sp = text_file(&format!("{store}.{alias}.jsp"), store_pw);
    let kp = text_file(&format!("{store}.{alias}.jkp"), key_pw);
    let mut cmd = Command::new("java");
    cmd.current_dir(workdir())
        .args(["-Dfile.encoding=UTF-8", "-cp", ".", "PrintKey", kind, store])
        .arg(&sp)
        .arg(alias)
        .arg(&kp);
    run(&mut cmd, "java PrintKey").trim().to_owned()
}

/// The store's bytes.
pub fn store_bytes(store: &str) -> Vec<u8> {
    std::fs::read(workdir().join(store)).expect("read store")
}

/// Hex of bytes, as `PrintKey` prints them.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
