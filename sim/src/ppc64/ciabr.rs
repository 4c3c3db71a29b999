//! CIABR (POWER8 and later): the Completed Instruction Address Breakpoint, decoded from a raw
//! image.
//!
//! Facts (Power ISA 2.07 Book III "Completed Instruction Address Breakpoint"; Linux `reg.h`
//! `CIABR_PRIV*`): bits 0:61 hold the word address, bits 62:63 the privilege (0 off, 1 problem
//! state, 2 privileged non-hypervisor, 3 hypervisor). It signals after the instruction at that
//! address *completes*: Linux's xmon sees NIP at the next instruction. (QEMU's emulation
//! raises it before execution; the model follows the hardware, not QEMU.)

use super::bits::ibm_bits;
use super::msr::PrivilegeState;

/// Word address, bits 0:61.
pub const CIABR_ADDR: u64 = ibm_bits(0, 61);
/// Privilege field, bits 62:63.
pub const CIABR_PRIV: u64 = 0x3;

/// A decoded CIABR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ciabr(u64);

impl Ciabr {
    /// Decode a raw image; every value is valid.
    #[must_use]
    pub const fn from_image(image: u64) -> Self {
        Self(image)
    }

    /// The watched instruction address.
    #[must_use]
    pub const fn address(&self) -> u64 {
        self.0 & CIABR_ADDR
    }

    /// Whether completing the instruction at `nip` in MSR state `msr` matches.
    #[must_use]
    pub const fn matches(&self, nip: u64, msr: u64) -> bool {
        let state = match self.0 & CIABR_PRIV {
            1 => PrivilegeState::Problem,
            2 => PrivilegeState::PrivilegedNonHypervisor,
            3 => PrivilegeState::Hypervisor,
            _ => return false,
        };
        nip & CIABR_ADDR == self.address()
            && matches!(
                (state, PrivilegeState::of(msr)),
                (PrivilegeState::Problem, PrivilegeState::Problem)
                    | (
                        PrivilegeState::PrivilegedNonHypervisor,
                        PrivilegeState::PrivilegedNonHypervisor
                    )
                    | (PrivilegeState::Hypervisor, PrivilegeState::Hypervisor)
            )
    }
}

#[cfg(test)]
mod tests {
    use super::super::msr::{MSR_HV, MSR_KERNEL, MSR_USER};
    use super::*;

    #[test]
    fn privilege_field_selects_one_state() {
        // Linux reg.h: CIABR_PRIV_USER 1, CIABR_PRIV_SUPER 2, CIABR_PRIV_HYPER 3.
        let user = Ciabr::from_image(0x1000 | 1);
        assert!(user.matches(0x1000, MSR_USER));
        assert!(!user.matches(0x1000, MSR_KERNEL));
        assert!(!user.matches(0x1004, MSR_USER));
        let kernel = Ciabr::from_image(0x1000 | 2);
        assert!(kernel.matches(0x1000, MSR_KERNEL));
        assert!(!kernel.matches(0x1000, MSR_KERNEL | MSR_HV));
        let hyp = Ciabr::from_image(0x1000 | 3);
        assert!(hyp.matches(0x1000, MSR_KERNEL | MSR_HV));
        assert!(!hyp.matches(0x1000, MSR_USER));
        // Privilege 0: off, whatever the address.
        assert!(!Ciabr::from_image(0x1000).matches(0x1000, MSR_USER));
    }
}
