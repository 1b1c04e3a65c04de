//! Embedding the channel: open a durable file channel in a directory of your choice, put events
//! in one transaction, take them in another, and commit. Nothing here needs an async runtime.
//!
//! Run with `cargo run -p sluice-core --example embed [DIR]` (default: a fresh directory under
//! the system's temporary directory, removed at the end).

use std::path::PathBuf;

use sluice_core::{ChannelError, Event, FileChannel, FileChannelConfig};

fn main() -> Result<(), ChannelError> {
    let given = std::env::args_os().nth(1).map(PathBuf::from);
    let dir = given.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("sluice-embed-{}", std::process::id()))
    });
    let config = FileChannelConfig {
        checkpoint_dir: dir.join("checkpoint"),
        data_dirs: vec![dir.join("data")],
        ..FileChannelConfig::default()
    };
    let channel = FileChannel::open(config)?;

    // A put is durable once `commit` returns: it survives kill -9 and power loss.
    let mut tx = channel.transaction();
    for i in 0..3 {
        tx.put(Event::new(format!("event {i}")).header("source", "embed"))?;
    }
    tx.commit()?;

    // A take is final only when its transaction commits; dropping it gives the events back.
    let mut tx = channel.transaction();
    while let Some(event) = tx.take()? {
        println!("took {:?}", String::from_utf8_lossy(&event.body));
    }
    tx.commit()?;

    let stats = channel.stats();
    println!("queued {} events, {} commits", stats.queued, stats.commits);
    channel.close()?;
    if given.is_none() {
        // The example's own scratch directory, not the channel's files.
        #[allow(clippy::disallowed_methods)]
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
