//! The Machine State Register bits the debug facilities look at, decoded from a raw image.
//!
//! Facts (Power ISA Book III, "Machine State Register"; Linux `arch/powerpc/include/asm/reg.h`
//! `MSR_*_LG`): SF bit 0, HV bit 3, EE bit 48, PR bit 49, SE bit 53, BE bit 54, IR bit 58,
//! DR bit 59, RI bit 62, LE bit 63. Every other bit is carried unchanged and ignored.

use super::bits::ibm_bit;

/// 64-bit mode.
pub const MSR_SF: u64 = ibm_bit(0);
/// Hypervisor state (with PR = 0).
pub const MSR_HV: u64 = ibm_bit(3);
/// External interrupts enabled.
pub const MSR_EE: u64 = ibm_bit(48);
/// Problem state (user mode).
pub const MSR_PR: u64 = ibm_bit(49);
/// Single-step trace enable: a trace interrupt after the next instruction completes.
pub const MSR_SE: u64 = ibm_bit(53);
/// Branch trace enable (not modelled; carried).
pub const MSR_BE: u64 = ibm_bit(54);
/// Instruction relocation (translation) on.
pub const MSR_IR: u64 = ibm_bit(58);
/// Data relocation (translation) on: what DABR BT and DAWRX WT compare against.
pub const MSR_DR: u64 = ibm_bit(59);
/// Recoverable interrupt.
pub const MSR_RI: u64 = ibm_bit(62);

/// A typical user-mode MSR under Linux: 64-bit, translation on, external interrupts on,
/// problem state.
pub const MSR_USER: u64 = MSR_SF | MSR_EE | MSR_PR | MSR_IR | MSR_DR | MSR_RI;
/// A typical kernel MSR under Linux (relocation-on, not hypervisor).
pub const MSR_KERNEL: u64 = MSR_SF | MSR_IR | MSR_DR | MSR_RI;

/// The privilege state the debug registers' PR/PNH/HYP bits select
/// (Power ISA Book III: PR = 1 problem state; PR = 0, HV = 0 privileged non-hypervisor;
/// PR = 0, HV = 1 hypervisor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrivilegeState {
    /// `MSR[PR]` = 1 (HV is irrelevant: problem state is user whatever HV says).
    Problem,
    /// `MSR[PR]` = 0, `MSR[HV]` = 0.
    PrivilegedNonHypervisor,
    /// `MSR[PR]` = 0, `MSR[HV]` = 1.
    Hypervisor,
}

impl PrivilegeState {
    /// The state a raw MSR image is in.
    #[must_use]
    pub const fn of(msr: u64) -> Self {
        if msr & MSR_PR != 0 {
            Self::Problem
        } else if msr & MSR_HV != 0 {
            Self::Hypervisor
        } else {
            Self::PrivilegedNonHypervisor
        }
    }

    /// Whether a PR/PNH/HYP enable triple (LSB masks 0x1/0x2/0x4, as in DABRX and DAWRX)
    /// selects this state.
    #[must_use]
    pub const fn selected_by(self, pr_pnh_hyp: u64) -> bool {
        let bit = match self {
            Self::Problem => 0x1,
            Self::PrivilegedNonHypervisor => 0x2,
            Self::Hypervisor => 0x4,
        };
        pr_pnh_hyp & bit != 0
    }
}

/// Whether data translation is on (`MSR[DR]`).
#[must_use]
pub const fn data_relocation(msr: u64) -> bool {
    msr & MSR_DR != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_match_linux_reg_h() {
        // reg.h: MSR_SE_LG 10, MSR_PR_LG 14, MSR_DR_LG 4, MSR_HV_LG 60, MSR_EE_LG 15.
        assert_eq!(MSR_SE, 1 << 10);
        assert_eq!(MSR_SE, 0x400);
        assert_eq!(MSR_PR, 1 << 14);
        assert_eq!(MSR_DR, 1 << 4);
        assert_eq!(MSR_IR, 1 << 5);
        assert_eq!(MSR_HV, 1 << 60);
        assert_eq!(MSR_EE, 1 << 15);
        assert_eq!(MSR_SF, 1 << 63);
    }

    #[test]
    fn privilege_state_follows_pr_then_hv() {
        assert_eq!(PrivilegeState::of(MSR_USER), PrivilegeState::Problem);
        // PR = 1 wins over HV = 1: problem state.
        assert_eq!(PrivilegeState::of(MSR_PR | MSR_HV), PrivilegeState::Problem);
        assert_eq!(
            PrivilegeState::of(MSR_KERNEL),
            PrivilegeState::PrivilegedNonHypervisor
        );
        assert_eq!(
            PrivilegeState::of(MSR_KERNEL | MSR_HV),
            PrivilegeState::Hypervisor
        );
        assert!(PrivilegeState::Problem.selected_by(0x1));
        assert!(!PrivilegeState::Problem.selected_by(0x6));
        assert!(PrivilegeState::PrivilegedNonHypervisor.selected_by(0x2));
        assert!(PrivilegeState::Hypervisor.selected_by(0x4));
        assert!(!PrivilegeState::Hypervisor.selected_by(0x3));
    }
}
