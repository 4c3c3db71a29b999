//! Our versions of the nine cases of Linux's KUnit slot-accounting test
//! (`kernel/events/hw_breakpoint_test.c`), on an x86-like pool of 4 slots and 4 CPUs.
//! Each breakpoint watches its own address, as there, so nothing is shared.

extern crate std;

use std::vec::Vec;

use super::{Engine, X86, plan_in, request};
use crate::{CpuId, Pinning, PoolKind, ReservationId, ReserveError, Scope, Sharing, TaskId};

const SLOTS: usize = 4;
const CURRENT: u64 = 1;
const OTHER: u64 = 2;

struct Bench {
    engine: Engine,
    bps: Vec<Option<ReservationId>>,
}

impl Bench {
    fn new() -> Self {
        Self {
            engine: Engine::new(&X86, 4).unwrap(),
            bps: Vec::new(),
        }
    }

    /// Linux's `register_test_bp(cpu, task, idx)`: `cpu: None` is "-1", `task: None` is NULL.
    fn register(
        &mut self,
        cpu: Option<u32>,
        task: Option<u64>,
    ) -> Result<ReservationId, ReserveError> {
        let scope = match (cpu, task) {
            (Some(c), None) => Scope::Cpu(CpuId(c)),
            (None, Some(t)) => Scope::Task(TaskId(t)),
            (Some(c), Some(t)) => Scope::TaskOnCpu(TaskId(t), CpuId(c)),
            (None, None) => Scope::AllCpus,
        };
        let addr = 0x1000 + 8 * self.bps.len() as u64;
        self.engine.reserve(
            request(scope, Pinning::Pinned, Sharing::Shared, addr),
            plan_in(PoolKind::Shared, &[addr]),
        )
    }

    fn fill_one(&mut self, cpu: Option<u32>, task: Option<u64>) {
        let id = self.register(cpu, task).expect("slot should be free");
        self.bps.push(Some(id));
    }

    /// Fill `cpu`/`task` leaving `skip` slots free.
    fn fill(&mut self, cpu: Option<u32>, task: Option<u64>, skip: usize) {
        for _ in 0..SLOTS - skip {
            self.fill_one(cpu, task);
        }
    }

    #[track_caller]
    fn expect_full(&mut self, cpu: Option<u32>, task: Option<u64>) {
        let before = (self.engine.len(), self.engine.group_count());
        match self.register(cpu, task) {
            Err(ReserveError::CpuFull { .. }) => {}
            other => panic!("expected a full CPU for ({cpu:?}, {task:?}), got {other:?}"),
        }
        assert_eq!((self.engine.len(), self.engine.group_count()), before);
    }

    fn unregister(&mut self, index: usize) {
        let id = self.bps[index].take().unwrap();
        self.engine.release(id).unwrap();
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        for id in self.bps.iter().flatten() {
            self.engine.release(*id).unwrap();
        }
        // Linux's test_exit frees everything; here we also check it returns to empty.
        if !std::thread::panicking() {
            assert!(self.engine.is_empty() && self.engine.accounting_is_empty());
        }
    }
}

#[test]
fn one_cpu() {
    let mut t = Bench::new();
    t.fill(Some(0), None, 0);
    t.expect_full(None, Some(CURRENT));
    t.expect_full(Some(0), None);
    // The error names the CPU and what fills it.
    assert_eq!(
        t.register(None, Some(CURRENT)),
        Err(ReserveError::CpuFull {
            pool: PoolKind::Shared,
            cpu: CpuId(0),
            cpu_pinned: 4,
            task_term: 0,
            task: Some(TaskId(CURRENT)),
            weight: 1,
            slots: 4
        })
    );
}

#[test]
fn many_cpus() {
    let mut t = Bench::new();
    // CPUs are independent.
    for cpu in 0..4 {
        t.fill(Some(cpu), None, 0);
        t.expect_full(Some(cpu), None);
    }
}

#[test]
fn one_task_on_all_cpus() {
    let mut t = Bench::new();
    t.fill(None, Some(CURRENT), 0);
    t.expect_full(None, Some(CURRENT));
    t.expect_full(Some(0), Some(CURRENT));
    t.expect_full(Some(0), None);
    // Remove one, and a CPU-bound one fits again.
    t.unregister(0);
    t.fill_one(Some(0), None);
}

