//! In-kernel debuggers through the same layer as ptrace and perf (issue 11):
//!
//! - **kgdb-style** ([`hwbkpt::kgdb::KgdbBreakpoints`]): breakpoints set and removed from
//!   inside the debug exception through the reservation engine's non-waiting,
//!   non-allocating path. It fails at once when the lock is taken (never waits), fails
//!   without a trace when there is no room or storage would have to grow, and its slots
//!   coexist with a task's pinned watches under the fit rule. The same on a shared
//!   [`hwbkpt::Dispatcher`] ([`hwbkpt::kgdb::KgdbOnDispatcher`]): kgdb breakpoints and a
//!   tracee's ptrace slots (`X86PtraceFile`) counted against the same four registers, each
//!   side refused for room by the other's, `Busy` behind a held lock, and a kgdb hit
//!   delivered as an `Event` that kgdb (and not the ptrace file) recognises.
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

// ---- kgdb on the shared dispatcher ----------------------------------------------------

mod on_the_dispatcher {
    use std::sync::Mutex;

    use hwbkpt::kgdb::{KgdbError, KgdbOnDispatcher};
    use hwbkpt::ptrace::Errno;
    use hwbkpt::{
        AccessKind, CpuId, DecodeError, DecodedAccess, Dispatcher, EmulateError, EventKind,
        ExecutionMode, InstructionDecode, InstructionEmulate, MemoryRead, MemoryReadError,
        RegisterAccess, SlotId, Timing, TrapFrame,
    };
    use hwbkpt_x86::ptrace_file::X86PtraceFile;
    use hwbkpt_x86::{Condition, Dr6, X86Cpu, X86SlotImage};

    use super::{KERNEL_DATA, KERNEL_TEXT, TASK, cpu};

    /// A machine of two CPUs, shared by ptrace and kgdb.
    type Shared = Dispatcher<X86Cpu, 16, 16, 2>;

    const USER: u64 = 0x7000_1000;

    fn shared() -> Mutex<Shared> {
        Mutex::new(Shared::with_online_cpus(cpu(), 2).unwrap())
    }

    /// One CPU: its DR0–DR3 and the interrupted context (memory reads the watched word as
    /// `value`; nothing to decode on x86).
    #[derive(Default)]
    struct Cpu {
        slots: [Option<X86SlotImage>; 4],
        value: u64,
    }

    impl RegisterAccess for Cpu {
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
    impl MemoryRead for Cpu {
        fn read_memory(&mut self, _: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
            for (b, v) in buf.iter_mut().zip(self.value.to_le_bytes()) {
                *b = v;
            }
            Ok(())
        }
    }
    impl InstructionDecode for Cpu {
        fn decode_access(&mut self, pc: u64) -> Result<Option<DecodedAccess>, DecodeError> {
            Err(DecodeError::Unknown { pc })
        }
    }
    impl InstructionEmulate for Cpu {
        fn emulate(&mut self, pc: u64) -> Result<(), EmulateError> {
            Err(EmulateError::Unsupported { pc })
        }
    }

    /// Kernel memory as kgdb reads it (the watched word is 0 when set).
    fn memory() -> Cpu {
        Cpu::default()
    }

