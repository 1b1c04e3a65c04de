//! `credsFile` against a server in operator mode (no `nsc` here: the operator, account and
//! user JWTs are made in the test with the `nkeys` crate, async-nats's own): the sink
//! delivers with a good `.creds` file, and a file whose user an unknown account signed is
//! refused within 10 s, the log naming the file and the server.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use nkeys::KeyPair;
use serde_json::json;

use crate::edge::*;
use crate::support::nats_support::{available, Single};
use crate::support::ports::free_port;

/// `claims` as a JWT signed by `issuer` (header `ed25519-nkey`, base64url without padding).
fn jwt(issuer: &KeyPair, claims: serde_json::Value) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let head = b64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let body = b64(claims.to_string().as_bytes());
    let signed = format!("{head}.{body}");
    let sig = issuer.sign(signed.as_bytes()).unwrap();
    format!("{signed}.{}", b64(&sig))
}

/// The claims of a JWT named `name` about `sub`, issued by `iss`, with `nats` claims.
fn claims(iss: &KeyPair, sub: &str, name: &str, nats: serde_json::Value) -> serde_json::Value {
    json!({"jti": format!("T{name}"), "iat": 1_700_000_000u64, "iss": iss.public_key(),
           "name": name, "sub": sub, "nats": nats})
}

/// A user of `account` as a `.creds` file's text.
fn creds(account: &KeyPair) -> String {
    let user = KeyPair::new_user();
    let nats = json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
                      "type": "user", "version": 2});
    let token = jwt(account, claims(account, &user.public_key(), "u", nats));
    format!(
        "-----BEGIN NATS USER JWT-----\n{token}\n------END NATS USER JWT------\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
        user.seed().unwrap()
    )
}

/// A server trusting one operator with one account (JetStream allowed, preloaded in a
/// memory resolver), and a good and a bad creds file in `dir`.
fn operator_server(dir: &Path) -> (Single, std::path::PathBuf, std::path::PathBuf) {
    let (op, acc) = (KeyPair::new_operator(), KeyPair::new_account());
    let op_jwt = jwt(
        &op,
        claims(
            &op,
            &op.public_key(),
            "op",
            json!({"type": "operator", "version": 2}),
        ),
    );
    let limits = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
        "wildcards": true, "conn": -1, "leaf": -1, "mem_storage": -1, "disk_storage": -1,
        "streams": -1, "consumer": -1});
    let acc_nats = json!({"limits": limits, "type": "account", "version": 2});
    let acc_jwt = jwt(&op, claims(&op, &acc.public_key(), "acc", acc_nats));
    // The system account, as `nsc` makes it (no JetStream in it).
    let sys = KeyPair::new_account();
    let sys_nats = json!({"limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1,
        "exports": -1, "wildcards": true, "conn": -1, "leaf": -1}, "type": "account", "version": 2});
    let sys_jwt = jwt(&op, claims(&op, &sys.public_key(), "SYS", sys_nats));
    let conf = format!(
        "operator: \"{op_jwt}\"\nsystem_account: {s}\nresolver: MEMORY\n\
         resolver_preload: {{ {a}: \"{acc_jwt}\", {s}: \"{sys_jwt}\" }}\n\
         jetstream {{ store_dir: \"STORE\" }}",
        a = acc.public_key(),
        s = sys.public_key()
    );
    let server = Single::start("creds", &conf);
    let good = dir.join("good.creds");
    std::fs::write(&good, creds(&acc)).unwrap();
    let bad = dir.join("unknown-account.creds");
    std::fs::write(&bad, creds(&KeyPair::new_account())).unwrap();
    (server, good, bad)
}

/// Makes stream `name` over `<name>.logs.>` as the good user; returns a count of its messages.
fn make_stream(url: &str, creds: &Path, name: &str) -> impl Fn() -> u64 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let js = rt.block_on(async {
        let nc = async_nats::ConnectOptions::with_credentials_file(creds)
            .await
            .unwrap()
            .connect(url)
            .await
            .unwrap();
        let js = async_nats::jetstream::new(nc);
        js.create_stream(async_nats::jetstream::stream::Config {
            name: name.to_owned(),
            subjects: vec![format!("{name}.logs.>")],
            ..Default::default()
        })
        .await
        .unwrap();
        js
    });
    let name = name.to_owned();
    move || {
        rt.block_on(async {
            let mut s = js.get_stream(&name).await.unwrap();
            s.info().await.unwrap().state.messages
        })
    }
}

#[test]
fn a_good_creds_file_delivers_and_one_of_an_unknown_account_is_refused_naming_it() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (server, good, bad) = operator_server(tmp.path());
    let count = make_stream(&server.url(), &good, "CREDS");
    // The good file: every line stored.
    let port = free_port();
    let extra = format!("credsFile = {}\nexactlyOnce = false", good.display());
    let root = tmp.path().join("good");
    std::fs::create_dir_all(&root).unwrap();
    let conf = edge_conf(&root, &server.url(), port, "CREDS", &extra);
    let agent = start_edge(&root, &conf, port, &[]);
    send(port, &two_services(0, 500));
    let end = Instant::now() + DELIVERY_WAIT;
    while count() < 500 {
        assert!(
            Instant::now() < end,
            "{} of 500 stored\n{}",
            count(),
            agent.proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(count(), 500);
    // The unknown account's file: refused within 10 s, naming the file and the server.
    let port = free_port();
    let extra = format!("credsFile = {}", bad.display());
    let root = tmp.path().join("bad");
    std::fs::create_dir_all(&root).unwrap();
    let conf = edge_conf(&root, &server.url(), port, "CREDS", &extra);
    let refused = start_edge(&root, &conf, port, &[]);
    let end = Instant::now() + Duration::from_secs(10);
    let named = |log: &str| {
        log.contains("refused the credentials")
            && log.contains(&bad.display().to_string())
            && log.contains(&server.url())
    };
    while !named(&refused.proc.log_text()) {
        assert!(
            Instant::now() < end,
            "not named within 10 s:\n{}",
            refused.proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
