//! DR6, the debug status register.
//!
//! Layout (Intel SDM Vol. 3B §18.2.3 "Debug Status Register (DR6)"):
//!
//! | bits   | field                                                                   |
//! |--------|-------------------------------------------------------------------------|
//! | 0–3    | B0–B3: slot *n* matched (also for matching slots that are not enabled)  |
//! | 4–10   | reserved, read as 1                                                     |
//! | 11     | BLD: **active low**, cleared by a bus-lock #DB                          |
//! | 12     | reserved, reads as 0                                                    |
//! | 13     | BD: the #DB came from general detect (DR7.GD)                           |
//! | 14     | BS: the #DB came from single-step (RFLAGS.TF)                            |
//! | 15     | BT: the #DB came from a task switch (TSS T flag)                         |
//! | 16     | RTM: **active low**, cleared when the #DB or #BP hit inside an RTM region |
//! | 17–31  | reserved, read as 1                                                     |
//! | 32–63  | reserved, must be written as 0 (#GP otherwise)                          |
//!
//! The processor sets these bits but does not reliably clear them, so a #DB handler writes
//! DR6 back to [`Dr6::RESET`] after reading it. Writing zero instead would clear the
//! active-low BLD and RTM bits and make the next exception report a bus lock and an RTM
//! region that never happened.

use bitflags::bitflags;
use hwbkpt_hal::SlotSet;

use crate::DebugSlot;

bitflags! {
    /// The named bits of DR6 (SDM §18.2.3). [`BLD`](Self::BLD) and [`RTM`](Self::RTM) are
    /// active low: the flag being *set* means the condition did *not* occur. Prefer the
    /// accessors of [`Dr6`], which hide the polarity.
    ///
    /// Unknown bits are kept (`const _ = !0`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    #[repr(transparent)]
    pub struct Dr6Flags: u64 {
        /// B0: slot 0's condition was met.
        const B0 = 1 << 0;
        /// B1: slot 1's condition was met.
        const B1 = 1 << 1;
        /// B2: slot 2's condition was met.
        const B2 = 1 << 2;
        /// B3: slot 3's condition was met.
        const B3 = 1 << 3;
        /// BLD, active low: *clear* means the #DB was raised by OS bus-lock detection
        /// (`IA32_DEBUGCTL.BLD`); set otherwise, and always set on processors without it.
        const BLD = 1 << 11;
        /// BD: the next instruction would have accessed a debug register while DR7.GD was set.
        const BD = 1 << 13;
        /// BS: single-step (RFLAGS.TF) trap.
        const BS = 1 << 14;
        /// BT: task switch to a task whose TSS T flag is set (not in 64-bit mode).
        const BT = 1 << 15;
        /// RTM, active low: *clear* means the #DB or #BP occurred inside an RTM transaction
        /// with advanced debugging of RTM enabled.
        const RTM = 1 << 16;
        // Hardware-defined register: bits not named above are kept, never dropped.
        const _ = !0;
    }
}

impl Dr6Flags {
    /// B0–B3.
    pub const ALL_HITS: Self = Self::from_bits_retain(
        Self::B0.bits() | Self::B1.bits() | Self::B2.bits() | Self::B3.bits(),
    );

    /// The B*n* bit of `slot`.
    #[must_use]
    pub const fn hit(slot: DebugSlot) -> Self {
        Self::from_bits_retain(1 << slot.index())
    }
}

/// A value of DR6, the debug status register, with every raw bit kept.
///
/// ```
/// use hwbkpt_x86::{DebugSlot, Dr6};
///
/// // DR6 as read in a #DB handler after slot 2 matched.
/// let dr6 = Dr6::from_bits_retain(0xFFFF_0FF4);
/// assert!(dr6.hit(DebugSlot::Dr2));
/// assert!(!dr6.bus_lock_detected() && !dr6.in_rtm() && !dr6.single_step());
///
/// // The same bits written back as zero would claim a bus lock and an RTM region:
/// let zeroed = Dr6::from_bits_retain(0);
/// assert!(zeroed.bus_lock_detected() && zeroed.in_rtm());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Dr6(u64);

