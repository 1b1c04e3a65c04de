//! Shared helpers of the RPC security tests: a test PKI made with `openssl` (and `keytool`)
//! in a temporary directory, the agent's log lines captured in this process, and avro and
//! thrift sinks built from properties through the real key parser.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, Once};

use sluice::agent::registry::SinkKind;
use sluice::agent::sink::avro::{AvroSink, AvroSinkConfig};
use sluice::agent::sink::thrift::{ThriftSink, ThriftSinkConfig};
use sluice::agent::topology::load;

/// Runs a command, failing the test with its output if it fails.
fn run(dir: &Path, prog: &str, args: &[&str]) {
    let out = Command::new(prog)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e} (run .ci/install-rpcsec.sh)"));
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The test PKI: a CA, server certificates signed by it (good, expired, naming another
/// host), one signed by another CA, as PEM keystores (chain + key), PKCS12 stores, and the
/// CA as PEM and PKCS12 truststores. Every store password is [`PASSWORD`].
pub struct Pki {
    pub dir: PathBuf,
}

/// The password of every PKCS12 store.
pub const PASSWORD: &str = "changeit";

impl Pki {
    /// Generates everything in `dir` (P-256 keys: fast).
    pub fn generate(dir: &Path) -> Pki {
        for ca in ["ca", "otherca"] {
            make_ca(dir, ca);
        }
        std::fs::write(
            dir.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        std::fs::write(dir.join("other.ext"), "subjectAltName=DNS:other.example\n").unwrap();
        // name, signing CA, days (-1 = expired yesterday), extensions
        let certs = [
            ("server", "ca", "365", "san.ext"),
            ("expired", "ca", "-1", "san.ext"),
            ("wrongca", "otherca", "365", "san.ext"),
            ("othername", "ca", "365", "other.ext"),
        ];
        for (name, ca, days, ext) in certs {
            make_signed(dir, name, ca, days, ext);
        }
        make_pkcs12_stores(dir);
        Pki {
            dir: dir.to_owned(),
        }
    }

    /// A file of the PKI.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// Converts `server.p12` with keytool to a store of `kind` (`PKCS12` or `JKS`).
    pub fn keytool_store(&self, kind: &str) -> String {
        let dest = format!("keytool-{}.store", kind.to_lowercase());
        run(
            &self.dir,
            "keytool",
            &[
                "-importkeystore",
                "-noprompt",
                "-srckeystore",
                "server.p12",
                "-srcstoretype",
                "PKCS12",
                "-srcstorepass",
                PASSWORD,
                "-destkeystore",
                &dest,
                "-deststoretype",
                kind,
                "-deststorepass",
                PASSWORD,
            ],
        );
        self.path(&dest)
    }

    /// A source's keys for TLS with the keystore `file` (PEM, or PKCS12 with the password).
    pub fn source_keys(&self, file: &str) -> String {
        format!(
            "ssl = true\nkeystore = {}\nkeystore-password = {PASSWORD}\nkeystore-type = PKCS12\n",
            self.path(file)
        )
    }

    /// A sink's keys for TLS trusting the store `file` (`ca.pem` or `ca.p12`).
    pub fn sink_keys(&self, file: &str) -> String {
        format!(
            "ssl = true\ntruststore = {}\ntruststore-password = {PASSWORD}\n",
            self.path(file)
        )
    }
}

/// An avro sink to `127.0.0.1:<port>` with `keys` (lines without the prefix), read through
/// the real configuration parser; the config's problems when it is refused.
pub fn avro_sink(port: u16, keys: &str) -> Result<AvroSink, String> {
    avro_sink_to("127.0.0.1", port, keys)
}

/// [`avro_sink`] to `host`.
pub fn avro_sink_to(host: &str, port: u16, keys: &str) -> Result<AvroSink, String> {
    match sink_kind("avro", host, port, keys)? {
        SinkKind::Avro(c) => Ok(AvroSink::new("k1", AvroSinkConfig::clone(&c))),
        other => panic!("not an avro sink: {other:?}"),
    }
}

/// A thrift sink to `127.0.0.1:<port>` with `keys`, as [`avro_sink`].
pub fn thrift_sink(port: u16, keys: &str) -> Result<ThriftSink, String> {
    match sink_kind("thrift", "127.0.0.1", port, keys)? {
        SinkKind::Thrift(c) => Ok(ThriftSink::new("k1", ThriftSinkConfig::clone(&c))),
        other => panic!("not a thrift sink: {other:?}"),
    }
}

/// The configuration of a sink of `kind` to `host:port` with `keys`, read through the real
/// parser; the config's problems when it is refused.
fn sink_kind(kind: &str, host: &str, port: u16, keys: &str) -> Result<SinkKind, String> {
    let mut text = format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\na1.sources.r1.type = seq\n\
         a1.sources.r1.channels = c1\na1.channels.c1.type = memory\na1.sinks.k1.type = {kind}\n\
         a1.sinks.k1.channel = c1\na1.sinks.k1.hostname = {host}\na1.sinks.k1.port = {port}\n\
         a1.sinks.k1.connect-timeout = 5000\na1.sinks.k1.request-timeout = 5000\n"
    );
    for l in keys.lines().filter(|l| !l.trim().is_empty()) {
        text.push_str(&format!("a1.sinks.k1.{}\n", l.trim()));
    }
    let loaded = load(&text, "a1", &[]);
    let Some(cfg) = loaded.config else {
        return Err(format!("{:?}", loaded.problems));
    };
    Ok(cfg.sinks["k1"].kind.clone())
}

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Held by a test while it reads the log (an async lock: it is held across awaits).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
static INIT: Once = Once::new();

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures this process's log lines from here on; the tests of a binary run one at a time
/// while they hold the guard (they read each other's lines otherwise).
pub async fn capture_logs() -> tokio::sync::MutexGuard<'static, ()> {
    INIT.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .try_init();
    });
    let guard = SERIAL.lock().await;
    LOG.lock().unwrap_or_else(|e| e.into_inner()).clear();
    guard
}

