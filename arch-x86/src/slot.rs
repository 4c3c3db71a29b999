//! The four breakpoint slots DR0–DR3.

use hwbkpt_hal::{PoolKind, SlotId};

/// One of the four debug address registers, DR0–DR3 (Intel SDM Vol. 3B §18.2.1 "Debug
/// Address Registers (DR0–DR3)"). Each one, with its fields in DR7, forms one breakpoint slot.
///
/// A validated number: a value of this type always names an existing register, so the
/// per-slot accessors of [`Dr7`](crate::Dr7) and [`Dr6`](crate::Dr6) cannot be handed slot 4.
///
/// ```
/// use hwbkpt_x86::DebugSlot;
///
/// assert_eq!(DebugSlot::new(2), Some(DebugSlot::Dr2));
/// assert_eq!(DebugSlot::new(4), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DebugSlot {
    /// DR0.
    Dr0 = 0,
    /// DR1.
    Dr1 = 1,
    /// DR2.
    Dr2 = 2,
    /// DR3.
    Dr3 = 3,
}

impl DebugSlot {
    /// Number of slots: four on every x86 processor since the i386 (SDM §18.2.1).
    pub const COUNT: u8 = 4;

    /// All slots in register order.
    pub const ALL: [Self; Self::COUNT as usize] = [Self::Dr0, Self::Dr1, Self::Dr2, Self::Dr3];

    /// Slot `n` (0–3), or `None` for any other number.
    #[must_use]
    pub const fn new(n: u8) -> Option<Self> {
        match n {
            0 => Some(Self::Dr0),
            1 => Some(Self::Dr1),
            2 => Some(Self::Dr2),
            3 => Some(Self::Dr3),
            _ => None,
        }
    }

    /// The register number, 0–3.
    #[must_use]
    pub const fn index(self) -> u8 {
        self as u8
    }

    /// The HAL's name for this slot: index `n` of the shared pool.
    #[must_use]
    pub const fn slot_id(self) -> SlotId {
        SLOT_IDS[self as usize]
    }

    /// The x86 slot the HAL means by `id`: `None` unless `id` is in the shared pool (x86 has
    /// no separate data or instruction pools).
    #[must_use]
    pub const fn from_slot_id(id: SlotId) -> Option<Self> {
        match id.pool() {
            PoolKind::Shared => Self::new(id.index()),
            PoolKind::Data | PoolKind::Instruction => None,
        }
    }
}

/// The HAL slot ids of DR0–DR3, built once at compile time so that [`DebugSlot::slot_id`] is
/// infallible at run time.
const SLOT_IDS: [SlotId; DebugSlot::COUNT as usize] = [
    shared_slot(0),
    shared_slot(1),
    shared_slot(2),
    shared_slot(3),
];

#[expect(
    clippy::panic,
    reason = "only evaluated in the constant SLOT_IDS: a failure is a compile error, never a run-time panic"
)]
const fn shared_slot(index: u8) -> SlotId {
    match SlotId::new(PoolKind::Shared, index) {
        Some(id) => id,
        None => panic!("the HAL must allow four slots per pool"),
    }
}

impl core::fmt::Display for DebugSlot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "DR{}", self.index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_round_trip() {
        for (n, slot) in DebugSlot::ALL.iter().enumerate() {
            let n = u8::try_from(n).unwrap();
            assert_eq!(DebugSlot::new(n), Some(*slot));
            assert_eq!(slot.index(), n);
            assert_eq!(DebugSlot::from_slot_id(slot.slot_id()), Some(*slot));
        }
    }

    #[test]
    fn other_pools_are_not_x86_slots() {
        for pool in [PoolKind::Data, PoolKind::Instruction] {
            let id = SlotId::new(pool, 0).unwrap();
            assert_eq!(DebugSlot::from_slot_id(id), None);
        }
    }

    #[test]
    fn display_names_the_register() {
        assert_eq!(DebugSlot::Dr3.to_string(), "DR3");
    }

    proptest! {
        #[test]
        fn new_never_panics_and_accepts_exactly_0_to_3(n: u8) {
            prop_assert_eq!(DebugSlot::new(n).is_some(), n < 4);
        }
    }
}
