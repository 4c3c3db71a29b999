//! DAWR/DAWRX (POWER8 and later): a data address watchpoint over up to 64 doublewords,
//! decoded from raw images.
//!
//! Facts (Power ISA 2.07/3.0/3.1 Book III "Data Address Watchpoint"; Linux `reg.h` `DAWRX_*`
//! and `arch/powerpc/kernel/dawr.c`): DAWR bits 0:60 hold the first doubleword; DAWRX MRD
//! (bits 48:53, LSB mask 0xFC00) is the number of doublewords minus one, so the range is
//! (MRD+1)·8 bytes; DW 0x40 matches stores, DR 0x20 loads; WT 0x10 must equal `MSR[DR]` unless
//! WTI 0x8; HYP 0x4, PNH 0x2, PR 0x1 select privilege states. Every other bit is ignored.
//!
//! Before POWER10 a range must not cross a 512-byte boundary (Linux's
//! `hw_breakpoint_validate_len` refuses such requests when the DAWR is in use because the
//! hardware does not match across it). The model makes that concrete: the comparator
//! matches the doubleword index inside the 512-byte block of DAWR, so doublewords beyond the
//! boundary never match. POWER10 matches the whole range.

use super::bits::ibm_bits;
use super::footprint::ByteRange;
use super::msr::{PrivilegeState, data_relocation};

/// Address field, bits 0:60.
pub const DAWR_ADDR: u64 = ibm_bits(0, 60);
/// Match Range in Doublewords minus one, bits 48:53.
pub const DAWRX_MRD: u64 = ibm_bits(48, 53);
/// Shift of the MRD field.
pub const DAWRX_MRD_SHIFT: u32 = 10;
/// Match data writes.
pub const DAWRX_DW: u64 = 0x40;
/// Match data reads.
pub const DAWRX_DR: u64 = 0x20;
/// Watchpoint translation: match only with `MSR[DR]` = 1 (else only with `MSR[DR]` = 0).
pub const DAWRX_WT: u64 = 0x10;
/// Ignore WT.
pub const DAWRX_WTI: u64 = 0x8;
/// The PR/PNH/HYP privilege enables.
pub const DAWRX_PRIVILEGE: u64 = 0x7;

/// A decoded DAWR/DAWRX pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dawr {
    dawr: u64,
    dawrx: u64,
}

impl Dawr {
    /// Decode raw images; any value is accepted (reserved bits are ignored).
    #[must_use]
    pub const fn from_images(dawr: u64, dawrx: u64) -> Self {
        Self { dawr, dawrx }
    }

    /// Bytes the range covers as programmed: (MRD+1)·8, 8 to 512.
    #[must_use]
    pub const fn programmed_len(&self) -> u64 {
        (((self.dawrx & DAWRX_MRD) >> DAWRX_MRD_SHIFT) + 1) * 8
    }

    /// The doublewords that really match: the programmed range, cut at the end of DAWR's
    /// 512-byte block when `stops_at_512` (before POWER10).
    #[must_use]
    pub const fn watched(&self, stops_at_512: bool) -> ByteRange {
        let start = self.dawr & DAWR_ADDR;
        let mut range = ByteRange::new(start, self.programmed_len());
        if stops_at_512 {
            let block_end = (start as u128 | 511) + 1;
            if range.end > block_end {
                range.end = block_end;
            }
        }
        range
    }

    /// Whether an access of this kind, in this MSR state, is one the DAWR compares at all
    /// (kind, translation and privilege; the address is compared by the caller).
    #[must_use]
    pub const fn selects(&self, reads: bool, writes: bool, msr: u64) -> bool {
        let kind = (reads && self.dawrx & DAWRX_DR != 0) || (writes && self.dawrx & DAWRX_DW != 0);
        let translation =
            self.dawrx & DAWRX_WTI != 0 || (self.dawrx & DAWRX_WT != 0) == data_relocation(msr);
        let privilege = PrivilegeState::of(msr).selected_by(self.dawrx & DAWRX_PRIVILEGE);
        kind && translation && privilege
    }
}

#[cfg(test)]
mod tests {
    use super::super::msr::{MSR_DR, MSR_HV, MSR_KERNEL, MSR_USER};
    use super::*;

    /// Every row of `vectors/ppc64-dawrx.csv` (computed independently from the published
    /// formulas) decodes to its length, kinds, privileges and translation mode.
    #[test]
    fn vectors_from_the_dawrx_table_decode_back() {
        let mut rows = 0;
        for line in include_str!("../../../vectors/ppc64-dawrx.csv")
            .lines()
            .skip(1)
        {
            let f: Vec<&str> = line.split(',').collect();
            let len: u64 = f[0].parse().unwrap();
            let dawrx = u64::from_str_radix(f[4].trim_start_matches("0x"), 16).unwrap();
            let d = Dawr::from_images(0x1000, dawrx);
            assert_eq!(d.programmed_len(), len, "{line}");
            let states: &[u64] = match f[2] {
                "user" => &[MSR_USER],
                "kernel" => &[MSR_KERNEL],
                "hyp" => &[MSR_KERNEL | MSR_HV],
                "user+kernel" => &[MSR_USER, MSR_KERNEL],
                _ => &[MSR_USER, MSR_KERNEL, MSR_KERNEL | MSR_HV],
            };
            for &base in states {
                let msrs: &[u64] = match f[3] {
                    "on" => &[base],
                    "off" => &[base & !MSR_DR],
                    _ => &[base, base & !MSR_DR],
                };
                for &msr in msrs {
                    assert_eq!(d.selects(true, false, msr), f[1].contains('r'), "{line}");
                    assert_eq!(d.selects(false, true, msr), f[1].contains('w'), "{line}");
                }
                if f[3] != "ignore" {
                    // The other translation mode never matches without WTI.
                    let other = if f[3] == "on" {
                        base & !MSR_DR
                    } else {
                        base | MSR_DR
                    };
                    assert!(!d.selects(true, true, other), "{line}");
                }
            }
            rows += 1;
        }
        assert_eq!(rows, 64 * 3 * 5 * 3);
    }

    #[test]
    fn a_512_byte_dawr_watches_one_aligned_block() {
        // MRD = 63: 64 doublewords = 512 bytes, the longest range (Linux DAWR_MAX_LEN).
        let d = Dawr::from_images(0x2000, 63 << DAWRX_MRD_SHIFT);
        assert_eq!(d.watched(true), ByteRange::new(0x2000, 512));
        assert_eq!(d.watched(false), ByteRange::new(0x2000, 512));
    }

    #[test]
    fn before_power10_the_range_stops_at_the_512_byte_boundary() {
        // 32 bytes from 0x21F0: crosses 0x2200. Pre-POWER10 hardware compares inside the
        // 512-byte block only; POWER10 matches the whole range.
        let d = Dawr::from_images(0x21F0, 3 << DAWRX_MRD_SHIFT);
        assert_eq!(d.watched(true), ByteRange::new(0x21F0, 16));
        assert_eq!(d.watched(false), ByteRange::new(0x21F0, 32));
    }

    #[test]
    fn unaligned_address_bits_and_reserved_bits_are_ignored() {
        let d = Dawr::from_images(0x1007, 0xFFFF_FFFF_FFFF_FF80 | DAWRX_DR | 0x1 | DAWRX_WT);
        assert_eq!(d.watched(true).start, 0x1000);
        assert_eq!(d.programmed_len(), 512);
        assert!(d.selects(true, false, MSR_USER));
    }
}
