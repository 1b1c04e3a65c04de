//! A test API server: HTTPS with a CA and a server certificate made by `openssl` at test time,
//! a bearer token it checks, and `GET /api/v1/pods` served as the real one serves it to a
//! node's agent: a `PodList` with `metadata.resourceVersion` (in pages of `limit` with a
//! `continue` token), and with `watch=1` a chunked
//! stream of `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":...}` lines from the
//! asked resourceVersion on. The test changes pods (each change a new resourceVersion), sends
//! bookmarks, ends the open watches, forgets old resourceVersions (a watch from one of them
//! gets `410 Gone`, as an HTTP status or as an ERROR event), changes the token, and stops
//! and restarts the server on its port (the pods kept, as etcd keeps them). Every
//! request line is kept, so a test can check what the agent asked for.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig, ServerConnection, StreamOwned};

/// The node the agent runs on.
pub const NODE: &str = "node-1";

/// Makes `ca.pem` and `server.pem`/`server.key` (localhost, 127.0.0.1) in `dir`.
fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("openssl: {e} (run .ci/install-rpcsec.sh)"));
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509"];
    a.extend(key);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=test cluster CA",
    ]);
    a.extend(["-days", "30"]);
    run(&a);
    let mut a = vec!["req"];
    a.extend(key);
    a.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=kube-apiserver",
    ]);
    run(&a);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
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
        "-extfile",
        "san.ext",
    ]);
}

/// Whether the next watch from a forgotten resourceVersion gets an HTTP 410 or an ERROR event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoneAs {
    Http,
    Event,
}

#[derive(Default)]
struct State {
    rv: u64,
    pods: BTreeMap<String, Value>,
    /// Every change: its resourceVersion, type and object.
    history: Vec<(u64, &'static str, Value)>,
    /// Watches from a resourceVersion below this get 410.
    oldest: u64,
    gone_as: Option<GoneAs>,
    token: String,
    watchers: Vec<Sender<String>>,
    requests: Vec<String>,
}

/// The server (stopped when dropped).
pub struct ApiServer {
    pub port: u16,
    pub dir: PathBuf,
    state: Arc<Mutex<State>>,
    tls: Arc<ServerConfig>,
    /// The running listener's stop flag and thread (`None` while stopped).
    running: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

/// Accepts connections on `listener` until `stop`, each served on a thread of its own.
fn listen(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((s, _)) => {
                    let (tls, st, sp) = (tls.clone(), state.clone(), stop.clone());
                    std::thread::spawn(move || serve(s, tls, st, sp));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })
}

impl ApiServer {
    /// Starts a server whose certificates and token live in `dir` (`ca.pem`, `token`).
    pub fn start(dir: &Path, token: &str) -> ApiServer {
        std::fs::create_dir_all(dir).unwrap();
        make_certs(dir);
        std::fs::write(dir.join("token"), token).unwrap();
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(dir.join("server.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
        let tls =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            rv: 100,
            token: token.to_owned(),
            ..State::default()
        }));
        let mut server = ApiServer {
            port,
            dir: dir.to_owned(),
            state,
            tls: Arc::new(tls),
            running: None,
        };
        server.serve_on(listener);
        server
    }

    fn serve_on(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let t = listen(listener, self.tls.clone(), self.state.clone(), stop.clone());
        self.running = Some((stop, t));
    }

    /// Stops the server as a crashed API server stops: the open watches break off and the
    /// port refuses connections until [`ApiServer::restart`]. The pods are kept.
    pub fn stop(&mut self) {
        if let Some((stop, t)) = self.running.take() {
            stop.store(true, Ordering::Relaxed);
            self.end_watches();
            t.join().unwrap();
        }
    }

    /// Listens again on the same port, with the pods and resourceVersions it had (and the
    /// changes made while it was stopped, which a watch from before them is sent).
    pub fn restart(&mut self) {
        let end = std::time::Instant::now() + Duration::from_secs(30);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => break l,
                Err(e) => {
                    assert!(std::time::Instant::now() < end, "port {}: {e}", self.port);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        };
        self.serve_on(listener);
    }

    /// The agent's API keys for this server.
    pub fn keys(&self) -> Vec<(&'static str, String)> {
        vec![
            ("apiServer", format!("https://127.0.0.1:{}", self.port)),
            ("tokenFile", self.dir.join("token").display().to_string()),
            ("caFile", self.dir.join("ca.pem").display().to_string()),
            ("nodeName", NODE.to_owned()),
        ]
    }

