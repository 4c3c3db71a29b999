//! The stops a tracer sees for hits on ptrace-owned breakpoints, through the
//! ptrace-compatible register files on the simulated CPUs (the HAL as their kernel). Runs on
//! every host.
//!
//! - x86-64: `SIGTRAP` with `TRAP_HWBKPT` and `si_addr` = RIP after the access, and the
//!   virtual DR6 naming the *ptrace* slot that fired (not the physical register the
//!   dispatcher chose).
//! - PPC64: a one-shot stop *before* the access with `si_addr` in the watched doubleword,
//!   coexisting with a perf-style watch on the same address, which gets its hit once,
//!   after the step; re-arming with `PTRACE_SET_DEBUGREG` stops again.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use hwbkpt::{
    AccessKind, CpuId, Delivery, EventKind, Request, Scope, SignalRecord, TaskId, Timing,
    ptrace::TRAP_TRACE,
};
use hwbkpt_ppc64::linux_ptrace::{DABR_BT, DABR_DW, PPC_BREAKPOINT_MODE_EXACT, PpcHwBreakpoint};
use hwbkpt_ppc64::ptrace_file::Ppc64PtraceFile;
use hwbkpt_ppc64::{PowerCpu, PowerProfile};
use hwbkpt_sim::ppc64::{Asm as PpcAsm, CpuProfile, Insn, Ppc64, Ppc64Context, Size};
use hwbkpt_sim::x86::{Asm as X86Asm, Mem, Reg, Width, X86, X86Context, X86Profile as SimX86};
use hwbkpt_sim::{Machine, RegionAttributes, StopReason};
use hwbkpt_sim_cli::bridge::{HalKernel, MemoryView, register};
use hwbkpt_x86::ptrace_file::X86PtraceFile;
use hwbkpt_x86::{X86Cpu, X86Profile};

const X86_CODE: u64 = 0x40_0000;
const X86_DATA: u64 = 0x9_0000;

fn x86_machine(build: impl FnOnce(&mut X86Asm)) -> (Machine<X86, HalKernel<X86>>, TaskId) {
    let kernel = HalKernel::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
    let mut m = Machine::new(X86::new(SimX86::GENERIC), kernel, 1);
    let plain = RegionAttributes::default();
    m.memory_mut().map(X86_CODE, 0x1000, plain);
    m.memory_mut().map(X86_DATA, 0x1000, plain);
    let mut asm = X86Asm::new(X86_CODE);
    build(&mut asm);
    asm.finish().unwrap().load(m.memory_mut()).unwrap();
    let mut regs = X86Context::user(X86_CODE);
    regs.set_gpr(Reg::Rbx, X86_DATA);
    let task = m.spawn(regs);
    (m, task)
}

#[test]
fn x86_hit_on_ptrace_slot_2_is_sigtrap_trap_hwbkpt_with_b2() {
    let mut ends = Vec::new();
    let (mut m, task) = x86_machine(|a| {
        a.mov_imm(Reg::Rax, 7)
            .store(Width::B4, Reg::Rax, Mem::base(Reg::Rbx, 0x10));
        ends.push(a.here());
        a.mov_imm(Reg::Rax, 8)
            .store(Width::B4, Reg::Rax, Mem::base(Reg::Rbx, 0x10));
        ends.push(a.here());
        a.end();
    });
    let memory = m.memory().clone();
    let mut file = X86PtraceFile::new(task);
    {
        let dispatcher = &mut m.kernel_mut().dispatcher;
        let mem = &mut MemoryView(&memory);
        file.poke(2, X86_DATA + 0x10, dispatcher, mem).unwrap();
        // L2, R/W2 = 01 (write), LEN2 = 11 (4 bytes).
        file.poke(7, 1 << 4 | 0b1101 << 24, dispatcher, mem)
            .unwrap();
    }
    assert_eq!(
        m.run(task, CpuId(0), 1000).unwrap().stop,
        StopReason::Exited
    );
    // The dispatcher put ptrace slot 2 in the first free register: DR0.
    assert_eq!(
        m.regs(task).unwrap().debug().read(0).unwrap(),
        X86_DATA + 0x10
    );
    let events = m.kernel().events.clone();
    assert_eq!(events.len(), 2);
    for (event, end) in events.iter().zip(ends) {
        // One debug exception per event here; the tracer's view of each.
        let stop = file
            .debug_exception(false, event.pc, core::slice::from_ref(event))
            .unwrap();
        assert_eq!(
            stop,
            SignalRecord {
                signo: 5,
                code: SignalRecord::TRAP_HWBKPT,
                addr: end
            },
            "si_addr is RIP after the store"
        );
        assert_eq!(
            file.peek(6),
            Ok(0xFFFF_0FF0 | 1 << 2),
            "B2, the ptrace slot"
        );
        let EventKind::Hit(hit) = event.kind else {
            panic!("{event:?}")
        };
        assert_eq!(hit.timing, Timing::After);
    }
    // A single step taken in the same exception: TRAP_TRACE, BS and B2.
    let stop = file.debug_exception(true, 0, &events[..1]).unwrap();
    assert_eq!(stop.code, TRAP_TRACE);
    assert_eq!(file.peek(6), Ok(0xFFFF_4FF4));
}