impl Dr6 {
    /// The quiet value: every reads-as-1 bit and both active-low bits set, no event bit
    /// (SDM §18.2.3; the reset value in the Vol. 3A table "IA-32 and Intel 64 Processor
    /// States Following Power-up, Reset, or INIT" is FFFF0FF0H). Write this, never zero, to
    /// clear DR6.
    pub const RESET: Self = Self(0xFFFF_0FF0);

    /// Reserved bits that read as 1: 4–10 and 17–31 (SDM §18.2.3).
    pub const RESERVED_ONES: u64 = 0x7F0 | 0xFFFE_0000;

    /// Bits 32–63: a 1 makes `mov dr6` raise #GP (SDM §18.2.3, §18.2.6).
    pub const FAULTING_BITS: u64 = 0xFFFF_FFFF_0000_0000;

    /// Exactly `bits` (for values read from hardware).
    #[must_use]
    pub const fn from_bits_retain(bits: u64) -> Self {
        Self(bits)
    }

    /// The raw value.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The flags, unknown bits included.
    #[must_use]
    pub const fn flags(self) -> Dr6Flags {
        Dr6Flags::from_bits_retain(self.0)
    }

    /// Whether writing this value is well defined: bits 32–63 clear (else #GP).
    #[must_use]
    pub const fn is_valid(self) -> bool {
        self.0 & Self::FAULTING_BITS == 0
    }

    /// Whether slot `slot`'s condition was met (B*n*). The processor may set this for a
    /// slot that matched but is not enabled, so a handler must check its own arming.
    #[must_use]
    pub const fn hit(self, slot: DebugSlot) -> bool {
        self.0 & Dr6Flags::hit(slot).bits() != 0
    }

    /// The slots whose B bit is set, as HAL slot ids of the shared pool.
    #[must_use]
    pub const fn hit_slots(self) -> SlotSet {
        let mut set = SlotSet::EMPTY;
        let mut i = 0;
        while i < DebugSlot::ALL.len() {
            let slot = DebugSlot::ALL[i];
            if self.hit(slot) {
                set = set.with(slot.slot_id());
            }
            i += 1;
        }
        set
    }

    /// BD: the exception was raised because a debug register was accessed while DR7.GD
    /// was set.
    #[must_use]
    pub const fn debug_register_access(self) -> bool {
        self.0 & Dr6Flags::BD.bits() != 0
    }

    /// BS: the exception is a single-step trap.
    #[must_use]
    pub const fn single_step(self) -> bool {
        self.0 & Dr6Flags::BS.bits() != 0
    }

    /// BT: the exception came from a task switch.
    #[must_use]
    pub const fn task_switch(self) -> bool {
        self.0 & Dr6Flags::BT.bits() != 0
    }

    /// Whether the exception was raised by bus-lock detection (BLD bit *clear*).
    #[must_use]
    pub const fn bus_lock_detected(self) -> bool {
        self.0 & Dr6Flags::BLD.bits() == 0
    }

    /// Whether the exception occurred inside an RTM transactional region (RTM bit *clear*).
    #[must_use]
    pub const fn in_rtm(self) -> bool {
        self.0 & Dr6Flags::RTM.bits() == 0
    }

    /// Whether no event is recorded: no B bit, BD, BS or BT, and neither active-low bit
    /// cleared.
    #[must_use]
    pub const fn is_quiet(self) -> bool {
        let events = Dr6Flags::ALL_HITS.bits()
            | Dr6Flags::BD.bits()
            | Dr6Flags::BS.bits()
            | Dr6Flags::BT.bits();
        self.0 & events == 0 && !self.bus_lock_detected() && !self.in_rtm()
    }
}

impl Default for Dr6 {
    /// [`Dr6::RESET`].
    fn default() -> Self {
        Self::RESET
    }
}

