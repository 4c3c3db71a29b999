//! The debug registers of one CPU as raw images, and the question the pipeline asks of them:
//! does this access (or this completed instruction) match?

use hwbkpt_hal::{AccessKind, DecodedAccess};

use super::CpuProfile;
use super::ciabr::Ciabr;
use super::dabr::Dabr;
use super::dawr::Dawr;
use super::footprint::{accessed_bytes, match_footprint};
use super::profile::QuadwordDar;

/// Raw debug-register images, exactly as `mtspr` would write them. Every value is accepted;
/// registers the CPU profile lacks are kept but never match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DebugRegisters {
    /// DABR (SPR 1013).
    pub dabr: u64,
    /// DABRX (SPR 1015).
    pub dabrx: u64,
    /// DAWR0 and DAWR1 (SPR 180, 181).
    pub dawr: [u64; 2],
    /// DAWRX0 and DAWRX1 (SPR 188, 189).
    pub dawrx: [u64; 2],
    /// CIABR (SPR 187).
    pub ciabr: u64,
}

/// A data breakpoint register, for reporting which ones matched (the hardware does not tell
/// software which DAWR fired; this is for the trace and tests only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataSlot {
    /// DABR/DABRX.
    Dabr,
    /// DAWR0/DAWRX0.
    Dawr0,
    /// DAWR1/DAWRX1.
    Dawr1,
}

impl DataSlot {
    const fn bit(self) -> u8 {
        match self {
            Self::Dabr => 1,
            Self::Dawr0 => 2,
            Self::Dawr1 => 4,
        }
    }
}

/// A data breakpoint match: the interrupt it raises reports `dar`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataMatch {
    slots: u8,
    /// The address the data storage interrupt reports in DAR.
    pub dar: u64,
}

impl DataMatch {
    /// Whether `slot` matched.
    #[must_use]
    pub const fn matched(&self, slot: DataSlot) -> bool {
        self.slots & slot.bit() != 0
    }

    /// Whether a DAWR (as opposed to the DABR) matched: the POWER9 erratum concerns DAWR.
    #[must_use]
    pub const fn any_dawr(&self) -> bool {
        self.slots & (DataSlot::Dawr0.bit() | DataSlot::Dawr1.bit()) != 0
    }
}

impl DebugRegisters {
    /// All registers zero: nothing matches.
    pub const CLEAR: Self = Self {
        dabr: 0,
        dabrx: 0,
        dawr: [0; 2],
        dawrx: [0; 2],
        ciabr: 0,
    };

    /// Whether any data breakpoint the profile has could match something (a fast path: with
    /// no enables set the step never looks further).
    #[must_use]
    pub fn data_armed(&self, profile: &CpuProfile) -> bool {
        let dabr = profile.has_dabr() && self.dabr & 0x3 != 0 && self.dabrx & 0x7 != 0;
        let dawr = self.dawrx[..profile.dawr_count()]
            .iter()
            .any(|x| x & 0x60 != 0 && x & 0x7 != 0);
        dabr || dawr
    }

