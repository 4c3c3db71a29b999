//! Why the simulated task stopped, in gdb's terms.

use gdbstub::common::Signal;
use gdbstub::stub::SingleThreadStopReason;
use gdbstub::target::ext::breakpoints::WatchKind;

/// A stop to report to gdb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A watch gdb inserted fired; `addr` is the address gdb asked to watch, whatever range
    /// the hardware matched.
    Watch {
        /// The kind gdb inserted (`watch`, `rwatch`, `awatch`).
        kind: WatchKind,
        /// The watched address gdb gave.
        addr: u64,
    },
    /// An `hbreak` fired (before its instruction).
    HwBreak,
    /// The PC reached a software breakpoint.
    SwBreak,
    /// One instruction was stepped.
    DoneStep,
    /// The task ran its end instruction.
    Exited,
    /// The task is gone (a fatal signal passed on, a checkstop).
    Terminated(Signal),
    /// The task got a signal (a fault) and is stopped at the faulting instruction.
    Signal(Signal),
}

impl Stop {
    /// The stop reply.
    #[must_use]
    pub const fn reason(self) -> SingleThreadStopReason<u64> {
        match self {
            Self::Watch { kind, addr } => SingleThreadStopReason::Watch {
                tid: (),
                kind,
                addr,
            },
            Self::HwBreak => SingleThreadStopReason::HwBreak(()),
            Self::SwBreak => SingleThreadStopReason::SwBreak(()),
            Self::DoneStep => SingleThreadStopReason::DoneStep,
            Self::Exited => SingleThreadStopReason::Exited(0),
            Self::Terminated(signal) => SingleThreadStopReason::Terminated(signal),
            Self::Signal(signal) => SingleThreadStopReason::Signal(signal),
        }
    }
}
