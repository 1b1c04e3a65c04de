//! Fuzz body: keystore parsing (`sluice_keystore`). Any bytes must parse or fail with a
//! typed error, and asking a parsed store for each of its keys (which checks the integrity
//! digest or MAC first) must return, never panic; so must reading them as a PKCS12 TLS store
//! (`keystore::tls`).

use sluice_keystore::{tls, Keystore};

/// Aliases tried per parsed store (each try costs a digest or a MAC).
const ALIASES_TRIED_MAX: usize = 4;

/// Runs one input.
pub fn run(data: &[u8]) {
    let _ = tls::read_pkcs12(data, "password");
    let Ok(store) = Keystore::parse(data) else {
        return;
    };
    for alias in store.aliases().iter().take(ALIASES_TRIED_MAX) {
        let _ = store.secret_key(alias, "password", None);
    }
    let _ = store.secret_key("no-such-alias", "password", Some("key"));
}
