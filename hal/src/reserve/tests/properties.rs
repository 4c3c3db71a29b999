//! The engine against the brute-force oracle, on random sequences of reserve, modify,
//! release, switch-in and migrate.
//!
//! After every step: the same accept/refuse decisions (with the same error, down to the
//! full CPU and its numbers), the same armed consumers at switch-in, the same counters on
//! every CPU, the same sharing, the same flexible status; no CPU ever gets more armed slots
//! than it has; a refused operation changes nothing. At the end, releasing everything
//! returns the engine to empty.
//!
//! Case count: 1024 by default, overridable with `PROPTEST_CASES`.

extern crate std;

use std::collections::{BTreeMap, BTreeSet};
use std::vec::Vec;

use proptest::prelude::*;

use super::oracle::Oracle;
use super::{POWER10, TestProgram, X86, plan_in, request};
use crate::{
    CpuId, FixedStorage, Pinning, Plan, PoolKind, Request, ReservationId, Reservations,
    ReserveError, Scope, Sharing, Storage, TaskId,
};

const ONLINE: u32 = 3; // of the engine's 4: CPU 3 exercises "not online"
const IDLE: TaskId = TaskId(0);
const POOLS: [PoolKind; 3] = [PoolKind::Shared, PoolKind::Data, PoolKind::Instruction];

#[derive(Debug, Clone)]
struct Shape {
    scope: u8,
    task: u64,
    cpu: u32,
    pinned: bool,
    exclusive: bool,
    pool: usize,
    base: u64,
    len: usize,
}

impl Shape {
    fn build(&self) -> (Request, Plan<TestProgram>) {
        let (task, cpu) = (TaskId(self.task), CpuId(self.cpu));
        let scope = match self.scope {
            0 => Scope::AllCpus,
            1 => Scope::Cpu(cpu),
            2 => Scope::Task(task),
            _ => Scope::TaskOnCpu(task, cpu),
        };
        let pinning = if self.pinned {
            Pinning::Pinned
        } else {
            Pinning::Flexible
        };
        let sharing = if self.exclusive {
            Sharing::Exclusive
        } else {
            Sharing::Shared
        };
        let addrs: Vec<u64> = (0..self.len as u64).map(|k| self.base + 8 * k).collect();
        (
            request(scope, pinning, sharing, self.base),
            plan_in(POOLS[self.pool], &addrs),
        )
    }
}

#[derive(Debug, Clone)]
enum Op {
    Reserve(Shape),
    Modify(usize, Shape),
    Release(usize),
    SwitchIn(u64, u32),
    Migrate(u64, u32, u32),
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        0u8..4,
        // Mostly one task and two CPUs, so a task's groups pile up and interleave.
        prop::sample::select(std::vec![1u64, 1, 1, 2, 3]),
        prop::sample::select(std::vec![0u32, 0, 1, 1, 2, 3]),
        prop::bool::weighted(0.7),
        prop::bool::weighted(0.2),
        0usize..3,
        prop::sample::select(std::vec![0x100u64, 0x200, 0x300]),
        prop::sample::select(std::vec![1usize, 1, 1, 2, 3]),
    )
        .prop_map(
            |(scope, task, cpu, pinned, exclusive, pool, base, len)| Shape {
                scope,
                task,
                cpu,
                pinned,
                exclusive,
                pool,
                base,
                len,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => shape().prop_map(Op::Reserve),
        2 => (any::<usize>(), shape()).prop_map(|(i, s)| Op::Modify(i, s)),
        2 => any::<usize>().prop_map(Op::Release),
        3 => (0u64..4, 0u32..4).prop_map(|(t, c)| Op::SwitchIn(t, c)),
        1 => (1u64..4, 0u32..3, 0u32..4).prop_map(|(t, a, b)| Op::Migrate(t, a, b)),
    ]
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1024)
}

struct Harness<S: Storage> {
    engine: Reservations<TestProgram, S, 4>,
    oracle: Oracle,
    live: Vec<(ReservationId, u64)>,
    slots: [u8; 3],
}

impl<S: Storage> Harness<S> {
    fn new(power: bool) -> Self {
        let (caps, slots) = if power {
            (&POWER10, [0, 2, 1])
        } else {
            (&X86, [4, 0, 0])
        };
        Self {
            engine: Reservations::new(caps, ONLINE).unwrap(),
            oracle: Oracle::new(slots, ONLINE),
            live: Vec::new(),
            slots,
        }
    }

    fn oracle_id(&self, id: ReservationId) -> u64 {
        self.live
            .iter()
            .find(|(e, _)| *e == id)
            .map(|(_, o)| *o)
            .unwrap()
    }

