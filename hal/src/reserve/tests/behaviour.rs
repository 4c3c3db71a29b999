//! Behaviour tests: sharing, exclusivity, atomic modify, rotation, capacity, the try path.

extern crate std;

use std::vec::Vec;

use super::{Engine, POWER10, X86, plan_in, request};
use crate::{
    CpuId, Pinning, PoolKind, ReservationId, ReserveError, Scope, Sharing, SlotId, TaskId,
};

const T1: TaskId = TaskId(1);
const T2: TaskId = TaskId(2);

fn pinned(engine: &mut Engine, scope: Scope, addr: u64) -> Result<ReservationId, ReserveError> {
    engine.reserve(
        request(scope, Pinning::Pinned, Sharing::Shared, addr),
        plan_in(PoolKind::Shared, &[addr]),
    )
}

fn flexible(engine: &mut Engine, scope: Scope, addr: u64) -> ReservationId {
    engine
        .reserve(
            request(scope, Pinning::Flexible, Sharing::Shared, addr),
            plan_in(PoolKind::Shared, &[addr]),
        )
        .unwrap()
}

#[test]
fn identical_shared_programs_share_one_slot() {
    let mut e = Engine::new(&X86, 4).unwrap();
    let a = pinned(&mut e, Scope::Task(T1), 0x100).unwrap();
    let b = pinned(&mut e, Scope::Task(T1), 0x100).unwrap();
    assert_ne!(a, b);
    assert_eq!(e.group(a), e.group(b));
    assert_eq!(e.group_count(), 1);
    assert_eq!(e.task_usage(PoolKind::Shared, T1, CpuId(0)), 1);
    assert_eq!(e.status(a).unwrap().sharers, 2);
    let group = e.group(a).unwrap();
    let mut sharers: Vec<_> = e.sharers(group).collect();
    sharers.sort();
    let mut expected = std::vec![a, b];
    expected.sort();
    assert_eq!(sharers, expected);

    let loaded = e.switch_in(T1, CpuId(2)).unwrap();
    assert_eq!(loaded.iter().count(), 1);
    let armed: Vec<SlotId> = loaded.armed().iter().collect();
    assert_eq!(armed, loaded.iter().map(|l| l.slot).collect::<Vec<_>>());
    e.release(a).unwrap();
    assert_eq!(e.switch_in(T1, CpuId(2)).unwrap().iter().count(), 1);
    assert_eq!(e.sharers(group).collect::<Vec<_>>(), std::vec![b]);
    e.release(b).unwrap();
    assert_eq!(e.switch_in(T1, CpuId(2)).unwrap().iter().count(), 0);
    assert!(e.accounting_is_empty());
}

#[test]
fn exclusive_requests_never_share() {
    let mut e = Engine::new(&X86, 4).unwrap();
    let shared = pinned(&mut e, Scope::Cpu(CpuId(0)), 0x100).unwrap();
    let exclusive = e
        .reserve(
            request(
                Scope::Cpu(CpuId(0)),
                Pinning::Pinned,
                Sharing::Exclusive,
                0x100,
            ),
            plan_in(PoolKind::Shared, &[0x100]),
        )
        .unwrap();
    let again = e
        .reserve(
            request(
                Scope::Cpu(CpuId(0)),
                Pinning::Pinned,
                Sharing::Shared,
                0x100,
            ),
            plan_in(PoolKind::Shared, &[0x100]),
        )
        .unwrap();
    assert_ne!(e.group(shared), e.group(exclusive));
    assert_eq!(e.group(shared), e.group(again));
    assert_eq!(e.usage(PoolKind::Shared, CpuId(0)).unwrap().cpu_pinned, 2);
    assert_eq!(e.switch_in(T1, CpuId(0)).unwrap().iter().count(), 2);
}