    /// Whether `access`, about to be made in MSR state `msr`, matches a data breakpoint.
    /// Power ISA Book III: the match is checked before the access, which then does not happen
    /// (a data storage interrupt with `DSISR[41]` is raised instead).
    #[must_use]
    pub fn check_data(
        &self,
        access: &DecodedAccess,
        msr: u64,
        profile: &CpuProfile,
    ) -> Option<DataMatch> {
        let reads = access.kind.contains(AccessKind::READ);
        let writes = access.kind.contains(AccessKind::WRITE);
        let footprint = match_footprint(access, profile);
        let bytes = accessed_bytes(access);
        let mut slots = 0u8;
        let mut dar: Option<u128> = None;
        let mut consider = |slot: DataSlot, watched: super::footprint::ByteRange| {
            if footprint.intersect(watched).is_some() {
                slots |= slot.bit();
                // DAR: first byte of the overlap; with a pre-POWER10 16-byte granule the
                // access may touch the granule without touching the watched bytes, and then
                // there is no overlap to report: the access's first byte is used.
                let first = bytes
                    .intersect(watched)
                    .map_or(bytes.start, |overlap| overlap.start);
                dar = Some(dar.map_or(first, |d: u128| d.min(first)));
            }
        };
        if profile.has_dabr() {
            let d = Dabr::from_images(self.dabr, self.dabrx);
            if d.selects(reads, writes, msr) {
                consider(DataSlot::Dabr, d.watched());
            }
        }
        for (n, slot) in [DataSlot::Dawr0, DataSlot::Dawr1]
            .into_iter()
            .enumerate()
            .take(profile.dawr_count())
        {
            let d = Dawr::from_images(self.dawr[n], self.dawrx[n]);
            if d.selects(reads, writes, msr) {
                consider(slot, d.watched(profile.dawr_stops_at_512()));
            }
        }
        let dar = dar?;
        let quadword = access.size == 16 && access.class != hwbkpt_hal::AccessClass::CacheBlock;
        let dar = if quadword && profile.quadword_dar() == QuadwordDar::AccessStart {
            access.addr
        } else {
            // The overlap starts inside the access, so it fits in 64 bits.
            u64::try_from(dar).unwrap_or(access.addr)
        };
        Some(DataMatch { slots, dar })
    }

    /// Whether completing the instruction at `nip` in MSR state `msr` matches CIABR.
    #[must_use]
    pub fn check_completed(&self, nip: u64, msr: u64, profile: &CpuProfile) -> bool {
        profile.has_ciabr() && Ciabr::from_image(self.ciabr).matches(nip, msr)
    }
}

#[cfg(test)]
mod tests {
    use hwbkpt_hal::AccessClass;

    use super::super::dawr::{DAWRX_DR, DAWRX_DW, DAWRX_MRD_SHIFT, DAWRX_WT};
    use super::super::msr::{MSR_DR, MSR_KERNEL, MSR_USER};
    use super::*;

    const RW_USER: u64 = DAWRX_DR | DAWRX_DW | DAWRX_WT | 0x1;

    fn dawr0(addr: u64, len: u64, dawrx: u64) -> DebugRegisters {
        DebugRegisters {
            dawr: [addr, 0],
            dawrx: [dawrx | ((len / 8 - 1) << DAWRX_MRD_SHIFT), 0],
            ..DebugRegisters::CLEAR
        }
    }

    fn acc(addr: u64, size: u32, kind: AccessKind) -> DecodedAccess {
        DecodedAccess {
            addr,
            size,
            kind,
            class: AccessClass::Plain,
        }
    }

    /// Linux selftest `powerpc/ptrace/perf-hwbreak.c`, partial-overlap case, at the raw
    /// level: a 4-byte read/write watch at target+2 programs DAWR with the doubleword
    /// [target, target+8). Every 2-byte access at +0/+1/+5/+6 touches that doubleword, so
    /// every one raises the interrupt; filtering to 0/2/2/0 is the pipeline's job (issue 4).
    #[test]
    fn perf_hwbreak_partial_overlap_raw_level() {
        let target = 0x1_0000u64;
        let regs = dawr0(target + 2, 8, RW_USER); // hardware range rounded to the doubleword
        for off in [0u64, 1, 5, 6] {
            for kind in [AccessKind::READ, AccessKind::WRITE] {
                let m = regs
                    .check_data(&acc(target + off, 2, kind), MSR_USER, &CpuProfile::POWER10)
                    .expect("doubleword-overlapping access must match");
                // DAR = first byte of the overlap with the watched doubleword.
                assert_eq!(m.dar, target + off);
                assert!(m.matched(DataSlot::Dawr0));
            }
        }
        // The neighbouring doublewords do not match.
        assert!(
            regs.check_data(
                &acc(target + 8, 2, AccessKind::READ),
                MSR_USER,
                &CpuProfile::POWER10
            )
            .is_none()
        );
        assert!(
            regs.check_data(
                &acc(target - 2, 2, AccessKind::READ),
                MSR_USER,
                &CpuProfile::POWER10
            )
            .is_none()
        );
        // An access straddling into the doubleword matches with DAR at the doubleword start.
        let m = regs
            .check_data(
                &acc(target - 1, 2, AccessKind::READ),
                MSR_USER,
                &CpuProfile::POWER10,
            )
            .unwrap();
        assert_eq!(m.dar, target);
    }

