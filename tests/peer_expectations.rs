//! What peers expect, at the level of delivered events: the HAL running as the kernel of the
//! simulated CPUs (`hwbkpt-sim-cli`'s bridge) must give the answers Linux's selftests check.
//!
//! - `powerpc/ptrace/perf-hwbreak.c`: a 4-byte read/write watch at target+2 counts 0/2/2/0
//!   for 2-byte read+write pairs at +0/+1/+5/+6, and 2 for an 8-byte pair at +0.
//! - `powerpc/ptrace/ptrace-hwbreak.c`: the stop comes before the access, and the reported
//!   address lies inside the doubleword-rounded range.
//! - ptrace and perf on the same address: the ptrace stop first, then the perf hit once, after
//!   the step.
//! - `x86/breakpoints/breakpoint_test.c`: execute (length 1), write and read/write (lengths 1,
//!   2, 4, 8) on every slot, each access trapping exactly once.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use hwbkpt::{
    AccessKind, CpuId, Delivery, EventKind, PrivilegeFilter, Request, RequestId, Scope, TaskId,
    Timing,
};
use hwbkpt_ppc64::{PowerCpu, PowerProfile};
use hwbkpt_sim::ppc64::{Asm as PpcAsm, CpuProfile, Insn, Ppc64, Ppc64Context, Size};
use hwbkpt_sim::x86::{
    Asm as X86Asm, Mem, Reg, Width, X86, X86Context, X86Profile as SimX86Profile,
};
use hwbkpt_sim::{Machine, RegionAttributes, StopReason};
use hwbkpt_sim_cli::bridge::{HalKernel, register};
use hwbkpt_x86::{X86Cpu, X86Profile};

const PPC_CODE: u64 = 0x1000_0000;
const PPC_DATA: u64 = 0x2000_0000;

type PpcMachine = Machine<Ppc64, HalKernel<Ppc64>>;

/// A one-CPU POWER10 running `build` with r3 = `PPC_DATA`.
fn power10(build: impl FnOnce(&mut PpcAsm)) -> (PpcMachine, TaskId) {
    let mut asm = PpcAsm::new(PPC_CODE);
    build(&mut asm);
    asm.halt();
    let kernel = HalKernel::new(PowerCpu::new(PowerProfile::Power10));
    let mut m = Machine::new(Ppc64::new(CpuProfile::POWER10), kernel, 1);
    m.memory_mut()
        .map(PPC_CODE, 0x1000, RegionAttributes::default());
    m.memory_mut()
        .map(PPC_DATA, 0x1000, RegionAttributes::default());
    asm.load_into(m.memory_mut()).unwrap();
    let mut regs = Ppc64Context::user(PPC_CODE);
    regs.gpr[3] = PPC_DATA;
    let task = m.spawn(regs);
    (m, task)
}

fn watch(task: TaskId, addr: u64, len: u64, access: AccessKind, delivery: Delivery) -> Request {
    Request::builder(addr, len, access)
        .scope(Scope::Task(task))
        .delivery(delivery)
        .build()
        .unwrap()
}

fn hits_of(events: &[hwbkpt::Event], id: RequestId) -> Vec<hwbkpt::Hit> {
    events
        .iter()
        .filter(|e| e.request == id)
        .map(|e| match e.kind {
            EventKind::Hit(hit) => hit,
            other => panic!("unexpected event {other:?}"),
        })
        .collect()
}

/// perf-hwbreak: a read of `size` bytes then a write of them at `PPC_DATA + offset`, with a
/// continuous read|write watch on 4 bytes at `PPC_DATA + 2`; returns the hits counted.
fn perf_pair_count(offset: i16, size: Size) -> usize {
    let (mut m, task) = power10(|a| {
        a.emit(Insn::Load {
            size,
            rt: 4,
            ra: 3,
            d: offset,
        })
        .emit(Insn::Store {
            size,
            rs: 4,
            ra: 3,
            d: offset,
        });
    });
    let id = register(
        &mut m,
        watch(
            task,
            PPC_DATA + 2,
            4,
            AccessKind::READ_WRITE,
            Delivery::After,
        ),
    )
    .unwrap();
    assert_eq!(
        m.run(task, CpuId(0), 1000).unwrap().stop,
        StopReason::Exited
    );
    let hits = hits_of(&m.kernel().events, id);
    assert!(
        hits.iter().all(|h| h.timing == Timing::After),
        "perf hits come after the access"
    );
    hits.len()
}

#[test]
fn perf_hwbreak_partial_overlap_counts() {
    // 2-byte pairs at +0 (bytes 0-1), +1 (1-2), +5 (5-6), +6 (6-7) against bytes 2-5.
    assert_eq!(perf_pair_count(0, Size::B2), 0);
    assert_eq!(perf_pair_count(1, Size::B2), 2);
    assert_eq!(perf_pair_count(5, Size::B2), 2);
    assert_eq!(perf_pair_count(6, Size::B2), 0);
    assert_eq!(perf_pair_count(0, Size::B8), 2);
}

