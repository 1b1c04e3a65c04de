//! Flume's JSON metrics reporter (`-Dflume.monitoring.type=http`): `GET /metrics` returns
//! every component's counters as `{"SOURCE.r1": {"EventReceivedCount": "3", ...}}`.
//!
//! A deliberately minimal HTTP/1.1 server on tokio (one request per connection, request head
//! at most 8 KiB, `Connection: close`): the endpoint serves one read-only document, and a
//! full HTTP stack (hyper/axum) would add a large dependency tree for it.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::agent::metrics::Registry;
use crate::agent::stop::Stop;

/// Largest request head read.
pub const REQUEST_HEAD_BYTES_MAX: usize = 8192;

/// Binds the metrics server (port 0 picks a free port); returns the bound address and the
/// serving task, which ends when `stop` is set.
pub async fn serve(
    port: u16,
    registry: Arc<Registry>,
    mut stop: Stop,
) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.wait() => return,
                r = listener.accept() => if let Ok((s, _)) = r {
                    tokio::spawn(answer(s, registry.clone()));
                },
            }
        }
    });
    Ok((addr, task))
}

async fn answer(mut s: TcpStream, registry: Arc<Registry>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < REQUEST_HEAD_BYTES_MAX {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", "application/json", registry.to_json()),
        ("GET", "/") => (
            "200 OK",
            "text/html",
            "<a href=\"/metrics\">metrics</a>".to_owned(),
        ),
        ("TRACE", _) | ("OPTIONS", _) => ("403 Forbidden", "text/plain", String::new()),
        _ => ("404 Not Found", "text/plain", "not found\n".to_owned()),
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(resp.as_bytes()).await;
    let _ = s.shutdown().await;
}
