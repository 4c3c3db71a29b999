//! In-kernel debuggers through the same layer as ptrace and perf (issue 11):
//!
//! - **kgdb-style** ([`hwbkpt::kgdb::KgdbBreakpoints`]): breakpoints set and removed from
//!   inside the debug exception through the reservation engine's non-waiting,
//!   non-allocating path. It fails at once when the lock is taken (never waits), fails
//!   without a trace when there is no room or storage would have to grow, and its slots
//!   coexist with a task's pinned watches under the fit rule.
//! - **xmon-style**: an instruction breakpoint in the PPC64 CIABR, on kernel code, through
//!   the dispatcher on the simulated POWER CPU: the image xmon would write (address |
//!   privilege 2), the hit reported *after* the instruction completed (NIP = the next
//!   instruction), and the refusals where there is no CIABR or it is taken.
//!
//! Runs on every host (pure logic and the simulators).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::sync::Mutex;

use hwbkpt::kgdb::KgdbBreakpoints;
use hwbkpt::{
    AccessKind, CpuId, DebugArchitecture, DispatchError, EventKind, FixedReservations,
    HeapReservations, Origin, PoolKind, PrivilegeFilter, RegisterAccess, Request, RequestError,
    ReserveError, Scope, SlotId, TaskId, Timing,
};
use hwbkpt_ppc64::{PowerCpu, PowerProfile, SlotImage};
use hwbkpt_sim::ppc64::{Asm as PpcAsm, CpuProfile, Ppc64, Ppc64Context};
use hwbkpt_sim::{Machine, RegionAttributes, StopReason};
use hwbkpt_sim_cli::bridge::{HalKernel, register};
use hwbkpt_x86::{Condition, Dr6, X86Cpu, X86Profile, X86Program, X86SlotImage};

const KERNEL_TEXT: u64 = 0xffff_ffff_8100_1000;
const KERNEL_DATA: u64 = 0xffff_ffff_8200_0040;
const TASK: TaskId = TaskId(7);

type Engine = FixedReservations<X86Program, 2, 16, 16>;

/// A CPU's DR0–DR3 as the install wrote them.
#[derive(Default)]
struct Regs {
    slots: [Option<X86SlotImage>; 4],
}

