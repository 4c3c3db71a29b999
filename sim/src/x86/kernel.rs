//! A minimal #DB handler for tests: record, quiet DR6, resume.

use hwbkpt_hal::{CpuId, TaskId};

use super::{DebugClass, X86, X86Exception, bits, rflags};
use crate::{Fault, Kernel, KernelContext, Resume};

/// One #DB as the handler saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordedException {
    /// CPU.
    pub cpu: CpuId,
    /// Task.
    pub task: TaskId,
    /// RIP in the trap frame.
    pub rip: u64,
    /// CPL of the interrupted code.
    pub cpl: u8,
    /// DR6 on entry.
    pub dr6: u64,
    /// Fault or trap.
    pub class: DebugClass,
}

impl RecordedException {
    /// The B0–B3 bits.
    #[must_use]
    pub const fn b_bits(&self) -> u64 {
        self.dr6 & bits::DR6_B
    }

    /// Whether BS (single-step) is set.
    #[must_use]
    pub const fn single_step(&self) -> bool {
        self.dr6 & bits::DR6_BS != 0
    }
}

/// Records each #DB, writes DR6 back to 0xFFFF0FF0 (not 0: BLD and RTM are active-low), sets
/// RF after a fault so the instruction can execute, and continues; kills the task on a fault
/// (unmapped memory, #GP) after recording it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingKernel {
    /// Every #DB, in order.
    pub exceptions: Vec<RecordedException>,
    /// Every fault, in order.
    pub faults: Vec<Fault>,
    /// Stop the machine after each #DB instead of continuing (a ptrace-style stop).
    pub stop_on_exception: bool,
    /// Leave DR6 as the hardware set it (to show that B bits accumulate).
    pub keep_dr6: bool,
}

impl Kernel<X86> for RecordingKernel {
    fn exception(&mut self, cx: &mut KernelContext<'_, X86>, exception: &X86Exception) -> Resume {
        let X86Exception::Debug { dr6, class } = *exception;
        let (cpu, task) = (cx.cpu(), cx.task());
        let regs = cx.regs_mut();
        self.exceptions.push(RecordedException {
            cpu,
            task,
            rip: regs.rip(),
            cpl: regs.cpl(),
            dr6,
            class,
        });
        if !self.keep_dr6 {
            // Cannot fail: the quiet value has no upper-half bits.
            let _ = regs.write_dr(6, bits::DR6_QUIET);
        }
        if class == DebugClass::Fault {
            regs.set_rflags(regs.rflags() | rflags::RF);
        }
        if self.stop_on_exception {
            Resume::Stop
        } else {
            Resume::Continue
        }
    }

    fn fault(&mut self, _cx: &mut KernelContext<'_, X86>, fault: &Fault) -> Resume {
        self.faults.push(*fault);
        Resume::Kill
    }
}
