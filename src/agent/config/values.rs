//! The value parsers every component's key parser shares, as methods of [`Ctx`]: ports,
//! batch sizes, bounded sizes, byte sizes with a suffix (`512m`), milliseconds, durations
//! with a unit, lists and sub-keys. Each reports a bad value as an error on its key's line and
//! answers the default.

use std::collections::BTreeMap;
use std::time::Duration;

use super::ctx::Ctx;
use super::duration;
use super::limits::BATCH_SIZE_MAX;

impl Ctx<'_> {
    /// A required port number (`0-65535`).
    pub(crate) fn port(&mut self, key: &str) -> Option<u16> {
        let p = self.required(key)?;
        self.port_value(key, &p)
    }

    /// `text` (read from `key`, or one word of its list) as a port number.
    pub(crate) fn port_value(&mut self, key: &str, text: &str) -> Option<u16> {
        match text.trim().parse::<u16>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(key, format!("expected a port number 0-65535, got {text:?}"));
                None
            }
        }
    }

    /// A batch size of at least 1 and at most [`BATCH_SIZE_MAX`].
    pub(crate) fn batch_size(&mut self, key: &str, default: u64) -> usize {
        self.u64(key, default, 1, BATCH_SIZE_MAX) as usize
    }

    /// A size or count in `min..=max` as a `usize`.
    pub(crate) fn usize(&mut self, key: &str, default: u64, min: u64, max: u64) -> usize {
        self.u64(key, default, min, max) as usize
    }

    /// A byte size in `min..=max`, or `default` when absent (and after an error, which names
    /// the range): a whole number, or one with `k`, `m`, `g` or `t` (powers of 1024, any
    /// case, `kb`/`MiB` alike), the syntax `capacityBytes` takes (`sluice_core::parse_size`).
    /// Every byte-valued key is read with it.
    pub(crate) fn bytes(&mut self, key: &str, default: u64, min: u64, max: u64) -> u64 {
        let Some(v) = self.get(key) else {
            return default;
        };
        match sluice_core::parse_size(key, &v) {
            Ok(n) if (min..=max).contains(&n) => n,
            Ok(n) => {
                let written = if v.trim() == n.to_string() {
                    String::new()
                } else {
                    format!(" ({})", v.trim())
                };
                self.error(
                    key,
                    format!("must be between {min} and {max}, got {n}{written}"),
                );
                default
            }
            Err(e) => {
                self.error(key, e.message);
                default
            }
        }
    }

    /// [`Ctx::bytes`] as a `usize`.
    pub(crate) fn bytes_usize(&mut self, key: &str, default: u64, min: u64, max: u64) -> usize {
        usize::try_from(self.bytes(key, default, min, max)).unwrap_or(usize::MAX)
    }

    /// A number of milliseconds in `min..=max` as a duration.
    pub(crate) fn millis(&mut self, key: &str, default: u64, min: u64, max: u64) -> Duration {
        Duration::from_millis(self.u64(key, default, min, max))
    }

    /// A duration written with a unit (`500ms`, `60s`, `3m`, `7d`; Sluice's own keys).
    pub(crate) fn duration(&mut self, key: &str, default: Duration) -> Duration {
        match self.get(key) {
            None => default,
            Some(v) => duration::parse(&v).unwrap_or_else(|e| {
                self.error(key, e.to_string());
                default
            }),
        }
    }

    /// The properties under `prefix`, with the prefix removed (a selector's, a processor's,
    /// an interceptor's own keys).
    pub(crate) fn sub_props(&self, prefix: &str) -> BTreeMap<String, String> {
        self.comp()
            .props
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(prefix)
                    .map(|rest| (rest.to_owned(), v.value.clone()))
            })
            .collect()
    }
}
