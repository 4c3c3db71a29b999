//! The engine's records: slot groups, the consumers sharing them, and per-task state.

use crate::{Pinning, Plan, PoolKind, Request, Scope, SlotProgram};

/// Pools a plan may draw from, in the order every check visits them.
pub(super) const POOLS: [PoolKind; 3] = [PoolKind::Shared, PoolKind::Data, PoolKind::Instruction];

/// Index of a pool in per-pool arrays.
pub(super) const fn pool_index(pool: PoolKind) -> usize {
    match pool {
        PoolKind::Shared => 0,
        PoolKind::Data => 1,
        PoolKind::Instruction => 2,
    }
}

/// Slots per pool a plan needs.
pub(super) fn weights_of<P: SlotProgram>(plan: &Plan<P>) -> [u8; 3] {
    let mut weights = [0u8; 3];
    for program in plan {
        if let Some(w) = weights.get_mut(pool_index(program.pool())) {
            *w = w.saturating_add(1);
        }
    }
    weights
}

/// The ends of one intrusive list of groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct ListEnds {
    pub(super) head: Option<u32>,
    pub(super) tail: Option<u32>,
}

/// The two lists every anchor (all CPUs, one CPU, one task) keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct AnchorLists {
    /// Pinned groups; in a task's list, groups bound to one CPU are kept next to the other
    /// groups bound to the same CPU, so one pass yields each CPU's extra count.
    pub(super) pinned: ListEnds,
    /// Flexible groups, in rotation order: ascending ticket.
    pub(super) flexible: ListEnds,
}

impl AnchorLists {
    pub(super) const fn of(&self, pinning: Pinning) -> ListEnds {
        match pinning {
            Pinning::Pinned => self.pinned,
            Pinning::Flexible => self.flexible,
        }
    }

    pub(super) const fn of_mut(&mut self, pinning: Pinning) -> &mut ListEnds {
        match pinning {
            Pinning::Pinned => &mut self.pinned,
            Pinning::Flexible => &mut self.flexible,
        }
    }
}

/// One accounted unit: a plan in a scope, held by one or more consumers.
#[derive(Debug, Clone)]
pub(super) struct Group<P> {
    pub(super) plan: Plan<P>,
    pub(super) scope: Scope,
    pub(super) pinning: Pinning,
    pub(super) exclusive: bool,
    pub(super) weights: [u8; 3],
    /// Consumers holding the group (reference count).
    pub(super) sharers: u32,
    /// First consumer of the group's sharer chain (through `Consumer::next_sharer`).
    pub(super) first_sharer: Option<u32>,
    pub(super) prev: Option<u32>,
    pub(super) next: Option<u32>,
    /// Rotation order of flexible groups: taken from a global counter at creation and each
    /// time the group is armed, so the group armed least recently comes first.
    pub(super) ticket: u64,
    /// The ticket at creation, never changed: registration order, for placing groups in
    /// slots first fit in the order they were reserved.
    pub(super) created: u64,
    /// Flexible groups: armed at the most recent switch-in that considered it.
    pub(super) armed: bool,
}

impl<P: SlotProgram> Group<P> {
    /// Whether a consumer asking for `request` with `plan` may share this group.
    pub(super) fn joinable_by(&self, request: &Request, plan: &Plan<P>) -> bool {
        !self.exclusive
            && request.sharing() == crate::Sharing::Shared
            && self.pinning == request.pinning()
            && self.scope == request.scope()
            && self.plan == *plan
    }
}

/// One consumer: its request and the group whose slots it uses.
#[derive(Debug, Clone, Copy)]
pub(super) struct Consumer {
    pub(super) request: Request,
    pub(super) group: u32,
    pub(super) next_sharer: Option<u32>,
    /// Scheduling windows (switch-ins covering it) in which its flexible group was not armed.
    pub(super) missed: u64,
}

/// What the engine keeps per task holding at least one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct TaskState {
    pub(super) lists: AnchorLists,
    /// Per pool: pinned slots this task holds on every CPU (`Scope::Task` groups), `a_T`.
    pub(super) everywhere: [u8; 3],
    /// Groups (pinned or flexible) bound to this task.
    pub(super) groups: u32,
    /// Of those, pinned groups bound to one CPU: when zero (the common case), the task has
    /// no per-CPU extras and nothing needs to walk its list to find them.
    pub(super) cpu_bound: u32,
}