    #[test]
    fn kgdb_and_ptrace_share_one_dispatchers_slots() {
        let dispatcher = shared();
        let mut kgdb = KgdbOnDispatcher::<4>::new();
        let mut tracee = X86PtraceFile::new(TASK);
        let poke = |tracee: &mut X86PtraceFile, n, v| {
            tracee.poke(n, v, &mut *dispatcher.lock().unwrap(), &mut memory())
        };
        // Normal context: the tracer writes two ptrace addresses (two placeholders, which
        // hold two of the task's four slots) and enables the first.
        poke(&mut tracee, 0, USER).unwrap();
        poke(&mut tracee, 1, USER + 8).unwrap();
        poke(&mut tracee, 7, 0x1 | 0b1101 << 16).unwrap();

        // A #DB: kgdb takes over and sets breakpoints, trying the lock.
        let mut guard = dispatcher.try_lock().ok();
        let text = kgdb
            .set(
                guard.as_deref_mut(),
                KERNEL_TEXT,
                1,
                AccessKind::EXECUTE,
                &mut memory(),
            )
            .unwrap();
        let data = kgdb
            .set(
                guard.as_deref_mut(),
                KERNEL_DATA,
                8,
                AccessKind::WRITE,
                &mut memory(),
            )
            .unwrap();
        // A third does not fit next to the tracee's two on a 4-slot CPU: refused for room,
        // and neither kgdb's table nor the dispatcher changed.
        let before = guard.as_deref().unwrap().reservations().len();
        let refused = kgdb
            .set(
                guard.as_deref_mut(),
                KERNEL_DATA + 8,
                8,
                AccessKind::WRITE,
                &mut memory(),
            )
            .unwrap_err();
        assert!(refused.is_out_of_slots(), "{refused:?}");
        assert!(matches!(refused, KgdbError::Dispatch(_)));
        assert_eq!(kgdb.iter().count(), 2);
        assert_eq!(guard.as_deref().unwrap().reservations().len(), before);
        drop(guard);

        // Now the tracer is the one out of room: its third placeholder gets ENOSPC at the
        // address write, as on Linux with kgdb's breakpoints in the debug registers.
        assert_eq!(poke(&mut tracee, 2, USER + 16), Err(Errno::ENOSPC));
        // Enabling the placeholder it holds needs no room.
        poke(&mut tracee, 7, 0x5 | 0b1101_1101 << 16).unwrap();

        // Before resuming, every CPU is programmed: the tracee's two and kgdb's two.
        for c in 0..2 {
            let mut regs = Cpu::default();
            let mut d = dispatcher.lock().unwrap();
            assert!(d.switch_in(TASK, CpuId(c), &mut regs).is_ok());
            let mut addresses: Vec<u64> =
                regs.slots.iter().flatten().map(|i| i.address()).collect();
            addresses.sort_unstable();
            assert_eq!(
                addresses,
                [USER, USER + 8, KERNEL_TEXT, KERNEL_DATA],
                "CPU {c}"
            );
            let exec = regs
                .slots
                .iter()
                .flatten()
                .find(|i| i.address() == KERNEL_TEXT)
                .unwrap();
            assert_eq!(exec.program().condition(), Condition::Execute);
        }

        // kgdb removes one (from the next exception): the tracer's placeholder fits again.
        let removed = kgdb
            .remove(dispatcher.try_lock().ok().as_deref_mut(), text)
            .unwrap();
        assert_eq!(removed.range().start(), KERNEL_TEXT);
        assert_eq!(
            kgdb.remove(dispatcher.try_lock().ok().as_deref_mut(), text),
            Err(KgdbError::UnknownBreakpoint { index: text })
        );
        poke(&mut tracee, 2, USER + 16).unwrap();
        assert!(kgdb.get(data).is_some());
        // Detaching removes the rest.
        assert_eq!(kgdb.clear(dispatcher.try_lock().ok().as_deref_mut()), Ok(1));
        assert_eq!(kgdb.iter().count(), 0);
        assert_eq!(dispatcher.lock().unwrap().reservations().len(), 3);
    }

    #[test]
    fn kgdb_never_waits_for_the_dispatchers_lock() {
        let dispatcher = shared();
        let mut kgdb = KgdbOnDispatcher::<2>::new();
        let index = kgdb
            .set(
                dispatcher.try_lock().ok().as_deref_mut(),
                KERNEL_DATA,
                8,
                AccessKind::WRITE,
                &mut memory(),
            )
            .unwrap();
        // The interrupted context was registering something: kgdb fails at once.
        let held = dispatcher.lock().unwrap();
        let try_it = || dispatcher.try_lock().ok();
        assert_eq!(
            kgdb.set(
                try_it().as_deref_mut(),
                KERNEL_TEXT,
                1,
                AccessKind::EXECUTE,
                &mut memory()
            ),
            Err(KgdbError::Busy)
        );
        assert_eq!(
            kgdb.remove(try_it().as_deref_mut(), index),
            Err(KgdbError::Busy)
        );
        assert_eq!(kgdb.clear(try_it().as_deref_mut()), Err(KgdbError::Busy));
        drop(held);
        // Nothing changed meanwhile.
        assert!(kgdb.get(index).is_some());
        assert_eq!(dispatcher.lock().unwrap().reservations().len(), 1);
        assert_eq!(
            KgdbError::Busy.to_string(),
            "the dispatcher is being updated (its lock is taken): not waiting in the debugger"
        );
        // A full table is refused too, before the dispatcher is asked.
        let mut d = dispatcher.lock().unwrap();
        kgdb.set(
            Some(&mut *d),
            KERNEL_DATA + 8,
            8,
            AccessKind::WRITE,
            &mut memory(),
        )
        .unwrap();
        assert_eq!(
            kgdb.set(
                Some(&mut *d),
                KERNEL_TEXT,
                1,
                AccessKind::EXECUTE,
                &mut memory()
            ),
            Err(KgdbError::TableFull { places: 2 })
        );
        assert_eq!(d.reservations().len(), 2);
        // And what the architecture cannot watch (x86 has no read-only watch).
        let mut kgdb = KgdbOnDispatcher::<1>::new();
        assert!(matches!(
            kgdb.set(
                Some(&mut *d),
                KERNEL_DATA,
                8,
                AccessKind::READ,
                &mut memory()
            ),
            Err(KgdbError::Dispatch(_))
        ));
    }

