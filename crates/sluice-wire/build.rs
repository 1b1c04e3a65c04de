//! Build script: generates the OTLP logs request types (`src/otlp/borrowed.rs`) from the
//! OpenTelemetry `.proto` files vendored in `proto/`: protox compiles them (no `protoc`),
//! every `string` field is read as `bytes` (the same wire type, length-delimited), and
//! prost-build generates `bytes::Bytes` for every bytes field, so a decoded request's strings
//! and bodies are slices of the received buffer, not copies. It also generates the same
//! messages as plain owned types (`String`, `Vec<u8>`: what `opentelemetry-proto` generates),
//! which only the crate's tests include (`src/otlp/owned.rs`), as the encoder's reference.

/// The vendored OTLP file whose messages (and their imports') the source decodes.
const OTLP_LOGS_PROTO: &str = "opentelemetry/proto/collector/logs/v1/logs_service.proto";
/// Where the vendored `.proto` files are (imports resolve against it).
const PROTO_DIR: &str = "proto";
/// The generated borrowing module tree, in `OUT_DIR`.
const OTLP_BORROWED_RS: &str = "otlp_borrowed.rs";
/// The generated owned module tree (the tests'), in a subdirectory of `OUT_DIR`.
const OTLP_OWNED_DIR: &str = "owned";
/// Its include file.
const OTLP_OWNED_RS: &str = "otlp_owned.rs";

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

/// Generates the borrowing request types and the owned ones into `OUT_DIR`.
#[allow(
    clippy::disallowed_methods,
    reason = "a build script makes its own output directory"
)]
fn otlp_types() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_DIR}");
    println!("cargo:rerun-if-changed=build.rs");
    let owned = protox::compile([OTLP_LOGS_PROTO], [PROTO_DIR])?;
    let mut borrowed = owned.clone();
    for file in &mut borrowed.file {
        file.message_type.iter_mut().for_each(strings_as_bytes);
    }
    prost_build::Config::new()
        .bytes(["."])
        .include_file(OTLP_BORROWED_RS)
        .compile_fds(borrowed)?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join(OTLP_OWNED_DIR);
    std::fs::create_dir_all(&out)?;
    prost_build::Config::new()
        .out_dir(out)
        .include_file(OTLP_OWNED_RS)
        .compile_fds(owned)?;
    Ok(())
}

fn main() {
    if let Err(e) = otlp_types() {
        println!("cargo:warning=cannot generate the OTLP types from {PROTO_DIR}/: {e}");
        std::process::exit(1);
    }
}
