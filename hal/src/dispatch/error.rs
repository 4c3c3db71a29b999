//! Why the dispatcher refused a request or a switch-in.

use core::fmt;

use crate::{CpuId, RequestError, ReserveError};

/// Why [`Dispatcher::register`](crate::Dispatcher::register) or
/// [`Dispatcher::modify`](crate::Dispatcher::modify) refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DispatchError {
    /// The request is invalid, forbidden by policy, or impossible on this hardware.
    Request(RequestError),
    /// The reservation engine refused it: a pinned request that does not fit on some CPU
    /// (the error names the CPU and its numbers), one that can never fit, or full tables.
    Reserve(ReserveError),
    /// The id names no registered request (released, or never issued).
    UnknownRequest,
}

impl DispatchError {
    /// Whether the refusal means "no debug-register slot is free" — what ptrace reports as
    /// `ENOSPC` and a gdb stub as "could not insert", as opposed to a request that is
    /// invalid in itself.
    #[must_use]
    pub const fn is_out_of_slots(&self) -> bool {
        matches!(
            self,
            Self::Reserve(ReserveError::CpuFull { .. } | ReserveError::NeverFits { .. })
        )
    }
}

impl fmt::Display for DispatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Request(e) => e.fmt(f),
            Self::Reserve(e) => e.fmt(f),
            Self::UnknownRequest => f.write_str("no such request (released or never registered)"),
        }
    }
}

impl core::error::Error for DispatchError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Request(e) => Some(e),
            Self::Reserve(e) => Some(e),
            Self::UnknownRequest => None,
        }
    }
}

impl From<RequestError> for DispatchError {
    fn from(e: RequestError) -> Self {
        Self::Request(e)
    }
}

impl From<ReserveError> for DispatchError {
    fn from(e: ReserveError) -> Self {
        match e {
            ReserveError::Request(e) => Self::Request(e),
            other => Self::Reserve(other),
        }
    }
}

/// Why [`Dispatcher::switch_in`](crate::Dispatcher::switch_in) could not program a CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SwitchError<E> {
    /// The CPU number is not below the dispatcher's online CPU count.
    UnknownCpu {
        /// The CPU asked for.
        cpu: CpuId,
        /// CPUs `0..online` exist.
        online: u32,
    },
    /// The register backend failed; slots before the failing one are already written.
    Register(E),
}

impl<E: fmt::Display> fmt::Display for SwitchError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownCpu { cpu, online } => {
                write!(f, "CPU {} is not online (CPUs 0..{online})", cpu.0)
            }
            Self::Register(e) => write!(f, "writing the debug registers failed: {e}"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for SwitchError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Register(e) => Some(e),
            Self::UnknownCpu { .. } => None,
        }
    }
}