impl core::fmt::Debug for Dr6 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Dr6")
            .field("bits", &format_args!("{:#x}", self.0))
            .field("hits", &[0, 1, 2, 3].map(|i| self.0 & (1 << i) != 0))
            .field("debug_register_access", &self.debug_register_access())
            .field("single_step", &self.single_step())
            .field("task_switch", &self.task_switch())
            .field("bus_lock_detected", &self.bus_lock_detected())
            .field("in_rtm", &self.in_rtm())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn positions_follow_the_sdm() {
        let expected = [
            (Dr6Flags::B0, 0),
            (Dr6Flags::B1, 1),
            (Dr6Flags::B2, 2),
            (Dr6Flags::B3, 3),
            (Dr6Flags::BLD, 11),
            (Dr6Flags::BD, 13),
            (Dr6Flags::BS, 14),
            (Dr6Flags::BT, 15),
            (Dr6Flags::RTM, 16),
        ];
        for (flag, bit) in expected {
            assert_eq!(flag.bits(), 1 << bit, "{flag:?}");
        }
    }

    #[test]
    fn reset_value_is_reserved_ones_plus_active_low_bits() {
        assert_eq!(Dr6::RESET.bits(), 0xFFFF_0FF0);
        assert_eq!(
            Dr6::RESET.bits(),
            Dr6::RESERVED_ONES | Dr6Flags::BLD.bits() | Dr6Flags::RTM.bits()
        );
        assert!(Dr6::RESET.is_quiet());
        assert!(Dr6::RESET.is_valid());
        assert_eq!(Dr6::default(), Dr6::RESET);
    }

    #[test]
    fn active_low_bits_are_hidden_by_the_accessors() {
        let bus_lock = Dr6::from_bits_retain(0xFFFF_07F0);
        assert!(bus_lock.bus_lock_detected());
        assert!(!bus_lock.in_rtm());
        assert!(!bus_lock.is_quiet());
        let rtm = Dr6::from_bits_retain(0xFFFE_0FF1);
        assert!(rtm.in_rtm());
        assert!(rtm.hit(DebugSlot::Dr0));
        assert!(!rtm.bus_lock_detected());
    }

    #[test]
    fn event_bits() {
        let step = Dr6::from_bits_retain(0xFFFF_4FF0);
        assert!(step.single_step() && !step.debug_register_access() && !step.task_switch());
        let gd = Dr6::from_bits_retain(0xFFFF_2FF0);
        assert!(gd.debug_register_access());
        let bt = Dr6::from_bits_retain(0xFFFF_8FF0);
        assert!(bt.task_switch());
        assert!(!Dr6::from_bits_retain(1 << 32).is_valid());
    }

    #[test]
    fn any_b_bit_makes_the_status_loud() {
        assert_eq!(Dr6Flags::ALL_HITS.bits(), 0xF);
        for slot in DebugSlot::ALL {
            let hit = Dr6::from_bits_retain(Dr6::RESET.bits() | 1 << slot.index());
            assert!(!hit.is_quiet(), "{slot:?}");
        }
        for event in [Dr6Flags::BD, Dr6Flags::BS, Dr6Flags::BT] {
            let raised = Dr6::from_bits_retain(Dr6::RESET.bits() | event.bits());
            assert!(!raised.is_quiet(), "{event:?}");
        }
    }

    #[test]
    fn debug_names_each_event() {
        let dr6 = Dr6::from_bits_retain(0xFFFF_4FF0 | 1 << 2);
        assert_eq!(
            format!("{dr6:?}"),
            "Dr6 { bits: 0xffff4ff4, hits: [false, false, true, false], \
             debug_register_access: false, single_step: true, task_switch: false, \
             bus_lock_detected: false, in_rtm: false }"
        );
    }

    proptest! {
        #[test]
        fn hits_are_exactly_the_b_bits(raw: u64) {
            let dr6 = Dr6::from_bits_retain(raw);
            let set = dr6.hit_slots();
            for slot in DebugSlot::ALL {
                prop_assert_eq!(dr6.hit(slot), raw & (1 << slot.index()) != 0);
                prop_assert_eq!(set.contains(slot.slot_id()), dr6.hit(slot));
            }
            prop_assert_eq!(set.len(), (raw & 0xF).count_ones());
        }

        #[test]
        fn decoding_any_value_never_panics_and_keeps_bits(raw: u64) {
            let dr6 = Dr6::from_bits_retain(raw);
            prop_assert_eq!(dr6.bits(), raw);
            prop_assert_eq!(dr6.flags().bits(), raw);
            let _ = (dr6.is_quiet(), dr6.is_valid(), format!("{dr6:?}"));
        }
    }
}
