//! A counter as a type: each component kind names its counters in an enum whose variants
//! carry Flume's names byte for byte, so a misspelt name does not compile and `add` indexes
//! the group directly instead of searching it by name.

/// One counter of a kind of group.
pub(crate) trait Counter: Copy + std::fmt::Debug {
    /// The kind of group these counters belong to (`SOURCE`, `CHANNEL`, `SINK`, `ALARMS`).
    const KIND: &'static str;
    /// Its position in the group's list of names.
    fn index(self) -> usize;
    /// Flume's name: the JSON key, unchanged.
    fn flume_name(self) -> &'static str;
}

/// Declares a counter enum, its Flume names (written once, in the variants) and the list of
/// names a group of that kind is created with (`$list`, in the enum's order).
macro_rules! counters {
    (
        $(#[$meta:meta])*
        $name:ident, kind $kind:literal, list $list:ident {
            $( $(#[$vmeta:meta])* $var:ident = $flume:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum $name {
            $( $(#[$vmeta])* $var, )+
        }

        impl $name {
            /// Every counter, in the order of the group's list.
            #[cfg(test)]
            #[allow(dead_code, reason = "made for every group; the unit tests walk some of them")]
            pub(crate) const ALL: &'static [$name] = &[$($name::$var,)+];

            /// Flume's name of the counter.
            pub(crate) const fn flume_name(self) -> &'static str {
                match self {
                    $( $name::$var => $flume, )+
                }
            }
        }

        impl $crate::agent::metrics::Counter for $name {
            const KIND: &'static str = $kind;

            fn index(self) -> usize {
                self as usize
            }

            fn flume_name(self) -> &'static str {
                $name::flume_name(self)
            }
        }

        /// The counter names of a group of this kind, in order.
        pub(crate) const $list: &[&str] = &[$($flume,)+];
    };
}

pub(crate) use counters;
