//! Every way a breakpoint request can be refused.

use core::fmt;

use crate::{AccessKind, Delivery, PrivilegeFilter};

/// Why a request was refused: by the generic checks, by the address-space policy, or by the
/// hardware constraints of the target CPU. No register is touched before these checks pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The range has zero bytes.
    EmptyRange {
        /// Start of the range.
        addr: u64,
    },
    /// `addr + len` does not fit in 64 bits.
    RangeWraps {
        /// Start of the range.
        addr: u64,
        /// Requested length.
        len: u64,
    },
    /// The access set is empty.
    NoAccessKind,
    /// Execute was combined with read or write; instruction and data breakpoints are
    /// different hardware.
    ExecuteWithData {
        /// The requested set.
        access: AccessKind,
    },
    /// The privilege filter is empty: nothing could ever match.
    NoPrivilege,
    /// A user-origin request reaches past the user address limit of this CPU profile.
    NotUserAddress {
        /// Start of the range.
        addr: u64,
        /// Length of the range.
        len: u64,
        /// Every watched byte must lie below this address.
        user_limit: u64,
    },
    /// The range overlaps a region the policy forbids (descriptor tables, entry stacks, …).
    ForbiddenRange {
        /// Start of the range.
        addr: u64,
        /// Length of the range.
        len: u64,
        /// What the forbidden region holds.
        region: &'static str,
    },
    /// The hardware cannot watch reads without writes.
    ReadOnlyUnsupported {
        /// Architecture name.
        arch: &'static str,
    },
    /// The address is not aligned as the hardware requires.
    Misaligned {
        /// Register the constraint comes from.
        register: &'static str,
        /// Start of the range.
        addr: u64,
        /// Required alignment in bytes.
        align: u64,
    },
    /// The hardware has no encoding for this length.
    UnsupportedLength {
        /// Register the constraint comes from.
        register: &'static str,
        /// Requested length.
        len: u64,
    },
    /// The range is longer than one slot of this register can watch.
    RangeTooLong {
        /// Register the constraint comes from.
        register: &'static str,
        /// Start of the (rounded) range.
        addr: u64,
        /// Length of the (rounded) range.
        len: u64,
        /// Longest range one slot watches.
        max: u64,
    },
    /// The range crosses a boundary a slot's range may not cross.
    CrossesBoundary {
        /// Register the constraint comes from.
        register: &'static str,
        /// Start of the (rounded) range.
        addr: u64,
        /// Length of the (rounded) range.
        len: u64,
        /// The boundary, in bytes (the range may not contain a multiple of it except at its start).
        boundary: u64,
    },
    /// Covering the range needs more slots than the CPU has.
    TooManySlots {
        /// Slots the plan needs.
        needed: u32,
        /// Slots the CPU has for this kind.
        available: u32,
    },
    /// This CPU profile has no usable slot for this kind of breakpoint.
    NoSlots {
        /// What kind of slot is missing.
        kind: &'static str,
        /// Why, in a few words (e.g. "POWER9 DAWR disabled: checkstop erratum").
        reason: &'static str,
    },
    /// The requested delivery timing cannot be produced for this kind on this hardware.
    DeliveryUnsupported {
        /// The requested delivery.
        delivery: Delivery,
        /// Why.
        reason: &'static str,
    },
    /// The hardware cannot express this privilege filter.
    PrivilegeUnsupported {
        /// The requested filter.
        privilege: PrivilegeFilter,
        /// Register the constraint comes from.
        register: &'static str,
    },
    /// An x86 I/O breakpoint was asked for but the caller did not state CR4.DE is set.
    IoRequiresDebugExtensions,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::EmptyRange { addr } => {
                write!(f, "empty range at {addr:#x}: length must be at least 1")
            }
            Self::RangeWraps { addr, len } => {
                write!(
                    f,
                    "range {addr:#x}+{len} wraps past the end of the address space"
                )
            }
            Self::NoAccessKind => {
                f.write_str("no access kind: watch read, write, read|write or execute")
            }
            Self::ExecuteWithData { access } => write!(
                f,
                "{access} mixes execute with data access; use one execute and one data breakpoint"
            ),
            Self::NoPrivilege => f.write_str("empty privilege filter: no access could ever match"),
            Self::NotUserAddress {
                addr,
                len,
                user_limit,
            } => write!(
                f,
                "user request {addr:#x}+{len} reaches beyond the user address limit {user_limit:#x}"
            ),
            Self::ForbiddenRange { addr, len, region } => {
                write!(
                    f,
                    "range {addr:#x}+{len} overlaps the {region}, which may not be watched"
                )
            }
            Self::ReadOnlyUnsupported { arch } => {
                write!(f, "{arch} cannot watch reads only; use read|write")
            }
            Self::Misaligned {
                register,
                addr,
                align,
            } => {
                write!(
                    f,
                    "{register} address {addr:#x} is not aligned to {align} bytes"
                )
            }
            Self::UnsupportedLength { register, len } => {
                write!(f, "{register} has no encoding for a length of {len} bytes")
            }
            Self::RangeTooLong {
                register,
                addr,
                len,
                max,
            } => {
                write!(f, "{register} range {addr:#x}+{len} exceeds {max} bytes")
            }
            Self::CrossesBoundary {
                register,
                addr,
                len,
                boundary,
            } => write!(
                f,
                "{register} range {addr:#x}+{len} crosses a {boundary}-byte boundary"
            ),
            Self::TooManySlots { needed, available } => write!(
                f,
                "covering the range needs {needed} slots but the CPU has {available}"
            ),
            Self::NoSlots { kind, reason } => write!(f, "no usable {kind} slot: {reason}"),
            Self::DeliveryUnsupported { delivery, reason } => {
                write!(f, "delivery {delivery:?} is not possible: {reason}")
            }
            Self::PrivilegeUnsupported {
                privilege,
                register,
            } => {
                write!(f, "{register} cannot filter on privilege {privilege:?}")
            }
            Self::IoRequiresDebugExtensions => f.write_str(
                "I/O breakpoints need CR4.DE set; state it explicitly when requesting one",
            ),
        }
    }
}

impl core::error::Error for RequestError {}