    #[test]
    fn kind_translation_and_privilege_are_all_required() {
        let w_only = dawr0(0x1000, 8, DAWRX_DW | DAWRX_WT | 0x1);
        let p = CpuProfile::POWER8;
        assert!(
            w_only
                .check_data(&acc(0x1000, 8, AccessKind::READ), MSR_USER, &p)
                .is_none()
        );
        assert!(
            w_only
                .check_data(&acc(0x1000, 8, AccessKind::WRITE), MSR_USER, &p)
                .is_some()
        );
        // A read-modify-write is a write too.
        assert!(
            w_only
                .check_data(&acc(0x1000, 8, AccessKind::READ_WRITE), MSR_USER, &p)
                .is_some()
        );
        // WT = 1 but MSR[DR] = 0: no match (DESIGN §4: a DAWRX without the matching WT never
        // fires).
        assert!(
            w_only
                .check_data(&acc(0x1000, 8, AccessKind::WRITE), MSR_USER & !MSR_DR, &p)
                .is_none()
        );
        // User-only watch, kernel access: no match.
        assert!(
            w_only
                .check_data(&acc(0x1000, 8, AccessKind::WRITE), MSR_KERNEL, &p)
                .is_none()
        );
    }

    #[test]
    fn the_512_byte_dawr_matches_its_first_and_last_doubleword_only_inside() {
        let regs = dawr0(0x4000, 512, RW_USER);
        let p = CpuProfile::POWER8;
        for (addr, hit) in [
            (0x3FF8, false),
            (0x4000, true),
            (0x41F8, true),
            (0x4200, false),
        ] {
            let m = regs.check_data(&acc(addr, 8, AccessKind::READ), MSR_USER, &p);
            assert_eq!(m.is_some(), hit, "{addr:#x}");
        }
        // One access spanning both ends of the range: DAR = the first watched byte.
        let m = regs
            .check_data(&acc(0x3FFC, 8, AccessKind::WRITE), MSR_USER, &p)
            .unwrap();
        assert_eq!(m.dar, 0x4000);
    }

    /// DAWR crossing a 512-byte boundary: Linux refuses it before POWER10 because the
    /// hardware does not match across the boundary (`hw_breakpoint_validate_len`: "DAWR region
    /// can't cross 512 bytes boundary on p10 predecessors"); POWER10 matches the whole range.
    #[test]
    fn power9_stops_at_512_byte_boundary_power10_does_not() {
        let regs = dawr0(0x41F0, 32, RW_USER); // 0x41F0..0x4210 crosses 0x4200
        let below = acc(0x41F8, 8, AccessKind::WRITE);
        let above = acc(0x4200, 8, AccessKind::WRITE);
        let p9 = CpuProfile::POWER9_DANGEROUS;
        let p10 = CpuProfile::POWER10;
        assert!(regs.check_data(&below, MSR_USER, &p9).is_some());
        assert!(regs.check_data(&above, MSR_USER, &p9).is_none());
        assert!(regs.check_data(&below, MSR_USER, &p10).is_some());
        assert!(regs.check_data(&above, MSR_USER, &p10).is_some());
        // POWER8 behaves like POWER9.
        assert!(
            regs.check_data(&above, MSR_USER, &CpuProfile::POWER8)
                .is_none()
        );
    }

    #[test]
    fn power9_dawr_is_unusable_without_the_dangerous_switch() {
        let regs = dawr0(0x1000, 8, RW_USER);
        let a = acc(0x1000, 8, AccessKind::WRITE);
        assert!(regs.check_data(&a, MSR_USER, &CpuProfile::POWER9).is_none());
        assert!(!regs.data_armed(&CpuProfile::POWER9));
        assert!(
            regs.check_data(&a, MSR_USER, &CpuProfile::POWER9_DANGEROUS)
                .is_some()
        );
        // POWER7 has no DAWR at all.
        assert!(regs.check_data(&a, MSR_USER, &CpuProfile::POWER7).is_none());
    }

