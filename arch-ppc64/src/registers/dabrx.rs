//! DABRX, the Data Address Breakpoint Register Extension (SPR 1015).
//!
//! Layout (Power ISA v2.06B Book III-S "Data Address Breakpoint Register Extension";
//! Linux `arch/powerpc/include/asm/reg.h` `DABRX_USER`, `DABRX_KERNEL`, `DABRX_HYP`,
//! `DABRX_BTI`):
//!
//! | IBM bit | LSB mask | field                                           |
//! |---------|----------|-------------------------------------------------|
//! | 60      | `0x8`    | BTI: ignore DABR\[BT\] (match in either translation mode) |
//! | 61      | `0x4`    | HYP: match in hypervisor state (HV=1, PR=0)     |
//! | 62      | `0x2`    | PNH: match in privileged non-hypervisor state   |
//! | 63      | `0x1`    | PR: match in problem state (user)               |
//!
//! The other bits are reserved; [`Dabrx`] keeps them as read (`from_bits_retain`).

use bitflags::bitflags;

use crate::registers::Spr;

bitflags! {
    /// DABRX: every field is a single bit. Unknown bits are retained.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    #[repr(transparent)]
    pub struct Dabrx: u64 {
        /// BTI, IBM bit 60: ignore DABR\[BT\].
        const BTI = 0x8;
        /// HYP, IBM bit 61: match accesses in hypervisor state.
        const HYP = 0x4;
        /// PNH, IBM bit 62: match accesses in privileged non-hypervisor (kernel) state.
        const PNH = 0x2;
        /// PR, IBM bit 63: match accesses in problem (user) state.
        const PR = 0x1;
        // Reserved bits are hardware-defined state: keep them.
        const _ = !0;
    }
}

impl Dabrx {
    /// The SPR number (`SPRN_DABRX` 0x3F7).
    pub const SPR: u16 = Spr::DABRX;
    /// The privilege bits.
    pub const PRIVILEGE: Self = Self::HYP.union(Self::PNH).union(Self::PR);
    /// LSB mask of the bits the ISA defines.
    pub const DEFINED: u64 = 0xF;
}

const _: () = assert!(Dabrx::BTI.bits() == crate::ibm_bit(60));
const _: () = assert!(Dabrx::HYP.bits() == crate::ibm_bit(61));
const _: () = assert!(Dabrx::PNH.bits() == crate::ibm_bit(62));
const _: () = assert!(Dabrx::PR.bits() == crate::ibm_bit(63));
const _: () = assert!(Dabrx::DEFINED == crate::ibm_field(60, 63));

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn linux_dabrx_all() {
        // Linux: DABRX_ALL = BTI | HYP | KERNEL | USER.
        assert_eq!((Dabrx::BTI | Dabrx::PRIVILEGE).bits(), 0xF);
        assert_eq!(Dabrx::SPR, 1015);
    }

    proptest! {
        #[test]
        fn reserved_bits_survive(raw: u64) {
            let d = Dabrx::from_bits_retain(raw);
            prop_assert_eq!(d.bits(), raw);
            // Rewriting the privilege bits keeps everything else.
            let rewritten = (d - Dabrx::PRIVILEGE) | Dabrx::PR;
            prop_assert_eq!(rewritten.bits() & !Dabrx::DEFINED, raw & !Dabrx::DEFINED);
        }
    }
}
