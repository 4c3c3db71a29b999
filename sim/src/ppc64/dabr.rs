//! DABR/DABRX (POWER7): one doubleword data address breakpoint, decoded from raw images.
//!
//! Facts (Power ISA 2.06 Book III "Data Address Breakpoint"; Linux `reg.h` `DABR_*`,
//! `DABRX_*`): DABR bits 0:60 hold the doubleword address, BT 0x4 (match only when `MSR[DR]`
//! equals BT), DW 0x2 (match stores), DR 0x1 (match loads). DABRX: BTI 0x8 (ignore BT),
//! HYP 0x4, PNH 0x2, PR 0x1 (the privilege states that match). Every other bit is ignored.

use super::bits::ibm_bits;
use super::footprint::ByteRange;
use super::msr::{PrivilegeState, data_relocation};

/// Address field, bits 0:60.
pub const DABR_ADDR: u64 = ibm_bits(0, 60);
/// Breakpoint translation: match only with `MSR[DR]` = 1 (else only with `MSR[DR]` = 0).
pub const DABR_BT: u64 = 0x4;
/// Match data writes.
pub const DABR_DW: u64 = 0x2;
/// Match data reads.
pub const DABR_DR: u64 = 0x1;
/// Ignore BT: match whatever `MSR[DR]` is.
pub const DABRX_BTI: u64 = 0x8;
/// The PR/PNH/HYP privilege enables.
pub const DABRX_PRIVILEGE: u64 = 0x7;

/// A decoded DABR/DABRX pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dabr {
    dabr: u64,
    dabrx: u64,
}

impl Dabr {
    /// Decode raw images; any value is accepted (reserved bits are ignored).
    #[must_use]
    pub const fn from_images(dabr: u64, dabrx: u64) -> Self {
        Self { dabr, dabrx }
    }

    /// The watched doubleword.
    #[must_use]
    pub const fn watched(&self) -> ByteRange {
        ByteRange::new(self.dabr & DABR_ADDR, 8)
    }

    /// Whether an access of this kind, in this MSR state, is one DABR compares at all
    /// (kind, translation and privilege; the address is compared by the caller).
    #[must_use]
    pub const fn selects(&self, reads: bool, writes: bool, msr: u64) -> bool {
        let kind = (reads && self.dabr & DABR_DR != 0) || (writes && self.dabr & DABR_DW != 0);
        let translation =
            self.dabrx & DABRX_BTI != 0 || (self.dabr & DABR_BT != 0) == data_relocation(msr);
        let privilege = PrivilegeState::of(msr).selected_by(self.dabrx & DABRX_PRIVILEGE);
        kind && translation && privilege
    }
}

#[cfg(test)]
mod tests {
    use super::super::msr::{MSR_DR, MSR_KERNEL, MSR_USER};
    use super::*;

    #[test]
    fn vectors_from_the_dabr_table_decode_back() {
        // vectors/ppc64-dabr.csv: DABR = address with low 3 bits cleared | BT | DW | DR.
        for line in include_str!("../../../vectors/ppc64-dabr.csv")
            .lines()
            .skip(1)
        {
            let f: Vec<&str> = line.split(',').collect();
            let addr = u64::from_str_radix(f[0].trim_start_matches("0x"), 16).unwrap();
            let dabr = u64::from_str_radix(f[3].trim_start_matches("0x"), 16).unwrap();
            let d = Dabr::from_images(dabr, 0x1 | 0x2);
            assert_eq!(d.watched(), ByteRange::new(addr & !7, 8), "{line}");
            let reads = f[1].contains('r');
            let writes = f[1].contains('w');
            let msr = if f[2] == "1" {
                MSR_USER
            } else {
                MSR_USER & !MSR_DR
            };
            assert_eq!(d.selects(true, false, msr), reads, "{line}");
            assert_eq!(d.selects(false, true, msr), writes, "{line}");
            // The other translation state never matches without BTI.
            assert!(!d.selects(true, true, msr ^ MSR_DR), "{line}");
        }
    }

    #[test]
    fn privilege_bits_select_the_state() {
        let d = Dabr::from_images(0x1000 | DABR_BT | DABR_DW, 0x1);
        assert!(d.selects(false, true, MSR_USER));
        assert!(!d.selects(false, true, MSR_KERNEL));
        // No privilege bit: never matches (DABRX = 0 disables the breakpoint).
        let off = Dabr::from_images(0x1000 | DABR_BT | DABR_DW, 0);
        assert!(!off.selects(true, true, MSR_USER));
        // BTI ignores the translation mode.
        let bti = Dabr::from_images(0x1000 | DABR_DW, DABRX_BTI | 0x2);
        assert!(bti.selects(false, true, MSR_KERNEL));
        assert!(bti.selects(false, true, MSR_KERNEL & !MSR_DR));
    }
}
