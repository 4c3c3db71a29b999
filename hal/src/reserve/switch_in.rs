//! Switch-in: which slot programs to load when a task starts running on a CPU.

use crate::{CpuId, PoolKind, SlotId, SlotProgram, SlotSet, TaskId};

use super::engine::{Anchor, Reservations};
use super::error::ReserveError;
use super::id::SlotGroupId;
use super::list;
use super::record::{POOLS, pool_index};
use super::slab::Slab;
use super::storage::Storage;

/// Slots of all pools together: 3 pools of at most [`SlotId::MAX_PER_POOL`].
pub const MAX_SLOTS: usize = POOLS.len() * SlotId::MAX_PER_POOL as usize;

/// Position of a slot in per-slot arrays.
const fn position(pool: PoolKind, index: u8) -> usize {
    pool_index(pool) * SlotId::MAX_PER_POOL as usize + index as usize
}

/// What one CPU has loaded, compactly: per slot, the group (index, generation) and which of
/// its plan's programs. Kept so a group keeps its slot across switch-ins (its register
/// image need not change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LoadedSlots {
    slots: [Option<(u32, u32, u8)>; MAX_SLOTS],
    task: Option<TaskId>,
}

impl LoadedSlots {
    pub(super) const EMPTY: Self = Self {
        slots: [None; MAX_SLOTS],
        task: None,
    };
}

/// One slot to program at switch-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadedSlot<P> {
    /// The hardware slot.
    pub slot: SlotId,
    /// The group whose program it runs; its [`sharers`](Reservations::sharers) get the events.
    pub group: SlotGroupId,
    /// The program to encode into `slot` (`DebugArchitecture::encode`).
    pub program: P,
}

/// The slots to program when a task starts on a CPU: every slot not listed is to be
/// disarmed. Never more slots of a pool than the CPU has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotAssignment<P> {
    slots: [Option<LoadedSlot<P>>; MAX_SLOTS],
}

impl<P: SlotProgram> SlotAssignment<P> {
    /// Nothing loaded.
    #[must_use]
    pub const fn empty() -> Self {
        Self {
            slots: [None; MAX_SLOTS],
        }
    }

    /// Slots to program, pool by pool in index order.
    pub fn iter(&self) -> impl Iterator<Item = &LoadedSlot<P>> + '_ {
        self.slots.iter().flatten()
    }

    /// What `slot` is to run, if anything.
    #[must_use]
    pub fn get(&self, slot: SlotId) -> Option<&LoadedSlot<P>> {
        self.slots
            .get(position(slot.pool(), slot.index()))?
            .as_ref()
    }

    /// The slots that are armed.
    #[must_use]
    pub fn armed(&self) -> SlotSet {
        self.iter().fold(SlotSet::EMPTY, |set, l| set.with(l.slot))
    }

    /// Number of armed slots in `pool`.
    #[must_use]
    pub fn count(&self, pool: PoolKind) -> usize {
        self.iter().filter(|l| l.slot.pool() == pool).count()
    }
}

/// A (group, program index) chosen for loading, not yet given a slot.
type Chosen = (u32, u8, PoolKind);

