//! Capability flags (`DFLAG_*`), exchanged in the handshake.
//!
//! Each side sends its flags; what the connection uses is the intersection.
//! OTP 25–27 refuse a peer that lacks any of [`DistFlags::MANDATORY`], and so
//! does this crate.

use std::fmt;
use std::ops::{BitAnd, BitOr};

/// A set of distribution capability flags.
///
/// ```
/// use ember_dist::DistFlags;
/// let ours = DistFlags::DEFAULT;
/// assert!(ours.contains(DistFlags::MANDATORY));
/// assert!(!ours.contains(DistFlags::PUBLISHED)); // hidden unless asked
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DistFlags(pub u64);

macro_rules! flags {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        impl DistFlags {
            $($(#[$doc])* pub const $name: DistFlags = DistFlags($value);)*
        }
        const NAMES: &[(&str, u64)] = &[$((stringify!($name), $value)),*];
    };
}

flags! {
    /// The node is published (part of `global`'s namespace); hidden without.
    PUBLISHED = 0x1;
    /// Extended (3 × 32-bit) references. Mandatory.
    EXTENDED_REFERENCES = 0x4;
    /// Distributed process monitoring.
    DIST_MONITOR = 0x8;
    /// Separate tags for funs. Mandatory.
    FUN_TAGS = 0x10;
    /// Monitoring a process by name on another node.
    DIST_MONITOR_NAME = 0x20;
    /// `NEW_FUN_EXT`. Mandatory.
    NEW_FUN_TAGS = 0x80;
    /// Extended pids and ports. Mandatory.
    EXTENDED_PIDS_PORTS = 0x100;
    /// `EXPORT_EXT`. Mandatory.
    EXPORT_PTR_TAG = 0x200;
    /// `BIT_BINARY_EXT`. Mandatory.
    BIT_BINARIES = 0x400;
    /// `NEW_FLOAT_EXT`. Mandatory.
    NEW_FLOATS = 0x800;
    /// Unicode I/O.
    UNICODE_IO = 0x1000;
    /// Distribution headers with the atom cache.
    DIST_HDR_ATOM_CACHE = 0x2000;
    /// `SMALL_ATOM_EXT`.
    SMALL_ATOM_TAGS = 0x4000;
    /// UTF-8 atoms. Mandatory.
    UTF8_ATOMS = 0x10000;
    /// `MAP_EXT`. Mandatory.
    MAP_TAG = 0x20000;
    /// 32-bit creations (`NEW_PID_EXT`, `NEWER_REFERENCE_EXT`). Mandatory.
    BIG_CREATION = 0x40000;
    /// `SEND_SENDER` instead of `SEND`.
    SEND_SENDER = 0x80000;
    /// Any term as a seq_trace label.
    BIG_SEQTRACE_LABELS = 0x100000;
    /// The `PAYLOAD_*` exit control messages.
    EXIT_PAYLOAD = 0x400000;
    /// Fragmented distribution messages.
    FRAGMENTS = 0x800000;
    /// The version 6 handshake. Mandatory.
    HANDSHAKE_23 = 0x1000000;
    /// The new link protocol (`UNLINK_ID`). Mandatory since OTP 26.
    UNLINK_ID = 0x2000000;
    /// `SPAWN_REQUEST` (not supported by this crate).
    SPAWN = 1 << 32;
    /// Dynamic node names (not supported by this crate).
    NAME_ME = 1 << 33;
    /// Node container types version 4 (64-bit ports, 5-word refs). Mandatory
    /// since OTP 26.
    V4_NC = 1 << 34;
    /// Process aliases (`ALIAS_SEND`).
    ALIAS = 1 << 35;
    /// Supports everything mandatory in OTP 25.
    MANDATORY_25_DIGEST = 1 << 36;
}

impl DistFlags {
    /// What OTP 25–27 require of a peer, and what this crate requires.
    pub const MANDATORY: DistFlags = DistFlags(
        Self::EXTENDED_REFERENCES.0
            | Self::FUN_TAGS.0
            | Self::NEW_FUN_TAGS.0
            | Self::EXTENDED_PIDS_PORTS.0
            | Self::EXPORT_PTR_TAG.0
            | Self::BIT_BINARIES.0
            | Self::NEW_FLOATS.0
            | Self::UTF8_ATOMS.0
            | Self::MAP_TAG.0
            | Self::BIG_CREATION.0
            | Self::HANDSHAKE_23.0
            | Self::UNLINK_ID.0
            | Self::V4_NC.0,
    );

    /// What this crate offers: the mandatory set and every optional
    /// capability it implements (monitors, the atom cache, fragments,
    /// `SEND_SENDER`, payload exits, aliases). Not published (hidden).
    pub const DEFAULT: DistFlags = DistFlags(
        Self::MANDATORY.0
            | Self::DIST_MONITOR.0
            | Self::DIST_MONITOR_NAME.0
            | Self::UNICODE_IO.0
            | Self::DIST_HDR_ATOM_CACHE.0
            | Self::SMALL_ATOM_TAGS.0
            | Self::SEND_SENDER.0
            | Self::BIG_SEQTRACE_LABELS.0
            | Self::EXIT_PAYLOAD.0
            | Self::FRAGMENTS.0
            | Self::ALIAS.0
            | Self::MANDATORY_25_DIGEST.0,
    );

    /// Whether every flag of `other` is set here.
    ///
    /// ```
    /// use ember_dist::DistFlags;
    /// assert!(DistFlags::DEFAULT.contains(DistFlags::FRAGMENTS));
    /// ```
    pub fn contains(self, other: DistFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags of `other` missing here.
    ///
    /// ```
    /// use ember_dist::DistFlags;
    /// assert_eq!(DistFlags(0).missing(DistFlags::MAP_TAG), DistFlags::MAP_TAG);
    /// ```
    pub fn missing(self, other: DistFlags) -> DistFlags {
        DistFlags(other.0 & !self.0)
    }
}

impl BitOr for DistFlags {
    type Output = DistFlags;
    fn bitor(self, rhs: DistFlags) -> DistFlags {
        DistFlags(self.0 | rhs.0)
    }
}

impl BitAnd for DistFlags {
    type Output = DistFlags;
    fn bitand(self, rhs: DistFlags) -> DistFlags {
        DistFlags(self.0 & rhs.0)
    }
}

impl fmt::Debug for DistFlags {
    /// The names of the flags set, and any unnamed bits in hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        let mut first = true;
        for (name, bit) in NAMES {
            if rest & bit != 0 {
                write!(f, "{}{name}", if first { "" } else { "|" })?;
                rest &= !bit;
                first = false;
            }
        }
        if rest != 0 || first {
            write!(f, "{}{rest:#x}", if first { "" } else { "|" })?;
        }
        Ok(())
    }
}
