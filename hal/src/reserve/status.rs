//! What a consumer (or a test) can ask the engine.

use crate::Pinning;

/// A reservation's scheduling state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationStatus {
    /// Pinned or flexible.
    pub pinning: Pinning,
    /// Pinned: always true (armed whenever its scope runs). Flexible: whether the most recent
    /// switch-in that covered it armed it.
    pub armed: bool,
    /// Scheduling windows (switch-ins covering it) in which it was not armed: hits in those
    /// windows were not seen, and the consumer is told so here.
    pub missed_windows: u64,
    /// Reservations sharing its slots, itself included.
    pub sharers: u32,
}

/// The numbers of the fit rule for one pool on one CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Slots held by pinned CPU-bound requests (`cpu_pinned[c]`).
    pub cpu_pinned: u8,
    /// The largest count any one task holds there (the task term of a CPU-bound request).
    pub busiest_task: u8,
    /// Slots the pool has.
    pub slots: u8,
}
