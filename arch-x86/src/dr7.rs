//! DR7, the debug control register.
//!
//! Layout (Intel SDM Vol. 3B §18.2.4 "Debug Control Register (DR7)"):
//!
//! | bits      | field                                                            |
//! |-----------|------------------------------------------------------------------|
//! | 0, 2, 4, 6 | L0–L3: local enable of slot 0–3                                 |
//! | 1, 3, 5, 7 | G0–G3: global enable of slot 0–3                                |
//! | 8, 9      | LE, GE: exact breakpoint enables (ignored since the P6; Linux sets GE) |
//! | 10        | reserved, reads as 1                                             |
//! | 11        | RTM: advanced debugging of RTM transactional regions             |
//! | 12, 14, 15 | reserved, write as 0                                            |
//! | 13        | GD: general detect, any debug-register access raises #DB          |
//! | 16 + 4n, 17 + 4n | R/W*n*: [`Condition`]                                     |
//! | 18 + 4n, 19 + 4n | LEN*n*: [`BreakpointLength`]                              |
//! | 32–63     | reserved; writing a 1 raises #GP (SDM §18.2.6 "Debug Registers and Intel 64 Processors") |
//!
//! Linux's uapi `DR_CONTROL_RESERVED` (0xFC00) counts bits 11 and 13 as reserved; they are
//! RTM and GD, so no mask here is derived from it.

use bitflags::bitflags;

use crate::{BreakpointLength, Condition, DebugSlot};

bitflags! {
    /// The single-bit flags of DR7 (SDM §18.2.4). The two-bit per-slot fields live in
    /// [`Dr7`]; these flags never cover them.
    ///
    /// Unknown bits are kept (`const _ = !0`): a flag set read from hardware keeps every bit
    /// it had.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    #[repr(transparent)]
    pub struct Dr7Flags: u64 {
        /// L0: slot 0 enabled for the current task (cleared by a hardware task switch, which
        /// does not exist in 64-bit mode).
        const L0 = 1 << 0;
        /// G0: slot 0 enabled for all tasks.
        const G0 = 1 << 1;
        /// L1: slot 1 enabled for the current task.
        const L1 = 1 << 2;
        /// G1: slot 1 enabled for all tasks.
        const G1 = 1 << 3;
        /// L2: slot 2 enabled for the current task.
        const L2 = 1 << 4;
        /// G2: slot 2 enabled for all tasks.
        const G2 = 1 << 5;
        /// L3: slot 3 enabled for the current task.
        const L3 = 1 << 6;
        /// G3: slot 3 enabled for all tasks.
        const G3 = 1 << 7;
        /// LE: local exact breakpoint enable. Ignored since the P6 family; the SDM
        /// recommends setting LE or GE when exact data breakpoints are wanted.
        const LE = 1 << 8;
        /// GE: global exact breakpoint enable (what Linux sets with every global enable).
        const GE = 1 << 9;
        /// Bit 10: reserved, reads as 1 (part of [`Dr7::RESET`]).
        const RESERVED_ONE = 1 << 10;
        /// RTM: advanced debugging of RTM transactional regions, together with
        /// `IA32_DEBUGCTL.RTM` (SDM §18.3.3 "Debug Exceptions, Breakpoint Exceptions, and
        /// Restricted Transactional Memory (RTM)").
        const RTM = 1 << 11;
        /// GD: general detect. The next `mov` to or from any debug register raises #DB with
        /// DR6.BD set; the processor clears GD on entry to the #DB handler (SDM §18.3.1.3
        /// "General-Detect Exception Condition").
        const GD = 1 << 13;
        // Hardware-defined register: bits not named above are kept, never dropped.
        const _ = !0;
    }
}

impl Dr7Flags {
    /// Every named flag (unlike [`Dr7Flags::all`], which is every bit because unknown bits
    /// are kept).
    pub const NAMED: Self = Self::from_bits_retain(
        Self::L0.bits()
            | Self::G0.bits()
            | Self::L1.bits()
            | Self::G1.bits()
            | Self::L2.bits()
            | Self::G2.bits()
            | Self::L3.bits()
            | Self::G3.bits()
            | Self::LE.bits()
            | Self::GE.bits()
            | Self::RESERVED_ONE.bits()
            | Self::RTM.bits()
            | Self::GD.bits(),
    );