#[test]
fn a_refused_fifth_insert_leaves_no_slot_taken() {
    let mut e = Engine::new(&X86, 4).unwrap();
    let ids: Vec<_> = (0..4)
        .map(|i| pinned(&mut e, Scope::AllCpus, 0x100 + 8 * i).unwrap())
        .collect();
    let before = e.snapshot();
    assert!(matches!(
        pinned(&mut e, Scope::AllCpus, 0x200),
        Err(ReserveError::CpuFull {
            cpu: CpuId(0),
            cpu_pinned: 4,
            ..
        })
    ));
    assert_eq!(e.snapshot(), before);
    e.release(ids[0]).unwrap();
    pinned(&mut e, Scope::AllCpus, 0x200).unwrap();
}

#[test]
fn a_refused_modify_keeps_the_old_reservation_exactly() {
    let mut e = Engine::new(&X86, 4).unwrap();
    pinned(&mut e, Scope::Cpu(CpuId(0)), 0x100).unwrap();
    pinned(&mut e, Scope::Cpu(CpuId(0)), 0x108).unwrap();
    pinned(&mut e, Scope::Task(T2), 0x110).unwrap();
    let id = pinned(&mut e, Scope::Task(T1), 0x200).unwrap();
    let before = (
        e.snapshot(),
        e.group(id),
        e.status(id),
        e.switch_in(T1, CpuId(0)).unwrap(),
    );
    // Three slots for task 1 cannot fit next to CPU 0's two pinned ones.
    let bigger = e.modify(
        id,
        request(Scope::Task(T1), Pinning::Pinned, Sharing::Shared, 0x200),
        plan_in(PoolKind::Shared, &[0x200, 0x208, 0x210]),
    );
    assert_eq!(
        bigger,
        Err(ReserveError::CpuFull {
            pool: PoolKind::Shared,
            cpu: CpuId(0),
            cpu_pinned: 2,
            task_term: 0,
            task: Some(T1),
            weight: 3,
            slots: 4
        })
    );
    let after = (
        e.snapshot(),
        e.group(id),
        e.status(id),
        e.switch_in(T1, CpuId(0)).unwrap(),
    );
    assert_eq!(after.0, before.0);
    assert_eq!(after.1, before.1);
    assert_eq!(after.2, before.2);
    assert_eq!(after.3.armed(), before.3.armed());
    // Two slots do fit (its own old slot is given back first).
    e.modify(
        id,
        request(Scope::Task(T1), Pinning::Pinned, Sharing::Shared, 0x200),
        plan_in(PoolKind::Shared, &[0x200, 0x208]),
    )
    .unwrap();
    assert_eq!(e.task_usage(PoolKind::Shared, T1, CpuId(3)), 2);
}

#[test]
fn modify_to_the_same_form_keeps_the_group() {
    let mut e = Engine::new(&X86, 4).unwrap();
    let id = pinned(&mut e, Scope::Task(T1), 0x100).unwrap();
    let group = e.group(id);
    let same = request(Scope::Task(T1), Pinning::Pinned, Sharing::Shared, 0x100);
    e.modify(id, same, plan_in(PoolKind::Shared, &[0x100]))
        .unwrap();
    assert_eq!(e.group(id), group);
}

#[test]
fn flexible_requests_rotate_fairly_and_count_missed_windows() {
    let mut e = Engine::new(&X86, 4).unwrap();
    for i in 0..3 {
        pinned(&mut e, Scope::Task(T1), 0x100 + 8 * i).unwrap();
    }
    // One slot left while task 1 runs; two flexible per-CPU requests compete for it.
    let a = flexible(&mut e, Scope::Cpu(CpuId(0)), 0x200);
    let b = flexible(&mut e, Scope::Cpu(CpuId(0)), 0x208);
    assert!(!e.status(a).unwrap().armed);
    let mut armed = Vec::new();
    for _ in 0..6 {
        let loaded = e.switch_in(T1, CpuId(0)).unwrap();
        assert_eq!(loaded.count(PoolKind::Shared), 4);
        let (sa, sb) = (e.status(a).unwrap(), e.status(b).unwrap());
        assert!(sa.armed != sb.armed);
        armed.push(if sa.armed { 'a' } else { 'b' });
    }
    assert_eq!(armed.iter().collect::<std::string::String>(), "ababab");
    assert_eq!(e.status(a).unwrap().missed_windows, 3);
    assert_eq!(e.status(b).unwrap().missed_windows, 3);
    // Another task leaves room for both.
    e.switch_in(T2, CpuId(0)).unwrap();
    assert!(e.status(a).unwrap().armed && e.status(b).unwrap().armed);
    // Windows on other CPUs do not concern per-CPU requests.
    e.switch_in(T1, CpuId(1)).unwrap();
    assert_eq!(e.status(a).unwrap().missed_windows, 3);
}

