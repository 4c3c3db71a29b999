//! Which enable bits arm a slot.

use crate::{DebugSlot, Dr7Flags};

/// Which DR7 enable bits arm a slot, and which exact-breakpoint flag goes with them.
///
/// Local enables (L*n*) are cleared by a hardware task switch; global ones (G*n*) are not
/// (Intel SDM Vol. 3B §18.2.4). 64-bit mode has no hardware task switch, so on x86-64 the
/// two behave the same and the choice only matters for what other software expects to read
/// back. The default is [`Global`](Self::Global), as Linux's `encode_dr7` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EnableMode {
    /// L*n*, with LE.
    Local,
    /// G*n*, with GE (Linux's choice).
    #[default]
    Global,
    /// L*n* and G*n*, with LE and GE.
    Both,
}

impl EnableMode {
    /// The DR7 flags that arm `slot` in this mode, exact-breakpoint flags included.
    #[must_use]
    pub const fn flags(self, slot: DebugSlot) -> Dr7Flags {
        let local = Dr7Flags::local_enable(slot).union(Dr7Flags::LE);
        let global = Dr7Flags::global_enable(slot).union(Dr7Flags::GE);
        match self {
            Self::Local => local,
            Self::Global => global,
            Self::Both => local.union(global),
        }
    }

    /// The mode whose enable bits are `local` and `global`; `None` when neither is set
    /// (the slot is disarmed).
    #[must_use]
    pub const fn from_enables(local: bool, global: bool) -> Option<Self> {
        match (local, global) {
            (true, true) => Some(Self::Both),
            (true, false) => Some(Self::Local),
            (false, true) => Some(Self::Global),
            (false, false) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_per_mode() {
        assert_eq!(EnableMode::Global.flags(DebugSlot::Dr0).bits(), 0x202);
        assert_eq!(EnableMode::Local.flags(DebugSlot::Dr0).bits(), 0x101);
        assert_eq!(EnableMode::Both.flags(DebugSlot::Dr3).bits(), 0x3C0);
        assert_eq!(EnableMode::default(), EnableMode::Global);
    }

    #[test]
    fn from_enables_inverts_flags() {
        for mode in [EnableMode::Local, EnableMode::Global, EnableMode::Both] {
            let flags = mode.flags(DebugSlot::Dr1);
            let local = flags.contains(Dr7Flags::L1);
            let global = flags.contains(Dr7Flags::G1);
            assert_eq!(EnableMode::from_enables(local, global), Some(mode));
        }
        assert_eq!(EnableMode::from_enables(false, false), None);
    }
}
