//! The pods' metadata from the API server: one list plus watch of the node's own pods
//! ([`watch`]), over the project's HTTP client with the service account's token and CA
//! ([`client`]), kept in a [`store::Store`] the layout reads when it makes each event's headers
//! (`node.rs`), bounded by the node's pods. Keys and in-pod defaults: [`config`]; what is kept
//! of a pod and the headers it gives: [`pod`].

pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod pod;
pub(crate) mod store;
pub(crate) mod watch;

use std::sync::Arc;

pub(crate) use config::ApiConfig;
pub(crate) use store::Store;

/// A store in a config: equal only to itself.
#[derive(Clone, Debug)]
pub(crate) struct StoreRef(pub Arc<Store>);

impl PartialEq for StoreRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StoreRef {}

/// The watch's task, aborted when dropped (the source ended).
pub(crate) struct WatchTask(tokio::task::JoinHandle<()>);

impl WatchTask {
    /// Starts the list and watch of `cfg` into `store`.
    pub(crate) fn spawn(cfg: ApiConfig, store: Arc<Store>) -> WatchTask {
        WatchTask(tokio::spawn(watch::run(cfg, store)))
    }
}

impl Drop for WatchTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}