#[test]
fn flexible_requests_that_can_never_fit_are_refused() {
    let mut e = Engine::new(&POWER10, 4).unwrap();
    let refused = e.reserve(
        request(Scope::AllCpus, Pinning::Flexible, Sharing::Shared, 0x100),
        plan_in(PoolKind::Data, &[0x100, 0x108, 0x110]),
    );
    assert_eq!(
        refused,
        Err(ReserveError::NeverFits {
            pool: PoolKind::Data,
            weight: 3,
            slots: 2
        })
    );
    // x86's shared pool does not exist on POWER.
    let refused = e.reserve(
        request(Scope::AllCpus, Pinning::Pinned, Sharing::Shared, 0x100),
        plan_in(PoolKind::Shared, &[0x100]),
    );
    assert!(matches!(
        refused,
        Err(ReserveError::NeverFits { slots: 0, .. })
    ));
}

#[test]
fn power_pools_are_accounted_separately() {
    let mut e = Engine::new(&POWER10, 2).unwrap();
    let data = |addr| request(Scope::Task(T1), Pinning::Pinned, Sharing::Shared, addr);
    e.reserve(data(0x100), plan_in(PoolKind::Data, &[0x100, 0x108]))
        .unwrap();
    assert!(
        e.reserve(data(0x200), plan_in(PoolKind::Data, &[0x200]))
            .is_err()
    );
    e.reserve(data(0x300), plan_in(PoolKind::Instruction, &[0x300]))
        .unwrap();
    let loaded = e.switch_in(T1, CpuId(1)).unwrap();
    assert_eq!(loaded.count(PoolKind::Data), 2);
    assert_eq!(loaded.count(PoolKind::Instruction), 1);
    assert!(
        loaded
            .get(SlotId::new(PoolKind::Instruction, 0).unwrap())
            .is_some()
    );
}

#[test]
fn a_group_keeps_its_slot_across_switch_ins() {
    let mut e = Engine::new(&X86, 4).unwrap();
    let a = pinned(&mut e, Scope::Cpu(CpuId(0)), 0x100).unwrap();
    let b = pinned(&mut e, Scope::Cpu(CpuId(0)), 0x108).unwrap();
    let first = e.switch_in(T1, CpuId(0)).unwrap();
    let slot_of = |loaded: &crate::SlotAssignment<_>, id| {
        loaded
            .iter()
            .find(|l| Some(l.group) == e.group(id))
            .map(|l| l.slot)
    };
    let b_slot = slot_of(&first, b).unwrap();
    e.release(a).unwrap();
    let second = e.switch_in(T2, CpuId(0)).unwrap();
    assert_eq!(second.iter().count(), 1);
    assert_eq!(second.iter().next().unwrap().slot, b_slot);
}

#[test]
fn interleaved_per_cpu_groups_of_one_task_are_counted_per_cpu() {
    let mut e = Engine::new(&X86, 4).unwrap();
    let on = |c| Scope::TaskOnCpu(T1, CpuId(c));
    pinned(&mut e, on(0), 0x100).unwrap();
    pinned(&mut e, on(1), 0x108).unwrap();
    pinned(&mut e, on(0), 0x110).unwrap();
    pinned(&mut e, Scope::Task(T1), 0x118).unwrap();
    assert_eq!(e.task_usage(PoolKind::Shared, T1, CpuId(0)), 3);
    assert_eq!(e.usage(PoolKind::Shared, CpuId(0)).unwrap().busiest_task, 3);
    assert_eq!(e.usage(PoolKind::Shared, CpuId(1)).unwrap().busiest_task, 2);
    assert_eq!(e.usage(PoolKind::Shared, CpuId(2)).unwrap().busiest_task, 1);
    pinned(&mut e, on(0), 0x120).unwrap();
    assert!(pinned(&mut e, Scope::Task(T1), 0x128).is_err());
    assert!(pinned(&mut e, Scope::Cpu(CpuId(0)), 0x130).is_err());
    pinned(&mut e, Scope::Cpu(CpuId(2)), 0x130).unwrap();
}