    /// The local enable L*n* of `slot`.
    #[must_use]
    pub const fn local_enable(slot: DebugSlot) -> Self {
        Self::from_bits_retain(1 << (2 * slot.index()))
    }

    /// The global enable G*n* of `slot`.
    #[must_use]
    pub const fn global_enable(slot: DebugSlot) -> Self {
        Self::from_bits_retain(1 << (2 * slot.index() + 1))
    }

    /// L0–L3.
    pub const ALL_LOCAL_ENABLES: Self = Self::from_bits_retain(
        Self::L0.bits() | Self::L1.bits() | Self::L2.bits() | Self::L3.bits(),
    );

    /// G0–G3.
    pub const ALL_GLOBAL_ENABLES: Self = Self::from_bits_retain(
        Self::G0.bits() | Self::G1.bits() | Self::G2.bits() | Self::G3.bits(),
    );
}

/// First bit of the per-slot fields, R/W0 (SDM §18.2.4).
const FIELDS_SHIFT: u32 = 16;
/// Each slot's R/W and LEN fields take four bits: R/W*n* at `16 + 4n` (SDM §18.2.4).
const FIELDS_PER_SLOT: u32 = 4;
/// LEN*n* sits two bits above R/W*n*, at `18 + 4n` (SDM §18.2.4).
const LEN_OFFSET: u32 = 2;
/// Mask of one two-bit field at bit 0.
const FIELD_MASK: u64 = 0b11;

/// A value of DR7, the debug control register: the [`Dr7Flags`] plus each slot's R/W
/// ([`Condition`]) and LEN ([`BreakpointLength`]) fields.
///
/// Every bit of the raw value is kept, including reserved ones: a value read from hardware,
/// changed through the setters and written back differs only in the fields that were set.
///
/// ```
/// use hwbkpt_x86::{BreakpointLength, Condition, DebugSlot, Dr7, Dr7Flags};
///
/// let mut dr7 = Dr7::RESET;
/// dr7.set_condition(DebugSlot::Dr1, Condition::Write);
/// dr7.set_size(DebugSlot::Dr1, BreakpointLength::Four);
/// dr7.set_global_enable(DebugSlot::Dr1, true);
/// dr7.insert(Dr7Flags::GE);
/// assert_eq!(dr7.bits(), 0x00d0_0608);
///
/// dr7.disable_slot(DebugSlot::Dr1);
/// assert_eq!(dr7.bits(), 0x0000_0600); // no stale R/W or LEN bits
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Dr7(u64);

impl Dr7 {
    /// The value after reset: only the reads-as-1 bit 10 (SDM §18.2.4; Vol. 3A table
    /// "IA-32 and Intel 64 Processor States Following Power-up, Reset, or INIT": 00000400H).
    pub const RESET: Self = Self(Dr7Flags::RESERVED_ONE.bits());

    /// Bits software must write as 0: 12, 14, 15 and 32–63. A 1 in bits 32–63 makes
    /// `mov dr7` raise #GP (SDM §18.2.6).
    pub const RESERVED_ZERO: u64 = 0xFFFF_FFFF_0000_0000 | 1 << 12 | 1 << 14 | 1 << 15;

    /// Bits 32–63, where a 1 makes `mov dr7` raise #GP (SDM §18.2.6).
    pub const FAULTING_BITS: u64 = 0xFFFF_FFFF_0000_0000;

    /// Bits software must write as 1: bit 10 (SDM §18.2.4).
    pub const RESERVED_ONES: u64 = Dr7Flags::RESERVED_ONE.bits();

    /// Exactly `bits`, whatever they are (for values read from hardware).
    #[must_use]
    pub const fn from_bits_retain(bits: u64) -> Self {
        Self(bits)
    }

    /// `bits` if it is a value the SDM allows software to write (see [`is_valid`](Self::is_valid)).
    #[must_use]
    pub const fn from_bits(bits: u64) -> Option<Self> {
        let value = Self(bits);
        if value.is_valid() { Some(value) } else { None }
    }

