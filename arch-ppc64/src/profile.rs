//! CPU profiles as data: what each POWER generation's debug facility offers.
//!
//! Sources: Linux `arch/powerpc/kernel/hw_breakpoint.c` and `hw_breakpoint_constraints.c`
//! (doubleword rounding, `DAWR_MAX_LEN` 512, the 512-byte boundary rule before ISA v3.1),
//! `arch/powerpc/include/asm/hw_breakpoint.h` (`HW_BREAKPOINT_SIZE` 8), Linux commit 9654153158
//! "powerpc: Disable DAWR in the base POWER9 CPU features" and
//! `Documentation/powerpc/DAWR-POWER9.rst` (a DAWR match on cache-inhibited memory can
//! checkstop a POWER9), `arch/powerpc/kernel/dawr.c` (`dawr_force_enable`, set through the
//! debugfs switch `dawr_enable_dangerous`), the Power ISA v2.06B/v2.07B/v3.0B/v3.1 Book III
//! debug facilities (DABR on v2.06; DAWR0 and CIABR from v2.07; DAWR1 and no 512-byte
//! boundary rule in v3.1, §9.4).

use hwbkpt_hal::{AccessKind, Capabilities, PoolKind, PrivilegeFilter, SlotPool, Timing};

/// A POWER generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PowerProfile {
    /// POWER7 (ISA v2.06): one DABR/DABRX pair, no CIABR.
    Power7,
    /// POWER8 (ISA v2.07): DAWR0 (≤ 512 bytes, no 512-byte boundary crossing) and CIABR.
    Power8,
    /// POWER9 (ISA v3.0): DAWR0 present but disabled by default (checkstop erratum), CIABR.
    Power9,
    /// POWER10 (ISA v3.1): DAWR0 and DAWR1, boundary crossing allowed, CIABR.
    Power10,
}

/// The register family that implements the data slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataRegister {
    /// DABR + DABRX: exactly one doubleword per slot.
    Dabr,
    /// DAWRn + DAWRXn: 8 to 512 bytes per slot, in doublewords.
    Dawr,
}

impl DataRegister {
    /// Register family name, for messages.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Dabr => "DABR",
            Self::Dawr => "DAWR",
        }
    }
}

/// The hardware limits of one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileLimits {
    /// Profile name.
    pub name: &'static str,
    /// Data slot registers.
    pub data_register: DataRegister,
    /// Data slots the hardware has (POWER9 counts its DAWR0 here even though it is
    /// unusable by default: see [`checkstop_erratum`](Self::checkstop_erratum)).
    pub data_slots: u8,
    /// Longest range one data slot watches, in bytes.
    pub max_data_len: u64,
    /// A data slot's range may not cross a multiple of this many bytes.
    pub data_boundary: Option<u64>,
    /// Whether the CPU has a CIABR (one instruction slot).
    pub ciabr: bool,
    /// Whether a DAWR match on cache-inhibited memory can checkstop the machine, so the
    /// data slots are usable only with the explicit "dangerous" opt-in.
    pub checkstop_erratum: bool,
    /// Every byte a user-origin request watches must lie below this (Linux book3s64:
    /// `TASK_SIZE_USER64` ≤ 4 PB, user addresses below `0x0010_0000_0000_0000`).
    pub user_limit: u64,
    /// The granule a 16-byte access (`lq`/`stq`, VSX) is compared in: [`QUADWORD`] before
    /// ISA v3.1, [`DOUBLEWORD`] on POWER10 (Linux `ea_hw_range_overlaps` in
    /// `arch/powerpc/kernel/hw_breakpoint_constraints.c`: "On p10 predecessors, quadword is
    /// handle\[d\] differently", `HW_BREAKPOINT_SIZE_QUADWORD` 0x10 unless
    /// `CPU_FTR_ARCH_31`).
    pub quadword_granule: u64,
}

/// Linux book3s64 user address limit (user effective addresses lie below 2^52).
pub const BOOK3S64_USER_LIMIT: u64 = 0x0010_0000_0000_0000;

/// Bytes a DABR/DAWR watches per step of length: one doubleword
/// (Linux `HW_BREAKPOINT_SIZE`).
pub const DOUBLEWORD: u64 = 8;

/// A quadword: the matching granule of 16-byte accesses before ISA v3.1 (Linux
/// `HW_BREAKPOINT_SIZE_QUADWORD`).
pub const QUADWORD: u64 = 16;

/// Longest DAWR range (Linux `DAWR_MAX_LEN`; MRD is six bits of doublewords).
pub const DAWR_MAX_LEN: u64 = 512;

/// Before ISA v3.1 a DAWR range may not cross a multiple of this
/// (Linux `hw_breakpoint_validate_len`: "DAWR region can't cross 512 bytes boundary").
pub const DAWR_BOUNDARY: u64 = 512;