    fn change(&self, kind: &'static str, mut pod: Value) {
        let mut s = self.state.lock().unwrap();
        s.rv += 1;
        pod["metadata"]["resourceVersion"] = json!(s.rv.to_string());
        let uid = pod["metadata"]["uid"].as_str().unwrap().to_owned();
        if kind == "DELETED" {
            s.pods.remove(&uid);
        } else {
            s.pods.insert(uid, pod.clone());
        }
        let rv = s.rv;
        s.history.push((rv, kind, pod.clone()));
        let line = json!({"type": kind, "object": pod}).to_string();
        s.watchers.retain(|w| w.send(line.clone()).is_ok());
    }

    /// Adds a pod (or changes it when its uid is known).
    pub fn put(&self, pod: Value) {
        let uid = pod["metadata"]["uid"].as_str().unwrap().to_owned();
        let known = self.state.lock().unwrap().pods.contains_key(&uid);
        self.change(if known { "MODIFIED" } else { "ADDED" }, pod);
    }

    /// Deletes a pod.
    pub fn delete(&self, pod: Value) {
        self.change("DELETED", pod);
    }

    /// Adds a pod without a watch event (it changed while the agent's resourceVersion was
    /// forgotten: only a list shows it).
    pub fn put_silently(&self, mut pod: Value) {
        let mut s = self.state.lock().unwrap();
        s.rv += 1;
        pod["metadata"]["resourceVersion"] = json!(s.rv.to_string());
        let uid = pod["metadata"]["uid"].as_str().unwrap().to_owned();
        s.pods.insert(uid, pod);
    }

    /// Moves the resourceVersion on (other nodes' pods) and sends a bookmark with it; its
    /// resourceVersion.
    pub fn bookmark(&self) -> u64 {
        let mut s = self.state.lock().unwrap();
        s.rv += 5;
        let line = json!({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"resourceVersion": s.rv.to_string(),
            "annotations": {"k8s.io/initial-events-end": "true"}}}})
        .to_string();
        s.watchers.retain(|w| w.send(line.clone()).is_ok());
        s.rv
    }

    /// Ends every open watch (as the server's timeoutSeconds does).
    pub fn end_watches(&self) {
        self.state.lock().unwrap().watchers.clear();
    }

    /// Forgets every resourceVersion up to now: a watch from one of them gets 410 `as`.
    pub fn forget_history(&self, gone_as: GoneAs) {
        let mut s = self.state.lock().unwrap();
        s.oldest = s.rv + 1;
        s.history.clear();
        s.gone_as = Some(gone_as);
    }

    /// The token the server takes from now on.
    pub fn set_token(&self, token: &str) {
        self.state.lock().unwrap().token = token.to_owned();
    }

    /// Every request line so far, with its status (`GET /api/v1/pods?... -> 200`).
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop();
    }
}

type Tls = StreamOwned<ServerConnection, TcpStream>;

/// A query parameter of `target`.
fn param<'a>(target: &'a str, key: &str) -> Option<&'a str> {
    let q = target.split_once('?')?.1;
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn respond(s: &mut Tls, status: &str, body: &str) {
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.flush();
}

fn status_body(code: u16, reason: &str, message: &str) -> String {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
        "reason": reason, "code": code})
    .to_string()
}

/// One connection: one request.
fn serve(tcp: TcpStream, tls: Arc<ServerConfig>, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    tcp.set_nonblocking(false).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let Ok(conn) = ServerConnection::new(tls) else {
        return;
    };
    let mut s = StreamOwned::new(conn, tcp);
    let mut head = Vec::new();
    {
        let mut r = BufReader::new(&mut s);
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => head.push(line.trim_end().to_owned()),
            }
        }
    }
    let target = head
        .first()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("")
        .to_owned();
    let auth = head
        .iter()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("authorization:")
                .then(|| l[14..].trim().to_owned())
        })
        .unwrap_or_default();
    let mut st = state.lock().unwrap();
    let log = |st: &mut State, code: u16| st.requests.push(format!("GET {target} -> {code}"));
    if auth != format!("Bearer {}", st.token) {
        log(&mut st, 401);
        drop(st);
        let b = status_body(401, "Unauthorized", "Unauthorized");
        return respond(&mut s, "401 Unauthorized", &b);
    }
    if !target.starts_with("/api/v1/pods?")
        || param(&target, "fieldSelector") != Some(&format!("spec.nodeName%3D{NODE}"))
    {
        log(&mut st, 400);
        drop(st);
        return respond(
            &mut s,
            "400 Bad Request",
            &status_body(400, "BadRequest", "bad"),
        );
    }
    if param(&target, "watch") != Some("1") {
        log(&mut st, 200);
        let b = list_page(&st, &target);
        drop(st);
        return respond(&mut s, "200 OK", &b);
    }
    watch(&mut s, &target, st, &stop);
}

