//! Build script: records what identifies this build for `sluice --version` and the
//! `sluice_build_info` series: the git commit
//! (`SLUICE_COMMIT` overrides it; `unknown` outside a git checkout), the build date (from
//! `SOURCE_DATE_EPOCH` when set, for reproducible builds) and the target triple; and generates
//! the otlp source's request types (`src/agent/otlp/borrowed.rs`) from the OTLP `.proto` files
//! vendored in `proto/`: protox compiles them (no `protoc`), every `string` field is read as
//! `bytes` (the same wire type, length-delimited), and prost-build generates `bytes::Bytes` for
//! every bytes field, so a decoded request's strings and bodies are slices of the received
//! buffer, not copies.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// `YYYY-MM-DD` of a Unix time (days to civil date, after Howard Hinnant's algorithm).
fn civil_date(secs: u64) -> String {
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The vendored OTLP file whose messages (and their imports') the source decodes.
const OTLP_LOGS_PROTO: &str = "opentelemetry/proto/collector/logs/v1/logs_service.proto";
/// Where the vendored `.proto` files are (imports resolve against it).
const PROTO_DIR: &str = "proto";
/// The generated module tree, in `OUT_DIR`.
const OTLP_BORROWED_RS: &str = "otlp_borrowed.rs";

/// A message's `string` fields (its nested messages' too) typed `bytes`.
fn strings_as_bytes(m: &mut prost_types::DescriptorProto) {
    use prost_types::field_descriptor_proto::Type;
    for f in &mut m.field {
        if f.r#type() == Type::String {
            f.set_type(Type::Bytes);
        }
    }
    m.nested_type.iter_mut().for_each(strings_as_bytes);
}

/// Generates the otlp source's borrowing request types into `OUT_DIR`.
fn otlp_borrowed() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_DIR}");
    let mut fds = protox::compile([OTLP_LOGS_PROTO], [PROTO_DIR])?;
    for file in &mut fds.file {
        file.message_type.iter_mut().for_each(strings_as_bytes);
    }
    prost_build::Config::new()
        .bytes(["."])
        .include_file(OTLP_BORROWED_RS)
        .compile_fds(fds)?;
    Ok(())
}

fn main() {
    if let Err(e) = otlp_borrowed() {
        println!("cargo:warning=cannot generate the OTLP types from {PROTO_DIR}/: {e}");
        std::process::exit(1);
    }
    println!("cargo:rerun-if-env-changed=SLUICE_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=build.rs");
    // A new commit changes HEAD's ref (a loose file, or packed-refs); a missing file is not
    // named, or this script would run at every build.
    let mut watched: Vec<String> = ["HEAD", "packed-refs"]
        .iter()
        .filter_map(|n| git(&["rev-parse", "--git-path", n]))
        .collect();
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.extend(git(&["rev-parse", "--git-path", &r]));
    }
    for p in watched {
        if std::path::Path::new(&p).is_file() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let commit = std::env::var("SLUICE_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=SLUICE_COMMIT={commit}");
    println!("cargo:rustc-env=SLUICE_BUILD_DATE={}", civil_date(secs));
    println!("cargo:rustc-env=SLUICE_TARGET={target}");
}
