//! `sluice agent --conf-uri` against a real HTTP server on loopback (Python's `http.server`
//! behind Basic authentication, which answers `If-Modified-Since` with 304): the agent starts
//! from the URI and writes the backup; a changed file is seen by the poll and applied; with
//! the server gone a new start uses the backup; with neither, and with a wrong password, the
//! start fails with a clear error and exit 3; options that cannot work together are refused
//! (exit 2).

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::support::cli_support::{
    agent, free_port, outcome, send_line, sluice, wait_line_in, WAIT,
};

/// A Basic-auth file server: `PORT ROOT USER:PASSWORD`.
const SERVER: &str = r#"
import base64, http.server, sys
port, root, auth = int(sys.argv[1]), sys.argv[2], sys.argv[3]
want = "Basic " + base64.b64encode(auth.encode()).decode()
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=root, **k)
    def do_GET(self):
        if self.headers.get("Authorization") != want:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

/// The server process; killed on drop.
struct Server(Child);

impl Server {
    fn start(port: u16, root: &Path) -> Server {
        let child = Command::new("python3")
            .args(["-c", SERVER, &port.to_string()])
            .arg(root)
            .arg("conf:s3cret")
            .stdin(Stdio::null())
            .spawn()
            .expect("python3");
        let end = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < end, "the HTTP server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// netcat on `port` → memory → file_roll into `out`.
fn conf(port: u16, out: &str) -> String {
    format!(
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n\
         a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n\
         a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n\
         a1.channels.c1.type = memory\n\
         a1.sinks.k1.type = file_roll\na1.sinks.k1.sink.directory = {out}\n\
         a1.sinks.k1.sink.rollInterval = 0\na1.sinks.k1.channel = c1\n"
    )
}

/// Writes the served file with a modification time `ahead_s` seconds from now (the server
/// compares whole seconds with `If-Modified-Since`).
fn serve(www: &Path, text: &str, ahead_s: u64) {
    let p = www.join("a1.properties");
    std::fs::write(&p, text).unwrap();
    let f = std::fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(ahead_s))
        .unwrap();
}

#[test]
fn a_uri_is_polled_backed_up_and_the_backup_used_when_the_server_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let www = dir.join("www");
    std::fs::create_dir(&www).unwrap();
    let (nc, http) = (free_port(), free_port());
    serve(&www, &conf(nc, "out1"), 0);
    let server = Server::start(http, &www);
    let uri = format!("http://127.0.0.1:{http}/a1.properties");
    let args = [
        "-u",
        &uri,
        "--conf-user",
        "conf",
        "--conf-password",
        "s3cret",
        "-b",
        "backup",
        "-i",
        "1",
    ];
    let mut a = agent(dir, &args, "first.log");
    let log = a.log.clone();
    a.wait_file(&log, "agent started");
    send_line(dir, nc, "one");
    wait_line_in(&mut a, &dir.join("out1"), "one");
    let backup = std::fs::read_to_string(dir.join("backup/.a1.properties")).unwrap();
    assert!(
        backup.contains("a1.sinks.k1.sink.directory = out1\n"),
        "{backup}"
    );
    // The file changes (a later modification time): the poll sees it and applies it.
    serve(&www, &conf(nc, "out2"), 5);
    a.wait_file(&log, "the new configuration was applied");
    send_line(dir, nc, "two");
    wait_line_in(&mut a, &dir.join("out2"), "two");
    let backup = std::fs::read_to_string(dir.join("backup/.a1.properties")).unwrap();
    assert!(
        backup.contains("a1.sinks.k1.sink.directory = out2\n"),
        "{backup}"
    );
    assert_eq!(a.terminate(), Some(0));
    // The server goes away: a new start runs from the backup.
    drop(server);
    let mut a = agent(dir, &args, "second.log");
    let log = a.log.clone();
    let text = a.wait_file(&log, "agent started");
    assert!(text.contains("starting from the backup"), "{text}");
    send_line(dir, nc, "three");
    wait_line_in(&mut a, &dir.join("out2"), "three");
    assert_eq!(a.terminate(), Some(0));
    // No server and no backup: a clear error naming the URI, exit 3.
    let mut a = agent(dir, &args[..6], "third.log");
    assert_eq!(a.wait_exit(), Some(3), "{}", a.log_text());
    let err = a.log_text();
    assert!(
        err.contains(&uri) && err.contains("no --backup-directory"),
        "{err}"
    );
}

#[test]
fn a_wrong_password_is_a_clear_error_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let www = tmp.path().join("www");
    std::fs::create_dir(&www).unwrap();
    serve(&www, &conf(free_port(), "out"), 0);
    let http = free_port();
    let _server = Server::start(http, &www);
    let uri = format!("http://127.0.0.1:{http}/a1.properties");
    let args = [
        "-u",
        &uri,
        "--conf-user",
        "conf",
        "--conf-password",
        "wrong",
    ];
    let mut a = agent(tmp.path(), &args, "agent.log");
    assert_eq!(a.wait_exit(), Some(3), "{}", a.log_text());
    let err = a.log_text();
    assert!(
        err.contains("HTTP 401") && err.contains("--conf-password"),
        "{err}"
    );
    assert!(
        !err.contains("wrong"),
        "the password is never logged: {err}"
    );
}

#[test]
fn options_that_cannot_work_together_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, named) in [
        (
            &["-f", "a.properties", "-u", "http://127.0.0.1:1/a"][..],
            "--conf-uri",
        ),
        (
            &["-f", "a.properties", "-b", "backup"][..],
            "--backup-directory",
        ),
        (
            &["-u", "ftp://127.0.0.1/a"][..],
            "only http:// and https://",
        ),
        (
            &["-u", "http://127.0.0.1:1/a", "--conf-user", "u"][..],
            "--conf-password",
        ),
    ] {
        let mut all = vec!["agent", "-n", "a1"];
        all.extend(args);
        let (code, _, err) = outcome(&sluice(tmp.path(), &all));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(named), "{args:?}: {err}");
    }
}
