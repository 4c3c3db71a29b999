//! The accounting of one slot pool across all CPUs: the numbers behind the fit rule.
//!
//! For every CPU `c` the rule needs `cpu_pinned[c]` (pinned CPU-bound slots on `c`) and, for
//! CPU-bound requests, the largest per-task count on `c`. Both are kept up to date
//! incrementally:
//!
//! - `pinned_all` counts requests bound to every CPU once, instead of on each CPU, so
//!   reserving one costs O(1) whatever the CPU count;
//! - tasks holding slots on every CPU (`Scope::Task`) are one global histogram of their
//!   count `a_T`;
//! - a task that also holds slots bound to CPU `c` (`Scope::TaskOnCpu`) is counted, with its
//!   full count `a_T + e_c` on `c`, in `c`'s own histogram; it stays in the global one too,
//!   which is harmless because `a_T ≤ a_T + e_c` and only maxima are read;
//! - two histograms *over CPUs* (of `pinned_local[c]` and of `pinned_local[c] + M_c`, where
//!   `M_c` is the maximum of `c`'s task histogram) answer "is every CPU still fine?" in
//!   O(slots) for requests that span all CPUs.
//!
//! Nothing here walks tasks or, on the success path, CPUs.

use super::histogram::Histogram;

/// Where a request would overflow: the first CPU (lowest number) on which it does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Overflow {
    pub(super) cpu: u32,
    pub(super) cpu_pinned: u8,
    pub(super) task_term: u8,
}

/// One pool's counters on every CPU; `CPUS` is the capacity, `online` the CPUs in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PoolLedger<const CPUS: usize> {
    slots: u8,
    online: u32,
    /// Pinned slots of requests bound to every CPU.
    pinned_all: u8,
    /// Pinned slots of requests bound to one CPU, per CPU.
    pinned_local: [u8; CPUS],
    /// Per CPU: tasks with CPU-bound slots there, by their full count on that CPU.
    task_local: [Histogram; CPUS],
    /// Tasks holding slots on every CPU, by that count.
    task_all: Histogram,
    /// Over online CPUs: how many have each `pinned_local` value.
    local_by_cpu: Histogram,
    /// Over online CPUs: how many have each `pinned_local + max(task_local)` value.
    load_by_cpu: Histogram,
}

impl<const CPUS: usize> PoolLedger<CPUS> {
    /// An empty ledger for a pool of `slots` slots on `online` CPUs (`online ≤ CPUS`).
    pub(super) fn new(slots: u8, online: u32) -> Self {
        let mut local_by_cpu = Histogram::default();
        local_by_cpu.add_many(0, online);
        Self {
            slots,
            online,
            pinned_all: 0,
            pinned_local: [0; CPUS],
            task_local: [Histogram::default(); CPUS],
            task_all: Histogram::default(),
            local_by_cpu,
            load_by_cpu: local_by_cpu,
        }
    }

    /// Slots the pool has on each CPU.
    pub(super) const fn slots(&self) -> u8 {
        self.slots
    }

    /// Pinned CPU-bound slots on `cpu`.
    pub(super) fn cpu_pinned(&self, cpu: u32) -> u8 {
        self.pinned_all
            .saturating_add(self.local(cpu).copied().unwrap_or(0))
    }

    /// The task term a CPU-bound request meets on `cpu`: the largest per-task count there.
    pub(super) fn max_task_count(&self, cpu: u32) -> u8 {
        self.task_all.max().max(self.task_max_local(cpu))
    }

    /// Whether a CPU-bound request of `weight` slots fits on `cpu`.
    pub(super) fn check_cpu(&self, cpu: u32, weight: u8) -> Result<(), Overflow> {
        self.check_with_task_term(cpu, self.max_task_count(cpu), weight)
    }

    /// Whether a request of `weight` slots, meeting `task_term` on `cpu`, fits there.
    pub(super) fn check_with_task_term(
        &self,
        cpu: u32,
        task_term: u8,
        weight: u8,
    ) -> Result<(), Overflow> {
        let cpu_pinned = self.cpu_pinned(cpu);
        if fits(&[cpu_pinned, task_term, weight], self.slots) {
            Ok(())
        } else {
            Err(Overflow {
                cpu,
                cpu_pinned,
                task_term,
            })
        }
    }

    /// Whether a request bound to every CPU fits on all of them; O(slots) when it does.
    pub(super) fn check_every_cpu(&self, weight: u8) -> Result<(), Overflow> {
        // max over c of pinned_all + pinned_local[c] + max(task_all_max, M_c)
        //   = pinned_all + max(max_c pinned_local[c] + task_all_max, max_c (pinned_local[c] + M_c))
        let worst = (self.local_by_cpu.max().saturating_add(self.task_all.max()))
            .max(self.load_by_cpu.max());
        if fits(&[self.pinned_all, worst, weight], self.slots) {
            return Ok(());
        }
        // Refused: find the first CPU that is full, for the error (rare path, O(CPUs)).
        for cpu in 0..self.online {
            self.check_cpu(cpu, weight)?;
        }
        Ok(())
    }

