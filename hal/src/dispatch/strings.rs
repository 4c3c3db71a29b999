//! x86 fast strings: which iterations of an interrupted `rep movs`/`rep stos` a data hit
//! comes from (DESIGN §2; [`StringIterations`]).
//!
//! At each exception with data hits the layer asks the context once
//! ([`InstructionDecode::string_progress`](crate::InstructionDecode::string_progress)) whether
//! the trap interrupted a `rep` with iterations left, and keeps per task the last
//! `(pc, remaining)` it saw. The next trap of the same task at the same PC with fewer
//! iterations left names the window between the two.

use crate::{
    AccessKind, CpuId, DebugArchitecture, ExceptionEnvironment, SlotProgram, SlotSet,
    StringProgress, TaskId,
};

use super::event::StringIterations;
use super::frame::TrapFrame;
use super::table::Dispatcher;

/// One task's last data trap inside a `rep` with iterations left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LastSeen {
    task: TaskId,
    pc: u64,
    remaining: u64,
    /// When it was seen (a counter of the table's updates), for eviction.
    stamp: u64,
}

/// The last `rep` position seen per task: fixed size (`N` = the dispatcher's `TASKS`), no
/// allocation, never panics.
///
/// Only tasks interrupted mid-`rep` have an entry; any other data trap of the task forgets
/// its entry, and so does [`Dispatcher::cancel_step`] (the kernel moved the PC). When more
/// than `N` tasks are mid-`rep` at once, the entry seen longest ago is evicted: that task's
/// next hit then says `since: None` ("since the instruction started"), which is still true,
/// only less precise.
#[derive(Debug, Clone, Copy)]
pub(super) struct StringWindows<const N: usize> {
    seen: [Option<LastSeen>; N],
    clock: u64,
    /// Entries in `seen` (the common case, no task mid-`rep`, costs one test).
    used: usize,
}

impl<const N: usize> StringWindows<N> {
    /// No task seen.
    pub(super) const fn new() -> Self {
        Self {
            seen: [None; N],
            clock: 0,
            used: 0,
        }
    }

    /// A data trap of `task` at `pc`: `progress` is where the `rep` there stands, or `None`
    /// when the trap did not interrupt one. Returns the window of the hits of this trap.
    pub(super) fn observe(
        &mut self,
        task: TaskId,
        pc: u64,
        progress: Option<StringProgress>,
    ) -> Option<StringIterations> {
        let Some(progress) = progress else {
            self.forget(task);
            return None;
        };
        let place = self
            .seen
            .iter()
            .position(|s| s.is_some_and(|s| s.task == task));
        let since = place
            .and_then(|i| self.seen.get(i).copied().flatten())
            .filter(|s| s.pc == pc && s.remaining > progress.remaining)
            .map(|s| s.remaining);
        self.clock = self.clock.wrapping_add(1);
        let entry = LastSeen {
            task,
            pc,
            remaining: progress.remaining,
            stamp: self.clock,
        };
        let place = place
            .or_else(|| self.seen.iter().position(Option::is_none))
            .or_else(|| self.oldest());
        if let Some(slot) = place.and_then(|i| self.seen.get_mut(i)) {
            if slot.is_none() {
                self.used += 1;
            }
            *slot = Some(entry);
        }
        Some(StringIterations {
            remaining: progress.remaining,
            since,
        })
    }

    /// Forget `task`'s position (its PC changed, or it is no longer inside a `rep`).
    pub(super) fn forget(&mut self, task: TaskId) {
        if self.used == 0 {
            return;
        }
        for slot in &mut self.seen {
            if slot.is_some_and(|s| s.task == task) {
                *slot = None;
                self.used -= 1;
            }
        }
    }

    /// The place of the entry updated longest ago.
    fn oldest(&self) -> Option<usize> {
        self.seen
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (i, s.stamp)))
            .min_by_key(|&(_, stamp)| stamp)
            .map(|(i, _)| i)
    }
}

impl<A: DebugArchitecture, const REQUESTS: usize, const TASKS: usize, const CPUS: usize>
    Dispatcher<A, REQUESTS, TASKS, CPUS>
{
    /// The iteration window for the data hits of one exception whose hardware-exact hits are
    /// in `slots` (armed for the frame's task): asks the context once, and only when one of
    /// them is a data slot. Instruction breakpoints alone leave the table untouched.
    pub(super) fn string_iterations<C: ExceptionEnvironment>(
        &mut self,
        frame: &TrapFrame,
        slots: SlotSet,
        context: &mut C,
    ) -> Option<StringIterations> {
        if !self.has_data_slot(frame.cpu, slots) {
            return None;
        }
        let progress = context.string_progress(frame.pc);
        self.strings.observe(frame.task, frame.pc, progress)
    }

    fn has_data_slot(&self, cpu: CpuId, slots: SlotSet) -> bool {
        slots.iter().any(|slot| {
            self.loaded_at(cpu, slot)
                .is_some_and(|(_, p, _)| !p.hardware_access().contains(AccessKind::EXECUTE))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn at(remaining: u64) -> Option<StringProgress> {
        Some(StringProgress { remaining })
    }

    #[test]
    fn a_full_table_evicts_the_position_seen_longest_ago() {
        let mut table = StringWindows::<2>::new();
        let (t1, t2, t3) = (TaskId(1), TaskId(2), TaskId(3));
        assert_eq!(table.observe(t1, 0x40, at(9)).unwrap().since, None);
        assert_eq!(table.observe(t2, 0x40, at(9)).unwrap().since, None);
        assert_eq!(table.observe(t1, 0x40, at(8)).unwrap().since, Some(9));
        // Full: task 2's position is the oldest and goes.
        assert_eq!(table.observe(t3, 0x40, at(9)).unwrap().since, None);
        assert_eq!(table.observe(t2, 0x40, at(7)).unwrap().since, None);
        // Then task 1's (updated before task 3's).
        assert_eq!(table.observe(t3, 0x40, at(6)).unwrap().since, Some(9));
        assert_eq!(table.observe(t1, 0x40, at(7)).unwrap().since, None);
    }

    #[test]
    fn a_table_without_places_names_no_previous_position() {
        let mut table = StringWindows::<0>::new();
        assert_eq!(table.observe(TaskId(1), 0x40, at(9)).unwrap().since, None);
        assert_eq!(table.observe(TaskId(1), 0x40, at(8)).unwrap().since, None);
    }
}
