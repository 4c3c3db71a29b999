//! Incidents Linux learned from, replayed on the simulated CPUs with the HAL as the kernel.
//!
//! - CVE-2018-8897: MOV SS / POP SS holds a #DB past the next instruction; followed by
//!   `syscall`, the user watchpoint's #DB arrives at the first kernel instruction, at CPL 0.
//!   The HAL must not deliver a user event in kernel context, must not recurse, and the task
//!   must go on: the kernel hands the held #DB to `Dispatcher::handle_held_exception`, which
//!   attributes the hit to the user access and keeps the event until `return_to_user`.
//! - A watch on a registered exception stack is refused, whatever its origin.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use hwbkpt::{
    AccessKind, AddressRange, CpuId, DispatchError, EventKind, ForbiddenRegion, Forbids, Origin,
    PrivilegeFilter, Request, RequestError, Scope,
};
use hwbkpt_sim::x86::{Asm, Insn, Mem, Reg, X86, X86Context, X86Profile as SimProfile};
use hwbkpt_sim::{Machine, RegionAttributes, StopReason, TraceEvent};
use hwbkpt_sim_cli::bridge::{HalKernel, register};
use hwbkpt_x86::{X86Cpu, X86Profile};

const CODE: u64 = 0x40_0000;
const DATA: u64 = 0x9_0000;
const STACK_TOP: u64 = 0x7fff_0000;

fn machine(build: impl FnOnce(&mut Asm)) -> (Machine<X86, HalKernel<X86>>, hwbkpt::TaskId) {
    let kernel = HalKernel::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
    let mut m = Machine::new(X86::new(SimProfile::GENERIC), kernel, 1);
    let plain = RegionAttributes::default();
    m.memory_mut().map(CODE, 0x1000, plain);
    m.memory_mut().map(DATA, 0x1000, plain);
    m.memory_mut().map(STACK_TOP - 0x1000, 0x1000, plain);
    m.memory_mut()
        .map(X86::DEFAULT_SYSCALL_ENTRY, 0x1000, plain);
    let mut user = Asm::new(CODE);
    build(&mut user);
    user.finish().unwrap().load(m.memory_mut()).unwrap();
    let mut entry = Asm::new(X86::DEFAULT_SYSCALL_ENTRY);
    entry.mov_imm(Reg::Rax, 0).emit(Insn::Sysret);
    entry.finish().unwrap().load(m.memory_mut()).unwrap();
    m.memory_mut().write_uint(DATA, 2, 0x2b).unwrap();
    let mut regs = X86Context::user(CODE);
    regs.set_gpr(Reg::Rsp, STACK_TOP);
    regs.set_gpr(Reg::Rbx, DATA);
    let task = m.spawn(regs);
    (m, task)
}

#[test]
fn mov_ss_then_syscall_attributes_the_hit_and_delivers_it_on_return_to_user() {
    let (mut m, task) = machine(|a| {
        a.emit(Insn::MovSsMem(Mem::base(Reg::Rbx, 0)))
            .syscall()
            .end();
    });
    let watch = Request::builder(DATA, 2, AccessKind::READ_WRITE)
        .scope(Scope::Task(task))
        .privilege(PrivilegeFilter::USER)
        .build()
        .unwrap();
    register(&mut m, watch).unwrap();
    assert_eq!(
        m.run(task, CpuId(0), 1000).unwrap().stop,
        StopReason::Exited,
        "no recursion"
    );

    let debug_exceptions = m
        .trace()
        .events()
        .iter()
        .filter(
            |e| matches!(e, TraceEvent::Exception { pc, .. } if *pc == X86::DEFAULT_SYSCALL_ENTRY),
        )
        .count();
    assert_eq!(
        debug_exceptions, 1,
        "the held #DB arrives once, at the kernel entry"
    );
    let kernel = m.kernel();
    let stats = kernel.dispatcher.statistics();
    assert_eq!(
        stats.held_events, 1,
        "held at the kernel entry, not delivered there"
    );
    assert_eq!(
        stats.stray_hits, 0,
        "attributed to the user access, not a stray"
    );
    let hits: Vec<_> = kernel
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Hit(_)))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "delivered once, at the return to user: {:?}",
        kernel.events
    );
    assert_eq!(hits[0].task, task);
    assert_eq!(
        hits[0].pc,
        X86::DEFAULT_SYSCALL_ENTRY,
        "the frame it was taken with"
    );
    assert!(kernel.errors.is_empty());
}

#[test]
fn a_watch_on_a_registered_exception_stack_is_refused_for_every_origin() {
    let (mut m, task) = machine(|a| {
        a.end();
    });
    let stack = AddressRange::new(0xffff_fe00_0001_0000, 0x2000).unwrap();
    m.kernel_mut()
        .dispatcher
        .forbid(
            ForbiddenRegion {
                range: stack,
                what: "#DB exception stack",
            },
            Forbids::Everything,
        )
        .unwrap();
    for origin in [Origin::User, Origin::Kernel] {
        let request = Request::builder(0xffff_fe00_0001_1ff8, 8, AccessKind::WRITE)
            .scope(Scope::Task(task))
            .origin(origin)
            .build()
            .unwrap();
        assert!(matches!(
            register(&mut m, request),
            Err(DispatchError::Request(RequestError::ForbiddenRange {
                region: "#DB exception stack",
                ..
            }))
        ));
    }
}