impl RegisterAccess for Regs {
    type Image = X86SlotImage;
    type Status = Dr6;
    type Error = core::convert::Infallible;
    fn install(&mut self, slot: SlotId, image: X86SlotImage) -> Result<(), Self::Error> {
        self.slots[usize::from(slot.index())] = Some(image);
        Ok(())
    }
    fn uninstall(&mut self, slot: SlotId) -> Result<(), Self::Error> {
        self.slots[usize::from(slot.index())] = None;
        Ok(())
    }
    fn read_status(&mut self) -> Result<Dr6, Self::Error> {
        Ok(Dr6::RESET)
    }
    fn reset_status(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
    fn set_single_step(&mut self, _: bool) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn cpu() -> X86Cpu {
    X86Cpu::new(X86Profile::GENERIC_X86_64)
}

/// What CPU `c` runs while `TASK` is on it, programmed as kgdb does before resuming.
fn program(engine: &mut Engine, c: u32) -> Regs {
    let mut regs = Regs::default();
    engine
        .switch_in(TASK, CpuId(c))
        .unwrap()
        .install(&cpu(), &mut regs)
        .unwrap();
    regs
}

fn armed(regs: &Regs) -> usize {
    regs.slots.iter().flatten().count()
}

#[test]
fn kgdb_sets_and_removes_from_the_exception_without_waiting() {
    let engine: Mutex<Engine> =
        Mutex::new(FixedReservations::new(cpu().capabilities(), 2).unwrap());
    // Normal context: a traced task holds three pinned watches.
    for i in 0..3 {
        let watch = Request::builder(0x7000_1000 + 8 * i, 8, AccessKind::WRITE)
            .scope(Scope::Task(TASK))
            .build()
            .unwrap();
        engine
            .lock()
            .unwrap()
            .reserve_planned(&cpu(), watch)
            .unwrap();
    }
    let mut kgdb = KgdbBreakpoints::<4>::new();

    // A #DB: kgdb takes over on CPU 1 and sets an instruction breakpoint in kernel text.
    let mut guard = engine.try_lock().ok();
    let first = kgdb
        .set(
            guard.as_deref_mut(),
            &cpu(),
            KERNEL_TEXT,
            1,
            AccessKind::EXECUTE,
        )
        .unwrap();
    // A second one does not fit next to the task's three on a 4-slot CPU: refused, and
    // neither the table nor the engine changed.
    let refused = kgdb.set(
        guard.as_deref_mut(),
        &cpu(),
        KERNEL_DATA,
        8,
        AccessKind::WRITE,
    );
    assert!(
        matches!(
            refused,
            Err(ReserveError::CpuFull {
                weight: 1,
                slots: 4,
                ..
            })
        ),
        "{refused:?}"
    );
    assert!(kgdb.get(first + 1).is_none());
    // Before resuming, every CPU is programmed from the engine (kgdb_correct_hw_break).
    let engine_now = guard.as_deref_mut().unwrap();
    for c in 0..2 {
        let regs = program(engine_now, c);
        assert_eq!(armed(&regs), 4, "CPU {c}: the task's three and kgdb's one");
        let kgdb_slot = regs
            .slots
            .iter()
            .flatten()
            .find(|i| i.address() == KERNEL_TEXT)
            .unwrap();
        assert_eq!(kgdb_slot.program().condition(), Condition::Execute);
    }
    drop(guard);

    // The interrupted context was updating the reservations: kgdb gives up at once.
    {
        let _held = engine.lock().unwrap();
        let busy = kgdb.set(
            engine.try_lock().ok().as_deref_mut(),
            &cpu(),
            KERNEL_DATA,
            8,
            AccessKind::WRITE,
        );
        assert_eq!(busy, Err(ReserveError::Busy));
        let busy = kgdb.remove(engine.try_lock().ok().as_deref_mut(), first);
        assert_eq!(busy, Err(ReserveError::Busy));
    }
    assert!(
        kgdb.get(first).is_some(),
        "a busy remove keeps the breakpoint"
    );

    // Removal from the next exception frees the slot on every CPU.
    let mut guard = engine.try_lock().ok();
    let removed = kgdb.remove(guard.as_deref_mut(), first).unwrap();
    assert_eq!(removed.range().start(), KERNEL_TEXT);
    assert_eq!(
        kgdb.remove(guard.as_deref_mut(), first),
        Err(ReserveError::UnknownReservation)
    );
    let engine_now = guard.as_deref_mut().unwrap();
    assert_eq!(armed(&program(engine_now, 0)), 3);
    // Now the data breakpoint fits.
    kgdb.set(
        guard.as_deref_mut(),
        &cpu(),
        KERNEL_DATA,
        8,
        AccessKind::WRITE,
    )
    .unwrap();
}

#[test]
fn kgdb_refuses_what_the_architecture_cannot_do_and_never_allocates() {
    let mut engine: Engine = FixedReservations::new(cpu().capabilities(), 2).unwrap();
    let mut kgdb = KgdbBreakpoints::<2>::new();
    // x86 watches no reads without writes.
    assert!(matches!(
        kgdb.set(Some(&mut engine), &cpu(), KERNEL_DATA, 8, AccessKind::READ),
        Err(ReserveError::Request(
            RequestError::ReadOnlyUnsupported { .. }
        ))
    ));
    // The table has two places.
    for i in 0..2 {
        kgdb.set(
            Some(&mut engine),
            &cpu(),
            KERNEL_DATA + 8 * i,
            8,
            AccessKind::WRITE,
        )
        .unwrap();
    }
    assert!(matches!(
        kgdb.set(
            Some(&mut engine),
            &cpu(),
            KERNEL_TEXT,
            1,
            AccessKind::EXECUTE
        ),
        Err(ReserveError::CapacityExhausted { .. })
    ));
    // On a heap engine whose storage would have to grow, the exception path is refused
    // instead of allocating.
    let mut heap: HeapReservations<X86Program, 2> =
        HeapReservations::new(cpu().capabilities(), 2).unwrap();
    let mut kgdb = KgdbBreakpoints::<4>::new();
    let grown = kgdb.set(Some(&mut heap), &cpu(), KERNEL_DATA, 8, AccessKind::WRITE);
    assert!(
        matches!(grown, Err(ReserveError::WouldAllocate { .. })),
        "{grown:?}"
    );
    assert!(kgdb.iter().next().is_none());
}

// ---- xmon: CIABR ---------------------------------------------------------------------

const PPC_KERNEL_TEXT: u64 = 0xc000_0000_0010_0000;

fn xmon_request(addr: u64) -> Request {
    Request::builder(addr, 1, AccessKind::EXECUTE)
        .scope(Scope::AllCpus)
        .origin(Origin::Kernel)
        .privilege(PrivilegeFilter::KERNEL)
        .build()
        .unwrap()
}

#[test]
fn xmon_ciabr_image_and_refusals() {
    let cpu = PowerCpu::new(PowerProfile::Power9);
    let plan = cpu.prepare(&xmon_request(PPC_KERNEL_TEXT + 8)).unwrap();
    let program = plan.iter().next().unwrap();
    let slot = SlotId::new(PoolKind::Instruction, 0).unwrap();
    let SlotImage::Ciabr(ciabr) = cpu.encode(slot, program).unwrap() else {
        panic!("not a CIABR image")
    };
    // What xmon writes: the word address with privilege 2 (CIABR_PRIV_SUPER).
    assert_eq!(ciabr.bits(), (PPC_KERNEL_TEXT + 8) | 2);

    // POWER7 has no CIABR.
    let p7 = PowerCpu::new(PowerProfile::Power7);
    assert!(matches!(
        p7.prepare(&xmon_request(PPC_KERNEL_TEXT)),
        Err(RequestError::NoSlots { .. })
    ));
    // One CIABR: a second pinned instruction breakpoint does not fit.
    let mut m = xmon_machine(&[]);
    register(&mut m.0, xmon_request(PPC_KERNEL_TEXT)).unwrap();
    let second = register(&mut m.0, xmon_request(PPC_KERNEL_TEXT + 4));
    assert!(
        matches!(
            second,
            Err(DispatchError::Reserve(ReserveError::CpuFull { .. }))
        ),
        "{second:?}"
    );
}

type PpcMachine = Machine<Ppc64, HalKernel<Ppc64>>;

/// A POWER9 running kernel code at `PPC_KERNEL_TEXT`: `li r4, n` for each `n`, then halt.
fn xmon_machine(values: &[u64]) -> (PpcMachine, TaskId) {
    let mut asm = PpcAsm::new(PPC_KERNEL_TEXT);
    for &v in values {
        asm.li(4, v);
    }
    asm.halt();
    let kernel = HalKernel::new(PowerCpu::new(PowerProfile::Power9));
    let mut m = Machine::new(Ppc64::new(CpuProfile::POWER9), kernel, 1);
    m.memory_mut()
        .map(PPC_KERNEL_TEXT, 0x1000, RegionAttributes::default());
    asm.load_into(m.memory_mut()).unwrap();
    let task = m.spawn(Ppc64Context::kernel(PPC_KERNEL_TEXT));
    (m, task)
}

#[test]
fn xmon_ciabr_hit_comes_after_the_instruction() {
    let (mut m, task) = xmon_machine(&[1, 2, 3]);
    let target = PPC_KERNEL_TEXT + 4; // the second `li`
    let id = register(&mut m, xmon_request(target)).unwrap();
    assert_eq!(m.run(task, CpuId(0), 100).unwrap().stop, StopReason::Exited);
    let hits: Vec<_> = m
        .kernel()
        .events
        .iter()
        .filter(|e| e.request == id)
        .collect();
    assert_eq!(hits.len(), 1, "{:?}", m.kernel().events);
    let EventKind::Hit(hit) = hits[0].kind else {
        panic!("{:?}", hits[0])
    };
    assert_eq!(hit.timing, Timing::After, "CIABR: after completion");
    assert_eq!(hits[0].pc, target + 4, "NIP is the next instruction");
    assert_eq!(hit.address, Some(target));
}