    fn switch_in(&mut self, task: TaskId, cpu: CpuId) -> Result<(), TestCaseError> {
        let expected = self.oracle.switch_in(task, cpu);
        let got = self.engine.switch_in(task, cpu);
        match (got, expected) {
            (Ok(assignment), Ok((armed, used))) => {
                for (p, &pool) in POOLS.iter().enumerate() {
                    let count = assignment.count(pool);
                    prop_assert!(count <= usize::from(self.slots[p]), "CPU over-committed");
                    prop_assert_eq!(count, usize::from(used[p]));
                }
                for loaded in assignment.iter() {
                    prop_assert!(
                        loaded.slot.index()
                            < self.slots[crate::reserve::record::pool_index(loaded.slot.pool())]
                    );
                    prop_assert_eq!(
                        self.engine
                            .group_plan(loaded.group)
                            .and_then(|p| p.iter().find(|x| **x == loaded.program))
                            .is_some(),
                        true
                    );
                }
                let groups: BTreeSet<_> = assignment.iter().map(|l| l.group).collect();
                let mut got_armed = BTreeSet::new();
                for group in groups {
                    for id in self.engine.sharers(group) {
                        got_armed.insert(self.oracle_id(id));
                    }
                }
                prop_assert_eq!(got_armed, armed);
                prop_assert_eq!(self.engine.loaded(cpu).unwrap(), assignment);
                prop_assert_eq!(self.engine.running(cpu), Some(task));
            }
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            (a, b) => prop_assert!(false, "switch-in differs: {a:?} vs {b:?}"),
        }
        Ok(())
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Reserve(shape) => {
                let (request, plan) = shape.build();
                let before = self.engine.snapshot();
                let got = self.engine.reserve(request, plan);
                let expected = self.oracle.reserve(request, plan);
                match (got, expected) {
                    (Ok(id), Ok(oid)) => self.live.push((id, oid)),
                    (Err(a), Err(b)) => {
                        prop_assert_eq!(a, b);
                        prop_assert_eq!(self.engine.snapshot(), before, "a refused reserve leaked");
                    }
                    (a, b) => prop_assert!(false, "reserve differs: {a:?} vs {b:?}"),
                }
            }
            Op::Modify(which, shape) => {
                if self.live.is_empty() {
                    return Ok(());
                }
                let (id, oid) = self.live[which % self.live.len()];
                let (request, plan) = shape.build();
                let before = (
                    self.engine.snapshot(),
                    self.engine.group(id),
                    self.engine.status(id),
                );
                let got = self.engine.modify(id, request, plan);
                let expected = self.oracle.modify(oid, request, plan);
                match (got, expected) {
                    (Ok(()), Ok(())) => prop_assert_eq!(self.engine.request(id), Some(&request)),
                    (Err(a), Err(b)) => {
                        prop_assert_eq!(a, b);
                        let after = (
                            self.engine.snapshot(),
                            self.engine.group(id),
                            self.engine.status(id),
                        );
                        prop_assert_eq!(after, before, "a refused modify changed the reservation");
                    }
                    (a, b) => prop_assert!(false, "modify differs: {a:?} vs {b:?}"),
                }
            }
            Op::Release(which) => {
                if self.live.is_empty() {
                    return Ok(());
                }
                let (id, oid) = self.live.remove(which % self.live.len());
                prop_assert_eq!(self.engine.release(id), self.oracle.release(oid));
                prop_assert_eq!(
                    self.engine.release(id),
                    Err(ReserveError::UnknownReservation)
                );
            }
            Op::SwitchIn(task, cpu) => self.switch_in(TaskId(*task), CpuId(*cpu))?,
            Op::Migrate(task, from, to) => {
                // The task leaves `from` (something else runs there) and starts on `to`.
                self.switch_in(IDLE, CpuId(*from))?;
                self.switch_in(TaskId(*task), CpuId(*to))?;
            }
        }
        self.compare_state()
    }

    fn compare_state(&self) -> Result<(), TestCaseError> {
        prop_assert_eq!(self.engine.len(), self.oracle.consumers.len());
        prop_assert_eq!(self.engine.group_count(), self.oracle.groups.len());
        for (p, &pool) in POOLS.iter().enumerate() {
            for cpu in 0..ONLINE {
                let usage = self.engine.usage(pool, CpuId(cpu)).unwrap();
                prop_assert_eq!(usage.cpu_pinned, self.oracle.cpu_pinned(p, cpu, None));
                prop_assert_eq!(usage.busiest_task, self.oracle.busiest_task(p, cpu, None));
                for task in 1..4 {
                    prop_assert_eq!(
                        self.engine.task_usage(pool, TaskId(task), CpuId(cpu)),
                        self.oracle.task_count(p, TaskId(task), cpu, None)
                    );
                }
            }
        }
        let mut partition: BTreeMap<_, BTreeSet<u64>> = BTreeMap::new();
        for &(id, oid) in &self.live {
            let status = self.engine.status(id).unwrap();
            let consumer = &self.oracle.consumers[&oid];
            let group = &self.oracle.groups[&consumer.group];
            prop_assert_eq!(status.pinning, group.pinning);
            prop_assert_eq!(
                status.armed,
                group.pinning == Pinning::Pinned || group.armed
            );
            prop_assert_eq!(status.missed_windows, consumer.missed);
            prop_assert_eq!(status.sharers as usize, self.oracle.sharers(consumer.group));
            partition
                .entry(self.engine.group(id).unwrap())
                .or_default()
                .insert(oid);
        }
        // Engine groups and oracle groups partition the consumers the same way.
        for members in partition.values() {
            let groups: BTreeSet<u64> = members
                .iter()
                .map(|o| self.oracle.consumers[o].group)
                .collect();
            prop_assert_eq!(groups.len(), 1);
            prop_assert_eq!(
                members.len(),
                self.oracle.sharers(*groups.iter().next().unwrap())
            );
        }
        Ok(())
    }
}

