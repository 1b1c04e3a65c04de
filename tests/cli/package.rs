//! The Debian package (docs/service.md): `cargo deb --no-build` packs this test run's binary,
//! `dpkg-deb -x` unpacks it into a scratch root, and the test checks what an operator relies
//! on: every file where the docs say with its mode, conffiles, a dependency for every shared
//! library the binary links, the unit accepted by `systemd-analyze verify`, and the packaged
//! configuration accepted by `sluice config check`. `.ci/install-package.sh` installs
//! cargo-deb and systemd-analyze; without them this test fails, naming the script.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::cli_support::sluice;

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run it ({e}); run .ci/install-package.sh"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Builds the .deb from the binary this test run built and unpacks it: (the .deb, the root).
fn build_and_unpack(scratch: &Path) -> (PathBuf, PathBuf) {
    let deb = scratch.join("sluice.deb");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The binary `cargo test --release` built is the one packed: cargo-deb finds it in the
    // same target directory (CARGO_TARGET_DIR included) through `cargo metadata`.
    let built = Path::new(env!("CARGO_BIN_EXE_sluice"));
    let profile_dir = built.parent().expect("the binary has a directory");
    assert_eq!(
        profile_dir.file_name().and_then(|n| n.to_str()),
        Some("release"),
        "the package test needs `cargo test --release` (the package holds the release binary)"
    );
    run(
        Command::new(cargo())
            .current_dir(manifest)
            .args([
                "deb",
                "--no-build",
                "--no-strip",
                "--fast",
                "--quiet",
                "--output",
            ])
            .arg(&deb),
        "cargo deb",
    );
    let root = scratch.join("root");
    run(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root),
        "dpkg-deb -x",
    );
    (deb, root)
}

