//! DAWR0/DAWR1, the Data Address Watchpoint Registers (SPR 180/181; POWER8 and later,
//! DAWR1 on POWER10).
//!
//! Layout (Power ISA v3.1 Book III §9.4 "Data Address Watchpoint"; Linux
//! `arch/powerpc/kernel/dawr.c` writes `ALIGN_DOWN(address, 8)`):
//!
//! | IBM bits | LSB mask | field                          |
//! |----------|----------|--------------------------------|
//! | 0:60     | `!0x7`   | first watched doubleword       |
//! | 61:63    | `0x7`    | reserved (kept as read)        |
//!
//! The length and the match conditions live in [`Dawrx`](crate::Dawrx).

use super::DoublewordAddress;
use crate::registers::Spr;

/// The DAWR value: the start of the watched range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Dawr(u64);

impl Dawr {
    /// SPR number of DAWR0 (`SPRN_DAWR0` 0xB4).
    pub const SPR0: u16 = Spr::DAWR0;
    /// SPR number of DAWR1 (`SPRN_DAWR1` 0xB5).
    pub const SPR1: u16 = Spr::DAWR1;
    /// LSB mask of the reserved bits (IBM 61:63).
    pub const RESERVED: u64 = 0x7;

    /// A DAWR whose range starts at `address` (reserved bits zero).
    #[must_use]
    pub const fn new(address: DoublewordAddress) -> Self {
        Self(address.get())
    }

    /// The register exactly as read (reserved bits kept).
    #[must_use]
    pub const fn from_bits(bits: u64) -> Self {
        Self(bits)
    }

    /// The raw value to write.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The first watched doubleword.
    #[must_use]
    pub const fn address(self) -> DoublewordAddress {
        DoublewordAddress::containing(self.0)
    }

    /// The same register (reserved bits kept) starting at `address`.
    #[must_use]
    pub const fn with_address(self, address: DoublewordAddress) -> Self {
        Self((self.0 & Self::RESERVED) | address.get())
    }

    /// The reserved bits as read.
    #[must_use]
    pub const fn reserved(self) -> u64 {
        self.0 & Self::RESERVED
    }
}

const _: () = assert!(Dawr::RESERVED == crate::ibm_field(61, 63));

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spr_numbers() {
        assert_eq!((Dawr::SPR0, Dawr::SPR1), (180, 181));
    }

    proptest! {
        #[test]
        fn encode_decode(addr: u64) {
            let a = DoublewordAddress::containing(addr);
            prop_assert_eq!(Dawr::new(a).address(), a);
            prop_assert_eq!(Dawr::new(a).reserved(), 0);
        }

        #[test]
        fn reserved_bits_survive(raw: u64, addr: u64) {
            let d = Dawr::from_bits(raw).with_address(DoublewordAddress::containing(addr));
            prop_assert_eq!(d.reserved(), raw & 0x7);
            prop_assert_eq!(Dawr::from_bits(raw).with_address(Dawr::from_bits(raw).address()).bits(), raw);
        }
    }
}