#[test]
fn stale_handles_and_offline_cpus_are_refused() {
    let mut e = Engine::new(&X86, 2).unwrap();
    let id = pinned(&mut e, Scope::Task(T1), 0x100).unwrap();
    e.release(id).unwrap();
    assert_eq!(e.release(id), Err(ReserveError::UnknownReservation));
    assert_eq!(e.status(id), None);
    let reused = pinned(&mut e, Scope::Task(T1), 0x100).unwrap();
    assert_eq!(
        e.status(id),
        None,
        "a stale handle must not see the new reservation"
    );
    assert!(e.status(reused).is_some());
    assert_eq!(
        pinned(&mut e, Scope::Cpu(CpuId(2)), 0x100),
        Err(ReserveError::UnknownCpu {
            cpu: CpuId(2),
            online: 2
        })
    );
    assert!(e.switch_in(T1, CpuId(7)).is_err());
    assert!(Engine::new(&X86, 5).is_err());
    let empty = e.reserve(
        request(Scope::AllCpus, Pinning::Pinned, Sharing::Shared, 0x100),
        crate::Plan::new(),
    );
    assert_eq!(empty, Err(ReserveError::EmptyPlan));
}

#[test]
fn full_fixed_storage_refuses_and_leaks_nothing() {
    let mut e: crate::FixedReservations<super::TestProgram, 2, 2, 2> =
        crate::FixedReservations::new(&X86, 2).unwrap();
    let scope = |t| Scope::Task(TaskId(t));
    let a = e
        .reserve(
            request(scope(1), Pinning::Pinned, Sharing::Shared, 0x100),
            plan_in(PoolKind::Shared, &[0x100]),
        )
        .unwrap();
    // Two task places, of which 7/8 (rounded down) = 2 are usable.
    let b = e.reserve(
        request(scope(2), Pinning::Pinned, Sharing::Shared, 0x100),
        plan_in(PoolKind::Shared, &[0x100]),
    );
    assert!(b.is_ok());
    let before = e.snapshot();
    let c = e.reserve(
        request(scope(3), Pinning::Pinned, Sharing::Shared, 0x100),
        plan_in(PoolKind::Shared, &[0x100]),
    );
    assert_eq!(
        c,
        Err(ReserveError::CapacityExhausted {
            what: "reservations"
        })
    );
    assert_eq!(e.snapshot(), before);
    e.release(a).unwrap();
    assert!(
        e.reserve(
            request(scope(3), Pinning::Pinned, Sharing::Shared, 0x100),
            plan_in(PoolKind::Shared, &[0x100]),
        )
        .is_ok()
    );
}

#[test]
fn the_error_says_which_cpu_is_full_and_with_what() {
    let err = ReserveError::CpuFull {
        pool: PoolKind::Data,
        cpu: CpuId(3),
        cpu_pinned: 1,
        task_term: 1,
        task: Some(T1),
        weight: 1,
        slots: 2,
    };
    assert_eq!(
        std::format!("{err}"),
        "CPU 3 is full in the data pool: 1 slot(s) pinned by CPU-bound requests + 1 held by \
         task 1 + 1 requested > 2 slot(s)"
    );
    let _: &dyn core::error::Error = &err;
}

