//! Free loopback ports for the servers and agents a test starts.
//!
//! `bind(0)` hands out a port from the ephemeral range, the same range every outgoing
//! connection of the test process and of its agents draws from. Between the pick and the
//! agent's own bind, such a connection can take the port, and the agent fails to start. These
//! ports come from below that range (Linux's starts at 32768), where only explicit binds go.
//! Each pick starts at a random port of that span and hands out the first that binds (TCP and
//! UDP) right now and that this process has not handed out before: two tests of one binary
//! run at once, and a port picked by one but not yet bound by its agent binds fine for the
//! other (a CI run failed so: `serving metrics on 127.0.0.1:21608: Address already in use`).
//! Where the ephemeral range starts too low to leave room, the kernel's pick is used.

#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::net::{TcpListener, UdpSocket};
use std::sync::{Mutex, PoisonError};

/// Every port this process handed out: never handed out twice.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// The lowest port handed out.
const LOW: u32 = 20_000;

/// The ephemeral range's first port, from `/proc/sys/net/ipv4/ip_local_port_range`.
fn ephemeral_low() -> Option<u32> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn binds(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok() && UdpSocket::bind(("127.0.0.1", port)).is_ok()
}

/// A loopback port that is free now (TCP and UDP) and that no outgoing connection will take.
pub fn free_port() -> u16 {
    let span = match ephemeral_low() {
        Some(first) if first > LOW + 1_000 => first - LOW,
        _ => return kernel_pick(),
    };
    // A fresh RandomState is randomly keyed: its hash of anything is a random number.
    let start = (RandomState::new().hash_one(std::process::id()) % span as u64) as u32;
    let mut handed = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed = handed.get_or_insert_with(HashSet::new);
    let port = (0..span)
        .map(|i| (LOW + (start + i) % span) as u16)
        .find(|&port| !handed.contains(&port) && binds(port))
        .unwrap_or_else(kernel_pick);
    handed.insert(port);
    port
}

fn kernel_pick() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}
