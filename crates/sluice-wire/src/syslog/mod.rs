//! Syslog over TCP and UDP: the framing of a TCP stream (octet counting and non-transparent
//! framing, RFC 6587) and the parsing of RFC 3164 and RFC 5424 messages into events, as
//! Flume's syslog sources do. The sockets are the agent's (`agent::source::syslog`).

pub mod frame;
pub mod parse;
