//! Sources: `netcat` and `avro` (event driven: one task per connection), `seq` (polling),
//! `exec` (a child process's output lines), `syslogtcp`/`multiport_syslogtcp`/`syslogudp`
//! (syslog/), `http` (http/), `netcatudp`, `spooldir` (files dropped into a directory),
//! `TAILDIR` (files followed as they grow) and `kafka` (a consumer in a consumer group). Each
//! runs until its stop signal is set, finishing the batch it is putting; an `Err` makes the
//! supervisor restart it.

pub mod atomic_file;
pub mod avro;
pub mod budget;
pub mod contract;
pub mod decoders;
pub mod exec;
pub mod file_id;
pub mod file_lines;
pub mod frame_pool;
pub mod http;
pub mod kafka;
pub mod lines;
pub mod listener;
pub mod multiline;
pub mod netcat;
pub mod netcat_udp;
pub mod otlp;
pub mod read_buf;
pub mod ready;
pub mod refusals;
pub(crate) mod rpc_admit;
pub(crate) mod rpc_answer;
pub(crate) mod rpc_put;
pub mod seq;
pub mod spooldir;
pub mod syslog;
pub mod taildir;
pub mod thrift;
pub mod tls;
pub mod udp;
pub(crate) mod upstream_log;

pub use contract::{
    BuildSource, Put, SourceCtx, SourceError, SourceTask, BACKOFF_MAX, BACKOFF_STEP,
};