const PPC_CODE: u64 = 0x1000_0000;
const PPC_DATA: u64 = 0x2000_0000;

fn power10(build: impl FnOnce(&mut PpcAsm)) -> (Machine<Ppc64, HalKernel<Ppc64>>, TaskId) {
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

#[test]
fn ppc64_ptrace_stop_is_before_and_one_shot_and_coexists_with_perf() {
    let store = |a: &mut PpcAsm| {
        a.li(4, 0x55).emit(Insn::Store {
            size: Size::B4,
            rs: 4,
            ra: 3,
            d: 0x24,
        });
    };
    let (mut m, task) = power10(|a| {
        store(a);
        store(a);
    });
    let memory = m.memory().clone();
    let mut file = Ppc64PtraceFile::new(task);
    let bp = PpcHwBreakpoint {
        version: 1,
        trigger_type: 0x4,
        addr_mode: PPC_BREAKPOINT_MODE_EXACT,
        addr: PPC_DATA + 0x24,
        ..PpcHwBreakpoint::default()
    };
    let handle = file
        .set_hwdebug(
            &bp,
            &mut m.kernel_mut().dispatcher,
            &mut MemoryView(&memory),
        )
        .unwrap();
    assert_eq!(handle, 1);
    // A perf-style user of the same bytes.
    let perf = register(
        &mut m,
        Request::builder(PPC_DATA + 0x24, 4, AccessKind::WRITE)
            .scope(Scope::Task(task))
            .delivery(Delivery::After)
            .build()
            .unwrap(),
    )
    .unwrap();

    assert_eq!(
        m.run(task, CpuId(0), 1000).unwrap().stop,
        StopReason::Stopped
    );
    let mut word = [0u8; 4];
    m.memory().read(PPC_DATA + 0x24, &mut word).unwrap();
    assert_eq!(word, [0; 4], "stopped before the store");
    let stop = file.debug_exception(&m.kernel().events).unwrap();
    assert_eq!((stop.signo, stop.code), (5, SignalRecord::TRAP_HWBKPT));
    assert!(
        (PPC_DATA + 0x20..PPC_DATA + 0x28).contains(&stop.addr),
        "si_addr {:#x} in the watched doubleword",
        stop.addr
    );
    let ptrace = file.request_id(0).unwrap();
    assert!(!m.kernel().dispatcher.is_enabled(ptrace), "one-shot");

    // Resumed: the store runs; perf hears of it once, after; no second ptrace stop at the
    // second store (still disarmed), but perf hears of that one too.
    assert_eq!(
        m.run(task, CpuId(0), 1000).unwrap().stop,
        StopReason::Exited
    );
    let order: Vec<_> = m.kernel().events.iter().map(|e| e.request).collect();
    assert_eq!(order, vec![ptrace, perf, perf]);
    for e in &m.kernel().events[1..] {
        let EventKind::Hit(hit) = e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(hit.timing, Timing::After);
    }
}

#[test]
fn ppc64_set_debugreg_rearms_after_a_stop() {
    let (mut m, task) = power10(|a| {
        for _ in 0..2 {
            a.li(4, 0x66).emit(Insn::Store {
                size: Size::B8,
                rs: 4,
                ra: 3,
                d: 0x40,
            });
        }
    });
    let memory = m.memory().clone();
    let mut file = Ppc64PtraceFile::new(task);
    let dabr = (PPC_DATA + 0x40) | DABR_BT | DABR_DW;
    file.set_debugreg(
        0,
        dabr,
        &mut m.kernel_mut().dispatcher,
        &mut MemoryView(&memory),
    )
    .unwrap();
    assert_eq!(
        m.run(task, CpuId(0), 1000).unwrap().stop,
        StopReason::Stopped
    );
    // The tracer sets it again (GDB does this at every stop), then resumes. A stopped
    // tracee is off its CPU, so the change is installed when it is switched in again.
    let memory = m.memory().clone();
    file.set_debugreg(
        0,
        dabr,
        &mut m.kernel_mut().dispatcher,
        &mut MemoryView(&memory),
    )
    .unwrap();
    m.preempt(CpuId(0)).unwrap();
    assert_eq!(
        m.run(task, CpuId(0), 1000).unwrap().stop,
        StopReason::Stopped,
        "re-armed: the first store stops again (it has not run yet)"
    );
    let stops = m
        .kernel()
        .events
        .iter()
        .filter(|e| file.slot_of(e.request) == Some(0))
        .count();
    assert_eq!(
        stops, 2,
        "both stops on slot 0 (modified in place: the same request)"
    );
    assert!(file.debug_exception(&m.kernel().events[1..]).is_some());
}