const POWER7_LIMITS: ProfileLimits = ProfileLimits {
    name: "POWER7",
    data_register: DataRegister::Dabr,
    data_slots: 1,
    max_data_len: DOUBLEWORD,
    data_boundary: None,
    ciabr: false,
    checkstop_erratum: false,
    user_limit: BOOK3S64_USER_LIMIT,
    quadword_granule: QUADWORD,
};

const POWER8_LIMITS: ProfileLimits = ProfileLimits {
    name: "POWER8",
    data_register: DataRegister::Dawr,
    data_slots: 1,
    max_data_len: DAWR_MAX_LEN,
    data_boundary: Some(DAWR_BOUNDARY),
    ciabr: true,
    checkstop_erratum: false,
    user_limit: BOOK3S64_USER_LIMIT,
    quadword_granule: QUADWORD,
};

const POWER9_LIMITS: ProfileLimits = ProfileLimits {
    name: "POWER9",
    checkstop_erratum: true,
    ..POWER8_LIMITS
};

const POWER10_LIMITS: ProfileLimits = ProfileLimits {
    name: "POWER10",
    data_register: DataRegister::Dawr,
    data_slots: 2,
    max_data_len: DAWR_MAX_LEN,
    data_boundary: None,
    ciabr: true,
    checkstop_erratum: false,
    user_limit: BOOK3S64_USER_LIMIT,
    quadword_granule: DOUBLEWORD,
};

/// Lengths 8 (bit 3) only: one doubleword.
const DABR_POW2_LENGTHS: u64 = 1 << 3;
/// Power-of-two lengths 8..=512 (bits 3..=9); every other multiple of 8 works too.
const DAWR_POW2_LENGTHS: u64 = 0x3F8;

const DATA_SERVES: AccessKind = AccessKind::READ_WRITE;

const fn data_pool(register: DataRegister, count: u8) -> SlotPool {
    SlotPool {
        kind: PoolKind::Data,
        count,
        serves: DATA_SERVES,
        register: register.name(),
    }
}

const CIABR_POOL: SlotPool = SlotPool {
    kind: PoolKind::Instruction,
    count: 1,
    serves: AccessKind::EXECUTE,
    register: "CIABR",
};

const fn capabilities(
    profile: &'static str,
    limits: &ProfileLimits,
    pools: &'static [SlotPool],
) -> Capabilities {
    Capabilities {
        arch: "PPC64",
        profile,
        pools,
        data_len_pow2_mask: match limits.data_register {
            DataRegister::Dabr => DABR_POW2_LENGTHS,
            DataRegister::Dawr => DAWR_POW2_LENGTHS,
        },
        max_data_len: limits.max_data_len,
        granularity: DOUBLEWORD,
        data_boundary: limits.data_boundary,
        // A DABR/DAWR match raises a DSI before the access.
        data_timing: Timing::Before,
        // CIABR reports after the instruction completed (NIP = next instruction).
        execute_timing: Timing::After,
        hardware_privileges: PrivilegeFilter::all(),
        read_only_data: true,
    }
}

static POWER7_CAPS: Capabilities = capabilities(
    "POWER7",
    &POWER7_LIMITS,
    &[data_pool(DataRegister::Dabr, 1)],
);
static POWER8_CAPS: Capabilities = capabilities(
    "POWER8",
    &POWER8_LIMITS,
    &[data_pool(DataRegister::Dawr, 1), CIABR_POOL],
);
static POWER9_CAPS: Capabilities = capabilities(
    "POWER9",
    &POWER9_LIMITS,
    &[data_pool(DataRegister::Dawr, 0), CIABR_POOL],
);
static POWER9_DANGEROUS_CAPS: Capabilities = capabilities(
    "POWER9 (DAWR dangerous mode)",
    &POWER9_LIMITS,
    &[data_pool(DataRegister::Dawr, 1), CIABR_POOL],
);
static POWER10_CAPS: Capabilities = capabilities(
    "POWER10",
    &POWER10_LIMITS,
    &[data_pool(DataRegister::Dawr, 2), CIABR_POOL],
);

impl PowerProfile {
    /// Every profile, oldest first.
    pub const ALL: [Self; 4] = [Self::Power7, Self::Power8, Self::Power9, Self::Power10];