#[cfg(feature = "alloc")]
#[test]
fn the_try_path_never_allocates() {
    let mut e: crate::HeapReservations<super::TestProgram, 4> =
        crate::HeapReservations::new(&X86, 4).unwrap();
    let watch = request(Scope::Task(T1), Pinning::Pinned, Sharing::Shared, 0x100);
    let plan = plan_in(PoolKind::Shared, &[0x100]);
    assert_eq!(
        e.try_reserve(watch, plan),
        Err(ReserveError::WouldAllocate {
            what: "reservations"
        })
    );
    assert!(e.accounting_is_empty());
    let id = e.reserve(watch, plan).unwrap();
    e.release(id).unwrap();
    // The places freed by the release are reused without allocating.
    let id = e.try_reserve(watch, plan).unwrap();
    assert!(e.status(id).unwrap().armed);
    // Every place is used again: one more would allocate, and is refused unchanged.
    let before = e.snapshot();
    let other = request(Scope::AllCpus, Pinning::Pinned, Sharing::Shared, 0x200);
    assert!(matches!(
        e.try_reserve(other, plan_in(PoolKind::Shared, &[0x200])),
        Err(ReserveError::WouldAllocate { .. })
    ));
    assert_eq!(e.snapshot(), before);
}

#[cfg(feature = "alloc")]
#[test]
fn the_try_path_refuses_a_task_the_task_table_has_no_place_for() {
    let mut e: crate::HeapReservations<super::TestProgram, 4> =
        crate::HeapReservations::new(&X86, 4).unwrap();
    // The heap task table's first size is 16 places, half of them usable: 8 tasks.
    for task in 1..=8 {
        task_watch(&mut e, TaskId(task), 0x100);
    }
    // A spare reservation place and a spare group place, so only the task table is short.
    assert_eq!(e.task_count(), 8);
    let spare = task_watch(&mut e, T1, 0x200);
    e.release(spare).unwrap();
    let before = e.snapshot();
    let ninth = request(
        Scope::Task(TaskId(9)),
        Pinning::Pinned,
        Sharing::Shared,
        0x100,
    );
    assert_eq!(
        e.try_reserve(ninth, plan_in(PoolKind::Shared, &[0x100])),
        Err(ReserveError::WouldAllocate { what: "tasks" })
    );
    assert_eq!(e.snapshot(), before);
    assert!(
        e.reserve(ninth, plan_in(PoolKind::Shared, &[0x100]))
            .is_ok()
    );
}

/// The kgdb-like path: take the embedder's lock without waiting, then reserve without
/// allocating; while another context holds the lock, give up at once.
#[test]
fn the_try_path_refuses_while_an_update_is_in_progress() {
    use std::sync::Mutex;

    let engine = Mutex::new(Engine::new(&X86, 4).unwrap());
    let watch = request(Scope::AllCpus, Pinning::Pinned, Sharing::Shared, 0x100);
    let plan = plan_in(PoolKind::Shared, &[0x100]);
    let try_path = |engine: &Mutex<Engine>| match engine.try_lock() {
        Ok(mut engine) => engine.try_reserve(watch, plan),
        Err(_) => Err(ReserveError::Busy),
    };
    let updating = engine.lock().unwrap();
    assert_eq!(try_path(&engine), Err(ReserveError::Busy));
    drop(updating);
    assert!(try_path(&engine).is_ok());
    assert_eq!(engine.lock().unwrap().len(), 1);
}

/// An architecture whose image of a slot is (slot, address), and registers that record them.
mod fake_hardware {
    extern crate std;

    use std::collections::BTreeMap;

    use super::super::{TestProgram, X86, plan_in};
    use crate::{
        AddressSpacePolicy, Capabilities, DebugArchitecture, ExceptionCause, Plan, PoolKind,
        RegisterAccess, Request, RequestError, SlotId,
    };

    pub(super) struct Arch;

    impl DebugArchitecture for Arch {
        type Program = TestProgram;
        type SlotImage = (SlotId, u64);
        type Status = ();
        fn capabilities(&self) -> &Capabilities {
            &X86
        }
        fn address_space(&self) -> AddressSpacePolicy {
            AddressSpacePolicy {
                user_limit: 0x7FFF_FFFF_F000,
                forbidden: &[],
            }
        }
        fn plan(&self, request: &Request) -> Result<Plan<TestProgram>, RequestError> {
            Ok(plan_in(PoolKind::Shared, &[request.range().start()]))
        }
        fn encode(
            &self,
            slot: SlotId,
            program: &TestProgram,
        ) -> Result<(SlotId, u64), RequestError> {
            Ok((slot, program.addr))
        }
        fn decode_status(&self, _: &()) -> ExceptionCause {
            ExceptionCause::default()
        }
    }