#[test]
fn perf_hwbreak_strays_are_counted_not_delivered() {
    let (mut m, task) = power10(|a| {
        a.emit(Insn::Load {
            size: Size::B2,
            rt: 4,
            ra: 3,
            d: 6,
        });
    });
    register(
        &mut m,
        watch(
            task,
            PPC_DATA + 2,
            4,
            AccessKind::READ_WRITE,
            Delivery::After,
        ),
    )
    .unwrap();
    m.run(task, CpuId(0), 1000).unwrap();
    assert!(m.kernel().events.is_empty());
    assert_eq!(
        m.kernel().dispatcher.statistics().stray_hits,
        1,
        "one match in the doubleword"
    );
}

#[test]
fn ptrace_hwbreak_stops_before_the_access_inside_the_rounded_range() {
    let (mut m, task) = power10(|a| {
        a.li(4, 0xAABB).emit(Insn::Store {
            size: Size::B2,
            rs: 4,
            ra: 3,
            d: 0x13,
        });
    });
    let id = register(
        &mut m,
        watch(
            task,
            PPC_DATA + 0x12,
            3,
            AccessKind::WRITE,
            Delivery::Before,
        ),
    )
    .unwrap();
    assert_eq!(
        m.run(task, CpuId(0), 1000).unwrap().stop,
        StopReason::Stopped
    );
    let mut before = [0u8; 2];
    m.memory().read(PPC_DATA + 0x13, &mut before).unwrap();
    assert_eq!(before, [0, 0], "stopped before the store");
    let hits = hits_of(&m.kernel().events, id);
    let (hit, signal) = (hits[0], m.kernel().events[0].signal_record().unwrap());
    assert_eq!(hit.timing, Timing::Before);
    let rounded = PPC_DATA + 0x10..PPC_DATA + 0x18;
    assert!(
        rounded.contains(&signal.addr),
        "SIGTRAP address {:#x} outside {rounded:x?}",
        signal.addr
    );
    assert_eq!((signal.signo, signal.code), (5, 4), "SIGTRAP, TRAP_HWBKPT");
    // One-shot: resuming runs the store without another stop.
    assert_eq!(
        m.run(task, CpuId(0), 1000).unwrap().stop,
        StopReason::Exited
    );
    m.memory().read(PPC_DATA + 0x13, &mut before).unwrap();
    assert_eq!(before, [0xAA, 0xBB]);
    assert_eq!(m.kernel().events.len(), 1);
}

#[test]
fn ptrace_stop_comes_first_then_the_perf_hit_once_after_the_step() {
    let (mut m, task) = power10(|a| {
        a.li(4, 0x1122_3344).emit(Insn::Store {
            size: Size::B4,
            rs: 4,
            ra: 3,
            d: 8,
        });
    });
    let ptrace = register(
        &mut m,
        watch(task, PPC_DATA + 8, 4, AccessKind::WRITE, Delivery::Before),
    )
    .unwrap();
    let perf = register(
        &mut m,
        watch(task, PPC_DATA + 8, 4, AccessKind::WRITE, Delivery::After),
    )
    .unwrap();
    assert_eq!(
        m.run(task, CpuId(0), 1000).unwrap().stop,
        StopReason::Stopped
    );
    assert_eq!(
        m.run(task, CpuId(0), 1000).unwrap().stop,
        StopReason::Exited
    );
    let events = &m.kernel().events;
    assert_eq!(
        events.iter().map(|e| e.request).collect::<Vec<_>>(),
        vec![ptrace, perf]
    );
    let perf_hit = hits_of(events, perf)[0];
    assert_eq!(perf_hit.timing, Timing::After);
    let values = perf_hit.values.unwrap();
    assert!(values.old_exact);
    assert_eq!(
        (values.old(), values.new_value()),
        (&[0u8; 4][..], &[0x11, 0x22, 0x33, 0x44][..])
    );
}

// ---- x86 -------------------------------------------------------------------------------

const X86_CODE: u64 = 0x40_0000;
const X86_DATA: u64 = 0x9_0000;
const X86_STACK_TOP: u64 = 0x7fff_0000;

type X86Machine = Machine<X86, HalKernel<X86>>;