    /// `bits` with the reserved-zero bits cleared and bit 10 set: the nearest valid value.
    #[must_use]
    pub const fn from_bits_truncate(bits: u64) -> Self {
        Self(bits & !Self::RESERVED_ZERO | Self::RESERVED_ONES)
    }

    /// The raw value.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether writing this value is well defined: bits 32–63 clear (else #GP), bits 12, 14
    /// and 15 clear, and bit 10 set.
    #[must_use]
    pub const fn is_valid(self) -> bool {
        self.0 & Self::RESERVED_ZERO == 0 && self.0 & Self::RESERVED_ONES == Self::RESERVED_ONES
    }

    /// The named single-bit flags that are set (per-slot fields and reserved bits excluded).
    #[must_use]
    pub const fn flags(self) -> Dr7Flags {
        Dr7Flags::from_bits_retain(self.0 & Dr7Flags::NAMED.bits())
    }

    /// Whether every bit of `flags` is set.
    #[must_use]
    pub const fn contains(self, flags: Dr7Flags) -> bool {
        self.0 & flags.bits() == flags.bits()
    }

    /// Set `flags`, keeping every other bit.
    pub const fn insert(&mut self, flags: Dr7Flags) {
        self.0 |= flags.bits();
    }

    /// Clear `flags`, keeping every other bit.
    pub const fn remove(&mut self, flags: Dr7Flags) {
        self.0 &= !flags.bits();
    }

    /// Set or clear `flags`.
    pub const fn set(&mut self, flags: Dr7Flags, value: bool) {
        if value {
            self.insert(flags);
        } else {
            self.remove(flags);
        }
    }

    /// Bit position of `slot`'s R/W field.
    const fn condition_shift(slot: DebugSlot) -> u32 {
        FIELDS_SHIFT + FIELDS_PER_SLOT * slot.index() as u32
    }

    /// Bit position of `slot`'s LEN field.
    const fn size_shift(slot: DebugSlot) -> u32 {
        Self::condition_shift(slot) + LEN_OFFSET
    }

    /// Read the two-bit field at `shift`.
    const fn field(self, shift: u32) -> u64 {
        (self.0 >> shift) & FIELD_MASK
    }

    /// Replace the two-bit field at `shift`, keeping every other bit.
    const fn set_field(&mut self, shift: u32, value: u64) {
        self.0 = (self.0 & !(FIELD_MASK << shift)) | ((value & FIELD_MASK) << shift);
    }

    /// The R/W field of `slot`.
    #[must_use]
    pub const fn condition(self, slot: DebugSlot) -> Condition {
        match Condition::from_bits(self.field(Self::condition_shift(slot))) {
            Some(condition) => condition,
            // A two-bit field always decodes; this arm only satisfies the type.
            None => Condition::Execute,
        }
    }

    /// Set the R/W field of `slot`.
    pub const fn set_condition(&mut self, slot: DebugSlot, condition: Condition) {
        self.set_field(Self::condition_shift(slot), condition.bits());
    }

    /// The LEN field of `slot`.
    #[must_use]
    pub const fn size(self, slot: DebugSlot) -> BreakpointLength {
        match BreakpointLength::from_bits(self.field(Self::size_shift(slot))) {
            Some(len) => len,
            // A two-bit field always decodes; this arm only satisfies the type.
            None => BreakpointLength::One,
        }
    }

    /// Set the LEN field of `slot`.
    pub const fn set_size(&mut self, slot: DebugSlot, size: BreakpointLength) {
        self.set_field(Self::size_shift(slot), size.bits());
    }

    /// Whether L*n* of `slot` is set.
    #[must_use]
    pub const fn local_enabled(self, slot: DebugSlot) -> bool {
        self.contains(Dr7Flags::local_enable(slot))
    }

    /// Whether G*n* of `slot` is set.
    #[must_use]
    pub const fn global_enabled(self, slot: DebugSlot) -> bool {
        self.contains(Dr7Flags::global_enable(slot))
    }

    /// Whether `slot` is armed (L*n* or G*n* set).
    #[must_use]
    pub const fn is_enabled(self, slot: DebugSlot) -> bool {
        self.local_enabled(slot) || self.global_enabled(slot)
    }