    #[test]
    fn a_kgdb_hit_comes_back_as_an_event() {
        let dispatcher = shared();
        let mut kgdb = KgdbOnDispatcher::<4>::new();
        let mut tracee = X86PtraceFile::new(TASK);
        let mut d = dispatcher.try_lock().unwrap();
        // A ptrace watch of the same task, so the event has to be told apart.
        tracee.poke(0, USER, &mut d, &mut memory()).unwrap();
        tracee
            .poke(7, 0x1 | 0b1101 << 16, &mut d, &mut memory())
            .unwrap();
        let index = kgdb
            .set(
                Some(&mut *d),
                KERNEL_DATA,
                8,
                AccessKind::WRITE,
                &mut memory(),
            )
            .unwrap();
        let mut cpu1 = Cpu::default();
        assert!(d.switch_in(TASK, CpuId(1), &mut cpu1).is_ok());
        let physical = cpu1
            .slots
            .iter()
            .position(|s| s.is_some_and(|s| s.address() == KERNEL_DATA))
            .unwrap();
        // The kernel, running for TASK on CPU 1, stores 0x2a into the watched word.
        cpu1.value = 0x2a;
        let frame = TrapFrame {
            task: TASK,
            cpu: CpuId(1),
            pc: KERNEL_TEXT + 0x10,
            mode: ExecutionMode::Kernel,
        };
        let status = Dr6::from_bits_retain(Dr6::RESET.bits() | 1 << physical);
        let mut events = Vec::new();
        let mut sink = |e: &hwbkpt::Event| events.push(*e);
        d.handle_exception(&frame, status, &mut cpu1, &mut sink)
            .unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        let event = events[0];
        assert_eq!(kgdb.event_index(&event), Some(index));
        assert_eq!(tracee.slot_of(event.request), None);
        assert_eq!(
            (event.task, event.cpu, event.pc),
            (TASK, CpuId(1), frame.pc)
        );
        let EventKind::Hit(hit) = event.kind else {
            panic!("{event:?}")
        };
        assert_eq!(hit.timing, Timing::After);
        let values = hit.values.unwrap();
        assert_eq!(values.old(), &0u64.to_le_bytes());
        assert_eq!(values.new_value(), &0x2au64.to_le_bytes());
        // The ptrace file sees no stop of its own in that exception.
        assert_eq!(tracee.debug_exception(false, frame.pc, &events), None);
        // A ptrace hit is not kgdb's.
        let ptrace_slot = cpu1
            .slots
            .iter()
            .position(|s| s.is_some_and(|s| s.address() == USER))
            .unwrap();
        let status = Dr6::from_bits_retain(Dr6::RESET.bits() | 1 << ptrace_slot);
        let user = TrapFrame {
            mode: ExecutionMode::User,
            pc: 0x40_1000,
            ..frame
        };
        let mut events = Vec::new();
        let mut sink = |e: &hwbkpt::Event| events.push(*e);
        cpu1.value = 7;
        d.handle_exception(&user, status, &mut cpu1, &mut sink)
            .unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(kgdb.event_index(&events[0]), None);
        assert!(tracee.debug_exception(false, user.pc, &events).is_some());
    }
}
