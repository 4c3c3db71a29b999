//! DAWRX0/DAWRX1, the Data Address Watchpoint Register Extensions (SPR 188/189).
//!
//! Layout (Power ISA v3.1 Book III §9.4 "Data Address Watchpoint"; Linux
//! `arch/powerpc/include/asm/reg.h` `DAWRX_*` and `arch/powerpc/kernel/dawr.c`, which puts
//! `mrd` at `63 - 53`):
//!
//! | IBM bits | LSB mask | field                                                        |
//! |----------|----------|--------------------------------------------------------------|
//! | 48:53    | `0xFC00` | MRD: match range in doublewords − 1 (length = (MRD+1)·8 ≤ 512) |
//! | 57       | `0x40`   | DW: match stores                                             |
//! | 58       | `0x20`   | DR: match loads                                              |
//! | 59       | `0x10`   | WT: match only if MSR\[DR\] = 1 (translation on)              |
//! | 60       | `0x8`    | WTI: ignore WT (match in either translation mode)            |
//! | 61       | `0x4`    | HYP: match in hypervisor state                               |
//! | 62       | `0x2`    | PNH: match in privileged non-hypervisor state                |
//! | 63       | `0x1`    | PR: match in problem (user) state                            |
//!
//! All other bits are reserved and kept as read.

use bitflags::bitflags;

use crate::registers::Spr;

bitflags! {
    /// The single-bit fields of DAWRX (IBM bits 57:63).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    #[repr(transparent)]
    pub struct DawrxFlags: u64 {
        /// DW, IBM bit 57: match stores.
        const DW = 0x40;
        /// DR, IBM bit 58: match loads.
        const DR = 0x20;
        /// WT, IBM bit 59: match only when MSR\[DR\] = 1. Linux sets it for every normal
        /// request; without it a DAWR never fires for ordinary (translated) code.
        const WT = 0x10;
        /// WTI, IBM bit 60: ignore WT.
        const WTI = 0x8;
        /// HYP, IBM bit 61: match in hypervisor state.
        const HYP = 0x4;
        /// PNH, IBM bit 62: match in privileged non-hypervisor (kernel) state.
        const PNH = 0x2;
        /// PR, IBM bit 63: match in problem (user) state.
        const PR = 0x1;
    }
}

impl DawrxFlags {
    /// The privilege bits.
    pub const PRIVILEGE: Self = Self::HYP.union(Self::PNH).union(Self::PR);
}

const _: () = assert!(DawrxFlags::DW.bits() == crate::ibm_bit(57));
const _: () = assert!(DawrxFlags::DR.bits() == crate::ibm_bit(58));
const _: () = assert!(DawrxFlags::WT.bits() == crate::ibm_bit(59));
const _: () = assert!(DawrxFlags::WTI.bits() == crate::ibm_bit(60));
const _: () = assert!(DawrxFlags::HYP.bits() == crate::ibm_bit(61));
const _: () = assert!(DawrxFlags::PNH.bits() == crate::ibm_bit(62));
const _: () = assert!(DawrxFlags::PR.bits() == crate::ibm_bit(63));

/// The MRD field of DAWRX: the watched length in doublewords, minus one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(transparent)]
pub struct Mrd(u8);

impl Mrd {
    /// Largest MRD: 64 doublewords.
    pub const MAX: Self = Self(63);
    /// Longest range one DAWR watches, in bytes.
    pub const MAX_LEN: u64 = 512;