/// A list answer: the pods from `continue` on (an offset here; opaque to the client), at
/// most `limit` of them, with a `continue` token while more are left, as the real server
/// pages a list (every page at the list's resourceVersion).
fn list_page(st: &State, target: &str) -> String {
    let from: usize = param(target, "continue")
        .and_then(|c| c.strip_prefix("o"))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let limit: usize = param(target, "limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let items: Vec<&Value> = st.pods.values().skip(from).take(limit).collect();
    let next = from.saturating_add(limit);
    let mut meta = json!({"resourceVersion": st.rv.to_string()});
    if next < st.pods.len() {
        meta["continue"] = json!(format!("o{next}"));
        meta["remainingItemCount"] = json!(st.pods.len() - next);
    }
    json!({"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": items}).to_string()
}

/// A watch request from the resourceVersion `target` names.
fn watch(s: &mut Tls, target: &str, mut st: std::sync::MutexGuard<'_, State>, stop: &AtomicBool) {
    let log = |st: &mut State, code: u16| st.requests.push(format!("GET {target} -> {code}"));
    let from: u64 = param(target, "resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if from < st.oldest {
        match st.gone_as {
            Some(GoneAs::Http) | None => {
                log(&mut st, 410);
                drop(st);
                let b = status_body(410, "Expired", "too old resource version");
                return respond(s, "410 Gone", &b);
            }
            Some(GoneAs::Event) => {
                log(&mut st, 200);
                drop(st);
                let ev = json!({"type": "ERROR", "object": serde_json::from_str::<Value>(
                    &status_body(410, "Expired", "too old resource version")).unwrap()});
                return stream(s, vec![ev.to_string()], None, stop);
            }
        }
    }
    log(&mut st, 200);
    let backlog: Vec<String> = st
        .history
        .iter()
        .filter(|(rv, _, _)| *rv > from)
        .map(|(_, k, o)| json!({"type": k, "object": o}).to_string())
        .collect();
    let (tx, rx) = channel();
    st.watchers.push(tx);
    drop(st);
    stream(s, backlog, Some(rx), stop);
}

/// A chunked watch answer: `first`, then every line `rx` gives until it is dropped.
fn stream(
    s: &mut Tls,
    first: Vec<String>,
    rx: Option<std::sync::mpsc::Receiver<String>>,
    stop: &AtomicBool,
) {
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let chunk = |s: &mut Tls, line: &str| {
        let data = format!("{line}\n");
        let ok = write!(s, "{:x}\r\n{data}\r\n", data.len()).is_ok() && s.flush().is_ok();
        ok
    };
    for l in &first {
        if !chunk(s, l) {
            return;
        }
    }
    if let Some(rx) = rx {
        while !stop.load(Ordering::Relaxed) {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(l) => {
                    if !chunk(s, &l) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    }
    let _ = write!(s, "0\r\n\r\n");
    let _ = s.flush();
    s.conn.send_close_notify();
    let _ = s.flush();
}

/// A pod object of `NODE`: `owner` is `(kind, name)`.
pub fn pod(
    namespace: &str,
    name: &str,
    uid: &str,
    labels: Value,
    annotations: Value,
    owner: Option<(&str, &str)>,
) -> Value {
    let owners: Vec<Value> = owner
        .map(|(k, n)| {
            json!({"apiVersion": "apps/v1", "kind": k, "name": n, "uid": "o-1",
            "controller": true, "blockOwnerDeletion": true})
        })
        .into_iter()
        .collect();
    json!({"kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace, "uid": uid, "labels": labels,
            "annotations": annotations, "ownerReferences": owners,
            "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"nodeName": NODE, "containers": [{"name": "main", "image": "busybox"}]},
        "status": {"phase": "Running", "podIP": "10.0.0.1"}})
}
