//! Handles: what the engine gives out, checked against reuse of the record they name.

/// One consumer's reservation. Each consumer keeps its own handle even when it shares a
/// slot with others, so events can be delivered per consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReservationId {
    pub(super) index: u32,
    pub(super) generation: u32,
}

impl ReservationId {
    /// The record's place: below the engine's reservation capacity, so callers can keep
    /// per-reservation state in an array indexed by it.
    pub(crate) const fn slot_index(self) -> usize {
        self.index as usize
    }
}

/// A slot group: one accounted unit of slots (a plan in a scope), shared by every
/// reservation with the identical hardware programs and scope unless one is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotGroupId {
    pub(super) index: u32,
    pub(super) generation: u32,
}

impl SlotGroupId {
    /// The group record's place (below the engine's capacity) and its generation, for
    /// callers that keep per-group state in arrays.
    pub(crate) const fn parts(self) -> (usize, u32) {
        (self.index as usize, self.generation)
    }
}
