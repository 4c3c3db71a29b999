//! What the stub needs to know about one simulated CPU beyond what `run` needs: its
//! `gdbstub` architecture, its registers in gdb's layout, and how gdb's watchpoints map onto
//! HAL requests on it.

use gdbstub::arch::Arch;
use gdbstub::common::Signal;
use gdbstub::target::ext::breakpoints::WatchKind;
use hwbkpt_hal::{AccessKind, Delivery};
use hwbkpt_sim::FaultKind;

use crate::engine::Model;

/// A register value gdb asked for that the simulated CPU does not have (an x87 register,
/// XMM8–15, a segment selector): the write is refused instead of being dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnmodelledRegister(pub &'static str);

impl core::fmt::Display for UnmodelledRegister {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "the simulated CPU has no writable `{}`", self.0)
    }
}

/// One simulated CPU as the gdb stub serves it.
pub trait GdbModel: Model {
    /// The `gdbstub` architecture (registers and target description).
    type GdbArch: Arch<Usize = u64, BreakpointKind = usize>;

    /// The gdb to use, and the commands it needs before `target remote`.
    const GDB: &'static str;
    /// Commands to run in gdb before `target remote` (the byte order gdb-multiarch cannot
    /// learn from a target description).
    const GDB_SETUP: &'static [&'static str];

    /// When data watches are delivered. x86 data breakpoints trap after the access, which is
    /// what gdb expects there. gdb's PowerPC support treats watchpoints as non-steppable: on
    /// a watch stop it removes its watchpoints, single-steps and reinserts them itself, so
    /// the stop must come before the access (the DSI's native timing); a stop after it would
    /// make gdb step one instruction too far.
    const WATCH_DELIVERY: Delivery;

    /// The access kind asked of the HAL for a gdb watch, and whether a read watch is served
    /// by comparing values: x86 has no read-only encoding, so `rwatch` takes a read/write
    /// slot and a hit counts as a read only when the watched value did not change.
    fn watch_access(kind: WatchKind) -> (AccessKind, bool);

    /// Why `hbreak` cannot be served on this CPU, if it cannot.
    const HW_BREAK_REFUSAL: Option<&'static str>;

    /// The registers in gdb's layout.
    fn read_registers(ctx: &Self::Context, regs: &mut <Self::GdbArch as Arch>::Registers);

    /// Write gdb's register image, all but the program counter (which goes through the
    /// machine, so that the kernel hears about the move).
    ///
    /// # Errors
    /// [`UnmodelledRegister`] when gdb changes a register the CPU does not have; nothing is
    /// written then.
    fn write_registers(
        ctx: &mut Self::Context,
        regs: &<Self::GdbArch as Arch>::Registers,
    ) -> Result<(), UnmodelledRegister>;

    /// The program counter in gdb's image.
    fn pc_of(regs: &<Self::GdbArch as Arch>::Registers) -> u64;

    /// The signal a fault raises (what Linux would send).
    fn fault_signal(kind: FaultKind) -> Signal {
        match kind {
            FaultKind::Unmapped { .. } => Signal::SIGSEGV,
            FaultKind::InvalidInstruction | FaultKind::Privileged => Signal::SIGILL,
            _ => Signal::SIGSEGV,
        }
    }
}
