//! CPU profiles: which debug facilities a POWER generation has and where its hardware
//! differs (DESIGN §4 "Models").

/// A POWER processor generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generation {
    /// POWER7 (Power ISA 2.06): one DABR/DABRX, no DAWR, no CIABR.
    Power7,
    /// POWER8 (Power ISA 2.07): DAWR0/DAWRX0 and CIABR.
    Power8,
    /// POWER9 (Power ISA 3.0): DAWR0 with the cache-inhibited checkstop erratum, CIABR.
    Power9,
    /// POWER10 (Power ISA 3.1): DAWR0/1, CIABR, paired vector loads/stores.
    Power10,
}

/// Which byte a data storage interrupt reports in DAR for a quadword (16-byte) access.
///
/// DESIGN §4: POWER10 always reports the first byte of the overlap; POWER8/9 sometimes
/// report the first byte of the access for quadword accesses, which is why Linux decodes
/// the instruction instead of trusting DAR. A model has to pick one; see
/// [`CpuProfile::quadword_dar`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuadwordDar {
    /// DAR = the first byte of the access that lies in the watched range.
    OverlapStart,
    /// DAR = the effective address of the access.
    AccessStart,
}

/// One simulated CPU model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CpuProfile {
    generation: Generation,
    dawr_enable_dangerous: bool,
}

impl CpuProfile {
    /// POWER7.
    pub const POWER7: Self = Self::new(Generation::Power7);
    /// POWER8.
    pub const POWER8: Self = Self::new(Generation::Power8);
    /// POWER9 as Linux runs it by default: DAWR unusable.
    pub const POWER9: Self = Self::new(Generation::Power9);
    /// POWER9 with Linux's `dawr_enable_dangerous` switch on: DAWR0 works, and a match on
    /// cache-inhibited memory checkstops the machine.
    pub const POWER9_DANGEROUS: Self = Self {
        generation: Generation::Power9,
        dawr_enable_dangerous: true,
    };
    /// POWER10.
    pub const POWER10: Self = Self::new(Generation::Power10);

    /// Every profile, for tests that sweep them.
    pub const ALL: [Self; 5] = [
        Self::POWER7,
        Self::POWER8,
        Self::POWER9,
        Self::POWER9_DANGEROUS,
        Self::POWER10,
    ];

    /// The default profile of a generation.
    #[must_use]
    pub const fn new(generation: Generation) -> Self {
        Self {
            generation,
            dawr_enable_dangerous: false,
        }
    }

    /// The generation.
    #[must_use]
    pub const fn generation(&self) -> Generation {
        self.generation
    }

    /// Whether the POWER9 "dangerous" DAWR switch is on (meaningless elsewhere).
    #[must_use]
    pub const fn dawr_enable_dangerous(&self) -> bool {
        self.dawr_enable_dangerous
    }

    /// Profile name for messages.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match (self.generation, self.dawr_enable_dangerous) {
            (Generation::Power7, _) => "POWER7",
            (Generation::Power8, _) => "POWER8",
            (Generation::Power9, false) => "POWER9",
            (Generation::Power9, true) => "POWER9 (dawr_enable_dangerous)",
            (Generation::Power10, _) => "POWER10",
        }
    }

    /// Whether the DABR/DABRX pair exists (POWER7; later models use DAWR).
    #[must_use]
    pub const fn has_dabr(&self) -> bool {
        matches!(self.generation, Generation::Power7)
    }

    /// DAWR/DAWRX pairs that match. POWER9 has DAWR0 in silicon, but it is unusable unless
    /// the dangerous switch is on (the hypervisor refuses it, so ptrace reports 0 slots):
    /// the model ignores DAWR images there.
    #[must_use]
    pub const fn dawr_count(&self) -> usize {
        match self.generation {
            Generation::Power7 => 0,
            Generation::Power8 => 1,
            Generation::Power9 => {
                if self.dawr_enable_dangerous {
                    1
                } else {
                    0
                }
            }
            Generation::Power10 => 2,
        }
    }

    /// Whether CIABR exists (Power ISA 2.07 and later).
    #[must_use]
    pub const fn has_ciabr(&self) -> bool {
        !matches!(self.generation, Generation::Power7)
    }

    /// Whether a DAWR range stops matching at a 512-byte boundary (before POWER10).
    #[must_use]
    pub const fn dawr_stops_at_512(&self) -> bool {
        !matches!(self.generation, Generation::Power10)
    }

    /// The matching granule of a 16-byte (quadword, VSX) access: 16 before POWER10,
    /// 8 (per doubleword, like every other access) on POWER10.
    #[must_use]
    pub const fn quadword_granule(&self) -> u64 {
        match self.generation {
            Generation::Power10 => 8,
            _ => 16,
        }
    }

    /// What DAR holds for a quadword access. Our choice where the manuals leave one:
    /// POWER7/8/9 report the access's first byte (the surprising case, so the HAL's
    /// pipeline is tested against it: it must decode the instruction instead of trusting
    /// DAR, as Linux does); POWER10 reports the first byte of the overlap, as it always does.
    #[must_use]
    pub const fn quadword_dar(&self) -> QuadwordDar {
        match self.generation {
            Generation::Power10 => QuadwordDar::OverlapStart,
            _ => QuadwordDar::AccessStart,
        }
    }

    /// Whether 32-byte paired vector loads/stores (`lxvp`/`stxvp`) exist (Power ISA 3.1).
    #[must_use]
    pub const fn has_paired_vector(&self) -> bool {
        matches!(self.generation, Generation::Power10)
    }

    /// Whether a DAWR match on cache-inhibited memory checkstops the machine (the POWER9
    /// erratum; reachable only with the dangerous switch on, since DAWR is unusable otherwise).
    #[must_use]
    pub const fn dawr_checkstops_on_cache_inhibited(&self) -> bool {
        matches!(self.generation, Generation::Power9) && self.dawr_enable_dangerous
    }
}

impl Default for CpuProfile {
    fn default() -> Self {
        Self::POWER10
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_counts_follow_the_fact_sheet() {
        // DESIGN §4 "Models": POWER7 DABR only; POWER8 DAWR0 + CIABR; POWER9 DAWR0 unusable by
        // default (Linux clears the DAWR feature, ptrace reports 0 slots); POWER10 DAWR0/1.
        assert!(CpuProfile::POWER7.has_dabr());
        assert_eq!(CpuProfile::POWER7.dawr_count(), 0);
        assert!(!CpuProfile::POWER7.has_ciabr());
        assert_eq!(CpuProfile::POWER8.dawr_count(), 1);
        assert!(CpuProfile::POWER8.has_ciabr());
        assert_eq!(CpuProfile::POWER9.dawr_count(), 0);
        assert_eq!(CpuProfile::POWER9_DANGEROUS.dawr_count(), 1);
        assert_eq!(CpuProfile::POWER10.dawr_count(), 2);
        assert!(CpuProfile::POWER9_DANGEROUS.dawr_checkstops_on_cache_inhibited());
        assert!(!CpuProfile::POWER9.dawr_checkstops_on_cache_inhibited());
        assert!(!CpuProfile::POWER10.dawr_checkstops_on_cache_inhibited());
    }

    #[test]
    fn boundary_and_granule_change_with_power10() {
        for p in CpuProfile::ALL {
            let p10 = p.generation() == Generation::Power10;
            assert_eq!(p.dawr_stops_at_512(), !p10, "{}", p.name());
            assert_eq!(p.quadword_granule(), if p10 { 8 } else { 16 });
            assert_eq!(p.has_paired_vector(), p10);
        }
    }
}