/// One run: the ops, then everything released in a scrambled order, back to empty.
fn run<S: Storage>(power: bool, ops: &[Op], release_order: u64) -> Result<(), TestCaseError> {
    let mut h = Harness::<S>::new(power);
    for op in ops {
        h.step(op)?;
    }
    let mut rest = h.live.clone();
    let n = rest.len().max(1) as u64;
    rest.rotate_left((release_order % n) as usize);
    for (id, oid) in rest {
        prop_assert_eq!(h.engine.release(id), h.oracle.release(oid));
    }
    h.live.clear();
    prop_assert!(h.engine.is_empty());
    prop_assert!(
        h.engine.accounting_is_empty(),
        "counters left after releasing everything"
    );
    for cpu in 0..ONLINE {
        let a = h.engine.switch_in(TaskId(1), CpuId(cpu)).unwrap();
        prop_assert_eq!(a.iter().count(), 0);
    }
    Ok(())
}

/// Random ops on a tiny fixed engine (4 reservations, 2 task places) and 3 tasks:
/// store exhaustion is refused with a typed error and leaves everything as it was; no input
/// panics; releasing everything returns to empty.
fn run_tiny(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut engine: Reservations<TestProgram, FixedStorage<4, 2>, 4> =
        Reservations::new(&X86, ONLINE).unwrap();
    let mut live: Vec<ReservationId> = Vec::new();
    for op in ops {
        let before = engine.snapshot();
        match op {
            Op::Reserve(shape) => {
                let (request, plan) = shape.build();
                match engine.reserve(request, plan) {
                    Ok(id) => live.push(id),
                    Err(_) => prop_assert_eq!(engine.snapshot(), before),
                }
            }
            Op::Modify(which, shape) if !live.is_empty() => {
                let id = live[which % live.len()];
                let (request, plan) = shape.build();
                let status = engine.status(id);
                if engine.modify(id, request, plan).is_err() {
                    prop_assert_eq!(engine.snapshot(), before);
                    prop_assert_eq!(engine.status(id), status);
                }
            }
            Op::Release(which) if !live.is_empty() => {
                let id = live.remove(which % live.len());
                prop_assert!(engine.release(id).is_ok());
            }
            Op::SwitchIn(task, cpu) => {
                if let Ok(a) = engine.switch_in(TaskId(*task), CpuId(*cpu)) {
                    prop_assert!(a.count(PoolKind::Shared) <= 4);
                }
            }
            _ => {}
        }
        prop_assert!(engine.len() <= 4 && engine.task_count() <= 2);
    }
    for id in live {
        prop_assert!(engine.release(id).is_ok());
    }
    prop_assert!(engine.is_empty() && engine.accounting_is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_the_brute_force_oracle(
        power in any::<bool>(),
        ops in prop::collection::vec(op(), 1..80),
        release_order in any::<u64>(),
    ) {
        run::<FixedStorage<128, 64>>(power, &ops, release_order)?;
    }

    /// The same with heap storage (growing slabs and task table).
    #[cfg(feature = "alloc")]
    #[test]
    fn heap_engine_matches_the_brute_force_oracle(
        power in any::<bool>(),
        ops in prop::collection::vec(op(), 1..80),
        release_order in any::<u64>(),
    ) {
        run::<crate::HeapStorage>(power, &ops, release_order)?;
    }

    #[test]
    fn tiny_fixed_storage_refuses_cleanly(ops in prop::collection::vec(op(), 1..60)) {
        run_tiny(&ops)?;
    }
}
