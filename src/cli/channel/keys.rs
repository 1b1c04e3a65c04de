//! The keys the channel tools read: a Flume channel's keystore (named by the tool's flags or
//! by a channel configuration's `encryption.*`), its warnings printed, its errors naming the
//! setting to fix.

use sluice_core::io::StdFs;
use sluice_core::keys::KeyFiles;
use sluice_core::FileChannelConfig;
use sluice_flume::{load_keys, FlumeKeys};
use sluice_keystore::{config_name, NameSetting};

/// Loads `files`; an error names each setting by `name`.
pub(super) fn load(files: &KeyFiles, name: NameSetting) -> anyhow::Result<FlumeKeys> {
    let (keys, warnings) = load_keys(&StdFs, files).map_err(|e| {
        anyhow::anyhow!(
            "cannot load the Flume channel's keys: {}",
            e.message_with(name)
        )
    })?;
    for w in warnings {
        eprintln!("sluice: warning: {}: {}", w.path.display(), w.message);
    }
    Ok(keys)
}

/// The keys of a channel configuration's `encryption.*` (none without them); an error
/// names the configuration key.
pub(super) fn config_keys(config: &FileChannelConfig) -> anyhow::Result<FlumeKeys> {
    match &config.encryption {
        Some(enc) => load(&enc.key_files, config_name),
        None => Ok(FlumeKeys::new()),
    }
}