fn x86_machine(build: impl FnOnce(&mut X86Asm)) -> (X86Machine, TaskId) {
    let kernel = HalKernel::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
    let mut m = Machine::new(X86::new(SimX86Profile::GENERIC), kernel, 1);
    let plain = RegionAttributes::default();
    m.memory_mut().map(X86_CODE, 0x1_0000, plain);
    m.memory_mut()
        .map(X86_STACK_TOP - 0x1_0000, 0x1_0000, plain);
    m.memory_mut().map(X86_DATA, 0x1000, plain);
    let mut asm = X86Asm::new(X86_CODE);
    build(&mut asm);
    asm.end();
    asm.finish().unwrap().load(m.memory_mut()).unwrap();
    let mut regs = X86Context::user(X86_CODE);
    regs.set_gpr(Reg::Rsp, X86_STACK_TOP);
    regs.set_gpr(Reg::Rbx, X86_DATA);
    let task = m.spawn(regs);
    (m, task)
}

fn width(len: u64) -> Width {
    match len {
        1 => Width::B1,
        2 => Width::B2,
        4 => Width::B4,
        _ => Width::B8,
    }
}

/// The selftest matrix through the HAL: `slot` earlier slots are taken by other watches, so
/// first fit puts the request under test on DR`slot`.
#[test]
fn x86_selftest_matrix_through_the_hal() {
    let mut cases = 0;
    for slot in 0..4u64 {
        for (access, lengths) in [
            (AccessKind::EXECUTE, &[1u64][..]),
            (AccessKind::WRITE, &[1, 2, 4, 8][..]),
            (AccessKind::READ_WRITE, &[1, 2, 4, 8][..]),
        ] {
            for &len in lengths {
                let target = X86_DATA + 0x100;
                let mut execute_target = 0;
                let (mut m, task) = x86_machine(|a| {
                    a.mov_imm(Reg::Rax, 0x5A);
                    execute_target = a.here();
                    if access == AccessKind::EXECUTE {
                        a.mov_imm(Reg::Rcx, 1);
                    } else if access == AccessKind::WRITE {
                        a.store(width(len), Reg::Rax, Mem::base(Reg::Rbx, 0x100));
                    } else {
                        a.load(width(len), Reg::Rcx, Mem::base(Reg::Rbx, 0x100));
                    }
                });
                for filler in 0..slot {
                    let decoy = watch(
                        task,
                        X86_DATA + 0x800 + 8 * filler,
                        1,
                        AccessKind::WRITE,
                        Delivery::After,
                    );
                    register(&mut m, decoy).unwrap();
                }
                let (addr, delivery) = if access == AccessKind::EXECUTE {
                    (execute_target, Delivery::Native)
                } else {
                    (target, Delivery::After)
                };
                let id = register(&mut m, watch(task, addr, len, access, delivery)).unwrap();
                let plan = m.kernel().dispatcher.plan(id).unwrap();
                assert_eq!(plan.len(), 1, "{access} {len} bytes is one slot");
                assert_eq!(
                    m.run(task, CpuId(0), 1000).unwrap().stop,
                    StopReason::Exited
                );
                let hits = hits_of(&m.kernel().events, id);
                assert_eq!(
                    hits.len(),
                    1,
                    "slot {slot}, {access}, {len} bytes: exactly one trap"
                );
                let expected = if access == AccessKind::EXECUTE {
                    Timing::Before
                } else {
                    Timing::After
                };
                assert_eq!(hits[0].timing, expected);
                if access == AccessKind::WRITE {
                    let values = hits[0].values.unwrap();
                    assert_eq!(values.new_value()[0], 0x5A);
                    assert!(!values.old_exact, "x86 old values are last observed");
                }
                assert_eq!(m.kernel().dispatcher.statistics().stray_hits, 0);
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 4 * 9);
}

#[test]
fn x86_refuses_before_delivery_for_data() {
    let (mut m, task) = x86_machine(|_| {});
    let err = register(
        &mut m,
        watch(task, X86_DATA, 4, AccessKind::WRITE, Delivery::Before),
    );
    assert!(matches!(
        err,
        Err(hwbkpt::DispatchError::Request(
            hwbkpt::RequestError::DeliveryUnsupported { .. }
        ))
    ));
}

#[test]
fn x86_privilege_filter_is_applied_in_software() {
    let (mut m, task) = x86_machine(|a| {
        a.mov_imm(Reg::Rax, 7)
            .store(Width::B4, Reg::Rax, Mem::base(Reg::Rbx, 0x40));
    });
    let kernel_only = Request::builder(X86_DATA + 0x40, 4, AccessKind::WRITE)
        .scope(Scope::Task(task))
        .privilege(PrivilegeFilter::KERNEL)
        .build()
        .unwrap();
    let id = register(&mut m, kernel_only).unwrap();
    m.run(task, CpuId(0), 1000).unwrap();
    assert!(
        hits_of(&m.kernel().events, id).is_empty(),
        "a user-mode write to a kernel-only watch"
    );
    assert_eq!(m.kernel().dispatcher.statistics().stray_hits, 1);
}
