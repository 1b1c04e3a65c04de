//! The `file` channel's keys: Flume's `FileChannel` keys handed to the core's own parser
//! (`sluice_core::FileChannelConfig::from_properties`, which holds the defaults), its
//! warnings and errors placed on the key's line. `encryption.*` (Flume's keys) are read by
//! the core too (`sluice_core::EncryptionConfig`): the segments are then sealed.
//!
//! One default differs from the core's: an agent adopts the Apache Flume file channel it finds
//! in its directories (`adoptFlumeChannel` unset means true here), so a Flume operator's
//! properties file runs unchanged on Flume's own directories. The adoption keeps every file of
//! Flume's (moved into `flume-adopted-<time>/`, docs/coming-from-flume.md); the library and
//! the channel tools, which may be pointed at any directory, keep refusing unless asked.

use std::collections::BTreeMap;

use crate::agent::config::Ctx;
use sluice_core::FileChannelConfig;
use sluice_core::{IGNORED_KEYS, KNOWN_KEYS};

/// Reads a `file` channel's keys.
pub(crate) fn parse(cx: &mut Ctx<'_>) -> Option<FileChannelConfig> {
    let mut props = BTreeMap::new();
    // Every known key is read, set or not: an unknown key's did-you-mean is taken from the
    // keys read (`transactioncapacity` -> `transactionCapacity`).
    for k in KNOWN_KEYS.iter().chain(IGNORED_KEYS) {
        if let Some(v) = cx.get(k) {
            props.insert((*k).to_owned(), v);
        }
    }
    let keys: Vec<String> = cx.comp().props.keys().cloned().collect();
    for k in keys.into_iter().filter(|k| k.starts_with("encryption.")) {
        if let Some(v) = cx.get(&k) {
            props.insert(k, v);
        }
    }
    match FileChannelConfig::from_properties(&props) {
        Ok((cfg, warnings)) => {
            // The keystores are read by `sluice-keystore`: the core reads none.
            let mut cfg = cfg.with_key_provider(&sluice_keystore::key_source());
            if !props.contains_key("adoptFlumeChannel") {
                cfg.adopt_flume_channel = true;
            }
            for w in warnings {
                let key = if props.contains_key(&w.key) {
                    w.key
                } else {
                    "type".into()
                };
                cx.warn(&key, w.message);
            }
            Some(cfg)
        }
        Err(e) => {
            cx.error(&e.key, e.message);
            None
        }
    }
}