/// The log lines captured since [`capture_logs`].
pub fn logs() -> String {
    String::from_utf8_lossy(&LOG.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Waits (bounded) until a log line contains every one of `parts`; fails with the log.
pub async fn wait_for_log(parts: &[&str]) -> String {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let text = logs();
        if let Some(l) = text.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
            return l.to_owned();
        }
        assert!(
            std::time::Instant::now() < end,
            "no log line with {parts:?}; log:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The `openssl req` arguments of a new P-256 key without a passphrase.
const EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
];

/// A self-signed CA: `<ca>.key` and `<ca>.pem`.
fn make_ca(dir: &Path, ca: &str) {
    let mut a = vec!["req", "-x509"];
    a.extend(EC_KEY);
    let subj = format!("/CN=Sluice test {ca}");
    let (key, pem) = (format!("{ca}.key"), format!("{ca}.pem"));
    a.extend([
        "-keyout", &key, "-out", &pem, "-subj", &subj, "-days", "3650",
    ]);
    run(dir, "openssl", &a);
}

/// A localhost certificate signed by `ca` valid for `days` (-1: expired yesterday) with the
/// extensions file `ext`, and `<name>-keystore.pem` (chain + key).
fn make_signed(dir: &Path, name: &str, ca: &str, days: &str, ext: &str) {
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let mut a = vec!["req"];
    a.extend(EC_KEY);
    a.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=localhost"]);
    run(dir, "openssl", &a);
    let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    run(
        dir,
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            days,
            "-extfile",
            ext,
        ],
    );
    let keystore = [
        std::fs::read(dir.join(&pem)).unwrap(),
        std::fs::read(dir.join(&key)).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join(format!("{name}-keystore.pem")), keystore).unwrap();
}

/// `server.p12` (the server's key and chain) and `ca.p12` (the CA as a truststore).
fn make_pkcs12_stores(dir: &Path) {
    let pass = format!("pass:{PASSWORD}");
    run(
        dir,
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-in",
            "server.pem",
            "-inkey",
            "server.key",
            "-certfile",
            "ca.pem",
            "-name",
            "server",
            "-out",
            "server.p12",
            "-passout",
            &pass,
        ],
    );
    run(
        dir,
        "openssl",
        &[
            "pkcs12", "-export", "-nokeys", "-in", "ca.pem", "-out", "ca.p12", "-passout", &pass,
        ],
    );
}
