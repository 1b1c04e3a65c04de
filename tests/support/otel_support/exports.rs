//! Legitimate OTLP exports made beside hostile connections (the slot tests): one gRPC export
//! or one HTTP/1.1 protobuf POST, each on a new connection, with 20 s timeouts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

/// A request of 10 empty log records.
pub fn request() -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord::default(); 10],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// One HTTP/1.1 protobuf POST on a new connection: the status (0: no answer).
pub fn post(port: u16, body: &[u8]) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
        .is_err()
    {
        return 0;
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// One gRPC export on a new connection: answered `OK`.
pub async fn export(port: u16) -> bool {
    let connect = LogsServiceClient::connect(format!("http://127.0.0.1:{port}"));
    let Ok(Ok(mut client)) = tokio::time::timeout(Duration::from_secs(20), connect).await else {
        return false;
    };
    let call = tokio::time::timeout(Duration::from_secs(20), client.export(request()));
    matches!(call.await, Ok(Ok(_)))
}
