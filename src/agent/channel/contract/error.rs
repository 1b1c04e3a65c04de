//! [`AgentChannelError`]: why a channel operation failed, and whether retrying can ever help.

use sluice_core::ChannelError;

/// Why a channel operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentChannelError {
    /// No room within `keep-alive`.
    #[error("channel {channel} is full (capacity {capacity}); sinks are not keeping up")]
    Full {
        /// Channel name.
        channel: String,
        /// Its capacity.
        capacity: u64,
    },
    /// The file channel's files reached `capacityBytes` and no room came within `keep-alive`.
    #[error("channel {channel} is full (its files reached capacityBytes {capacity_bytes}); sinks are not keeping up")]
    FullBytes {
        /// Channel name.
        channel: String,
        /// Its `capacityBytes`.
        capacity_bytes: u64,
    },
    /// More events than `transactionCapacity` in one transaction.
    #[error(
        "channel {channel}: more than transactionCapacity {capacity} events in one transaction"
    )]
    TransactionFull {
        /// Channel name.
        channel: String,
        /// The limit.
        capacity: u64,
    },
    /// The channel is closed.
    #[error("channel {0} is closed")]
    Closed(String),
    /// Adopting the Flume channel in the file channel's directories failed.
    /// The cause comes first; the data-losing `--skip-damaged` recipe only follows a damaged
    /// record (never a wrong password or a missing key, which a fix of the keys cures).
    #[error("channel {channel}: adopting the Apache Flume channel in its directories stopped and nothing was started: {cause}; a restart tries again, so first fix what this says{}", skip_damaged_recipe(.channel, .cause))]
    Adopt {
        /// Channel name.
        channel: String,
        /// Why.
        cause: Box<sluice_flume::adopt::AdoptError>,
    },
    /// The file channel failed. The cause is part of the message and deliberately not a
    /// `source()`, so a printed chain (`{:#}`) does not say it twice.
    #[error("channel {channel}: {cause}")]
    File {
        /// Channel name.
        channel: String,
        /// The file channel's error.
        cause: ChannelError,
    },
    /// A directory of a new channel could not be created.
    #[error("channel {channel}: cannot create {}: {source}", path.display())]
    Prepare {
        /// Channel name.
        channel: String,
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A reload would give a file channel that holds events other directories (or another
    /// type): the events would be left behind, so the reload is refused.
    #[error(
        "channel {channel}: {key} changed from {from} to {to} while it holds {events} events; \
         drain it first or restart with the old directories"
    )]
    Moved {
        /// Channel name.
        channel: String,
        /// The key that changed (`dataDirs`, `checkpointDir`, `type`).
        key: &'static str,
        /// Its running value.
        from: String,
        /// Its value in the new configuration.
        to: String,
        /// Events the channel holds (queued and taken by open transactions).
        events: u64,
    },
    /// The kafka channel's client failed (produce, consume, commit).
    #[error("channel {channel}: {message}")]
    Kafka {
        /// Channel name.
        channel: String,
        /// What failed.
        message: String,
    },
    /// A blocking task panicked or was cancelled.
    #[error("channel {0}: blocking task failed")]
    Join(String),
    /// A transaction of a group commit ([`AgentChannel::commit_group`]) rolled back because
    /// one before it in the group failed.
    #[error("not committed: transaction {position} of a group of {total}, after an earlier one of the group failed")]
    GroupCut {
        /// Its place in the group (from 1).
        position: usize,
        /// The group's size.
        total: usize,
    },
}

impl AgentChannelError {
    /// Whether the put can never succeed however often it is retried: an event larger than
    /// the file channel stores (`RECORD_BYTES_MAX` with its headers).
    pub(crate) fn never_fits(&self) -> bool {
        matches!(
            self,
            AgentChannelError::File {
                cause: ChannelError::EventTooLarge { .. },
                ..
            }
        )
    }
}

/// After an adoption's cause: the agent-side recipe for a damaged record (it loses that
/// record's events, so it is offered for nothing else), or nothing.
fn skip_damaged_recipe(channel: &str, cause: &sluice_flume::adopt::AdoptError) -> String {
    match cause {
        sluice_flume::adopt::AdoptError::Damaged { .. } => format!(
            " (for a damaged record, with this agent's configuration: `sluice channel adopt -f \
             FILE -n AGENT -c {channel} --in-place --skip-damaged`, each damaged event printed \
             and lost, then start the agent)"
        ),
        _ => String::new(),
    }
}
