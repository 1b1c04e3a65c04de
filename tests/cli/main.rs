//! Root test binary `cli`: the sluice command line: exit codes, logging, the channel tools, bench, crashtest, kill -9 of a channel put, the Debian package.
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

mod adopt_wrong_password;
mod bench_cli;
mod binary_layout;
mod cli_broken_pipe;
mod cli_exit_codes;
mod cli_first_contact;
mod cli_logging;
mod cli_readiness;
mod conf_files;
mod conf_uri;
mod conf_zk;
mod config_check_strict;
mod config_check_timestamps;
mod config_check_verify;
mod config_deep;
mod config_examples;
mod config_subst;
mod crashtest_cli;
mod docs_commands;
mod docs_true;
mod encrypted_channel;
mod flume_adopt;
mod flume_adopt_keys;
mod flume_adopt_runs;
mod flume_adopt_safety;
mod flume_drain;
mod keystore_files;
mod kill;
mod package;
mod path_spelling;
mod sluice_test_cmd;
mod tools_fixtures;
mod tools_readonly;
mod tools_salvage;
mod truncated_segment_tools;
mod verify_open_refusal;