    /// Set or clear L*n* of `slot`.
    pub const fn set_local_enable(&mut self, slot: DebugSlot, enabled: bool) {
        self.set(Dr7Flags::local_enable(slot), enabled);
    }

    /// Set or clear G*n* of `slot`.
    pub const fn set_global_enable(&mut self, slot: DebugSlot, enabled: bool) {
        self.set(Dr7Flags::global_enable(slot), enabled);
    }

    /// Every DR7 bit that belongs to `slot`: L*n*, G*n*, R/W*n* and LEN*n*.
    #[must_use]
    pub const fn slot_mask(slot: DebugSlot) -> u64 {
        Dr7Flags::local_enable(slot).bits()
            | Dr7Flags::global_enable(slot).bits()
            | (FIELD_MASK << Self::condition_shift(slot))
            | (FIELD_MASK << Self::size_shift(slot))
    }

    /// Disarm `slot`: clear its enables *and* its R/W and LEN fields, so no stale
    /// condition or length survives to be armed by a later enable. Every other bit is kept.
    pub const fn disable_slot(&mut self, slot: DebugSlot) {
        self.0 &= !Self::slot_mask(slot);
    }

    /// The slots that are armed.
    pub fn enabled_slots(self) -> impl Iterator<Item = DebugSlot> {
        DebugSlot::ALL
            .into_iter()
            .filter(move |slot| self.is_enabled(*slot))
    }
}

impl Default for Dr7 {
    /// [`Dr7::RESET`].
    fn default() -> Self {
        Self::RESET
    }
}

impl From<Dr7Flags> for Dr7 {
    fn from(flags: Dr7Flags) -> Self {
        Self(flags.bits())
    }
}

impl core::fmt::Debug for Dr7 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Dr7")
            .field("bits", &format_args!("{:#x}", self.0))
            .field("flags", &self.flags())
            .field("slots", &SlotFields(*self))
            .finish()
    }
}

/// Debug view of the four slots' fields.
struct SlotFields(Dr7);

impl core::fmt::Debug for SlotFields {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(
                DebugSlot::ALL
                    .iter()
                    .map(|&slot| (slot, self.0.condition(slot), self.0.size(slot))),
            )
            .finish()
    }
}

