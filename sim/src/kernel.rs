//! The kernel side of the machine: what runs when the CPU enters the kernel for an exception,
//! a fault, an interrupt or a context switch.
//!
//! A [`Kernel`] sees only what a kernel has at that moment (DESIGN §1): the interrupted
//! task's register context (the trap frame, with the debug and status registers), memory
//! through [`MemoryRead`], an instruction decoder through [`InstructionDecode`] that decodes
//! the instruction in memory — never the trace — and kernel-mode emulation through
//! [`InstructionEmulate`]. The exception pipeline of the next issue implements [`Kernel`]; the
//! context is the "one object" its `handle_exception` takes, once wrapped with a
//! `RegisterAccess` that converts the backend's slot images into raw register writes.

use hwbkpt_hal::{
    CpuId, DecodeError, DecodedAccess, EmulateError, InstructionDecode, InstructionEmulate,
    MemoryRead, MemoryReadError, StringProgress, TaskId,
};

use crate::{Bus, Fault, Isa, Memory, Mode, Trace};

/// What the machine does after a kernel hook returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resume {
    /// Return to the interrupted context (with whatever the hook changed in it).
    Continue,
    /// Return control to whoever drives the machine (a ptrace-style stop); the task stays
    /// runnable and continues where the context says when it is run again.
    Stop,
    /// Kill the task (the fate of an unhandled fault).
    Kill,
}

/// The kernel's view at an entry: one CPU, the task it was running, and that task's registers.
pub struct KernelContext<'a, I: Isa> {
    isa: &'a I,
    cpu: CpuId,
    task: TaskId,
    regs: &'a mut I::Context,
    memory: &'a mut Memory,
    /// Write-only here: emulated instructions are recorded; nothing reads the trace back.
    trace: &'a mut Trace<I::Exception>,
}

impl<'a, I: Isa> KernelContext<'a, I> {
    /// The context of `task` running on `cpu`. The trace only receives the steps of
    /// instructions the kernel emulates; the context never reads it.
    pub const fn new(
        isa: &'a I,
        cpu: CpuId,
        task: TaskId,
        regs: &'a mut I::Context,
        memory: &'a mut Memory,
        trace: &'a mut Trace<I::Exception>,
    ) -> Self {
        Self {
            isa,
            cpu,
            task,
            regs,
            memory,
            trace,
        }
    }

    /// The privilege mode of the interrupted code.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.isa.mode(self.regs)
    }

    /// The CPU model (profile switches, PC helpers).
    #[must_use]
    pub const fn isa(&self) -> &I {
        self.isa
    }

    /// The CPU taking the entry.
    #[must_use]
    pub const fn cpu(&self) -> CpuId {
        self.cpu
    }

    /// The interrupted task.
    #[must_use]
    pub const fn task(&self) -> TaskId {
        self.task
    }

    /// The trap frame and the CPU's registers, as the hardware left them.
    #[must_use]
    pub const fn regs(&self) -> &I::Context {
        self.regs
    }

    /// The registers, to change before returning (reset status, set RF, request a step).
    pub const fn regs_mut(&mut self) -> &mut I::Context {
        self.regs
    }

    /// The PC in the trap frame.
    #[must_use]
    pub fn pc(&self) -> u64 {
        self.isa.pc(self.regs)
    }

    /// Ask for (or cancel) a trace exception after the next instruction of the interrupted
    /// context (x86 TF, PPC64 `MSR[SE]`).
    pub fn set_single_step(&mut self, enabled: bool) {
        self.isa.set_single_step(self.regs, enabled);
    }

    /// Whether a trace exception after the next instruction is asked for.
    pub fn single_step_enabled(&self) -> bool {
        self.isa.single_step_enabled(self.regs)
    }

    /// Memory, for a kernel that emulates an instruction or delivers a signal frame.
    /// Writes made here are not traced: they are the kernel's, not the program's.
    pub const fn memory_mut(&mut self) -> &mut Memory {
        self.memory
    }

    /// Memory, read-only.
    #[must_use]
    pub const fn memory(&self) -> &Memory {
        self.memory
    }
}

impl<I: Isa> MemoryRead for KernelContext<'_, I> {
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        self.memory
            .read(addr, buf)
            .map_err(|f| MemoryReadError::Unmapped { addr: f.addr })
    }
}

impl<I: Isa> InstructionDecode for KernelContext<'_, I> {
    fn decode_access(&mut self, pc: u64) -> Result<Option<DecodedAccess>, DecodeError> {
        self.isa.decode_access(self.regs, self.memory, pc)
    }

    fn string_progress(&mut self, pc: u64) -> Option<StringProgress> {
        self.isa.string_progress(self.regs, self.memory, pc)
    }
}

impl<I: Isa> InstructionEmulate for KernelContext<'_, I> {
    /// Execute the instruction at `pc` for the interrupted context with the debug hardware
    /// out of the way ([`Isa::emulate`]); its accesses go into the trace like any other, so
    /// the reference model sees them.
    fn emulate(&mut self, pc: u64) -> Result<(), EmulateError> {
        self.isa.set_pc(self.regs, pc);
        let mode = self.isa.mode(self.regs);
        let mut bus = Bus::new(self.memory, self.trace, self.cpu, self.task, pc, mode);
        self.isa.emulate(self.regs, &mut bus)
    }
}

/// The kernel a machine runs: handlers for exceptions, faults, interrupts and switches.
pub trait Kernel<I: Isa> {
    /// The CPU raised `exception` (a debug, trace or data-storage exception).
    fn exception(&mut self, cx: &mut KernelContext<'_, I>, exception: &I::Exception) -> Resume;

    /// An instruction faulted. The default kills the task, as an unhandled signal would.
    fn fault(&mut self, _cx: &mut KernelContext<'_, I>, _fault: &Fault) -> Resume {
        Resume::Kill
    }

    /// An external interrupt arrived while the task ran (the registers are the task's).
    fn interrupt(&mut self, _cx: &mut KernelContext<'_, I>) {}

    /// The task's registers were just restored on `cx.cpu()` (after the machine's own
    /// save/restore of the whole context, debug registers included).
    fn switched_in(&mut self, _cx: &mut KernelContext<'_, I>) {}

    /// The task is about to be switched out of `cx.cpu()`; its registers are saved after this.
    fn switched_out(&mut self, _cx: &mut KernelContext<'_, I>) {}

    /// [`Machine::set_pc`](crate::Machine::set_pc) moved the task's PC from `old_pc` (signal
    /// delivery, a debugger): the place to cancel a pending single step.
    fn pc_changed(&mut self, _cx: &mut KernelContext<'_, I>, _old_pc: u64) {}

    /// A simulated kernel instruction (`sysret`, `rfid`) just returned the task to user mode:
    /// where a kernel delivers what it kept for the task's return (pending signals).
    fn returned_to_user(&mut self, _cx: &mut KernelContext<'_, I>) {}
}