/// CVE-2018-1000199 (issue 8): Linux's `modify_user_hw_breakpoint` disabled the breakpoint
/// before validating the new attributes and, when they were refused (a user breakpoint
/// moved to a kernel address), left it in a state a later re-enable armed on the kernel
/// address. Through the ptrace-compatible file on the HAL, a refused modification must
/// leave everything as it was: the same readback, the same request, the simulated CPU's
/// debug registers bit-identical to a machine that never saw the refused write, and the
/// old watch still firing.
#[test]
fn a_refused_move_to_a_kernel_address_keeps_the_old_watch_cve_2018_1000199() {
    use hwbkpt::ptrace::Errno;
    use hwbkpt_sim::x86::Width;
    use hwbkpt_sim_cli::bridge::MemoryView;
    use hwbkpt_x86::ptrace_file::X86PtraceFile;

    const DR7_L0_WRITE_8: u64 = 0x1 | 0b1001 << 16;
    let run = |refused_moves: &[u64]| {
        let (mut m, task) = machine(|a| {
            a.mov_imm(Reg::Rax, 0x1111)
                .store(Width::B8, Reg::Rax, Mem::base(Reg::Rbx, 0))
                .mov_imm(Reg::Rax, 0x2222)
                .store(Width::B8, Reg::Rax, Mem::base(Reg::Rbx, 0))
                .end();
        });
        let memory = m.memory().clone();
        let mut file = X86PtraceFile::new(task);
        let dispatcher = &mut m.kernel_mut().dispatcher;
        let mem = &mut MemoryView(&memory);
        file.poke(0, DATA, dispatcher, mem).unwrap();
        file.poke(7, DR7_L0_WRITE_8, dispatcher, mem).unwrap();
        let (readback, id) = (file.readback(), file.request_id(0).unwrap());
        let request = *dispatcher.request(id).unwrap();
        for &kernel in refused_moves {
            assert_eq!(file.poke(0, kernel, dispatcher, mem), Err(Errno::EINVAL));
            assert_eq!(file.readback(), readback, "{kernel:#x}: readback unchanged");
            assert_eq!(file.request_id(0), Some(id), "{kernel:#x}: same request");
            assert_eq!(dispatcher.request(id), Some(&request));
            assert!(dispatcher.is_enabled(id));
            // Re-writing the same DR7 (what a debugger does next) re-arms the old address.
            file.poke(7, DR7_L0_WRITE_8, dispatcher, mem).unwrap();
            assert_eq!(file.readback(), readback);
            // The CVE's own order: disable (L0 off, fields kept), move (refused), enable
            // again. The slot's disabled request keeps the old address, and so does the
            // re-enable.
            file.poke(7, DR7_L0_WRITE_8 & !1, dispatcher, mem).unwrap();
            assert!(!dispatcher.is_enabled(id));
            assert_eq!(file.poke(0, kernel, dispatcher, mem), Err(Errno::EINVAL));
            assert_eq!(dispatcher.request(id), Some(&request));
            file.poke(7, DR7_L0_WRITE_8, dispatcher, mem).unwrap();
            assert_eq!(file.readback(), readback);
            assert_eq!(
                file.request_id(0),
                Some(id),
                "{kernel:#x}: same reservation"
            );
            assert!(dispatcher.is_enabled(id));
        }
        assert_eq!(
            m.run(task, CpuId(0), 1000).unwrap().stop,
            StopReason::Exited
        );
        let registers: Vec<u64> = (0..8)
            .map(|n| m.regs(task).unwrap().debug().read(n).unwrap_or(u64::MAX))
            .collect();
        let hits: Vec<(u64, Vec<u8>)> = m
            .kernel()
            .events
            .iter()
            .filter(|e| e.request == file.request_id(0).unwrap())
            .filter_map(|e| match e.kind {
                EventKind::Hit(hit) => Some((e.pc, hit.values.unwrap().new_value().to_vec())),
                EventKind::Disabled(_) => None,
            })
            .collect();
        assert!(m.kernel().errors.is_empty());
        (registers, hits)
    };
    let control = run(&[]);
    assert_eq!(control.1.len(), 2, "both stores hit: {:?}", control.1);
    assert!(control.0.contains(&DATA), "armed: {:x?}", control.0);
    let refused = run(&[
        0xffff_8000_0000_0000,
        0xffff_ffff_8100_0000,
        0xffff_ffff_ff60_0000,
        0x7FFF_FFFF_F000,
        0x8000_0000_0000_0000,
    ]);
    assert_eq!(refused.0, control.0, "debug registers bit-identical");
    assert_eq!(refused.1, control.1, "the old watch fires as before");
}
