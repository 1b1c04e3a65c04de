//! The recovery policy: what replay does with each kind of damage, decided in one place.
//!
//! Replay classifies what it meets ([`Damage`]) and where ([`Position`]), and asks
//! [`RecoveryPolicy::decide`] for the [`Action`]; no other code weighs the policy against the
//! damage. [`Repair`] says whether an action may change the files (opening a channel) or only
//! report (the read-only tools).

/// What to do with damaged records found while opening the channel (`recoveryPolicy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RecoveryPolicy {
    /// A torn tail of the newest segment of a directory is truncated (and logged); any other
    /// corruption refuses to open, naming file and offset.
    #[default]
    TolerateTail,
    /// Any damaged record refuses to open, naming file and offset.
    Strict,
    /// Damaged records are skipped; the open goes on and reports how many events were lost.
    Salvage,
}

/// A kind of damage replay can meet in a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The segment header is shorter than its fixed length (or unreadable): the segment was
    /// being started when the process died.
    TornHeader,
    /// The segment header is complete but wrong (magic, version, checksum, segment id).
    BadHeader,
    /// Records that do not decode (frame, checksum or body).
    BadRecords,
    /// A segment shorter than a durable record says it was (its directory's acknowledged-end
    /// record, the checkpoint's replay position or queued events): cut back by an outside
    /// actor, since no crash shortens fdatasynced bytes. Never a tail.
    CutBack,
    /// A segment that is not the channel's own, copied in from elsewhere: one naming another
    /// channel, a plain segment past the channel's first sealed one, or one naming no channel
    /// past its first segment naming it (`wal/replay/dir/foreign.rs`). Never a tail: it is
    /// refused, or set aside whole (never merged).
    Foreign,
}

/// Where the damage lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// In the newest segment of its directory, running to the end of the file: the region a
    /// crash may have left unsynced.
    Tail,
    /// Anywhere else: in an older segment, or with readable records after it.
    Inside,
}

/// What replay does about a piece of damage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Refuse to open, naming the file and offset.
    Fail,
    /// Cut the damage off: truncate the tail (remove a segment whose header was never
    /// completed) when repairing, and report what it cost.
    Cut,
    /// Leave the damage in place, skip past it and report it (segments with a bad header are
    /// ignored whole, their ids kept taken).
    Skip,
}

/// Whether replay may change the files it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repair {
    /// Opening a channel: torn tails are truncated and header-less newest segments removed on
    /// disk, so that appends continue after the last good record.
    OnDisk,
    /// The read-only tools: the same decisions are taken and reported, nothing is written.
    ReadOnly,
}

impl Repair {
    /// Whether files may be changed.
    pub fn on_disk(self) -> bool {
        self == Repair::OnDisk
    }
}

impl RecoveryPolicy {
    /// Parses `tolerate-tail`, `strict` or `salvage`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tolerate-tail" | "tolerate_tail" => Some(RecoveryPolicy::TolerateTail),
            "strict" => Some(RecoveryPolicy::Strict),
            "salvage" => Some(RecoveryPolicy::Salvage),
            _ => None,
        }
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryPolicy::TolerateTail => "tolerate-tail",
            RecoveryPolicy::Strict => "strict",
            RecoveryPolicy::Salvage => "salvage",
        }
    }

    /// The action for `damage` at `position`: `strict` fails on everything; `tolerate-tail`
    /// cuts a torn tail (a torn header or bad records at the tail of a directory's newest
    /// segment) and fails on the rest; `salvage` cuts the same tails and skips the rest. A
    /// segment cut back is never a tail: only `salvage` (explicitly lossy) goes on.
    pub fn decide(self, damage: Damage, position: Position) -> Action {
        let tail = position == Position::Tail
            && !matches!(
                damage,
                Damage::BadHeader | Damage::CutBack | Damage::Foreign
            );
        match self {
            RecoveryPolicy::Strict => Action::Fail,
            RecoveryPolicy::TolerateTail if tail => Action::Cut,
            RecoveryPolicy::TolerateTail => Action::Fail,
            RecoveryPolicy::Salvage if tail => Action::Cut,
            RecoveryPolicy::Salvage => Action::Skip,
        }
    }

    /// Whether the record scanner resynchronises after damage (looks for the next readable
    /// record) rather than stopping at the first: only `salvage` keeps what follows damage.
    pub fn resyncs(self) -> bool {
        self == RecoveryPolicy::Salvage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_DAMAGE: [Damage; 5] = [
        Damage::TornHeader,
        Damage::BadHeader,
        Damage::BadRecords,
        Damage::CutBack,
        Damage::Foreign,
    ];

    #[test]
    fn strict_fails_on_every_kind_of_damage_anywhere() {
        for d in ALL_DAMAGE {
            for p in [Position::Tail, Position::Inside] {
                assert_eq!(
                    RecoveryPolicy::Strict.decide(d, p),
                    Action::Fail,
                    "{d:?} {p:?}"
                );
            }
        }
    }

    #[test]
    fn tolerate_tail_cuts_only_a_torn_tail_and_fails_on_the_rest() {
        let p = RecoveryPolicy::TolerateTail;
        assert_eq!(p.decide(Damage::TornHeader, Position::Tail), Action::Cut);
        assert_eq!(p.decide(Damage::BadRecords, Position::Tail), Action::Cut);
        assert_eq!(p.decide(Damage::BadHeader, Position::Tail), Action::Fail);
        assert_eq!(p.decide(Damage::CutBack, Position::Tail), Action::Fail);
        assert_eq!(p.decide(Damage::Foreign, Position::Tail), Action::Fail);
        for d in ALL_DAMAGE {
            assert_eq!(p.decide(d, Position::Inside), Action::Fail, "{d:?}");
        }
    }

    #[test]
    fn salvage_cuts_a_torn_tail_and_skips_everything_else() {
        let p = RecoveryPolicy::Salvage;
        assert_eq!(p.decide(Damage::TornHeader, Position::Tail), Action::Cut);
        assert_eq!(p.decide(Damage::BadRecords, Position::Tail), Action::Cut);
        assert_eq!(p.decide(Damage::BadHeader, Position::Tail), Action::Skip);
        assert_eq!(p.decide(Damage::CutBack, Position::Tail), Action::Skip);
        assert_eq!(p.decide(Damage::Foreign, Position::Tail), Action::Skip);
        for d in ALL_DAMAGE {
            assert_eq!(p.decide(d, Position::Inside), Action::Skip, "{d:?}");
        }
    }

    #[test]
    fn a_policy_reads_back_from_its_spelling() {
        for p in [
            RecoveryPolicy::TolerateTail,
            RecoveryPolicy::Strict,
            RecoveryPolicy::Salvage,
        ] {
            assert_eq!(RecoveryPolicy::parse(p.as_str()), Some(p));
        }
        assert_eq!(RecoveryPolicy::parse("lenient"), None);
    }
}
