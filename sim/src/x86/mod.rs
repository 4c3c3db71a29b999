//! The x86-64 CPU model: its own variable-length instruction set, and the debug hardware
//! (DR0–DR3, DR6, DR7) decoded from raw images with this crate's reading of the Intel SDM
//! vol. 3 chapter 18 ("Debug, Branch Profile, TSC, and Intel Resource Director Technology
//! Features").
//!
//! Rules modelled (each with a test citing its source):
//! - LEN masks the low address bits (00 = 1, 01 = 2, 11 = 4, 10 = 8 bytes); a data breakpoint
//!   matches when any byte of the access lies in the range and R/W allows the kind (01 write,
//!   11 read or write; 10 I/O never matches, the model has no I/O); L or G must be set to trap.
//! - Data breakpoints trap after the instruction (RIP past it); execute breakpoints fault
//!   before it; RF suppresses execute breakpoints for one instruction and is cleared when an
//!   instruction completes.
//! - TF single-step sets BS after the instruction that started with TF set; BS and data
//!   B bits are reported together by one #DB.
//! - DR6: the CPU sets B0–B3, BD, BS and never clears them; software writes 0xFFFF0FF0 back.
//!   With [`X86Profile::reports_disabled_matches`] (QEMU; allowed by SDM §18.2.3) every #DB also
//!   carries B bits of slots that matched but are not enabled.
//! - A failed `lock cmpxchg` is a write (it writes the old value back).
//! - `rep movs`/`rep stos` trap after the iteration that hit (RCX decremented, RSI/RDI
//!   advanced, RIP still at the instruction while iterations remain, RF set in the frame);
//!   the [`FastStrings`] profile groups iterations as measured on Intel family 6 model 0xCF.
//! - MOV SS / POP SS hold every #DB (data, single-step) until after the next instruction,
//!   and an execute breakpoint on that next instruction is not taken (CVE-2018-8897).
//! - GD makes any MOV to or from a debug register fault with BD (GD cleared on entry).
//! - A 1 in bits 63:32 of DR6/DR7 is a #GP (a fault, never a panic).
//!
//! Choices where the manuals leave room are listed in `sim/NOTES.md`.

mod asm;
mod debug;
mod exception;
mod exec;
mod insn;
mod kernel;
mod profile;
mod regs;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vector_tests;

pub use asm::{Asm, AsmError, Label, Program};
pub use debug::{Condition, DebugRegisters, DrAccessError, Hits, Slot, bits};
pub use exception::{DebugClass, X86Exception};
pub use insn::{Insn, MAX_INSN_LEN, Mem, StringWidth, VecWidth, Width};
pub use kernel::{RecordedException, RecordingKernel};
pub use profile::{FastStrings, X86Profile};
pub use regs::{Reg, VECTOR_REGS, X86Context, rflags};

use hwbkpt_hal::{DecodeError, DecodedAccess, EmulateError, StringProgress};

use crate::{Bus, Endian, Isa, Memory, Mode, StepOutcome};

/// An x86-64 CPU of a given profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct X86 {
    /// Behaviour switches.
    pub profile: X86Profile,
    /// Where `syscall` enters the kernel (IA32_LSTAR).
    pub syscall_entry: u64,
}

impl X86 {
    /// Default kernel entry point for `syscall`.
    pub const DEFAULT_SYSCALL_ENTRY: u64 = 0xFFFF_FFFF_8100_0000;

    /// A CPU that does what the SDM says and nothing more.
    #[must_use]
    pub const fn generic() -> Self {
        Self::new(X86Profile::GENERIC)
    }

    /// A CPU of `profile`.
    #[must_use]
    pub const fn new(profile: X86Profile) -> Self {
        Self {
            profile,
            syscall_entry: Self::DEFAULT_SYSCALL_ENTRY,
        }
    }
}

impl Isa for X86 {
    type Context = X86Context;
    type Exception = X86Exception;

    fn endian(&self) -> Endian {
        Endian::Little
    }

    fn pc(&self, ctx: &X86Context) -> u64 {
        ctx.rip()
    }

    fn set_pc(&self, ctx: &mut X86Context, pc: u64) {
        ctx.set_rip(pc);
    }

    fn mode(&self, ctx: &X86Context) -> Mode {
        if ctx.cpl() == 0 {
            Mode::Supervisor
        } else {
            Mode::User
        }
    }

    fn interrupts_inhibited(&self, ctx: &X86Context) -> bool {
        ctx.in_interrupt_shadow()
    }

    fn single_step_enabled(&self, ctx: &X86Context) -> bool {
        ctx.rflags() & rflags::TF != 0
    }

    fn set_single_step(&self, ctx: &mut X86Context, enabled: bool) {
        let f = ctx.rflags();
        ctx.set_rflags(if enabled {
            f | rflags::TF
        } else {
            f & !rflags::TF
        });
    }

    fn step(
        &self,
        ctx: &mut X86Context,
        bus: &mut Bus<'_, X86Exception>,
    ) -> StepOutcome<X86Exception> {
        exec::step(self, ctx, bus)
    }

    fn emulate(
        &self,
        ctx: &mut X86Context,
        bus: &mut Bus<'_, X86Exception>,
    ) -> Result<(), EmulateError> {
        exec::emulate(self, ctx, bus)
    }

    fn decode_access(
        &self,
        ctx: &X86Context,
        memory: &Memory,
        pc: u64,
    ) -> Result<Option<DecodedAccess>, DecodeError> {
        exec::decode_access(ctx, memory, pc)
    }

    fn string_progress(
        &self,
        ctx: &X86Context,
        memory: &Memory,
        pc: u64,
    ) -> Option<StringProgress> {
        exec::string_progress(ctx, memory, pc)
    }
}
