//! The record of every architectural step a machine takes.
//!
//! The reference model of the exception-pipeline issue is computed from this trace: which
//! instruction retired where, every memory access with its bytes before and after, every
//! exception with the raw status the hardware produced, and the scheduling around them.
//! The exception pipeline itself must never read it (DESIGN §1): the kernel hooks get a
//! [`KernelContext`](crate::KernelContext), which has no access to the trace.

use hwbkpt_hal::{AccessKind, CpuId, TaskId};

use crate::Mode;

/// One memory access, as the CPU performed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryAccess {
    /// CPU that made the access.
    pub cpu: CpuId,
    /// Task running on it.
    pub task: TaskId,
    /// Address of the instruction that made the access.
    pub pc: u64,
    /// Privilege mode the access was made in.
    pub mode: Mode,
    /// First byte accessed.
    pub addr: u64,
    /// Bytes accessed (a `rep` string iteration is one access; `dcbz` is one block).
    pub size: u32,
    /// [`AccessKind::READ`], [`AccessKind::WRITE`], or both for one read-modify-write access
    /// (including a failed locked compare-exchange, which writes the old value back).
    pub kind: AccessKind,
    /// The bytes before the access.
    pub before: Box<[u8]>,
    /// The bytes after the access (equal to `before` for a read).
    pub after: Box<[u8]>,
}

/// Why the CPU entered the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryReason {
    /// An instruction asked for it (`syscall`, `sc`).
    SystemCall,
    /// An exception the CPU raised (debug, trace, data storage, …).
    Exception,
    /// An instruction could not complete (unmapped memory, privilege, #GP).
    Fault,
    /// An external interrupt.
    Interrupt,
}

/// Why an instruction could not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultKind {
    /// A data access or instruction fetch touched unmapped memory.
    Unmapped {
        /// The first unmapped address.
        addr: u64,
    },
    /// The bytes at the PC are not an instruction of the model.
    InvalidInstruction,
    /// A privileged instruction ran in user mode.
    Privileged,
    /// The CPU refused a register value (x86: #GP on writing bits 63:32 of DR6/DR7).
    GeneralProtection,
}

/// A fault and where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fault {
    /// Address of the faulting instruction.
    pub pc: u64,
    /// What went wrong.
    pub kind: FaultKind,
}

/// One architectural step. `E` is the ISA's raw exception status
/// ([`Isa::Exception`](crate::Isa::Exception)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEvent<E> {
    /// An instruction retired, or one iteration of an x86 `rep` string instruction did
    /// (then `next_pc == pc` while iterations remain).
    Retired {
        /// CPU.
        cpu: CpuId,
        /// Task.
        task: TaskId,
        /// Address of the instruction.
        pc: u64,
        /// Where execution continues.
        next_pc: u64,
        /// Privilege mode it ran in.
        mode: Mode,
    },
    /// A memory access made by the instruction being executed.
    Access(MemoryAccess),
    /// The CPU raised an exception; `status` is what the hardware reported.
    Exception {
        /// CPU.
        cpu: CpuId,
        /// Task.
        task: TaskId,
        /// PC in the trap frame (x86 data traps: already past the instruction).
        pc: u64,
        /// Raw status.
        status: E,
    },
    /// An instruction faulted.
    Fault {
        /// CPU.
        cpu: CpuId,
        /// Task.
        task: TaskId,
        /// The fault.
        fault: Fault,
    },
    /// The CPU entered kernel mode.
    KernelEntry {
        /// CPU.
        cpu: CpuId,
        /// Task that was running.
        task: TaskId,
        /// Why.
        reason: EntryReason,
    },
    /// The CPU left the kernel entry started by the matching [`TraceEvent::KernelEntry`].
    KernelExit {
        /// CPU.
        cpu: CpuId,
        /// Task that resumes.
        task: TaskId,
    },
    /// An external interrupt arrived (`task` is `None` on an idle CPU).
    Interrupt {
        /// CPU.
        cpu: CpuId,
        /// Task interrupted.
        task: Option<TaskId>,
    },
    /// The scheduler switched tasks on a CPU (either side may be idle).
    ContextSwitch {
        /// CPU.
        cpu: CpuId,
        /// Task switched out.
        from: Option<TaskId>,
        /// Task switched in.
        to: Option<TaskId>,
    },
    /// A task moved to another CPU.
    Migration {
        /// Task.
        task: TaskId,
        /// Old CPU.
        from: CpuId,
        /// New CPU.
        to: CpuId,
    },
    /// Kernel code outside the task moved its PC (signal delivery, a debugger): whatever the
    /// instruction at `from` was about to do did not happen.
    PcChanged {
        /// Task.
        task: TaskId,
        /// The PC before.
        from: u64,
        /// The PC after.
        to: u64,
    },
    /// A task ran its end instruction or was killed.
    TaskExit {
        /// CPU.
        cpu: CpuId,
        /// Task.
        task: TaskId,
        /// Whether the kernel killed it (after a fault) rather than it ending.
        killed: bool,
    },
    /// The machine stopped dead (POWER9 DAWR on cache-inhibited memory).
    Checkstop {
        /// CPU.
        cpu: CpuId,
        /// Task.
        task: TaskId,
        /// Address of the instruction.
        pc: u64,
        /// Why, for messages.
        reason: &'static str,
    },
}

/// The events of a run, in the order they happened.
#[derive(Debug, Clone)]
pub struct Trace<E> {
    events: Vec<TraceEvent<E>>,
    enabled: bool,
}

impl<E> Default for Trace<E> {
    fn default() -> Self {
        Self {
            events: Vec::new(),
            enabled: true,
        }
    }
}

impl<E> Trace<E> {
    /// Turn recording on or off (benchmarks turn it off; the machine behaves the same).
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Whether events are being recorded.
    #[must_use]
    pub const fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Append an event (dropped when recording is off).
    pub fn push(&mut self, event: TraceEvent<E>) {
        if self.enabled {
            self.events.push(event);
        }
    }

    /// All events so far.
    #[must_use]
    pub fn events(&self) -> &[TraceEvent<E>] {
        &self.events
    }

    /// Forget the events recorded so far.
    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// The memory accesses, in order.
    pub fn accesses(&self) -> impl Iterator<Item = &MemoryAccess> {
        self.events.iter().filter_map(|e| match e {
            TraceEvent::Access(a) => Some(a),
            _ => None,
        })
    }

    /// The exceptions' raw statuses with their CPU, task and trap-frame PC, in order.
    pub fn exceptions(&self) -> impl Iterator<Item = (CpuId, TaskId, u64, &E)> {
        self.events.iter().filter_map(|e| match e {
            TraceEvent::Exception {
                cpu,
                task,
                pc,
                status,
            } => Some((*cpu, *task, *pc, status)),
            _ => None,
        })
    }

    /// Number of retired steps.
    #[must_use]
    pub fn retired(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, TraceEvent::Retired { .. }))
            .count()
    }
}
