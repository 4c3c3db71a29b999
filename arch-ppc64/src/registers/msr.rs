//! The Machine State Register bits the breakpoint machinery reads or changes.
//!
//! Positions from Linux `arch/powerpc/include/asm/reg.h` (`MSR_*_LG`, LSB numbering), which
//! follow the Power ISA v3.1 Book III, "Machine State Register":
//! SF 63 (IBM 0), HV 60 (IBM 3), PR 14 (IBM 49), SE 10 (IBM 53), IR 5 (IBM 58),
//! DR 4 (IBM 59), LE 0 (IBM 63).

use bitflags::bitflags;

bitflags! {
    /// MSR (or an interrupted context's saved MSR in SRR1). Unknown bits are retained.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    #[repr(transparent)]
    pub struct Msr: u64 {
        /// SF, IBM bit 0: 64-bit mode.
        const SF = 1 << 63;
        /// HV, IBM bit 3: hypervisor state (with PR = 0).
        const HV = 1 << 60;
        /// PR, IBM bit 49: problem (user) state.
        const PR = 1 << 14;
        /// SE, IBM bit 53: single-step trace — a trace interrupt after the next instruction
        /// completes.
        const SE = 0x400;
        /// IR, IBM bit 58: instruction relocation (translation) on.
        const IR = 1 << 5;
        /// DR, IBM bit 59: data relocation on. DAWRX\[WT\] / DABR\[BT\] compare against it.
        const DR = 1 << 4;
        /// LE, IBM bit 63: little-endian mode.
        const LE = 1 << 0;
        // Every other MSR bit belongs to someone else: keep it.
        const _ = !0;
    }
}

const _: () = assert!(Msr::SF.bits() == crate::ibm_bit(0));
const _: () = assert!(Msr::HV.bits() == crate::ibm_bit(3));
const _: () = assert!(Msr::PR.bits() == crate::ibm_bit(49));
const _: () = assert!(Msr::SE.bits() == crate::ibm_bit(53));
const _: () = assert!(Msr::IR.bits() == crate::ibm_bit(58));
const _: () = assert!(Msr::DR.bits() == crate::ibm_bit(59));
const _: () = assert!(Msr::LE.bits() == crate::ibm_bit(63));

impl Msr {
    /// The privilege state this MSR runs in, as a one-bit filter: user (PR = 1),
    /// hypervisor (PR = 0, HV = 1) or kernel (PR = 0, HV = 0).
    #[must_use]
    pub const fn privilege(self) -> hwbkpt_hal::PrivilegeFilter {
        if self.contains(Self::PR) {
            hwbkpt_hal::PrivilegeFilter::USER
        } else if self.contains(Self::HV) {
            hwbkpt_hal::PrivilegeFilter::HYPERVISOR
        } else {
            hwbkpt_hal::PrivilegeFilter::KERNEL
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwbkpt_hal::PrivilegeFilter;
    use proptest::prelude::*;

    #[test]
    fn linux_values() {
        assert_eq!(Msr::SE.bits(), 0x400);
        assert_eq!(Msr::PR.bits(), 0x4000);
        assert_eq!(Msr::DR.bits(), 0x10);
        assert_eq!(Msr::HV.bits(), 0x1000_0000_0000_0000);
    }

    #[test]
    fn privilege_states() {
        assert_eq!((Msr::SF | Msr::PR).privilege(), PrivilegeFilter::USER);
        assert_eq!(
            (Msr::SF | Msr::PR | Msr::HV).privilege(),
            PrivilegeFilter::USER
        );
        assert_eq!((Msr::SF | Msr::HV).privilege(), PrivilegeFilter::HYPERVISOR);
        assert_eq!(Msr::SF.privilege(), PrivilegeFilter::KERNEL);
    }

    proptest! {
        #[test]
        fn toggling_se_keeps_the_rest(raw: u64) {
            let m = Msr::from_bits_retain(raw);
            prop_assert_eq!((m | Msr::SE).bits() & !0x400, raw & !0x400);
            prop_assert_eq!((m - Msr::SE).bits() & !0x400, raw & !0x400);
        }
    }
}
