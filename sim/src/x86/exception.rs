//! What the x86 model raises for the kernel.

/// Whether a #DB is a fault (RIP at the instruction) or a trap (RIP past it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DebugClass {
    /// Instruction breakpoint or general detect: the instruction has not executed.
    Fault,
    /// Data breakpoint or single-step: the instruction (or `rep` iteration) completed.
    Trap,
}

/// An exception of the x86 model, with its raw status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum X86Exception {
    /// #DB (vector 1).
    Debug {
        /// DR6 as the handler reads it on entry.
        dr6: u64,
        /// Fault or trap.
        class: DebugClass,
    },
}
