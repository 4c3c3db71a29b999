//! Where the engine keeps its records: fixed arrays, or growable heap storage.

use super::slab::{FixedSlab, Slab};
use super::task_table::{FixedTaskTable, TaskTable};

/// Chooses the containers of a [`Reservations`](super::Reservations) engine.
///
/// [`FixedStorage`] needs no allocator; `HeapStorage` (feature `alloc`) grows to any
/// number of tasks and reservations. A kernel can supply its own, e.g. over a slab allocator.
pub trait Storage {
    /// Records addressed by index: reservations, and the slot groups they share.
    type Records<T>: Slab<T>;
    /// Per-task records found by task id.
    type Tasks<V>: TaskTable<V>;
}

/// Fixed capacity, no allocation: at most `RESERVATIONS` live reservations (and as many slot
/// groups: each group has at least one reservation), and `TASKS` task-table places, of
/// which 7/8 are usable (size it about 15% above the most tasks that hold breakpoints at once).
#[derive(Debug, Clone, Copy)]
pub struct FixedStorage<const RESERVATIONS: usize, const TASKS: usize>;

impl<const RESERVATIONS: usize, const TASKS: usize> Storage for FixedStorage<RESERVATIONS, TASKS> {
    type Records<T> = FixedSlab<T, RESERVATIONS>;
    type Tasks<V> = FixedTaskTable<V, TASKS>;
}

/// Heap storage that grows on demand (feature `alloc`). Freed places are reused first, so a
/// steady state never allocates, and [`try_reserve`](super::Reservations::try_reserve) never
/// allocates at all.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, Copy)]
pub struct HeapStorage;

#[cfg(feature = "alloc")]
impl Storage for HeapStorage {
    type Records<T> = super::slab::VecSlab<T>;
    type Tasks<V> = super::task_table::HeapTaskTable<V>;
}
