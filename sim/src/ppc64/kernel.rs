//! A default kernel for the PPC64 model: records every exception and steps past data
//! breakpoint hits the way Linux's `hw_breakpoint_handler` does, so that programs run to
//! completion with breakpoints armed.
//!
//! On a data storage interrupt with `DSISR[41]`: the data breakpoints are disarmed, `MSR[SE]` is
//! set, and the saved images wait (per task, so the step survives preemption and migration)
//! for the trace interrupt after the instruction, which re-arms them. An instruction of a
//! `larx`/`stcx.` pair cannot be stepped without losing the reservation (every interrupt
//! return clears it), so — like Linux, which prints "Unable to handle hardware breakpoint.
//! Breakpoint at 0x… will be disabled." — the breakpoints stay disarmed and the kernel records
//! that it disabled them. It finds the instruction's class through the decode hook, as a
//! kernel would. When the PC is moved while a step is pending (signal delivery, a debugger),
//! the step is cancelled and the breakpoints re-armed (DESIGN §2).

use std::collections::BTreeMap;

use hwbkpt_hal::{AccessClass, InstructionDecode, TaskId};

use crate::{Kernel, KernelContext, Resume};

use super::dsisr::DSISR_DABRMATCH;
use super::{DebugRegisters, Ppc64, Ppc64Exception};

/// One exception the kernel saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenException {
    /// The task.
    pub task: TaskId,
    /// NIP in the trap frame.
    pub nip: u64,
    /// The raw status.
    pub exception: Ppc64Exception,
}

/// The default PPC64 kernel: records exceptions and steps past data breakpoint hits.
#[derive(Debug, Clone, Default)]
pub struct SteppingKernel {
    /// Every exception, in order.
    pub seen: Vec<SeenException>,
    /// `(task, nip)` of each `larx`/`stcx.` hit at which the breakpoints were disabled.
    pub disabled: Vec<(TaskId, u64)>,
    pending: BTreeMap<TaskId, DebugRegisters>,
}

/// The images with every data breakpoint disarmed (CIABR kept): DABR's read/write enables
/// and DAWRX's read/write enables cleared, addresses kept.
const fn without_data(mut regs: DebugRegisters) -> DebugRegisters {
    regs.dabr &= !0x3;
    regs.dawrx[0] &= !0x60;
    regs.dawrx[1] &= !0x60;
    regs
}

impl SteppingKernel {
    /// Whether `task` has a step pending (its data breakpoints are disarmed until it ends).
    #[must_use]
    pub fn step_pending(&self, task: TaskId) -> bool {
        self.pending.contains_key(&task)
    }

    /// End the task's pending step, if any: put its data breakpoints back (CIABR as it is now).
    fn rearm(&mut self, cx: &mut KernelContext<'_, Ppc64>) {
        if let Some(saved) = self.pending.remove(&cx.task()) {
            let regs = cx.regs_mut();
            let ciabr = regs.debug.ciabr;
            regs.debug = DebugRegisters { ciabr, ..saved };
        }
    }
}

impl Kernel<Ppc64> for SteppingKernel {
    fn exception(
        &mut self,
        cx: &mut KernelContext<'_, Ppc64>,
        exception: &Ppc64Exception,
    ) -> Resume {
        let task = cx.task();
        self.seen.push(SeenException {
            task,
            nip: cx.pc(),
            exception: *exception,
        });
        match *exception {
            Ppc64Exception::DataStorage { dsisr, .. } if dsisr & DSISR_DABRMATCH != 0 => {
                let pc = cx.pc();
                let class = cx.decode_access(pc).ok().flatten().map(|a| a.class);
                let regs = cx.regs_mut();
                let saved = regs.debug;
                regs.debug = without_data(saved);
                if matches!(
                    class,
                    Some(AccessClass::LoadReserve | AccessClass::StoreConditional)
                ) {
                    self.disabled.push((task, pc));
                    // A step already pending keeps its images; they were disarmed for good.
                    self.pending.remove(&task);
                } else {
                    self.pending.entry(task).or_insert(saved);
                    cx.set_single_step(true);
                }
            }
            Ppc64Exception::DataStorage { .. } => {}
            Ppc64Exception::Trace { single_step, .. } => {
                self.rearm(cx);
                if single_step {
                    cx.set_single_step(false);
                }
            }
        }
        Resume::Continue
    }

    fn pc_changed(&mut self, cx: &mut KernelContext<'_, Ppc64>, _old_pc: u64) {
        if self.pending.contains_key(&cx.task()) {
            self.rearm(cx);
            cx.set_single_step(false);
        }
    }
}
