//! DABR, the Data Address Breakpoint Register (SPR 1013; POWER7 and earlier server CPUs).
//!
//! Layout (Power ISA v2.06B Book III-S "Data Address Breakpoint"; Linux
//! `arch/powerpc/include/asm/hw_breakpoint.h` `DABR_TRANSLATION`, `DABR_DATA_WRITE`,
//! `DABR_DATA_READ`):
//!
//! | IBM bits | LSB mask | field                                         |
//! |----------|----------|-----------------------------------------------|
//! | 0:60     | `!0x7`   | doubleword address                            |
//! | 61       | `0x4`    | BT: match only if MSR\[DR\] = 1 (translation on) |
//! | 62       | `0x2`    | DW: match stores                              |
//! | 63       | `0x1`    | DR: match loads                               |
//!
//! Every bit is defined; a DABR with neither DR nor DW never matches.

use bitflags::bitflags;

use super::DoublewordAddress;
use crate::registers::Spr;

bitflags! {
    /// The single-bit fields of DABR (IBM bits 61:63).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    #[repr(transparent)]
    pub struct DabrFlags: u64 {
        /// BT, IBM bit 61: match only when MSR\[DR\] = 1 (unless DABRX\[BTI\]).
        const BT = 0x4;
        /// DW, IBM bit 62: match stores.
        const DW = 0x2;
        /// DR, IBM bit 63: match loads.
        const DR = 0x1;
    }
}

const _: () = assert!(DabrFlags::BT.bits() == crate::ibm_bit(61));
const _: () = assert!(DabrFlags::DW.bits() == crate::ibm_bit(62));
const _: () = assert!(DabrFlags::DR.bits() == crate::ibm_bit(63));
const _: () = assert!(DabrFlags::all().bits() | DoublewordAddress::MASK == u64::MAX);

/// The DABR value: a doubleword address and the [`DabrFlags`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Dabr(u64);

impl Dabr {
    /// The SPR number (`SPRN_DABR` 0x3F5).
    pub const SPR: u16 = Spr::DABR;

    /// A DABR watching the doubleword at `address` with `flags`.
    #[must_use]
    pub const fn new(address: DoublewordAddress, flags: DabrFlags) -> Self {
        Self(address.get() | flags.bits())
    }

    /// The register exactly as read (every bit kept).
    #[must_use]
    pub const fn from_bits(bits: u64) -> Self {
        Self(bits)
    }

    /// The raw value to write.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The watched doubleword.
    #[must_use]
    pub const fn address(self) -> DoublewordAddress {
        DoublewordAddress::containing(self.0)
    }

    /// The same register watching `address`.
    #[must_use]
    pub const fn with_address(self, address: DoublewordAddress) -> Self {
        Self((self.0 & !DoublewordAddress::MASK) | address.get())
    }

    /// BT, DW and DR.
    #[must_use]
    pub const fn flags(self) -> DabrFlags {
        DabrFlags::from_bits_truncate(self.0)
    }

    /// The same register with `flags` in place of BT, DW and DR.
    #[must_use]
    pub const fn with_flags(self, flags: DabrFlags) -> Self {
        Self((self.0 & !DabrFlags::all().bits()) | flags.bits())
    }

    /// Whether the register can match anything (DR or DW set).
    #[must_use]
    pub const fn is_armed(self) -> bool {
        self.flags().intersects(DabrFlags::DR.union(DabrFlags::DW))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fields() {
        let d = Dabr::from_bits(0x7fff_dead_beef);
        assert_eq!(d.address().get(), 0x7fff_dead_bee8);
        assert_eq!(d.flags(), DabrFlags::all());
        assert!(d.is_armed());
        assert!(!Dabr::from_bits(0x1000_0004).is_armed());
        assert_eq!(Dabr::SPR, 1013);
    }

    proptest! {
        #[test]
        fn decode_encode_is_identity(raw: u64) {
            let d = Dabr::from_bits(raw);
            prop_assert_eq!(Dabr::new(d.address(), d.flags()).bits(), raw);
            prop_assert_eq!(Dabr::default().with_address(d.address()).with_flags(d.flags()), d);
        }

        #[test]
        fn encode_decode_is_identity(addr: u64, flags in 0u64..8) {
            let a = DoublewordAddress::containing(addr);
            let f = DabrFlags::from_bits_truncate(flags);
            let d = Dabr::new(a, f);
            prop_assert_eq!(d.address(), a);
            prop_assert_eq!(d.flags(), f);
        }

        #[test]
        fn setters_touch_only_their_field(raw: u64, addr: u64, flags in 0u64..8) {
            let d = Dabr::from_bits(raw);
            let a = DoublewordAddress::containing(addr);
            prop_assert_eq!(d.with_address(a).flags(), d.flags());
            prop_assert_eq!(d.with_flags(DabrFlags::from_bits_truncate(flags)).address(), d.address());
        }
    }
}
