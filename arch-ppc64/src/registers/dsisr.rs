//! DSISR, the Data Storage Interrupt Status Register (SPR 18), as far as breakpoints need it.
//!
//! A DABR or DAWR match raises a data storage interrupt *before* the access, with DSISR
//! bit 41 set and DAR holding the first byte of the overlap (POWER10 always; POWER8/9 for
//! byte to doubleword accesses). The DSISR does not say which DAWR matched.
//! Bits from Linux `arch/powerpc/include/asm/reg.h` (`DSISR_DABRMATCH` 0x00400000 "bit 41",
//! `DSISR_ISSTORE` 0x02000000) and Power ISA v3.1 Book III, "Data Storage Interrupt".
//! The DSISR is a 32-bit register numbered 32:63 like the low word of a 64-bit one.

use bitflags::bitflags;

use crate::registers::Spr;

bitflags! {
    /// The DSISR bits this crate interprets. Every other bit is retained as read.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    #[repr(transparent)]
    pub struct Dsisr: u64 {
        /// IBM bit 38: the access was a store.
        const STORE = 0x0200_0000;
        /// IBM bit 41: a DABR or DAWR matched (`DSISR_DABRMATCH`).
        const DABR_MATCH = 0x0040_0000;
        // Page-fault causes and the rest: keep them for whoever handles those.
        const _ = !0;
    }
}

impl Dsisr {
    /// The SPR number (`SPRN_DSISR` 0x012).
    pub const SPR: u16 = Spr::DSISR;
}

const _: () = assert!(Dsisr::STORE.bits() == crate::ibm_bit(38));
const _: () = assert!(Dsisr::DABR_MATCH.bits() == crate::ibm_bit(41));

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn match_bit() {
        assert_eq!(Dsisr::DABR_MATCH.bits(), 0x0040_0000);
        assert!(Dsisr::from_bits_retain(0x0240_0000).contains(Dsisr::DABR_MATCH | Dsisr::STORE));
        assert_eq!(Dsisr::SPR, 18);
    }

    proptest! {
        #[test]
        fn every_bit_survives(raw: u64) {
            prop_assert_eq!(Dsisr::from_bits_retain(raw).bits(), raw);
        }
    }
}
