//! Sources: `netcat` and `avro` (event driven: one task per connection), `seq` (polling),
//! `exec` (a child process's output lines), `syslogtcp`/`multiport_syslogtcp`/`syslogudp`
//! (syslog/), `http` (http/), `netcatudp`, `spooldir` (files dropped into a directory),
//! `TAILDIR` (files followed as they grow) and `kafka` (a consumer in a consumer group). Each
//! runs until its stop signal is set, finishing the batch it is putting; an `Err` makes the
//! supervisor restart it.

pub mod avro;
pub(crate) mod body_pace;
pub(crate) mod budget;
pub(crate) mod contract;
pub(crate) mod decoders;
pub(crate) mod exec;
pub(crate) mod file_id;
pub(crate) mod file_lines;
pub(crate) mod frame_pool;
pub(crate) mod http;
pub(crate) mod http_serve;
pub(crate) mod java;
pub(crate) mod kafka;
pub mod kubernetes;
pub(crate) mod listener;
pub(crate) mod multiline;
pub(crate) mod nats;
pub(crate) mod netcat;
pub(crate) mod netcat_udp;
pub mod otlp;
pub(crate) mod pace;
pub(crate) mod peer_conns;
pub(crate) mod peer_origins;
pub(crate) mod read_buf;
pub(crate) mod ready;
pub(crate) mod refusals;
pub(crate) mod rpc;
pub(crate) mod seq;
pub mod spooldir;
pub(crate) mod syslog;
pub mod taildir;
pub mod thrift;
pub(crate) mod udp;
pub(crate) mod upstream_log;

pub use contract::{
    BuildSource, Put, SourceCtx, SourceError, SourceErrorKind, SourceTask, BACKOFF_MAX,
    BACKOFF_STEP,
};
