//! [`Fault`]: an I/O failure or power loss to inject at an operation index, in a file of its
//! own so `SimFs`'s parts import it from here, not from `sim_fs.rs`.

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

impl Fault {
    pub(super) fn at(&self) -> u64 {
        match *self {
            Fault::Eio { at } | Fault::Enospc { at } | Fault::Crash { at } => at,
        }
    }
}