#[test]
fn two_tasks_on_all_cpus() {
    let mut t = Bench::new();
    // Tasks are independent.
    t.fill(None, Some(CURRENT), 0);
    t.fill(None, Some(OTHER), 0);
    t.expect_full(None, Some(CURRENT));
    t.expect_full(None, Some(OTHER));
    t.expect_full(Some(0), Some(CURRENT));
    t.expect_full(Some(0), Some(OTHER));
    t.expect_full(Some(0), None);
    // Freeing one of the first task's breakpoints frees no CPU slot: the other task is full.
    t.unregister(0);
    t.expect_full(Some(0), None);
}

#[test]
fn one_task_on_one_cpu() {
    let mut t = Bench::new();
    t.fill(Some(0), Some(CURRENT), 0);
    t.expect_full(None, Some(CURRENT));
    t.expect_full(Some(0), Some(CURRENT));
    t.expect_full(Some(0), None);
    // Remove one, and a CPU-bound one fits again (the task's count depends on the CPU).
    t.unregister(0);
    t.fill_one(Some(0), None);
}

#[test]
fn one_task_mixed() {
    let mut t = Bench::new();
    t.fill_one(Some(0), Some(CURRENT));
    t.fill(None, Some(CURRENT), 1);
    t.expect_full(None, Some(CURRENT));
    t.expect_full(Some(0), Some(CURRENT));
    t.expect_full(Some(0), None);
    // From a CPU-dependent count to a CPU-independent one.
    t.unregister(0);
    t.unregister(1);
    t.fill_one(Some(0), None);
    t.fill_one(Some(0), None);
    t.expect_full(Some(0), None);
}

#[test]
fn two_tasks_on_one_cpu() {
    let mut t = Bench::new();
    t.fill(Some(0), Some(CURRENT), 0);
    t.fill(Some(0), Some(OTHER), 0);
    t.expect_full(None, Some(CURRENT));
    t.expect_full(None, Some(OTHER));
    t.expect_full(Some(0), Some(CURRENT));
    t.expect_full(Some(0), Some(OTHER));
    t.expect_full(Some(0), None);
    // A task full on CPU 0 still lets CPU 1 take CPU breakpoints.
    t.fill(Some(1), None, 0);
}

#[test]
fn two_tasks_on_one_and_all_cpus() {
    let mut t = Bench::new();
    t.fill(Some(0), Some(CURRENT), 0);
    t.fill(None, Some(OTHER), 0);
    t.expect_full(None, Some(CURRENT));
    t.expect_full(None, Some(OTHER));
    t.expect_full(Some(0), Some(CURRENT));
    t.expect_full(Some(0), Some(OTHER));
    t.expect_full(Some(0), None);
    // A task full on all CPUs blocks CPU breakpoints everywhere.
    t.expect_full(Some(1), None);
}

#[test]
fn task_on_all_and_one_cpu() {
    let mut t = Bench::new();
    t.fill(None, Some(CURRENT), 2);
    // From only all-CPU breakpoints to mixed.
    let on_cpu = t.bps.len();
    t.fill_one(Some(0), Some(CURRENT));
    t.fill_one(None, Some(CURRENT));
    t.expect_full(None, Some(CURRENT));
    t.expect_full(Some(0), Some(CURRENT));
    t.expect_full(Some(0), None);
    // Another CPU still has one slot for a CPU-bound breakpoint.
    let cpu_bound = t.bps.len();
    t.fill_one(Some(1), None);
    t.expect_full(Some(1), None);
    // Back to task-on-all-CPUs only: CPU 1 still holds a CPU-bound breakpoint.
    t.unregister(on_cpu);
    t.expect_full(None, Some(CURRENT));
    // Remove it and try again.
    t.unregister(cpu_bound);
    t.fill_one(None, Some(CURRENT));
    t.expect_full(None, Some(CURRENT));
    t.expect_full(Some(0), Some(CURRENT));
    t.expect_full(Some(0), None);
    t.expect_full(Some(1), None);
}
