//! Slot reservation and scheduling; everything is documented on [`Reservations`].

mod engine;
mod error;
mod histogram;
mod id;
mod install;
mod ledger;
mod list;
mod record;
mod slab;
mod status;
mod storage;
mod switch_in;
mod task_table;

#[cfg(test)]
pub(crate) mod tests;

pub use engine::Reservations;
pub use error::ReserveError;
pub use id::{ReservationId, SlotGroupId};
pub use install::InstallError;
#[cfg(feature = "alloc")]
pub use slab::VecSlab;
pub use slab::{FixedSlab, Slab};
pub use status::{PoolUsage, ReservationStatus};
#[cfg(feature = "alloc")]
pub use storage::HeapStorage;
pub use storage::{FixedStorage, Storage};
pub use switch_in::{LoadedSlot, MAX_SLOTS, SlotAssignment};
#[cfg(feature = "alloc")]
pub use task_table::HeapTaskTable;
pub use task_table::{FixedTaskTable, TaskTable};

/// An engine in fixed arrays: `CPUS` CPUs, `RESERVATIONS` live reservations, a task table of
/// `TASKS` places. No allocation.
pub type FixedReservations<P, const CPUS: usize, const RESERVATIONS: usize, const TASKS: usize> =
    Reservations<P, FixedStorage<RESERVATIONS, TASKS>, CPUS>;

/// An engine on the heap for `CPUS` CPUs and any number of tasks and reservations.
#[cfg(feature = "alloc")]
pub type HeapReservations<P, const CPUS: usize> = Reservations<P, HeapStorage, CPUS>;
