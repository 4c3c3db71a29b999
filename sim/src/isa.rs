//! The contract between the generic machine and one CPU model.

use hwbkpt_hal::{DecodeError, DecodedAccess, EmulateError, StringProgress};

use crate::{Bus, Endian, FaultKind, Memory};

/// Privilege mode of the running code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// x86 CPL 3; PPC64 `MSR[PR]` = 1.
    User,
    /// x86 CPL 0; PPC64 `MSR[PR]` = 0, `MSR[HV]` = 0.
    Supervisor,
    /// PPC64 `MSR[PR]` = 0, `MSR[HV]` = 1.
    Hypervisor,
}

/// What one [`Isa::step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome<E> {
    /// An instruction (or one `rep` iteration) retired, and nothing else is pending.
    Retired,
    /// The CPU raised an exception for the kernel; the register context is the trap frame,
    /// exactly as the hardware leaves it (x86 data trap: RIP past the instruction; execute
    /// fault: RIP at it). The step may have retired an instruction first.
    Exception(E),
    /// The task ran its end instruction (the model's stand-in for `exit`).
    Exited,
    /// The instruction could not complete and did not retire.
    Fault(FaultKind),
    /// The machine stops dead (POWER9 DAWR match on cache-inhibited memory).
    Checkstop(&'static str),
}

/// One CPU architecture and profile, plugged into [`Machine`](crate::Machine).
///
/// The value holds the profile (switches like "B bits for disabled slots" or "POWER9
/// dangerous DAWR"); all per-task state lives in [`Isa::Context`], which the machine saves
/// and restores on context switches as a kernel would — debug registers included.
pub trait Isa {
    /// Every register of one hardware thread: GPRs, PC, flags/MSR, debug registers and
    /// status registers, plus internal state that must survive a preemption (e.g. an x86
    /// MOV SS shadow cannot be preempted, so it is part of the context).
    type Context: Clone + core::fmt::Debug;
    /// Raw status of an exception as the hardware reports it (x86: the vector and DR6;
    /// PPC64: DSISR and DAR, or a trace interrupt).
    type Exception: Clone + core::fmt::Debug + PartialEq;

    /// Byte order of the simulated memory.
    fn endian(&self) -> Endian;

    /// The address of the next instruction.
    fn pc(&self, ctx: &Self::Context) -> u64;

    /// Move execution elsewhere (signal delivery, a debugger setting the PC).
    fn set_pc(&self, ctx: &mut Self::Context, pc: u64);

    /// Privilege mode the context runs in.
    fn mode(&self, ctx: &Self::Context) -> Mode;

    /// Whether external interrupts must wait for the next instruction boundary (x86: the
    /// MOV SS / POP SS shadow). The machine then delivers them after the next step.
    fn interrupts_inhibited(&self, _ctx: &Self::Context) -> bool {
        false
    }

    /// Ask for (or cancel) a trace exception after the next instruction (x86 RFLAGS.TF,
    /// PPC64 `MSR[SE]`).
    fn set_single_step(&self, ctx: &mut Self::Context, enabled: bool);

    /// Whether a trace exception after the next instruction is asked for.
    fn single_step_enabled(&self, ctx: &Self::Context) -> bool;

    /// Execute one instruction (or one `rep` iteration). Memory goes through `bus`, which
    /// records every access; the model calls [`Bus::retired`] when the instruction completes.
    fn step(
        &self,
        ctx: &mut Self::Context,
        bus: &mut Bus<'_, Self::Exception>,
    ) -> StepOutcome<Self::Exception>;

    /// Execute the instruction at the context's PC on behalf of the kernel, as Linux's
    /// `emulate_step` does, with the debug hardware out of the way: no breakpoint, trace or
    /// single-step exception, debug and status registers unchanged, and the whole
    /// instruction done (all `rep` iterations). Its accesses are recorded through `bus`.
    /// The default supports nothing.
    ///
    /// # Errors
    /// [`EmulateError::Unsupported`] for instructions the model cannot emulate,
    /// [`EmulateError::Fault`] when an access faults.
    fn emulate(
        &self,
        ctx: &mut Self::Context,
        _bus: &mut Bus<'_, Self::Exception>,
    ) -> Result<(), EmulateError> {
        Err(EmulateError::Unsupported { pc: self.pc(ctx) })
    }

    /// The data access the instruction at `pc` would make with the registers in `ctx`,
    /// decoded from memory like Linux's `analyse_instr` (never from the trace). For an
    /// instruction with two accesses (x86 `movs`) it returns the write.
    ///
    /// # Errors
    /// [`DecodeError`] when the instruction cannot be fetched or decoded.
    fn decode_access(
        &self,
        ctx: &Self::Context,
        memory: &Memory,
        pc: u64,
    ) -> Result<Option<DecodedAccess>, DecodeError>;

    /// Where the `rep` string instruction at `pc` stands when the trap frame `ctx`
    /// interrupted it with iterations left (x86), decoded from memory and the registers like
    /// [`decode_access`](Self::decode_access); `None` otherwise. The default: never.
    fn string_progress(
        &self,
        _ctx: &Self::Context,
        _memory: &Memory,
        _pc: u64,
    ) -> Option<StringProgress> {
        None
    }
}
