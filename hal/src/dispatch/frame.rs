//! What the kernel knows at the exception, and what it must do afterwards.

use crate::{CpuId, PrivilegeFilter, TaskId};

/// The privilege level the interrupted instruction ran at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionMode {
    /// Ring 3 / MSR\[PR\]=1.
    User,
    /// Ring 0 / supervisor.
    Kernel,
    /// PPC64 hypervisor state.
    Hypervisor,
}

impl ExecutionMode {
    /// The privilege-filter bit this mode matches.
    #[must_use]
    pub const fn privilege(self) -> PrivilegeFilter {
        match self {
            Self::User => PrivilegeFilter::USER,
            Self::Kernel => PrivilegeFilter::KERNEL,
            Self::Hypervisor => PrivilegeFilter::HYPERVISOR,
        }
    }
}

/// The parts of the trap frame dispatch may use, plus who was running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrapFrame {
    /// The running task.
    pub task: TaskId,
    /// The CPU taking the exception.
    pub cpu: CpuId,
    /// x86: RIP (past the instruction for data traps, at it for instruction faults);
    /// PPC64: NIP (at the instruction for a DSI, the next one for trace and CIABR).
    pub pc: u64,
    /// The privilege level of the interrupted context.
    pub mode: ExecutionMode,
}

/// How the kernel continues after [`Dispatcher::handle_exception`](crate::Dispatcher::handle_exception).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResumeAction {
    /// Return to the interrupted context as it is.
    Resume,
    /// Return with x86 RFLAGS.RF set, so the instruction breakpoint does not fault again.
    ResumeWithResumeFlag,
    /// A `before` consumer received a stop: stop the task (ptrace-style) before the access;
    /// when it resumes, the instruction runs again.
    Stop,
    /// A single step was requested (MSR\[SE\] / TF) to complete the interlock; return to the
    /// instruction.
    Step,
}

/// The outcome of handling one debug exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Resolution {
    /// What to do next.
    pub action: ResumeAction,
    /// Whether any part of the exception came from this layer's slots or steps. `false` means
    /// the kernel must handle it (another debugger's single step, GD/BD, …).
    pub claimed: bool,
    /// A single-step completed that this layer did not ask for (e.g. the task's own TF):
    /// the kernel delivers it as usual.
    pub foreign_single_step: bool,
}

impl Resolution {
    /// Nothing of this layer's: resume as it is.
    pub(super) const UNCLAIMED: Self = Self {
        action: ResumeAction::Resume,
        claimed: false,
        foreign_single_step: false,
    };
}