impl core::fmt::Display for Dr7 {
    /// The raw value, then every armed slot field by field, e.g.
    /// `0xd0602 (DR0: G write 4 bytes; GE)`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#x} (", self.0)?;
        let mut separator = "";
        for slot in self.enabled_slots() {
            let enables = match (self.local_enabled(slot), self.global_enabled(slot)) {
                (true, true) => "LG",
                (true, false) => "L",
                _ => "G",
            };
            let condition = match self.condition(slot) {
                Condition::Execute => "execute",
                Condition::Write => "write",
                Condition::Io => "I/O",
                Condition::ReadWrite => "read|write",
            };
            write!(
                f,
                "{separator}{slot}: {enables} {condition} {} byte{}",
                self.size(slot).bytes(),
                if self.size(slot).bytes() == 1 {
                    ""
                } else {
                    "s"
                }
            )?;
            separator = "; ";
        }
        for (name, flag) in [
            ("LE", Dr7Flags::LE),
            ("GE", Dr7Flags::GE),
            ("RTM", Dr7Flags::RTM),
            ("GD", Dr7Flags::GD),
        ] {
            if self.contains(flag) {
                write!(f, "{separator}{name}")?;
                separator = "; ";
            }
        }
        if separator.is_empty() {
            f.write_str("disarmed")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_slot() -> impl Strategy<Value = DebugSlot> {
        proptest::sample::select(DebugSlot::ALL.to_vec())
    }
    fn any_condition() -> impl Strategy<Value = Condition> {
        (0u64..4).prop_map(|b| Condition::from_bits(b).unwrap())
    }
    fn any_length() -> impl Strategy<Value = BreakpointLength> {
        (0u64..4).prop_map(|b| BreakpointLength::from_bits(b).unwrap())
    }

    #[test]
    fn flag_groups_hold_exactly_their_bits() {
        // L0–L3 are the even bits 0–6, G0–G3 the odd bits 1–7 (SDM §18.2.4).
        assert_eq!(Dr7Flags::ALL_LOCAL_ENABLES.bits(), 0x55);
        assert_eq!(Dr7Flags::ALL_GLOBAL_ENABLES.bits(), 0xAA);
        // Bits 0–11 and 13; 12, 14, 15 are reserved and 16–31 are the slot fields.
        assert_eq!(Dr7Flags::NAMED.bits(), 0x2FFF);
        let every_bit = Dr7::from_bits_retain(u64::MAX);
        assert_eq!(every_bit.flags(), Dr7Flags::NAMED);
        assert_eq!(Dr7::RESET.flags(), Dr7Flags::RESERVED_ONE);
    }

    #[test]
    fn flag_positions_follow_the_sdm() {
        let expected = [
            (Dr7Flags::L0, 0),
            (Dr7Flags::G0, 1),
            (Dr7Flags::L1, 2),
            (Dr7Flags::G1, 3),
            (Dr7Flags::L2, 4),
            (Dr7Flags::G2, 5),
            (Dr7Flags::L3, 6),
            (Dr7Flags::G3, 7),
            (Dr7Flags::LE, 8),
            (Dr7Flags::GE, 9),
            (Dr7Flags::RESERVED_ONE, 10),
            (Dr7Flags::RTM, 11),
            (Dr7Flags::GD, 13),
        ];
        for (flag, bit) in expected {
            assert_eq!(flag.bits(), 1 << bit, "{flag:?}");
        }
        assert_eq!(Dr7::RESET.bits(), 0x400);
        for slot in DebugSlot::ALL {
            let n = slot.index();
            assert_eq!(Dr7Flags::local_enable(slot).bits(), 1 << (2 * n));
            assert_eq!(Dr7Flags::global_enable(slot).bits(), 1 << (2 * n + 1));
        }
    }

    #[test]
    fn field_positions_follow_the_sdm() {
        for slot in DebugSlot::ALL {
            let n = u32::from(slot.index());
            let mut dr7 = Dr7::from_bits_retain(0);
            dr7.set_condition(slot, Condition::ReadWrite);
            assert_eq!(dr7.bits(), 0b11 << (16 + 4 * n));
            let mut dr7 = Dr7::from_bits_retain(0);
            dr7.set_size(slot, BreakpointLength::Four);
            assert_eq!(dr7.bits(), 0b11 << (18 + 4 * n));
        }
    }

    #[test]
    fn rtm_and_gd_are_flags_not_reserved() {
        // Linux's DR_CONTROL_RESERVED (0xFC00) would call these reserved.
        let dr7 = Dr7::from_bits(0x400 | 1 << 11 | 1 << 13).unwrap();
        assert!(dr7.contains(Dr7Flags::RTM));
        assert!(dr7.contains(Dr7Flags::GD));
        assert_eq!(Dr7::RESERVED_ZERO & (1 << 11 | 1 << 13), 0);
    }

    #[test]
    fn validity() {
        assert!(Dr7::RESET.is_valid());
        assert!(!Dr7::from_bits_retain(0).is_valid(), "bit 10 must be set");
        assert!(!Dr7::from_bits_retain(0x400 | 1 << 32).is_valid(), "#GP");
        assert!(!Dr7::from_bits_retain(0x400 | 1 << 12).is_valid());
        assert_eq!(Dr7::from_bits(1 << 40 | 0x400), None);
        assert_eq!(
            Dr7::from_bits_truncate(0xFFFF_FFFF_FFFF_FFFF).bits(),
            0xFFFF_2FFF
        );
    }

    #[test]
    fn disable_slot_leaves_no_stale_fields() {
        let mut dr7 = Dr7::from_bits_retain(0xFFFF_FFFF_FFFF_FFFF);
        dr7.disable_slot(DebugSlot::Dr2);
        assert_eq!(dr7.bits(), !(0b11 << 4 | 0b1111 << 24));
        assert!(!dr7.is_enabled(DebugSlot::Dr2));
        assert_eq!(dr7.condition(DebugSlot::Dr2), Condition::Execute);
        assert_eq!(dr7.size(DebugSlot::Dr2), BreakpointLength::One);
    }

    #[test]
    fn display_lists_armed_slots() {
        let dr7 = Dr7::from_bits_retain(0x000d_0602);
        assert_eq!(dr7.to_string(), "0xd0602 (DR0: G write 4 bytes; GE)");
        assert_eq!(Dr7::RESET.to_string(), "0x400 (disarmed)");
        let local_exec = Dr7::from_bits_retain(0x0000_0510);
        assert_eq!(local_exec.to_string(), "0x510 (DR2: L execute 1 byte; LE)");
        // DR1 local and global, read/write over 8 bytes (LEN 10b, R/W 11b).
        let both = Dr7::from_bits_retain(0x0000_0400 | 0b1100 | 0b1011 << 20);
        assert_eq!(both.to_string(), "0xb0040c (DR1: LG read|write 8 bytes)");
    }

    #[test]
    fn debug_shows_flags_and_every_slots_fields() {
        let dr7 = Dr7::from(Dr7Flags::RESERVED_ONE | Dr7Flags::G0);
        assert_eq!(dr7.bits(), 0x402);
        let shown = format!("{dr7:?}");
        assert!(shown.starts_with("Dr7 { bits: 0x402, flags: "), "{shown}");
        assert!(shown.contains("G0"), "{shown}");
        assert_eq!(
            shown.matches("(Dr").count(),
            4,
            "one entry per slot: {shown}"
        );
    }

    proptest! {
        #[test]
        fn fields_round_trip(
            raw: u64,
            slot in any_slot(),
            condition in any_condition(),
            size in any_length(),
            local: bool,
            global: bool,
        ) {
            let mut dr7 = Dr7::from_bits_retain(raw);
            dr7.set_condition(slot, condition);
            dr7.set_size(slot, size);
            dr7.set_local_enable(slot, local);
            dr7.set_global_enable(slot, global);
            prop_assert_eq!(dr7.condition(slot), condition);
            prop_assert_eq!(dr7.size(slot), size);
            prop_assert_eq!(dr7.local_enabled(slot), local);
            prop_assert_eq!(dr7.global_enabled(slot), global);
            // Nothing outside the slot's own bits moved.
            let mask = Dr7::slot_mask(slot);
            prop_assert_eq!(dr7.bits() & !mask, raw & !mask);
        }

        #[test]
        fn other_slots_and_reserved_bits_survive(raw: u64, slot in any_slot(), condition in any_condition(), size in any_length()) {
            let mut dr7 = Dr7::from_bits_retain(raw);
            dr7.set_condition(slot, condition);
            dr7.set_size(slot, size);
            dr7.set_global_enable(slot, true);
            dr7.disable_slot(slot);
            prop_assert_eq!(dr7.bits(), raw & !Dr7::slot_mask(slot));
            for other in DebugSlot::ALL.into_iter().filter(|s| *s != slot) {
                let original = Dr7::from_bits_retain(raw);
                prop_assert_eq!(dr7.condition(other), original.condition(other));
                prop_assert_eq!(dr7.size(other), original.size(other));
                prop_assert_eq!(dr7.is_enabled(other), original.is_enabled(other));
            }
        }

        #[test]
        fn decoding_any_value_never_panics(raw: u64) {
            let dr7 = Dr7::from_bits_retain(raw);
            prop_assert_eq!(dr7.bits(), raw);
            let _ = (dr7.flags(), dr7.is_valid(), dr7.to_string(), format!("{dr7:?}"));
            for slot in DebugSlot::ALL {
                let _ = (dr7.condition(slot), dr7.size(slot), dr7.is_enabled(slot));
            }
            prop_assert_eq!(Dr7::from_bits(raw).is_some(), dr7.is_valid());
            prop_assert!(Dr7::from_bits_truncate(raw).is_valid());
        }

        #[test]
        fn slot_masks_partition_the_slot_bits(a in any_slot(), b in any_slot()) {
            if a != b {
                prop_assert_eq!(Dr7::slot_mask(a) & Dr7::slot_mask(b), 0);
            }
            prop_assert_eq!(Dr7::slot_mask(a) & (Dr7Flags::NAMED.bits() & !0xFF), 0);
        }
    }
}