impl<P: SlotProgram, S: Storage, const CPUS: usize> Reservations<P, S, CPUS> {
    /// Task `task` starts running on `cpu` (context switch, migration, or return after a
    /// reservation change): the slots to program there.
    ///
    /// First every pinned group covering (`task`, `cpu`) — the fit rule guarantees they fit.
    /// Then flexible groups covering it, least recently armed first, each armed whole if its
    /// slots are still free, otherwise counted as a missed window for each of its
    /// reservations. An armed flexible group goes to the back of the rotation. A group keeps
    /// the slot it had on this CPU at the previous switch-in when it can.
    ///
    /// Cost: the groups of the task, of the CPU and of all-CPU scope; never other tasks'.
    ///
    /// # Errors
    /// [`ReserveError::UnknownCpu`].
    pub fn switch_in(
        &mut self,
        task: TaskId,
        cpu: CpuId,
    ) -> Result<SlotAssignment<P>, ReserveError> {
        let c = cpu.0;
        let Some(cpu_index) = usize::try_from(c).ok().filter(|_| c < self.online) else {
            return Err(ReserveError::UnknownCpu {
                cpu,
                online: self.online,
            });
        };
        let cpu_lists = self.lists(Anchor::Cpu(c));
        let task_lists = self.lists(Anchor::Task(task));
        let mut chosen: [Option<Chosen>; MAX_SLOTS] = [None; MAX_SLOTS];
        let mut taken = 0usize;
        let mut used = [0u8; 3];

        // Pinned groups: always loaded (the fit rule leaves room; the bound is a safeguard).
        for ends in [self.all_cpus.pinned, cpu_lists.pinned, task_lists.pinned] {
            for (index, group) in list::iter(&self.groups, ends) {
                if !group.scope.covers(task, cpu) {
                    continue;
                }
                if !self.room_for(&group.weights, &used, taken, group.plan.len()) {
                    continue;
                }
                for (k, program) in group.plan.iter().enumerate() {
                    push(&mut chosen, &mut taken, &mut used, index, k, program.pool());
                }
            }
        }

        // Flexible groups: merge the three rotation lists by ticket. Groups armed now get a
        // new ticket (≥ `start`) and move to the back, so the walk stops before revisiting.
        let start = self.next_ticket;
        let mut cursors = [
            self.all_cpus.flexible.head,
            cpu_lists.flexible.head,
            task_lists.flexible.head,
        ];
        while let Some((which, index)) = self.next_candidate(&mut cursors, task, cpu, start) {
            if let Some(cursor) = cursors.get_mut(which) {
                *cursor = self.groups.get(index).and_then(|g| g.next);
            }
            let Some(group) = self.groups.get(index) else {
                continue;
            };
            let fits = self.room_for(&group.weights, &used, taken, group.plan.len());
            if fits {
                let programs: [Option<PoolKind>; crate::MAX_PLAN_SLOTS] = {
                    let mut pools = [None; crate::MAX_PLAN_SLOTS];
                    for (slot, program) in pools.iter_mut().zip(group.plan.iter()) {
                        *slot = Some(program.pool());
                    }
                    pools
                };
                for (k, pool) in programs.iter().enumerate() {
                    if let Some(pool) = pool {
                        push(&mut chosen, &mut taken, &mut used, index, k, *pool);
                    }
                }
                let ticket = self.take_ticket();
                if let Some(g) = self.groups.get_mut(index) {
                    g.armed = true;
                    g.ticket = ticket;
                }
                self.move_to_back(index);
            } else {
                let mut sharer = group.first_sharer;
                if let Some(g) = self.groups.get_mut(index) {
                    g.armed = false;
                }
                while let Some(s) = sharer {
                    let Some(consumer) = self.consumers.get_mut(s) else {
                        break;
                    };
                    consumer.missed = consumer.missed.saturating_add(1);
                    sharer = consumer.next_sharer;
                }
            }
        }

        Ok(self.place(cpu_index, task, &chosen))
    }

    /// What the last switch-in on `cpu` loaded (empty before the first).
    #[must_use]
    pub fn loaded(&self, cpu: CpuId) -> Option<SlotAssignment<P>> {
        let loaded = self.loaded.get(usize::try_from(cpu.0).ok()?)?;
        Some(self.expand(loaded))
    }

    /// The task the last switch-in on `cpu` started.
    #[must_use]
    pub fn running(&self, cpu: CpuId) -> Option<TaskId> {
        self.loaded.get(usize::try_from(cpu.0).ok()?)?.task
    }

    fn room_for(&self, weights: &[u8; 3], used: &[u8; 3], taken: usize, programs: usize) -> bool {
        taken + programs <= MAX_SLOTS
            && weights
                .iter()
                .zip(used)
                .zip(self.slots)
                .all(|((&w, &u), s)| u32::from(w) + u32::from(u) <= u32::from(s))
    }

    /// The flexible group with the lowest ticket under the three cursors, skipping groups
    /// that do not cover (task, cpu) (a task's groups bound to other CPUs).
    fn next_candidate(
        &self,
        cursors: &mut [Option<u32>; 3],
        task: TaskId,
        cpu: CpuId,
        start: u64,
    ) -> Option<(usize, u32)> {
        let mut best: Option<(usize, u32, u64)> = None;
        for (which, cursor) in cursors.iter_mut().enumerate() {
            while let Some(index) = *cursor {
                let Some(group) = self.groups.get(index) else {
                    *cursor = None;
                    break;
                };
                if group.ticket >= start {
                    // Armed during this switch-in and moved back: this list is done.
                    *cursor = None;
                    break;
                }
                if group.scope.covers(task, cpu) {
                    if best.is_none_or(|(_, _, t)| group.ticket < t) {
                        best = Some((which, index, group.ticket));
                    }
                    break;
                }
                *cursor = group.next;
            }
        }
        best.map(|(which, index, _)| (which, index))
    }

