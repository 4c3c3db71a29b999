//! SRR1 as saved by a trace interrupt: why the trace happened, and the interrupted MSR.
//!
//! On an interrupt SRR1 receives the interrupted MSR (IBM bits 0:32, 37:41, 48:63), and
//! interrupt-specific causes in bits 33:36 and 42:47. For the trace interrupt (vector
//! 0xD00), IBM bit 43 reports a CIABR match (Power ISA v2.07B Book III-S "Trace
//! Interrupt"; both QEMU's `ppc_cpu_debug_excp_handler` and microwatt's `execute1.vhdl` set
//! SRR1 bits 33 and 43 for a CIABR match, bit 33 alone for other traces). A single-step
//! trace has MSR\[SE\] (IBM 53) set in the saved MSR.

use bitflags::bitflags;

bitflags! {
    /// The SRR1 bits a trace interrupt handler needs. Every other bit is retained.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    #[repr(transparent)]
    pub struct Srr1: u64 {
        /// IBM bit 43: the trace interrupt reports a CIABR match.
        const CIABR_MATCH = 0x0010_0000;
        /// IBM bit 49: MSR\[PR\] of the interrupted context.
        const PR = 0x4000;
        /// IBM bit 53: MSR\[SE\] of the interrupted context (it was single-stepping).
        const SE = 0x400;
        const _ = !0;
    }
}

const _: () = assert!(Srr1::CIABR_MATCH.bits() == crate::ibm_bit(43));
const _: () = assert!(Srr1::PR.bits() == crate::Msr::PR.bits());
const _: () = assert!(Srr1::SE.bits() == crate::Msr::SE.bits());

impl Srr1 {
    /// The interrupted context's MSR as SRR1 saved it (the MSR bits of SRR1).
    #[must_use]
    pub const fn saved_msr_bits(self) -> u64 {
        // IBM 0:32, 37:41, 48:63 are copied from the MSR.
        const MSR_PART: u64 =
            crate::ibm_field(0, 32) | crate::ibm_field(37, 41) | crate::ibm_field(48, 63);
        self.bits() & MSR_PART
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cause_bits_are_not_msr_bits() {
        assert_eq!(Srr1::CIABR_MATCH.saved_msr_bits(), 0);
        assert_eq!(Srr1::SE.saved_msr_bits(), 0x400);
        // IBM 0 (MSR[SF]) and 41 are MSR bits; IBM 33–36 are interrupt causes.
        let sf = 1 << 63;
        let bit41 = 1 << (63 - 41);
        let cause33 = 1 << (63 - 33);
        assert_eq!(
            Srr1::from_bits_retain(sf | bit41 | cause33).saved_msr_bits(),
            sf | bit41
        );
        assert_eq!(Srr1::from_bits_retain(u64::MAX).bits(), u64::MAX);
    }
}
