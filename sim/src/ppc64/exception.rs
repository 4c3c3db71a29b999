//! What the PPC64 model reports to the kernel when it raises an exception: the raw status a
//! real kernel reads at the interrupt (DESIGN §1 "What dispatch may see": DSISR, DAR; NIP and
//! MSR are in the trap frame, i.e. the context).

/// A PPC64 exception, as the hardware reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ppc64Exception {
    /// Data storage interrupt (vector 0x300) raised *before* an access because a DABR or
    /// DAWR matched. NIP is the instruction, memory is unchanged; DSISR has bit 41
    /// ([`DSISR_DABRMATCH`](super::dsisr::DSISR_DABRMATCH)) and, for a store, bit 38.
    /// The hardware does not say which register matched.
    DataStorage {
        /// DSISR.
        dsisr: u64,
        /// DAR: first byte of the overlap (see [`CpuProfile::quadword_dar`](super::CpuProfile::quadword_dar)
        /// for quadword accesses before POWER10).
        dar: u64,
    },
    /// Trace interrupt (vector 0xD00) after an instruction completed; NIP is the next
    /// instruction. The ISA reports the cause in interrupt-dependent SRR1 bits; the model
    /// gives it as two flags.
    Trace {
        /// `MSR[SE]` was set when the instruction started.
        single_step: bool,
        /// CIABR matched the completed instruction.
        ciabr: bool,
    },
}
