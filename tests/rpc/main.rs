//! Root test binary `rpc`: the avro and thrift sources and sinks: multi-hop, kill rounds, TLS, deflate, ipFilter, hostile peers.
//! A module per topic; the shared helpers are `tests/support/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed unwrap fails the test and names the line"
)]
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    reason = "tests make and read their fixtures on the real disk (DESIGN.md, the agent's std::fs rule)"
)]

#[allow(dead_code, unused_imports)]
#[path = "../support/mod.rs"]
mod support;

mod avro_calls_in_flight;
mod avro_cli;
mod avro_edge_cpu;
mod avro_fan_in_kill;
mod avro_hostile;
mod avro_hostile_cpu;
mod avro_multihop;
mod avro_multihop_headers;
mod avro_multihop_kill;
mod avro_read_ahead_memory;
mod avro_source;
mod avro_staged_migration;
mod copied_channel;
mod deflate_bomb;
mod dns_slow;
mod forged_ids;
mod net_hostile;
mod origin_bound;
mod origin_churn;
mod otlp_amplification;
mod otlp_decode_cost;
mod otlp_h2_flood;
mod otlp_idle_slots;
mod otlp_keystore_budget;
mod otlp_kill;
mod otlp_peers;
mod otlp_refusals;
mod otlp_sink;
mod otlp_sink_too_large;
mod otlp_sink_untrusted;
mod otlp_slow_slots;
mod otlp_source;
mod otlp_tls;
mod rpc_deflate_ipfilter;
mod rpc_tls;
mod rpc_tls_kill;
mod thrift_calls_in_flight;
mod thrift_garbage_flood;
mod thrift_multihop_kill;
mod thrift_source;
mod thrift_tls;
mod tls_flood;
