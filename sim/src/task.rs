//! A task (thread) of the simulated machine and its saved register context.

use hwbkpt_hal::{CpuId, TaskId};

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Waiting for a CPU (its context is saved in the task).
    Runnable,
    /// Running on a CPU (its context is that CPU's live registers).
    Running(CpuId),
    /// Ran its end instruction.
    Exited,
    /// Killed by the kernel after a fault.
    Killed,
}

impl TaskState {
    /// Whether the task can still run.
    #[must_use]
    pub const fn is_alive(self) -> bool {
        matches!(self, Self::Runnable | Self::Running(_))
    }
}

/// A task: its state, the CPU it last ran on, and its registers while switched out.
#[derive(Debug, Clone)]
pub struct Task<C> {
    pub(crate) id: TaskId,
    pub(crate) state: TaskState,
    /// The CPU it runs on next (set by migration) or ran on last.
    pub(crate) home: CpuId,
    /// Saved registers; `None` while they are live on a CPU.
    pub(crate) saved: Option<C>,
}

impl<C> Task<C> {
    /// Its identifier.
    #[must_use]
    pub const fn id(&self) -> TaskId {
        self.id
    }

    /// Its state.
    #[must_use]
    pub const fn state(&self) -> TaskState {
        self.state
    }

    /// The CPU it runs on, or will run on next.
    #[must_use]
    pub const fn home(&self) -> CpuId {
        self.home
    }
}
