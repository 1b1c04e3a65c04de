//! [`Fault`]: an I/O failure or power loss to inject at an operation index, in a file of its
//! own so `SimFs`'s parts import it from here, not from `sim_fs.rs`; and the sync hook
//! ([`SyncHook`]) that `SimFs::on_sync` installs.

/// A fault to inject at an operation index (0-based, counting every call into the seam).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Operation `at` fails with EIO; the file system stays usable.
    Eio { at: u64 },
    /// Operation `at` fails with ENOSPC (a write first writes a random part of its bytes).
    Enospc { at: u64 },
    /// Operation `at` and all later ones fail: the machine lost power at that moment.
    Crash { at: u64 },
}

/// Called by every `sync_data` after it has noted which writes it covers and before it makes
/// them durable, outside the file system's lock: a test can hold a sync there (so others
/// overlap it) or fail it (the error is returned and nothing is made durable).
pub type SyncHook = std::sync::Arc<dyn Fn() -> std::io::Result<()> + Send + Sync>;

/// A [`SyncHook`] in the file system's state.
#[derive(Clone)]
pub(super) struct HookSlot(pub(super) SyncHook);

impl std::fmt::Debug for HookSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncHook")
    }
}

impl Fault {
    pub(super) fn at(&self) -> u64 {
        match *self {
            Fault::Eio { at } | Fault::Enospc { at } | Fault::Crash { at } => at,
        }
    }
}