fn field(deb: &Path, name: &str) -> String {
    let out = run(
        Command::new("dpkg-deb").arg("-f").arg(deb).arg(name),
        "dpkg-deb -f",
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn control_file(deb: &Path, scratch: &Path, name: &str) -> String {
    let ctrl = scratch.join("control");
    if !ctrl.exists() {
        run(
            Command::new("dpkg-deb").arg("-e").arg(deb).arg(&ctrl),
            "dpkg-deb -e",
        );
    }
    std::fs::read_to_string(ctrl.join(name)).unwrap_or_else(|e| panic!("control/{name}: {e}"))
}

fn mode(p: &Path) -> u32 {
    let meta = std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    meta.permissions().mode() & 0o7777
}

/// The unit, wherever this cargo-deb puts units (`lib/` or `usr/lib/systemd/system`).
fn unit_path(root: &Path) -> PathBuf {
    [
        "lib/systemd/system/sluice.service",
        "usr/lib/systemd/system/sluice.service",
    ]
    .iter()
    .map(|p| root.join(p))
    .find(|p| p.exists())
    .unwrap_or_else(|| panic!("no sluice.service under {}", root.display()))
}

/// The Debian package that provides a shared library the binary links.
fn package_of(lib: &str) -> Option<&'static str> {
    const OWNERS: &[(&str, &str)] = &[
        ("libssl.so.", "libssl3"),
        ("libcrypto.so.", "libssl3"),
        ("libz.so.", "zlib1g"),
        ("libgcc_s.so.", "libgcc-s1"),
        ("libc.so.", "libc6"),
        ("libm.so.", "libc6"),
        ("libpthread.so.", "libc6"),
        ("libdl.so.", "libc6"),
        ("librt.so.", "libc6"),
        ("ld-linux", "libc6"),
        ("linux-vdso.so.", "(kernel)"),
    ];
    OWNERS
        .iter()
        .find(|(prefix, _)| lib.starts_with(prefix))
        .map(|(_, pkg)| *pkg)
}

#[test]
fn the_deb_installs_the_binary_the_unit_and_a_configuration_that_checks() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let (deb, root) = build_and_unpack(scratch.path());

    let bin = root.join("usr/bin/sluice");
    assert_eq!(mode(&bin), 0o755);
    let built = std::fs::metadata(env!("CARGO_BIN_EXE_sluice")).expect("the built binary");
    assert_eq!(
        std::fs::metadata(&bin).expect("packed binary").len(),
        built.len(),
        "the package holds this build's binary"
    );
    let conf = root.join("etc/sluice/sluice.properties");
    assert_eq!(mode(&conf), 0o640, "the config may hold keystore passwords");
    assert_eq!(mode(&root.join("etc/default/sluice")), 0o644);
    for doc in [
        "README.md",
        "service.md",
        "examples/netcat-file-roll.properties",
    ] {
        assert!(
            root.join("usr/share/doc/sluice").join(doc).is_file(),
            "usr/share/doc/sluice/{doc} is packed"
        );
    }

    the_control_files_keep_the_config_and_add_the_user(&deb, scratch.path());
    every_linked_library_is_a_dependency(&deb, &bin);
    the_unit_verifies_against_the_unpacked_binary(&root, &bin, scratch.path());
    // The configuration the unit runs passes the check the unit runs first.
    let conf_arg = conf.to_str().expect("a UTF-8 temp path");
    let out = sluice(
        scratch.path(),
        &["config", "check", "-n", "a1", "-f", conf_arg],
    );
    assert!(
        out.status.success(),
        "packaged config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The conffiles (the configuration and the defaults) and the postinst that adds the user.
fn the_control_files_keep_the_config_and_add_the_user(deb: &Path, scratch: &Path) {
    let conffiles = control_file(deb, scratch, "conffiles");
    for c in ["/etc/sluice/sluice.properties", "/etc/default/sluice"] {
        assert!(
            conffiles.lines().any(|l| l.trim() == c),
            "{c} is a conffile: {conffiles}"
        );
    }
    let postinst = control_file(deb, scratch, "postinst");
    assert!(
        postinst.contains("adduser --system"),
        "postinst: {postinst}"
    );
}

/// Every shared library the binary links is declared.
fn every_linked_library_is_a_dependency(deb: &Path, bin: &Path) {
    let depends = field(deb, "Depends");
    let ldd = run(Command::new("ldd").arg(bin), "ldd");
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let lib = line.split_whitespace().next().unwrap_or_default();
        let lib = lib.rsplit('/').next().unwrap_or(lib);
        match package_of(lib) {
            Some("(kernel)") => {}
            Some(pkg) => assert!(
                depends.split(',').any(|d| d.trim().starts_with(pkg)),
                "the binary links {lib} ({pkg}) but Depends is {depends}"
            ),
            None => panic!("the binary links {lib}, which no Depends entry is known to cover"),
        }
    }
}

/// The unit as systemd reads it, against the unpacked binary.
fn the_unit_verifies_against_the_unpacked_binary(root: &Path, bin: &Path, scratch: &Path) {
    let unit = unit_path(root);
    let text = std::fs::read_to_string(&unit).expect("unit");
    for line in [
        "ExecStartPre=/usr/bin/sluice config check",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "User=sluice",
        "StateDirectory=sluice",
        "LimitNOFILE=",
    ] {
        assert!(text.contains(line), "the unit has `{line}`:\n{text}");
    }
    // `systemd-analyze verify` checks the unit as systemd would load it, the executables of
    // its Exec lines included: the copy points at the unpacked binary. It exits 0 on unknown
    // keys and unparsable values, only warning, so any line naming the unit is a failure.
    let checked = scratch.join("sluice.service");
    let sluice_bin = bin.to_str().expect("a UTF-8 temp path");
    std::fs::write(&checked, text.replace("/usr/bin/sluice", sluice_bin)).expect("unit copy");
    let out = run(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&checked),
        "systemd-analyze verify",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let about_unit: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("sluice.service"))
        .collect();
    assert!(about_unit.is_empty(), "systemd-analyze: {about_unit:?}");
}
