//! Scheduling decisions: explicit actions a test issues, and a seeded random policy that
//! produces them. The same seed always yields the same actions on every host.

use hwbkpt_hal::{CpuId, TaskId};

/// One scheduling decision, applied by [`Machine::apply`](crate::Machine::apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScheduleAction {
    /// Run `task` on `cpu` for up to `steps` steps (switching it in, migrating it if needed).
    Run {
        /// Task.
        task: TaskId,
        /// CPU.
        cpu: CpuId,
        /// Step budget.
        steps: u64,
    },
    /// Switch the running task out of `cpu`, leaving it idle.
    Preempt {
        /// CPU.
        cpu: CpuId,
    },
    /// Move `task` to `cpu` (it is switched out first if it runs elsewhere).
    Migrate {
        /// Task.
        task: TaskId,
        /// New CPU.
        cpu: CpuId,
    },
    /// Deliver an external interrupt on `cpu`.
    Interrupt {
        /// CPU.
        cpu: CpuId,
    },
}

/// SplitMix64: tiny, fast, and identical on every host (no dependency needed).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub const fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n == 0`).
    pub const fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// A seeded policy mixing runs with preemptions, migrations and interrupts.
#[derive(Debug, Clone)]
pub struct RandomPolicy {
    rng: SplitMix64,
    /// Longest run slice, in steps.
    pub max_slice: u64,
}

impl RandomPolicy {
    /// A policy drawing from `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            max_slice: 16,
        }
    }

    /// The next action for a machine with `cpus` CPUs whose live tasks are `tasks`
    /// (`None` when nothing is left to run). Runs are most likely; the rest disturb them.
    pub fn next_action(&mut self, cpus: u32, tasks: &[TaskId]) -> Option<ScheduleAction> {
        if tasks.is_empty() || cpus == 0 {
            return None;
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "below(n) < n, and n came from a u32 or a slice length"
        )]
        let (cpu, task) = (
            CpuId(self.rng.below(u64::from(cpus)) as u32),
            tasks[self.rng.below(tasks.len() as u64) as usize],
        );
        Some(match self.rng.below(10) {
            0 => ScheduleAction::Preempt { cpu },
            1 => ScheduleAction::Migrate { task, cpu },
            2 => ScheduleAction::Interrupt { cpu },
            _ => ScheduleAction::Run {
                task,
                cpu,
                steps: 1 + self.rng.below(self.max_slice.max(1)),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_actions() {
        let tasks = [TaskId(1), TaskId(2)];
        let mut a = RandomPolicy::new(7);
        let mut b = RandomPolicy::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_action(3, &tasks), b.next_action(3, &tasks));
        }
        // SplitMix64 reference value for seed 0 (first output), so every host agrees.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }
}