    /// The hardware limits.
    #[must_use]
    pub const fn limits(self) -> &'static ProfileLimits {
        match self {
            Self::Power7 => &POWER7_LIMITS,
            Self::Power8 => &POWER8_LIMITS,
            Self::Power9 => &POWER9_LIMITS,
            Self::Power10 => &POWER10_LIMITS,
        }
    }

    /// Profile name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        self.limits().name
    }

    /// Data slots usable with the "dangerous" switch in the given position. The switch
    /// matters only on profiles with the checkstop erratum (POWER9), like Linux's
    /// `dawr_enable_dangerous`.
    #[must_use]
    pub const fn usable_data_slots(self, dangerous: bool) -> u8 {
        let limits = self.limits();
        if limits.checkstop_erratum && !dangerous {
            0
        } else {
            limits.data_slots
        }
    }

    /// The capabilities, as the HAL sees them.
    #[must_use]
    pub const fn capabilities(self, dangerous: bool) -> &'static Capabilities {
        match self {
            Self::Power7 => &POWER7_CAPS,
            Self::Power8 => &POWER8_CAPS,
            Self::Power9 if dangerous => &POWER9_DANGEROUS_CAPS,
            Self::Power9 => &POWER9_CAPS,
            Self::Power10 => &POWER10_CAPS,
        }
    }
}

impl core::fmt::Display for PowerProfile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// profile, dangerous, data register, usable data slots, max length, boundary, CIABR
    type Row = (PowerProfile, bool, &'static str, u8, u64, Option<u64>, bool);

    const TABLE: [Row; 8] = [
        (PowerProfile::Power7, false, "DABR", 1, 8, None, false),
        (PowerProfile::Power7, true, "DABR", 1, 8, None, false),
        (PowerProfile::Power8, false, "DAWR", 1, 512, Some(512), true),
        (PowerProfile::Power8, true, "DAWR", 1, 512, Some(512), true),
        (PowerProfile::Power9, false, "DAWR", 0, 512, Some(512), true),
        (PowerProfile::Power9, true, "DAWR", 1, 512, Some(512), true),
        (PowerProfile::Power10, false, "DAWR", 2, 512, None, true),
        (PowerProfile::Power10, true, "DAWR", 2, 512, None, true),
    ];

    #[test]
    fn each_profile_has_its_own_name() {
        let names: [(PowerProfile, &str); 4] = [
            (PowerProfile::Power7, "POWER7"),
            (PowerProfile::Power8, "POWER8"),
            (PowerProfile::Power9, "POWER9"),
            (PowerProfile::Power10, "POWER10"),
        ];
        for (profile, name) in names {
            assert_eq!(profile.name(), name);
            assert_eq!(std::format!("{profile}"), name);
            assert_eq!(profile.capabilities(false).profile, name);
        }
    }

    #[test]
    fn limits_table() {
        for (profile, dangerous, register, slots, max, boundary, ciabr) in TABLE {
            let caps = profile.capabilities(dangerous);
            let data = caps.pool_for(AccessKind::WRITE).unwrap();
            assert_eq!(data.kind, PoolKind::Data, "{profile}");
            assert_eq!(data.register, register, "{profile}");
            assert_eq!(data.count, slots, "{profile} dangerous={dangerous}");
            assert_eq!(profile.usable_data_slots(dangerous), slots, "{profile}");
            assert_eq!(caps.max_data_len, max, "{profile}");
            assert_eq!(caps.data_boundary, boundary, "{profile}");
            assert_eq!(
                caps.pool_for(AccessKind::EXECUTE).is_some(),
                ciabr,
                "{profile}"
            );
            assert_eq!(profile.limits().ciabr, ciabr, "{profile}");
            assert_eq!(caps.granularity, 8);
            assert_eq!(caps.data_timing, Timing::Before);
            assert_eq!(caps.execute_timing, Timing::After);
            assert_eq!(caps.hardware_privileges, PrivilegeFilter::all());
            assert!(caps.read_only_data);
            assert!(caps.pool_for(AccessKind::READ).is_some());
            assert_eq!(caps.arch, "PPC64");
            assert_eq!(profile.limits().user_limit, 0x0010_0000_0000_0000);
            if let Some(ciabr) = caps.pool_for(AccessKind::EXECUTE) {
                assert_eq!((ciabr.kind, ciabr.count), (PoolKind::Instruction, 1));
            }
        }
    }

    #[test]
    fn only_power9_has_the_erratum() {
        for p in PowerProfile::ALL {
            assert_eq!(p.limits().checkstop_erratum, p == PowerProfile::Power9);
            assert!(p.usable_data_slots(true) as usize <= hwbkpt_hal::MAX_PLAN_SLOTS);
            assert!(u64::from(p.usable_data_slots(true)) * p.limits().max_data_len <= 1024);
        }
        assert_eq!(PowerProfile::Power9.limits().data_slots, 1);
    }

    #[test]
    fn lengths_bitset() {
        let p7 = PowerProfile::Power7.capabilities(false);
        assert_eq!(p7.data_len_pow2_mask, 1 << 3);
        let p10 = PowerProfile::Power10.capabilities(false);
        for n in 3..=9 {
            assert_ne!(p10.data_len_pow2_mask & (1 << n), 0);
        }
        assert_eq!(p10.data_len_pow2_mask & !0x3F8, 0);
    }
}
