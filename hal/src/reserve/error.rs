//! Why a reservation was refused.

use core::fmt;

use crate::{CpuId, PoolKind, RequestError, TaskId};

/// Why [`Reservations`](super::Reservations) refused an operation. A refused operation
/// changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReserveError {
    /// A pinned request does not fit: on `cpu`, `cpu_pinned + task_term + weight > slots`.
    /// This is the first such CPU (lowest number) of the first such pool.
    CpuFull {
        /// The pool that is full.
        pool: PoolKind,
        /// The first CPU on which the request does not fit.
        cpu: CpuId,
        /// Slots held there by pinned CPU-bound requests (one CPU or all CPUs).
        cpu_pinned: u8,
        /// For a CPU-bound request (`task: None`), the largest count any one task holds on
        /// `cpu`; for a task-bound request, that task's own count on `cpu`.
        task_term: u8,
        /// The task whose own count `task_term` is, for task-bound requests.
        task: Option<TaskId>,
        /// Slots the request needs in this pool.
        weight: u8,
        /// Slots the pool has on each CPU.
        slots: u8,
    },
    /// The request needs more slots of a pool than the CPU has at all (or the pool does not
    /// exist on this CPU profile): not even an empty machine could arm it, pinned or not.
    NeverFits {
        /// The pool.
        pool: PoolKind,
        /// Slots the request needs.
        weight: u8,
        /// Slots the pool has.
        slots: u8,
    },
    /// The plan has no slot program.
    EmptyPlan,
    /// The scope names a CPU that is not online (or beyond the engine's capacity).
    UnknownCpu {
        /// The CPU named.
        cpu: CpuId,
        /// CPUs `0..online` exist.
        online: u32,
    },
    /// The handle names no live reservation (released, or never issued by this engine).
    UnknownReservation,
    /// Fixed storage is full.
    CapacityExhausted {
        /// Which store: `"reservations"`, `"slot groups"` or `"tasks"`.
        what: &'static str,
    },
    /// The non-allocating path ([`try_reserve`](super::Reservations::try_reserve)) would have
    /// had to grow storage; retry with [`reserve`](super::Reservations::reserve) from a
    /// context that may allocate.
    WouldAllocate {
        /// Which store: `"reservations"`, `"slot groups"` or `"tasks"`.
        what: &'static str,
    },
    /// Another context is updating the reservations (the embedder's try-lock failed). The
    /// engine never returns this itself — it has no lock — but wrappers that give
    /// exception-context callers a non-waiting path do, so they need no error type of their own.
    Busy,
    /// The request itself was refused by the architecture's checks.
    Request(RequestError),
    /// The engine cannot be built for this many CPUs.
    TooManyCpus {
        /// CPUs asked for.
        online: u32,
        /// The engine's compile-time capacity.
        capacity: usize,
    },
}

impl fmt::Display for ReserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::CpuFull {
                pool,
                cpu,
                cpu_pinned,
                task_term,
                task,
                weight,
                slots,
            } => {
                write!(
                    f,
                    "CPU {} is full in the {} pool: {cpu_pinned} slot(s) pinned by CPU-bound requests + ",
                    cpu.0,
                    pool.name()
                )?;
                match task {
                    Some(t) => write!(f, "{task_term} held by task {}", t.0)?,
                    None => write!(f, "{task_term} held by the busiest task")?,
                }
                write!(f, " + {weight} requested > {slots} slot(s)")
            }
            Self::NeverFits {
                pool,
                weight,
                slots,
            } => write!(
                f,
                "the request needs {weight} {} slot(s) but the CPU has {slots}",
                pool.name()
            ),
            Self::EmptyPlan => f.write_str("the plan has no slot program"),
            Self::UnknownCpu { cpu, online } => {
                write!(f, "CPU {} is not online (CPUs 0..{online} are)", cpu.0)
            }
            Self::UnknownReservation => f.write_str("no such reservation (released or foreign)"),
            Self::CapacityExhausted { what } => write!(f, "the {what} store is full"),
            Self::WouldAllocate { what } => write!(
                f,
                "the {what} store would have to grow, which the non-allocating path refuses"
            ),
            Self::Busy => f.write_str(
                "the reservations are being updated elsewhere; refused instead of waiting",
            ),
            Self::Request(e) => e.fmt(f),
            Self::TooManyCpus { online, capacity } => write!(
                f,
                "{online} CPUs asked for, but the engine holds at most {capacity}"
            ),
        }
    }
}

impl core::error::Error for ReserveError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Request(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RequestError> for ReserveError {
    fn from(e: RequestError) -> Self {
        Self::Request(e)
    }
}
