//! Where a request applies: which tasks and CPUs.

/// A CPU number as the embedding kernel numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CpuId(pub u32);

/// A task (thread) identifier as the embedding kernel numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub u64);

/// Which executions a request watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One task, on whichever CPU it runs (ptrace-style).
    Task(TaskId),
    /// Everything that runs on one CPU (per-CPU perf events, kgdb on one CPU).
    Cpu(CpuId),
    /// One task, only while it runs on one CPU.
    TaskOnCpu(TaskId, CpuId),
    /// Everything on every CPU.
    AllCpus,
}

impl Scope {
    /// Whether an execution of `task` on `cpu` is inside this scope.
    #[must_use]
    pub fn covers(&self, task: TaskId, cpu: CpuId) -> bool {
        match *self {
            Self::Task(t) => t == task,
            Self::Cpu(c) => c == cpu,
            Self::TaskOnCpu(t, c) => t == task && c == cpu,
            Self::AllCpus => true,
        }
    }

    /// The task this scope follows, if it is bound to one.
    #[must_use]
    pub const fn task(&self) -> Option<TaskId> {
        match *self {
            Self::Task(t) | Self::TaskOnCpu(t, _) => Some(t),
            Self::Cpu(_) | Self::AllCpus => None,
        }
    }

    /// The CPU this scope is bound to, if any.
    #[must_use]
    pub const fn cpu(&self) -> Option<CpuId> {
        match *self {
            Self::Cpu(c) | Self::TaskOnCpu(_, c) => Some(c),
            Self::Task(_) | Self::AllCpus => None,
        }
    }
}
