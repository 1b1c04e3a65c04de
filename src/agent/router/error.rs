//! Why a batch was not routed ([`RouteError`]): an interceptor or an async selector refused
//! it, or a required channel did not commit it.

use crate::agent::channel::AgentChannelError;
use crate::agent::future::StepError;
use crate::agent::interceptor::InterceptError;

/// A batch could not be routed: an interceptor refused it, or a required channel did not
/// commit it.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// A required channel did not commit its part.
    #[error("unable to put batch on required channel {channel}: {source}")]
    Channel {
        /// The failing channel.
        channel: String,
        /// Why.
        #[source]
        source: AgentChannelError,
    },
    /// An interceptor refused it (an async one threw or its process ended, or the batch grew
    /// past its bound): nothing of the batch was put.
    #[error("the interceptor chain refused the batch: {0}")]
    Intercept(#[from] InterceptError),
    /// The async channel selector threw or its process ended: nothing of the batch was put.
    #[error("the channel selector refused the batch: {0}")]
    Select(StepError),
}

impl RouteError {
    /// The channel that refused the batch, when one did.
    pub fn channel(&self) -> Option<&str> {
        match self {
            RouteError::Channel { channel, .. } => Some(channel),
            RouteError::Intercept(_) | RouteError::Select(_) => None,
        }
    }

    /// The channel's error, when a channel refused the batch.
    pub fn channel_error(&self) -> Option<&AgentChannelError> {
        match self {
            RouteError::Channel { source, .. } => Some(source),
            RouteError::Intercept(_) | RouteError::Select(_) => None,
        }
    }

    /// Whether the batch can never be committed as it is (it would not fit an empty channel,
    /// or an event is too large to cross to an async interceptor or selector).
    pub fn never_fits(&self) -> bool {
        match self {
            RouteError::Channel { source, .. } => source.never_fits(),
            RouteError::Intercept(e) => !e.source.retryable(),
            RouteError::Select(e) => !e.retryable(),
        }
    }

    /// Whether a required channel was full.
    pub fn is_full(&self) -> bool {
        matches!(
            self.channel_error(),
            Some(AgentChannelError::Full { .. } | AgentChannelError::FullBytes { .. })
        )
    }
}