    #[derive(Default)]
    pub(super) struct Registers {
        pub(super) slots: BTreeMap<SlotId, Option<(SlotId, u64)>>,
    }

    impl RegisterAccess for Registers {
        type Image = (SlotId, u64);
        type Status = ();
        type Error = core::fmt::Error;
        fn install(&mut self, slot: SlotId, image: (SlotId, u64)) -> Result<(), core::fmt::Error> {
            self.slots.insert(slot, Some(image));
            Ok(())
        }
        fn uninstall(&mut self, slot: SlotId) -> Result<(), core::fmt::Error> {
            self.slots.insert(slot, None);
            Ok(())
        }
        fn read_status(&mut self) -> Result<(), core::fmt::Error> {
            Ok(())
        }
        fn reset_status(&mut self) -> Result<(), core::fmt::Error> {
            Ok(())
        }
        fn set_single_step(&mut self, _: bool) -> Result<(), core::fmt::Error> {
            Ok(())
        }
    }
}

#[test]
fn a_switch_in_programs_every_slot_of_the_profile() {
    let arch = fake_hardware::Arch;
    let mut regs = fake_hardware::Registers::default();
    let mut e = Engine::new(&X86, 4).unwrap();
    let watch = |addr, scope| {
        crate::Request::builder(addr, 8, crate::AccessKind::WRITE)
            .scope(scope)
            .build()
            .unwrap()
    };
    e.reserve_planned(&arch, watch(0x1000, Scope::Task(T1)))
        .unwrap();
    e.reserve_planned(&arch, watch(0x2000, Scope::Cpu(CpuId(1))))
        .unwrap();
    // The policy is applied: a kernel address is refused before any accounting.
    assert!(matches!(
        e.reserve_planned(&arch, watch(0xffff_8000_0000_0000, Scope::AllCpus)),
        Err(ReserveError::Request(_))
    ));
    e.switch_in(T1, CpuId(1))
        .unwrap()
        .install(&arch, &mut regs)
        .unwrap();
    let installed: Vec<u64> = regs
        .slots
        .values()
        .flatten()
        .map(|(_, addr)| *addr)
        .collect();
    assert_eq!(regs.slots.len(), 4, "every slot written, armed or not");
    assert_eq!(installed.len(), 2);
    assert!(installed.contains(&0x1000) && installed.contains(&0x2000));
    for (slot, image) in &regs.slots {
        if let Some((encoded_for, _)) = image {
            assert_eq!(encoded_for, slot);
        }
    }
    // Task 2 on CPU 0: nothing is armed, every slot is disarmed.
    e.switch_in(T2, CpuId(0))
        .unwrap()
        .install(&arch, &mut regs)
        .unwrap();
    assert!(regs.slots.values().all(Option::is_none));
}

/// A pinned shared watch of `task` at `addr`, in any engine.
fn task_watch<S: crate::Storage, const CPUS: usize>(
    e: &mut crate::Reservations<super::TestProgram, S, CPUS>,
    task: TaskId,
    addr: u64,
) -> ReservationId {
    e.reserve(
        request(Scope::Task(task), Pinning::Pinned, Sharing::Shared, addr),
        plan_in(PoolKind::Shared, &[addr]),
    )
    .unwrap()
}

/// An engine whose tables are full with two reservations (two slot groups, two tasks).
fn full_of_two_tasks() -> (
    crate::FixedReservations<super::TestProgram, 2, 2, 2>,
    ReservationId,
    ReservationId,
) {
    let mut e: crate::FixedReservations<super::TestProgram, 2, 2, 2> =
        crate::FixedReservations::new(&X86, 2).unwrap();
    let (a, b) = (task_watch(&mut e, T1, 0x100), task_watch(&mut e, T2, 0x200));
    (e, a, b)
}