    /// Give each chosen program a slot: the one it had at the previous switch-in on this CPU
    /// if still free, else the lowest free one of its pool (oldest group first).
    fn place(
        &mut self,
        cpu_index: usize,
        task: TaskId,
        chosen: &[Option<Chosen>; MAX_SLOTS],
    ) -> SlotAssignment<P> {
        let previous = self
            .loaded
            .get(cpu_index)
            .copied()
            .unwrap_or(LoadedSlots::EMPTY);
        let mut next = LoadedSlots {
            slots: [None; MAX_SLOTS],
            task: Some(task),
        };
        let mut placed = [false; MAX_SLOTS];
        for (done, choice) in placed.iter_mut().zip(chosen) {
            let Some((group, k, pool)) = *choice else {
                continue;
            };
            let generation = self.groups.generation(group).unwrap_or(0);
            let kept = (0..self.slot_count(pool))
                .map(|i| position(pool, i))
                .find(|&at| {
                    previous.slots.get(at).copied().flatten() == Some((group, generation, k))
                });
            if let Some(at) = kept
                && let Some(place @ None) = next.slots.get_mut(at)
            {
                *place = Some((group, generation, k));
                *done = true;
            }
        }
        // The rest in creation order (oldest group first, its programs in plan order), so a
        // fresh CPU gives slots first fit in registration order, as debuggers expect (the
        // first watch in DR0), whatever order the lists were walked in or records reused.
        let mut fresh = [None; MAX_SLOTS];
        for (place, (done, choice)) in fresh.iter_mut().zip(placed.iter().zip(chosen)) {
            if !*done {
                *place = *choice;
            }
        }
        fresh.sort_unstable_by_key(|c| {
            c.map_or((u64::MAX, u8::MAX), |(g, k, _)| {
                (self.groups.get(g).map_or(u64::MAX, |g| g.created), k)
            })
        });
        for choice in &fresh {
            let Some((group, k, pool)) = *choice else {
                continue;
            };
            let generation = self.groups.generation(group).unwrap_or(0);
            let free = (0..self.slot_count(pool))
                .map(|i| position(pool, i))
                .find(|&at| next.slots.get(at).is_some_and(Option::is_none));
            if let Some(place) = free.and_then(|at| next.slots.get_mut(at)) {
                *place = Some((group, generation, k));
            }
        }
        if let Some(slot) = self.loaded.get_mut(cpu_index) {
            *slot = next;
        }
        self.expand(&next)
    }

    fn slot_count(&self, pool: PoolKind) -> u8 {
        self.slots
            .get(pool_index(pool))
            .copied()
            .unwrap_or(0)
            .min(SlotId::MAX_PER_POOL)
    }

    fn expand(&self, loaded: &LoadedSlots) -> SlotAssignment<P> {
        let mut out = SlotAssignment::empty();
        for pool in POOLS {
            for i in 0..SlotId::MAX_PER_POOL {
                let at = position(pool, i);
                let Some(Some((group, generation, k))) = loaded.slots.get(at).copied() else {
                    continue;
                };
                let Some(g) = self.groups.get(group) else {
                    continue;
                };
                if self.groups.generation(group) != Some(generation) {
                    // Released since; the slot is stale.
                    continue;
                }
                let (Some(program), Some(slot)) =
                    (g.plan.iter().nth(usize::from(k)), SlotId::new(pool, i))
                else {
                    continue;
                };
                if let Some(place) = out.slots.get_mut(at) {
                    *place = Some(LoadedSlot {
                        slot,
                        group: SlotGroupId {
                            index: group,
                            generation,
                        },
                        program: *program,
                    });
                }
            }
        }
        out
    }
}

fn push(
    chosen: &mut [Option<Chosen>; MAX_SLOTS],
    taken: &mut usize,
    used: &mut [u8; 3],
    group: u32,
    k: usize,
    pool: PoolKind,
) {
    if let (Some(place), Some(count), Ok(k)) = (
        chosen.get_mut(*taken),
        used.get_mut(pool_index(pool)),
        u8::try_from(k),
    ) {
        *place = Some((group, k, pool));
        *count = count.saturating_add(1);
        *taken += 1;
    }
}