    /// MRD `value` if it fits the 6-bit field.
    #[must_use]
    pub const fn new(value: u8) -> Option<Self> {
        if value <= Self::MAX.0 {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The MRD that watches `len` bytes: `len` must be a multiple of 8 in `8..=512`.
    #[must_use]
    pub const fn from_len(len: u64) -> Option<Self> {
        if len == 0 || !len.is_multiple_of(8) || len > Self::MAX_LEN {
            return None;
        }
        // len / 8 - 1 is at most 63 here.
        Some(Self((len / 8 - 1) as u8))
    }

    /// The field value.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Watched doublewords (`MRD + 1`).
    #[must_use]
    pub const fn doublewords(self) -> u64 {
        self.0 as u64 + 1
    }

    /// Watched bytes (`(MRD + 1) · 8`).
    #[must_use]
    pub const fn length(self) -> u64 {
        self.doublewords() * 8
    }
}

/// The DAWRX value: [`Mrd`], [`DawrxFlags`], and the reserved bits as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Dawrx(u64);

impl Dawrx {
    /// SPR number of DAWRX0 (`SPRN_DAWRX0` 0xBC).
    pub const SPR0: u16 = Spr::DAWRX0;
    /// SPR number of DAWRX1 (`SPRN_DAWRX1` 0xBD).
    pub const SPR1: u16 = Spr::DAWRX1;
    /// LSB mask of MRD (IBM bits 48:53).
    pub const MRD_MASK: u64 = 0xFC00;
    /// LSB shift of MRD.
    pub const MRD_SHIFT: u32 = 10;
    /// LSB mask of the reserved bits: everything but MRD and the flags.
    pub const RESERVED: u64 = !(Self::MRD_MASK | DawrxFlags::all().bits());

    /// A DAWRX with `mrd` and `flags` (reserved bits zero).
    #[must_use]
    pub const fn new(mrd: Mrd, flags: DawrxFlags) -> Self {
        Self(((mrd.get() as u64) << Self::MRD_SHIFT) | flags.bits())
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

    /// The MRD field.
    #[must_use]
    pub const fn mrd(self) -> Mrd {
        // The mask leaves six bits: at most 63.
        Mrd(((self.0 & Self::MRD_MASK) >> Self::MRD_SHIFT) as u8)
    }

    /// The same register with `mrd`.
    #[must_use]
    pub const fn with_mrd(self, mrd: Mrd) -> Self {
        Self((self.0 & !Self::MRD_MASK) | ((mrd.get() as u64) << Self::MRD_SHIFT))
    }

    /// Watched bytes (`(MRD + 1) · 8`).
    #[must_use]
    pub const fn length(self) -> u64 {
        self.mrd().length()
    }

    /// DW, DR, WT, WTI, HYP, PNH, PR.
    #[must_use]
    pub const fn flags(self) -> DawrxFlags {
        DawrxFlags::from_bits_truncate(self.0)
    }

    /// The same register with `flags` in place of the single-bit fields.
    #[must_use]
    pub const fn with_flags(self, flags: DawrxFlags) -> Self {
        Self((self.0 & !DawrxFlags::all().bits()) | flags.bits())
    }

    /// The reserved bits as read.
    #[must_use]
    pub const fn reserved(self) -> u64 {
        self.0 & Self::RESERVED
    }

    /// Whether the register can match anything: DR or DW, and a privilege bit.
    #[must_use]
    pub const fn is_armed(self) -> bool {
        let f = self.flags();
        f.intersects(DawrxFlags::DR.union(DawrxFlags::DW)) && f.intersects(DawrxFlags::PRIVILEGE)
    }
}

const _: () = assert!(Dawrx::MRD_MASK == crate::ibm_field(48, 53));
const _: () = assert!(Dawrx::MRD_SHIFT == crate::ibm_shift(53));
const _: () = assert!(Mrd::MAX.length() == Mrd::MAX_LEN);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mrd_lengths() {
        assert_eq!(Mrd::from_len(8), Mrd::new(0));
        assert_eq!(Mrd::from_len(512), Some(Mrd::MAX));
        assert_eq!(Mrd::from_len(0), None);
        assert_eq!(Mrd::from_len(12), None);
        assert_eq!(Mrd::from_len(520), None);
        assert_eq!(Mrd::new(64), None);
        // Linux dawr.c: 16 bytes -> mrd 1 -> 0x400.
        let two = Mrd::from_len(16).map(|m| Dawrx::new(m, DawrxFlags::empty()).bits());
        assert_eq!(two, Some(0x400));
    }

    #[test]
    fn spr_numbers() {
        assert_eq!((Dawrx::SPR0, Dawrx::SPR1), (188, 189));
    }

    #[test]
    fn armed_needs_access_and_privilege() {
        assert!(!Dawrx::new(Mrd::MAX, DawrxFlags::DW | DawrxFlags::WT).is_armed());
        assert!(!Dawrx::new(Mrd::MAX, DawrxFlags::PR | DawrxFlags::WT).is_armed());
        assert!(Dawrx::new(Mrd::MAX, DawrxFlags::PR | DawrxFlags::DR).is_armed());
    }

    proptest! {
        #[test]
        fn mrd_round_trip(len in 1u64..64) {
            let m = Mrd::from_len(len * 8);
            prop_assert_eq!(m.map(Mrd::length), Some(len * 8));
        }

        #[test]
        fn mrd_from_len_never_panics(len: u64) {
            if let Some(m) = Mrd::from_len(len) {
                prop_assert_eq!(m.length(), len);
            }
        }

        #[test]
        fn encode_decode_is_identity(mrd in 0u8..64, flags in 0u64..0x80) {
            let m = Mrd::new(mrd).unwrap();
            let f = DawrxFlags::from_bits_truncate(flags);
            let x = Dawrx::new(m, f);
            prop_assert_eq!(x.mrd(), m);
            prop_assert_eq!(x.flags(), f);
            prop_assert_eq!(x.reserved(), 0);
        }

        #[test]
        fn decode_encode_keeps_reserved_bits(raw: u64) {
            let x = Dawrx::from_bits(raw);
            prop_assert_eq!(x.with_mrd(x.mrd()).with_flags(x.flags()).bits(), raw);
            prop_assert_eq!(Dawrx::new(x.mrd(), x.flags()).bits() | x.reserved(), raw);
        }

        #[test]
        fn setters_touch_only_their_field(raw: u64, mrd in 0u8..64, flags in 0u64..0x80) {
            let x = Dawrx::from_bits(raw);
            let m = Mrd::new(mrd).unwrap();
            let f = DawrxFlags::from_bits_truncate(flags);
            prop_assert_eq!(x.with_mrd(m).flags(), x.flags());
            prop_assert_eq!(x.with_mrd(m).reserved(), x.reserved());
            prop_assert_eq!(x.with_flags(f).mrd(), x.mrd());
            prop_assert_eq!(x.with_flags(f).reserved(), x.reserved());
        }
    }
}
