//! The machine the test runs on: CPU identity, vector widths, whether ptrace of debug
//! registers works, and the simulator profile that models this CPU.

use hwbkpt_sim::x86::X86Profile as SimProfile;

/// Family and model from CPUID leaf 1 (extended fields folded in, as the SDM describes for
/// "DisplayFamily" and "DisplayModel").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuIdentity {
    /// `GenuineIntel`, `AuthenticAMD`, …
    pub vendor: [u8; 12],
    /// DisplayFamily.
    pub family: u32,
    /// DisplayModel.
    pub model: u32,
}

impl CpuIdentity {
    /// The CPU running this code.
    #[must_use]
    pub fn current() -> Self {
        let (leaf0, leaf1) = (
            core::arch::x86_64::__cpuid(0),
            core::arch::x86_64::__cpuid(1),
        );
        let mut vendor = [0; 12];
        vendor[0..4].copy_from_slice(&leaf0.ebx.to_le_bytes());
        vendor[4..8].copy_from_slice(&leaf0.edx.to_le_bytes());
        vendor[8..12].copy_from_slice(&leaf0.ecx.to_le_bytes());
        let base_family = (leaf1.eax >> 8) & 0xF;
        let base_model = (leaf1.eax >> 4) & 0xF;
        let family = if base_family == 0xF {
            base_family + ((leaf1.eax >> 20) & 0xFF)
        } else {
            base_family
        };
        let model = if base_family == 0x6 || base_family == 0xF {
            base_model | (((leaf1.eax >> 16) & 0xF) << 4)
        } else {
            base_model
        };
        Self {
            vendor,
            family,
            model,
        }
    }

    /// Whether the vendor is Intel.
    #[must_use]
    pub fn is_intel(&self) -> bool {
        &self.vendor == b"GenuineIntel"
    }
}

impl core::fmt::Display for CpuIdentity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} family {:#x} model {:#x}",
            String::from_utf8_lossy(&self.vendor),
            self.family,
            self.model
        )
    }
}

/// Access sizes this CPU can make (1–8 always, 16 with SSE2, 32 with AVX, 64 with
/// AVX-512F) and the ones it cannot.
#[must_use]
pub fn access_sizes() -> (Vec<u32>, Vec<u32>) {
    let mut sizes = vec![1, 2, 4, 8, 16];
    let mut skipped = Vec::new();
    if std::arch::is_x86_feature_detected!("avx") {
        sizes.push(32);
    } else {
        skipped.push(32);
    }
    if std::arch::is_x86_feature_detected!("avx512f") {
        sizes.push(64);
    } else {
        skipped.push(64);
    }
    (sizes, skipped)
}

/// The simulator profile that models this CPU's choices where the SDM leaves room, and
/// whether its `rep` string timing was measured (`false`: the generic profile stands in,
/// and only the bound "never early" can be checked for long `rep` strings).
///
/// Only the `rep movsb`/`rep stosb` timing differs between the profiles the real CPUs were
/// measured against (`sim/NOTES.md`); every other choice is the same.
#[must_use]
pub fn sim_profile(cpu: CpuIdentity) -> (SimProfile, bool) {
    match (cpu.is_intel(), cpu.family, cpu.model) {
        (true, 6, 0x55) => (SimProfile::INTEL_SKX_FAST_STRINGS, true),
        (true, 6, 0xCF) => (SimProfile::INTEL_FAST_STRINGS, true),
        _ => (SimProfile::GENERIC, false),
    }
}

/// Whether `HWBKPT_REQUIRE_REAL_HW=1` (CI) makes a skip a failure.
#[must_use]
pub fn real_hw_required() -> bool {
    std::env::var("HWBKPT_REQUIRE_REAL_HW").is_ok_and(|v| v == "1")
}

/// Print the loud skip line; panic instead when real hardware is required.
pub fn skip(test: &str, why: &str) {
    eprintln!();
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!("!!! SKIPPED {test}: {why}");
    eprintln!(
        "!!! (the real-CPU comparison did not run; HWBKPT_REQUIRE_REAL_HW=1 makes this fail)"
    );
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    assert!(
        !real_hw_required(),
        "{test}: HWBKPT_REQUIRE_REAL_HW=1 but {why}"
    );
}