    /// Whether a task request of `weight` slots on every CPU fits, where the task holds
    /// `all_cpus` slots everywhere and `worst_extra` is the largest `pinned_local[c] + e_c`
    /// over the CPUs on which it holds extra CPU-bound slots `e_c`. O(slots). A refusal is
    /// reported without a CPU; the caller finds it with [`check_with_task_term`].
    pub(super) fn task_everywhere_fits(&self, all_cpus: u8, worst_extra: u8, weight: u8) -> bool {
        let worst = self.local_by_cpu.max().max(worst_extra);
        fits(&[self.pinned_all, all_cpus, worst, weight], self.slots)
    }

    /// `pinned_local[cpu]`, for the caller's `worst_extra`.
    pub(super) fn pinned_local(&self, cpu: u32) -> u8 {
        self.local(cpu).copied().unwrap_or(0)
    }

    /// A request bound to every CPU took (`add`) or gave back slots.
    pub(super) fn change_all(&mut self, add: bool, weight: u8) {
        self.pinned_all = step(self.pinned_all, add, weight);
    }

    /// A request bound to `cpu` took or gave back slots.
    pub(super) fn change_local(&mut self, cpu: u32, add: bool, weight: u8) {
        let task_max = self.task_max_local(cpu);
        let Some(local) = self.local_mut(cpu) else {
            return;
        };
        let before = *local;
        let after = step(before, add, weight);
        *local = after;
        self.local_by_cpu.shift(before, after);
        self.load_by_cpu.shift(
            before.saturating_add(task_max),
            after.saturating_add(task_max),
        );
    }

    /// A task's count on every CPU went from `before` to `after`.
    pub(super) fn change_task_all(&mut self, before: u8, after: u8) {
        if before > 0 {
            self.task_all.remove(before);
        }
        if after > 0 {
            self.task_all.add(after);
        }
    }

    /// A task's full count on `cpu`, tracked while it has CPU-bound slots there, went from
    /// `before` to `after` (`None`: not tracked on that CPU).
    pub(super) fn change_task_local(&mut self, cpu: u32, before: Option<u8>, after: Option<u8>) {
        let old_max = self.task_max_local(cpu);
        let Some(histogram) = self.task_local_mut(cpu) else {
            return;
        };
        if let Some(before) = before {
            histogram.remove(before);
        }
        if let Some(after) = after {
            histogram.add(after);
        }
        let new_max = histogram.max();
        let local = self.pinned_local(cpu);
        self.load_by_cpu
            .shift(local.saturating_add(old_max), local.saturating_add(new_max));
    }

    /// Whether nothing is accounted any more.
    pub(super) fn is_empty(&self) -> bool {
        self.pinned_all == 0
            && self.pinned_local.iter().all(|&n| n == 0)
            && self.task_local.iter().all(Histogram::is_zero_above_zero)
            && self.task_all.is_zero_above_zero()
            && self.local_by_cpu.is_zero_above_zero()
            && self.load_by_cpu.is_zero_above_zero()
    }

    fn task_max_local(&self, cpu: u32) -> u8 {
        usize::try_from(cpu)
            .ok()
            .and_then(|c| self.task_local.get(c))
            .map_or(0, Histogram::max)
    }

    fn local(&self, cpu: u32) -> Option<&u8> {
        usize::try_from(cpu)
            .ok()
            .and_then(|c| self.pinned_local.get(c))
    }

    fn local_mut(&mut self, cpu: u32) -> Option<&mut u8> {
        usize::try_from(cpu)
            .ok()
            .and_then(|c| self.pinned_local.get_mut(c))
    }

    fn task_local_mut(&mut self, cpu: u32) -> Option<&mut Histogram> {
        usize::try_from(cpu)
            .ok()
            .and_then(|c| self.task_local.get_mut(c))
    }
}

/// The fit rule itself: the terms add up to no more than the pool's slots.
fn fits(terms: &[u8], slots: u8) -> bool {
    terms.iter().map(|&t| u32::from(t)).sum::<u32>() <= u32::from(slots)
}

fn step(value: u8, add: bool, weight: u8) -> u8 {
    if add {
        value.saturating_add(weight)
    } else {
        value.saturating_sub(weight)
    }
}

#[cfg(test)]
mod tests {
    use super::PoolLedger;

    #[test]
    fn any_one_count_makes_the_ledger_non_empty() {
        let mut ledger = PoolLedger::<2>::new(4, 2);
        assert!(ledger.is_empty());
        ledger.change_all(true, 1);
        assert!(!ledger.is_empty(), "only the all-CPU count");
        ledger.change_all(false, 1);
        ledger.change_task_all(0, 1);
        assert!(!ledger.is_empty(), "only a task's all-CPU count");
        ledger.change_task_all(1, 0);
        ledger.change_local(1, true, 2);
        assert!(!ledger.is_empty(), "a CPU's count");
        ledger.change_local(1, false, 2);
        ledger.change_task_local(0, None, Some(1));
        assert!(!ledger.is_empty(), "a task's count on one CPU");
        ledger.change_task_local(0, Some(1), None);
        assert!(ledger.is_empty());
    }
}