    #[test]
    fn quadword_granule_and_dar_per_profile() {
        // Watch the doubleword at 0x1018; a 16-byte access at 0x1008 covers 0x1008..0x1018,
        // not the watched bytes. Pre-POWER10 it compares the 16-byte granules 0x1000..0x1020,
        // which include 0x1018: a match, DAR = the access start. POWER10 compares per
        // doubleword: no match.
        let regs = dawr0(0x1018, 8, RW_USER);
        let q = acc(0x1008, 16, AccessKind::READ);
        let m = regs
            .check_data(&q, MSR_USER, &CpuProfile::POWER9_DANGEROUS)
            .unwrap();
        assert_eq!(m.dar, 0x1008);
        assert!(
            regs.check_data(&q, MSR_USER, &CpuProfile::POWER10)
                .is_none()
        );
        // A quadword that does overlap: POWER8/9 report the access start (our choice),
        // POWER10 the first byte of the overlap.
        let q = acc(0x1010, 16, AccessKind::READ);
        let m8 = regs.check_data(&q, MSR_USER, &CpuProfile::POWER8).unwrap();
        assert_eq!(m8.dar, 0x1010);
        let m10 = regs.check_data(&q, MSR_USER, &CpuProfile::POWER10).unwrap();
        assert_eq!(m10.dar, 0x1018);
    }

    #[test]
    fn dcbz_matches_over_its_whole_block() {
        // DESIGN §4: dcbz writes its whole cache block; the decoded access is the block.
        let regs = dawr0(0x1078, 8, DAWRX_DW | DAWRX_WT | 0x1);
        let dcbz = DecodedAccess {
            addr: 0x1000,
            size: 128,
            kind: AccessKind::WRITE,
            class: AccessClass::CacheBlock,
        };
        for p in [CpuProfile::POWER8, CpuProfile::POWER10] {
            let m = regs.check_data(&dcbz, MSR_USER, &p).unwrap();
            assert_eq!(m.dar, 0x1078);
        }
    }

    #[test]
    fn two_dawrs_on_power10_report_the_lowest_overlap() {
        let regs = DebugRegisters {
            dawr: [0x1010, 0x1000],
            dawrx: [RW_USER, RW_USER],
            ..DebugRegisters::CLEAR
        };
        let m = regs
            .check_data(
                &acc(0x1004, 16, AccessKind::WRITE),
                MSR_USER,
                &CpuProfile::POWER10,
            )
            .unwrap();
        assert!(m.matched(DataSlot::Dawr0) && m.matched(DataSlot::Dawr1));
        assert_eq!(m.dar, 0x1004);
        // POWER8 has only DAWR0.
        let m = regs
            .check_data(
                &acc(0x1004, 4, AccessKind::WRITE),
                MSR_USER,
                &CpuProfile::POWER8,
            )
            .is_none();
        assert!(m);
    }

    #[test]
    fn dabr_on_power7() {
        let regs = DebugRegisters {
            dabr: 0x2000 | 0x4 | 0x2,
            dabrx: 0x1,
            ..DebugRegisters::CLEAR
        };
        let w = acc(0x2006, 4, AccessKind::WRITE);
        let m = regs.check_data(&w, MSR_USER, &CpuProfile::POWER7).unwrap();
        assert!(m.matched(DataSlot::Dabr));
        assert!(!m.any_dawr());
        assert_eq!(m.dar, 0x2006);
        // DABR exists only on POWER7 in the model.
        assert!(regs.check_data(&w, MSR_USER, &CpuProfile::POWER8).is_none());
    }

    #[test]
    fn ciabr_needs_a_profile_that_has_it() {
        let regs = DebugRegisters {
            ciabr: 0x3000 | 1,
            ..DebugRegisters::CLEAR
        };
        assert!(regs.check_completed(0x3000, MSR_USER, &CpuProfile::POWER8));
        assert!(!regs.check_completed(0x3000, MSR_USER, &CpuProfile::POWER7));
    }
}
