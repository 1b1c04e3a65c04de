//! The status page at `GET /` rendered by a real headless Chromium against a real agent:
//! no console messages, every component listed, a fill chart drawn; a screenshot is saved
//! and its path printed. Chromium must be installed (`.ci/install-prom-status.sh`): without
//! it the test fails, it does not pass silently.

use crate::support::status_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use status_support::{seq_memory_null, start_agent};

/// Longest a Chromium run may take before it is killed.
const CHROMIUM_TIME_MAX: Duration = Duration::from_secs(60);

fn chromium() -> PathBuf {
    let path = std::env::var_os("SLUICE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "Chromium is needed for the status page test but {} does not exist: \
         install it with `apt-get install -y chromium` (.ci/install-prom-status.sh does) \
         or point SLUICE_CHROMIUM at a Chromium binary",
        path.display()
    );
    path
}

/// Runs headless Chromium on `url` with `extra` flags; returns (stdout, stderr).
fn run_chromium(profile: &Path, url: &str, extra: &[&str]) -> (String, String) {
    let out = profile.with_extension("out");
    let err = profile.with_extension("err");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let end = Instant::now() + CHROMIUM_TIME_MAX;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = std::fs::read_to_string(&err).unwrap_or_default();
            assert!(status.success(), "chromium failed ({status}):\n{stderr}");
            break;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {CHROMIUM_TIME_MAX:?}; killed. stderr:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (
        std::fs::read_to_string(&out).unwrap_or_default(),
        std::fs::read_to_string(&err).unwrap_or_default(),
    )
}

/// Console messages Chromium logged (`...:CONSOLE:<line>] "text", source: ...`). The page
/// logs nothing on purpose, so every one is a defect (errors, warnings, uncaught exceptions).
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

#[test]
fn the_status_page_renders_every_component_and_a_fill_chart_in_headless_chromium() {
    let chromium_path = chromium();
    let tmp = tempfile::tempdir().unwrap();
    let agent = start_agent(tmp.path(), &seq_memory_null(5_000));
    agent.wait_until("events flowing", || {
        agent.json()["SINK.k1"]["EventDrainSuccessCount"] != "0"
    });
    let url = format!("http://127.0.0.1:{}/", agent.http);

    let (dom, stderr) = run_chromium(
        &tmp.path().join("profile-dom"),
        &url,
        &["--virtual-time-budget=7000", "--dump-dom"],
    );
    let console = console_lines(&stderr);
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    assert!(
        !dom.contains("data-js-errors=\""),
        "script errors; DOM:\n{dom}"
    );
    for component in ["CHANNEL.c1", "SOURCE.r1", "SINK.k1"] {
        assert!(
            dom.contains(&format!("data-component=\"{component}\"")),
            "{component} missing; DOM:\n{dom}"
        );
    }
    assert!(
        dom.contains("data-polls=\""),
        "the page never polled; DOM:\n{dom}"
    );
    assert!(
        dom.contains("class=\"fill-chart\"") && dom.contains("<polyline points=\""),
        "no fill chart; DOM:\n{dom}"
    );
    assert!(
        !dom.contains("id=\"error\">cannot reach"),
        "the page could not read the agent; DOM:\n{dom}"
    );

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    let (_, stderr) = run_chromium(
        &tmp.path().join("profile-shot"),
        &url,
        &[
            "--virtual-time-budget=7000",
            "--hide-scrollbars",
            "--window-size=1280,800",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let console = console_lines(&stderr);
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    let png =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", shot.display()));
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "screenshot too small"
    );
    println!(
        "status page screenshot ({}): {}",
        chromium_path.display(),
        shot.display()
    );
}