#[test]
fn a_modify_that_leaves_its_own_group_fits_in_a_full_group_table() {
    let (mut e, a, _) = full_of_two_tasks();
    e.modify(
        a,
        request(Scope::Task(T1), Pinning::Pinned, Sharing::Shared, 0x300),
        plan_in(PoolKind::Shared, &[0x300]),
    )
    .unwrap();
    assert_eq!(e.request(a).map(|r| r.range().start()), Some(0x300));
    assert_eq!(e.group_count(), 2);
}

#[test]
fn a_modify_to_another_task_fits_only_when_it_frees_its_old_tasks_place() {
    // Room for three reservations but two tasks: T1 holds two, T2 one.
    let mut e: crate::FixedReservations<super::TestProgram, 2, 3, 2> =
        crate::FixedReservations::new(&X86, 2).unwrap();
    let (a, b) = (task_watch(&mut e, T1, 0x100), task_watch(&mut e, T1, 0x180));
    task_watch(&mut e, T2, 0x200);
    let t3 = TaskId(3);
    let to_t3 = |addr| {
        (
            request(Scope::Task(t3), Pinning::Pinned, Sharing::Shared, addr),
            plan_in(PoolKind::Shared, &[addr]),
        )
    };

    // T1 keeps its other reservation, so T3 would need a third place.
    let before = e.snapshot();
    let (request, plan) = to_t3(0x100);
    assert_eq!(
        e.modify(a, request, plan),
        Err(ReserveError::CapacityExhausted { what: "tasks" })
    );
    assert_eq!(e.snapshot(), before);

    // Once T1 is down to one reservation, moving it frees T1's place for T3.
    e.release(a).unwrap();
    let (request, plan) = to_t3(0x180);
    e.modify(b, request, plan).unwrap();
    assert_eq!(e.task_count(), 2, "T1's place went to T3");
    assert_eq!(e.task_usage(PoolKind::Shared, t3, CpuId(0)), 1);
    assert_eq!(e.task_usage(PoolKind::Shared, T1, CpuId(0)), 0);
}

#[test]
fn every_scope_leaves_accounting_behind_until_released() {
    let scopes = [
        Scope::AllCpus,
        Scope::Cpu(CpuId(1)),
        Scope::Task(T1),
        Scope::TaskOnCpu(T1, CpuId(1)),
    ];
    for scope in scopes {
        let mut e = Engine::new(&X86, 4).unwrap();
        assert!(e.is_empty() && e.accounting_is_empty());
        let id = pinned(&mut e, scope, 0x100).unwrap();
        assert!(!e.is_empty(), "{scope:?}");
        assert!(!e.accounting_is_empty(), "{scope:?}");
        assert_eq!(e.online_cpus(), 4);
        assert_eq!(e.slots(PoolKind::Shared), 4);
        assert_eq!(e.slots(PoolKind::Data), 0, "X86 has no data-only pool");
        assert_eq!(e.plan(id), Some(&plan_in(PoolKind::Shared, &[0x100])));
        e.release(id).unwrap();
        assert_eq!(e.plan(id), None);
        assert!(e.is_empty() && e.accounting_is_empty(), "{scope:?}");
    }
}

#[test]
fn a_refused_request_is_the_source_of_the_reservation_error() {
    use core::error::Error;
    let cause = crate::RequestError::EmptyRange { addr: 0x100 };
    let error = ReserveError::from(cause);
    let source = error
        .source()
        .and_then(|s| s.downcast_ref::<crate::RequestError>());
    assert_eq!(source, Some(&cause));
    assert!(ReserveError::UnknownReservation.source().is_none());
}

#[test]
fn a_flexible_group_alone_still_counts_as_accounting() {
    // Flexible requests take no pinned slots, so only the group table holds them.
    let mut e = Engine::new(&X86, 4).unwrap();
    let id = flexible(&mut e, Scope::AllCpus, 0x100);
    assert!(!e.accounting_is_empty());
    e.release(id).unwrap();
    assert!(e.accounting_is_empty());
}
