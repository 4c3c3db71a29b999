//! What an exception handler reads to learn why a debug event happened.

use crate::registers::{Dsisr, Srr1};

/// The raw status of the interrupt a breakpoint raised, as the kernel's interrupt entry saved
/// it. PPC64 reports the three cases through different interrupts, so the variant is the
/// vector the kernel took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowerStatus {
    /// Data storage interrupt (vector 0x300). A DABR/DAWR match has
    /// [`Dsisr::DABR_MATCH`]; the access has *not* happened yet. DAR is the first byte of
    /// the overlap (POWER10 always; POWER8/9 for byte to doubleword accesses — for quadword
    /// accesses they may report the first byte of the access instead).
    DataStorage {
        /// DSISR as saved.
        dsisr: Dsisr,
        /// DAR as saved.
        dar: u64,
    },
    /// Trace interrupt (vector 0xD00), with SRR1 as saved: [`Srr1::SE`] when the
    /// interrupted context was single-stepping (MSR\[SE\]), [`Srr1::CIABR_MATCH`] when the
    /// CIABR matched the instruction that just completed.
    Trace {
        /// SRR1 as saved.
        srr1: Srr1,
    },
}

impl PowerStatus {
    /// A DSI caused by a DABR/DAWR match at `dar`.
    #[must_use]
    pub const fn watchpoint(dar: u64) -> Self {
        Self::DataStorage {
            dsisr: Dsisr::DABR_MATCH,
            dar,
        }
    }

    /// A trace interrupt after a single step.
    #[must_use]
    pub const fn single_step() -> Self {
        Self::Trace { srr1: Srr1::SE }
    }

    /// A trace interrupt for a CIABR match.
    #[must_use]
    pub const fn ciabr_match() -> Self {
        Self::Trace {
            srr1: Srr1::CIABR_MATCH,
        }
    }
}
