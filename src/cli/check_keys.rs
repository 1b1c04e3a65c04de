//! `sluice config check`'s keystore step: every file channel with `encryption.*` has its
//! keystore opened and every listed key unwrapped with its password, as the agent's start
//! would, so a wrong password fails the check (`ExecStartPre=sluice config check`) instead
//! of the service. Each failure names the channel's key to fix and the file it names.

use sluice::agent::registry::ChannelKind;
use sluice::agent::topology::AgentConfig;
use sluice_core::io::StdFs;
use sluice_core::KeysError;
use sluice_keystore::KeystoreError;

/// Opens every encrypted file channel's keys; prints each failure as
/// `FILE: <agent>.channels.<c>.encryption.keyProvider.<key>: message` and returns how many.
pub fn run(config: &AgentConfig, file: &str) -> usize {
    let mut failed = 0;
    for (name, ch) in &config.channels {
        let ChannelKind::File(cfg) = &ch.kind else {
            continue;
        };
        let Some(enc) = &cfg.encryption else {
            continue;
        };
        let prefix = format!("{}.channels.{name}.encryption", config.name);
        match enc.keyring(&StdFs) {
            Ok(_) => println!(
                "{file}: {prefix}: keystore {} opened, {} key(s) unwrapped with their passwords",
                enc.key_files.keystore_file.display(),
                enc.key_files.keys.len()
            ),
            Err(KeysError::Provider(e)) => {
                failed += 1;
                match e.downcast_ref::<KeystoreError>() {
                    Some(k) => println!("{file}: {prefix}.keyProvider.{}: {e}", k.setting()),
                    None => println!("{file}: {prefix}.keyProvider: {e}"),
                }
            }
            Err(e) => {
                failed += 1;
                println!("{file}: {prefix}.activeKey: {e}");
            }
        }
    }
    failed
}
