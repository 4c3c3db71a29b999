//! The PPC64 model on the generic machine: each test runs a small program and checks one rule
//! of the debug hardware end to end (exception timing, registers, memory, trace).

use hwbkpt_hal::{AccessKind, CpuId, InstructionDecode};

use crate::{FaultKind, Machine, RegionAttributes, StopReason, TraceEvent};

use super::dawr::{DAWRX_DR, DAWRX_DW, DAWRX_MRD_SHIFT, DAWRX_WT};
use super::dsisr::{DSISR_DABRMATCH, DSISR_ISSTORE};
use super::msr::{MSR_SE, MSR_USER};
use super::{
    Asm, CpuProfile, DebugRegisters, Insn, Ppc64, Ppc64Context, Ppc64Exception, SYSCALL_VECTOR,
    Size, SteppingKernel,
};

const CODE: u64 = 0x1000_0000;
const DATA: u64 = 0x2000_0000;
const RW_USER: u64 = DAWRX_DR | DAWRX_DW | DAWRX_WT | 0x1;

fn dawr(addr: u64, len: u64, dawrx: u64) -> DebugRegisters {
    DebugRegisters {
        dawr: [addr, 0],
        dawrx: [dawrx | ((len / 8 - 1) << DAWRX_MRD_SHIFT), 0],
        ..DebugRegisters::CLEAR
    }
}

/// A one-CPU machine with code at `CODE`, 8 KiB of data at `DATA` (r3 = DATA), the given
/// debug registers, and the program `build` writes.
fn machine(
    profile: CpuProfile,
    debug: DebugRegisters,
    build: impl FnOnce(&mut Asm),
) -> (Machine<Ppc64, SteppingKernel>, hwbkpt_hal::TaskId) {
    let mut asm = Asm::new(CODE);
    build(&mut asm);
    asm.halt();
    let mut m = Machine::new(Ppc64::new(profile), SteppingKernel::default(), 1);
    m.memory_mut()
        .map(CODE, 0x1000, RegionAttributes::default());
    m.memory_mut()
        .map(DATA, 0x2000, RegionAttributes::default());
    asm.load_into(m.memory_mut()).unwrap();
    let mut regs = Ppc64Context::user(CODE);
    regs.gpr[3] = DATA;
    regs.debug = debug;
    let task = m.spawn(regs);
    (m, task)
}

fn run(m: &mut Machine<Ppc64, SteppingKernel>, task: hwbkpt_hal::TaskId) -> StopReason {
    m.run(task, CpuId(0), 10_000).unwrap().stop
}

#[test]
fn memory_is_big_endian_whatever_the_host() {
    let (mut m, t) = machine(CpuProfile::POWER10, DebugRegisters::CLEAR, |a| {
        a.li(4, 0x0102_0304_0506_0708)
            .emit(Insn::Store {
                size: Size::B8,
                rs: 4,
                ra: 3,
                d: 1,
            })
            .emit(Insn::Load {
                size: Size::B2,
                rt: 5,
                ra: 3,
                d: 1,
            })
            .emit(Insn::Store {
                size: Size::B4,
                rs: 4,
                ra: 3,
                d: 0x20,
            });
    });
    assert_eq!(run(&mut m, t), StopReason::Exited);
    let mut bytes = [0u8; 9];
    m.memory().read(DATA, &mut bytes).unwrap();
    assert_eq!(bytes, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(m.memory().read_uint(DATA + 0x20, 4).unwrap(), 0x0506_0708);
    assert_eq!(m.regs(t).unwrap().gpr[5], 0x0102);
}

/// Power ISA Book III "Data Address Watchpoint": the match raises a data storage interrupt
/// before the access is performed. NIP (SRR0) addresses the instruction, memory is
/// unchanged, DSISR has bit 41 (and bit 38 for a store), DAR the first watched byte.
#[test]
fn dsi_comes_before_the_access_with_dsisr_and_dar() {
    let target = DATA + 0x100;
    let (mut m, t) = machine(CpuProfile::POWER10, dawr(target, 8, RW_USER), |a| {
        a.li(4, 0xAAAA_BBBB).emit(Insn::Store {
            size: Size::B4,
            rs: 4,
            ra: 3,
            d: 0x102,
        });
    });
    let store_pc = CODE + 4 * 4; // li of a 32-bit value: addi, ori, sldi, ori
    // Run until the exception: the kernel hook records it, then steps past.
    assert_eq!(run(&mut m, t), StopReason::Exited);
    let seen = &m.kernel().seen;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].nip, store_pc);
    assert_eq!(
        seen[0].exception,
        Ppc64Exception::DataStorage {
            dsisr: DSISR_DABRMATCH | DSISR_ISSTORE,
            dar: target + 2,
        }
    );
    // The step's trace interrupt comes after the store completed: NIP = next instruction.
    assert_eq!(seen[1].nip, store_pc + 4);
    assert_eq!(
        seen[1].exception,
        Ppc64Exception::Trace {
            single_step: true,
            ciabr: false
        }
    );
    // The trace shows the exception before the access, and the access once.
    let events = m.trace().events();
    let exc = events
        .iter()
        .position(|e| matches!(e, TraceEvent::Exception { .. }))
        .unwrap();
    let acc = events
        .iter()
        .position(|e| matches!(e, TraceEvent::Access(_)))
        .unwrap();
    assert!(exc < acc);
    assert_eq!(m.trace().accesses().count(), 1);
    assert_eq!(m.memory().read_uint(target + 2, 4).unwrap(), 0xAAAA_BBBB);
    // Breakpoints are re-armed after the step.
    assert_eq!(m.regs(t).unwrap().debug, dawr(target, 8, RW_USER));
    assert_eq!(m.regs(t).unwrap().msr & MSR_SE, 0);
}

#[test]
fn a_dsi_leaves_memory_and_nip_unchanged() {
    // A kernel that stops at the exception shows the frame as the hardware left it.
    struct Stop;
    impl crate::Kernel<Ppc64> for Stop {
        fn exception(
            &mut self,
            _: &mut crate::KernelContext<'_, Ppc64>,
            _: &Ppc64Exception,
        ) -> crate::Resume {
            crate::Resume::Stop
        }
    }
    let mut asm = Asm::new(CODE);
    asm.li(4, 0x55)
        .emit(Insn::Store {
            size: Size::B1,
            rs: 4,
            ra: 3,
            d: 7,
        })
        .halt();
    let mut m = Machine::new(Ppc64::new(CpuProfile::POWER8), Stop, 1);
    m.memory_mut()
        .map(CODE, 0x1000, RegionAttributes::default());
    m.memory_mut()
        .map(DATA, 0x1000, RegionAttributes::default());
    asm.load_into(m.memory_mut()).unwrap();
    let mut regs = Ppc64Context::user(CODE);
    regs.gpr[3] = DATA;
    regs.debug = dawr(DATA, 8, DAWRX_DW | DAWRX_WT | 0x1);
    let t = m.spawn(regs);
    assert_eq!(m.run(t, CpuId(0), 100).unwrap().stop, StopReason::Stopped);
    let regs = m.regs(t).unwrap();
    assert_eq!(regs.nip, CODE + 4);
    assert_eq!(
        (regs.dsisr, regs.dar),
        (DSISR_DABRMATCH | DSISR_ISSTORE, DATA + 7)
    );
    assert_eq!(m.memory().read_uint(DATA + 7, 1).unwrap(), 0);
    // The decode hook names the access a kernel would look up (Linux analyse_instr).
    let decoded = m
        .with_task(t, |cx| cx.decode_access(cx.pc()))
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (decoded.addr, decoded.size, decoded.kind),
        (DATA + 7, 1, AccessKind::WRITE)
    );
}

/// Linux `powerpc/ptrace/perf-hwbreak.c`, partial overlap, raw level: a 4-byte read/write watch
/// at target+2 is a DAWR over the doubleword [target, target+8); 2-byte reads and writes at
/// +0, +1, +5, +6 all touch it, so every one of the 8 accesses raises the interrupt (the
/// selftest's 0/2/2/0 comes from the filtering of issue 4).
#[test]
fn perf_hwbreak_partial_overlap_every_access_interrupts() {
    let (mut m, t) = machine(CpuProfile::POWER10, dawr(DATA, 8, RW_USER), |a| {
        for off in [0, 1, 5, 6] {
            a.emit(Insn::Load {
                size: Size::B2,
                rt: 4,
                ra: 3,
                d: off,
            })
            .emit(Insn::Store {
                size: Size::B2,
                rs: 4,
                ra: 3,
                d: off,
            });
        }
    });
    assert_eq!(run(&mut m, t), StopReason::Exited);
    let dars: Vec<u64> = m
        .kernel()
        .seen
        .iter()
        .filter_map(|s| match s.exception {
            Ppc64Exception::DataStorage { dar, .. } => Some(dar - DATA),
            Ppc64Exception::Trace { .. } => None,
        })
        .collect();
    assert_eq!(dars, [0, 0, 1, 1, 5, 5, 6, 6]);
}

#[test]
fn single_step_traps_after_the_next_instruction() {
    let (mut m, t) = machine(CpuProfile::POWER9, DebugRegisters::CLEAR, |a| {
        a.emit(Insn::Addi { rt: 4, ra: 0, d: 7 }).emit(Insn::Nop);
    });
    m.with_task(t, |cx| cx.set_single_step(true)).unwrap();
    assert_eq!(run(&mut m, t), StopReason::Exited);
    let seen = &m.kernel().seen;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].nip, CODE + 4);
    assert_eq!(
        seen[0].exception,
        Ppc64Exception::Trace {
            single_step: true,
            ciabr: false
        }
    );
}

/// CIABR fires after the instruction completes, NIP at the next one (Linux xmon; QEMU fires
/// before, which the model does not copy).
#[test]
fn ciabr_fires_after_completion() {
    let debug = DebugRegisters {
        ciabr: (CODE + 4) | 1,
        ..DebugRegisters::CLEAR
    };
    struct Stop;
    impl crate::Kernel<Ppc64> for Stop {
        fn exception(
            &mut self,
            _: &mut crate::KernelContext<'_, Ppc64>,
            _: &Ppc64Exception,
        ) -> crate::Resume {
            crate::Resume::Stop
        }
    }
    for profile in [CpuProfile::POWER8, CpuProfile::POWER10] {
        let mut asm = Asm::new(CODE);
        asm.emit(Insn::Nop)
            .emit(Insn::Addi { rt: 4, ra: 0, d: 9 })
            .emit(Insn::Nop)
            .halt();
        let mut m = Machine::new(Ppc64::new(profile), Stop, 1);
        m.memory_mut()
            .map(CODE, 0x1000, RegionAttributes::default());
        asm.load_into(m.memory_mut()).unwrap();
        let mut regs = Ppc64Context::user(CODE);
        regs.debug = debug;
        let t = m.spawn(regs);
        assert_eq!(m.run(t, CpuId(0), 100).unwrap().stop, StopReason::Stopped);
        let regs = m.regs(t).unwrap();
        assert_eq!(regs.nip, CODE + 8);
        assert_eq!(regs.gpr[4], 9, "the instruction completed");
        let (_, _, pc, e) = m.trace().exceptions().next().unwrap();
        assert_eq!(
            (pc, *e),
            (
                CODE + 8,
                Ppc64Exception::Trace {
                    single_step: false,
                    ciabr: true
                }
            )
        );
    }
    // POWER7 has no CIABR.
    let (mut m, t) = machine(CpuProfile::POWER7, debug, |a| {
        a.emit(Insn::Nop).emit(Insn::Nop);
    });
    assert_eq!(run(&mut m, t), StopReason::Exited);
    assert!(m.kernel().seen.is_empty());
}

/// The POWER9 erratum as the hazard it is (Linux `Documentation/powerpc/dawr-power9.rst`): with
/// the dangerous switch on, a DAWR match on cache-inhibited memory checkstops the machine.
#[test]
fn power9_dawr_match_on_cache_inhibited_memory_checkstops() {
    let build = |a: &mut Asm| {
        a.emit(Insn::Load {
            size: Size::B8,
            rt: 4,
            ra: 3,
            d: 0,
        });
    };
    let ci = RegionAttributes {
        cache_inhibited: true,
    };
    for (profile, expect) in [
        (CpuProfile::POWER9_DANGEROUS, StopReason::Checkstop),
        (CpuProfile::POWER9, StopReason::Exited), // DAWR unusable: never matches
        (CpuProfile::POWER10, StopReason::Exited), // no erratum: an ordinary DSI
    ] {
        let (mut m, t) = machine(profile, dawr(DATA, 8, RW_USER), build);
        m.memory_mut().map(DATA, 0x1000, ci);
        assert_eq!(run(&mut m, t), expect, "{}", profile.name());
        assert_eq!(m.is_checkstopped(), expect == StopReason::Checkstop);
    }
    // The same access on cacheable memory is an ordinary data storage interrupt.
    let (mut m, t) = machine(CpuProfile::POWER9_DANGEROUS, dawr(DATA, 8, RW_USER), build);
    assert_eq!(run(&mut m, t), StopReason::Exited);
    assert_eq!(m.kernel().seen.len(), 2);
}

/// The 512-byte DAWR and a POWER9 range across a 512-byte boundary compared with POWER10, on
/// the machine: a write to each doubleword of 0x1F0..0x210 from a 32-byte watch at 0x1F0.
#[test]
fn dawr_boundary_on_the_machine() {
    let build = |a: &mut Asm| {
        for d in (0x1E8..0x218).step_by(8) {
            a.emit(Insn::Store {
                size: Size::B8,
                rs: 0,
                ra: 3,
                d,
            });
        }
    };
    let hits = |profile| {
        let (mut m, t) = machine(profile, dawr(DATA + 0x1F0, 32, RW_USER), build);
        assert_eq!(run(&mut m, t), StopReason::Exited);
        m.kernel()
            .seen
            .iter()
            .filter_map(|s| match s.exception {
                Ppc64Exception::DataStorage { dar, .. } => Some(dar - DATA),
                Ppc64Exception::Trace { .. } => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(hits(CpuProfile::POWER9_DANGEROUS), [0x1F0, 0x1F8]);
    assert_eq!(hits(CpuProfile::POWER10), [0x1F0, 0x1F8, 0x200, 0x208]);
    // The 512-byte DAWR: every doubleword of its block, nothing outside.
    let (mut m, t) = machine(CpuProfile::POWER8, dawr(DATA + 0x200, 512, RW_USER), |a| {
        for d in [0x1F8, 0x200, 0x300, 0x3F8, 0x400] {
            a.emit(Insn::Load {
                size: Size::B8,
                rt: 4,
                ra: 3,
                d,
            });
        }
    });
    assert_eq!(run(&mut m, t), StopReason::Exited);
    let dsi = m
        .kernel()
        .seen
        .iter()
        .filter(|s| matches!(s.exception, Ppc64Exception::DataStorage { .. }))
        .count();
    assert_eq!(dsi, 3);
}

#[test]
fn system_call_enters_the_kernel_and_rfid_returns() {
    // The kernel writes into the user's watched buffer: a user-only watch does not match the
    // kernel's access; one with PNH does (Linux ptrace on PPC64 stops on getcwd writing).
    for (privileges, expect_dsi) in [(0x1, false), (0x3, true)] {
        let (mut m, t) = machine(
            CpuProfile::POWER10,
            dawr(DATA, 8, DAWRX_DW | DAWRX_WT | privileges),
            |a| {
                a.emit(Insn::Sc).emit(Insn::Addi { rt: 5, ra: 0, d: 1 });
            },
        );
        m.memory_mut()
            .map(SYSCALL_VECTOR & !0xFFF, 0x1000, RegionAttributes::default());
        let mut k = Asm::new(SYSCALL_VECTOR);
        k.li(6, 0x77)
            .emit(Insn::Store {
                size: Size::B8,
                rs: 6,
                ra: 3,
                d: 0,
            })
            .emit(Insn::Rfid);
        k.load_into(m.memory_mut()).unwrap();
        assert_eq!(run(&mut m, t), StopReason::Exited);
        assert_eq!(m.memory().read_uint(DATA, 8).unwrap(), 0x77);
        let regs = m.regs(t).unwrap();
        assert_eq!((regs.gpr[5], regs.msr), (1, MSR_USER));
        assert_eq!(m.kernel().seen.is_empty(), !expect_dsi);
        let kernel_entries = m
            .trace()
            .events()
            .iter()
            .filter(|e| matches!(e, TraceEvent::KernelEntry { .. }))
            .count();
        assert!(kernel_entries >= 1);
    }
}

/// larx/stcx.: a DSI on either loses the reservation (every interrupt return clears it), so
/// the default kernel disables the breakpoint, like Linux, and the retry loop completes.
#[test]
fn larx_stcx_loop_completes_with_the_breakpoint_disabled() {
    let (mut m, t) = machine(CpuProfile::POWER10, dawr(DATA, 8, RW_USER), |a| {
        a.li(5, 1);
        let top = a.here();
        a.emit(Insn::Larx {
            size: Size::B8,
            rt: 4,
            ra: 3,
            rb: 0,
        })
        .emit(Insn::Add {
            rt: 4,
            ra: 4,
            rb: 5,
        })
        .emit(Insn::Stcx {
            size: Size::B8,
            rs: 4,
            ra: 3,
            rb: 0,
        })
        .bc(super::Cond::Ne, top);
    });
    assert_eq!(run(&mut m, t), StopReason::Exited);
    assert_eq!(m.memory().read_uint(DATA, 8).unwrap(), 1);
    assert_eq!(m.kernel().disabled, [(t, CODE + 4)]);
}

#[test]
fn a_failed_stcx_stores_nothing() {
    let (mut m, t) = machine(CpuProfile::POWER10, DebugRegisters::CLEAR, |a| {
        a.li(4, 9).emit(Insn::Stcx {
            size: Size::B4,
            rs: 4,
            ra: 3,
            rb: 0,
        });
    });
    assert_eq!(run(&mut m, t), StopReason::Exited);
    assert_eq!(m.memory().read_uint(DATA, 4).unwrap(), 0);
    assert_eq!(m.regs(t).unwrap().cr0, 0);
    assert_eq!(m.trace().accesses().count(), 0);
}

#[test]
fn dcbz_zeroes_its_block_and_matches_anywhere_in_it() {
    let (mut m, t) = machine(
        CpuProfile::POWER9_DANGEROUS,
        dawr(DATA + 0xF8, 8, RW_USER),
        |a| {
            a.li(4, 0x93).emit(Insn::Dcbz { ra: 3, rb: 4 });
        },
    );
    m.memory_mut().write(DATA + 0x80, &[0xFF; 0x81]).unwrap();
    assert_eq!(run(&mut m, t), StopReason::Exited);
    let mut block = [1u8; 0x81];
    m.memory().read(DATA + 0x80, &mut block).unwrap();
    assert!(block[..0x80].iter().all(|&b| b == 0));
    assert_eq!(block[0x80], 0xFF);
    assert_eq!(
        m.kernel().seen[0].exception,
        Ppc64Exception::DataStorage {
            dsisr: DSISR_DABRMATCH | DSISR_ISSTORE,
            dar: DATA + 0xF8
        }
    );
    let a = m.trace().accesses().next().unwrap();
    assert_eq!((a.addr, a.size), (DATA + 0x80, 128));
}

#[test]
fn quadword_and_paired_vector_accesses() {
    let (mut m, t) = machine(CpuProfile::POWER10, DebugRegisters::CLEAR, |a| {
        a.li(4, 0x1111)
            .li(5, 0x2222)
            .emit(Insn::Stq {
                rsp: 4,
                ra: 3,
                d: 3,
            })
            .emit(Insn::Lxv { vt: 1, ra: 3, d: 3 })
            .emit(Insn::Stxvp {
                vsp: 0,
                ra: 3,
                d: 0x40,
            })
            .emit(Insn::Lxvp {
                vtp: 2,
                ra: 3,
                d: 0x40,
            })
            .emit(Insn::Lq {
                rtp: 6,
                ra: 3,
                d: 3,
            });
    });
    assert_eq!(run(&mut m, t), StopReason::Exited);
    let r = m.regs(t).unwrap();
    assert_eq!(r.vr[1], 0x1111u128 << 64 | 0x2222);
    assert_eq!((r.gpr[6], r.gpr[7]), (0x1111, 0x2222));
    assert_eq!((r.vr[2], r.vr[3]), (r.vr[0], r.vr[1]));
    // POWER9 has no paired vector instructions: an invalid instruction.
    let (mut m, t) = machine(CpuProfile::POWER9, DebugRegisters::CLEAR, |a| {
        a.emit(Insn::Lxvp {
            vtp: 2,
            ra: 3,
            d: 0,
        });
    });
    assert_eq!(run(&mut m, t), StopReason::Killed);
    let fault = m.trace().events().iter().find_map(|e| match e {
        TraceEvent::Fault { fault, .. } => Some(fault.kind),
        _ => None,
    });
    assert_eq!(fault, Some(FaultKind::InvalidInstruction));
}

#[test]
fn rmw_and_cmpxchg_are_single_read_write_accesses() {
    let (mut m, t) = machine(CpuProfile::POWER10, DebugRegisters::CLEAR, |a| {
        a.li(5, 3)
            .emit(Insn::FetchAdd {
                size: Size::B4,
                rt: 4,
                ra: 3,
                rb: 5,
            })
            .li(6, 99)
            .li(7, 3)
            .emit(Insn::CmpXchg {
                size: Size::B4,
                rt: 6,
                ra: 3,
                rb: 7,
            }) // fails: 3 != 99
            .li(8, 3)
            .li(9, 42)
            .emit(Insn::CmpXchg {
                size: Size::B4,
                rt: 8,
                ra: 3,
                rb: 9,
            }); // succeeds
    });
    assert_eq!(run(&mut m, t), StopReason::Exited);
    assert_eq!(m.memory().read_uint(DATA, 4).unwrap(), 42);
    let kinds: Vec<_> = m.trace().accesses().map(|a| a.kind).collect();
    assert_eq!(kinds, [AccessKind::READ_WRITE; 3]);
    let r = m.regs(t).unwrap();
    assert_eq!((r.gpr[4], r.gpr[6], r.gpr[8]), (0, 3, 3));
}

#[test]
fn faults_for_unmapped_memory_illegal_words_and_privileged_rfid() {
    type Build = fn(&mut Asm);
    let cases: [(Build, FaultKind); 3] = [
        (
            |a| {
                a.emit(Insn::Load {
                    size: Size::B8,
                    rt: 4,
                    ra: 0,
                    d: 0x100,
                });
            },
            FaultKind::Unmapped { addr: 0x100 },
        ),
        (
            |a| {
                a.word(0);
            },
            FaultKind::InvalidInstruction,
        ),
        (
            |a| {
                a.emit(Insn::Rfid);
            },
            FaultKind::Privileged,
        ),
    ];
    for (build, kind) in cases {
        let (mut m, t) = machine(CpuProfile::POWER10, DebugRegisters::CLEAR, build);
        assert_eq!(run(&mut m, t), StopReason::Killed);
        let fault = m.trace().events().iter().find_map(|e| match e {
            TraceEvent::Fault { fault, .. } => Some(fault.kind),
            _ => None,
        });
        assert_eq!(fault, Some(kind));
    }
}

#[test]
fn branches_calls_and_returns() {
    let (mut m, t) = machine(CpuProfile::POWER10, DebugRegisters::CLEAR, |a| {
        let func = CODE + 4 * 8;
        a.li(4, 0).li(5, 3).li(6, 1); // 3 words
        let top = a.here();
        a.bl(func) // r4 += 1
            .emit(Insn::Cmpd { ra: 4, rb: 5 })
            .bc(super::Cond::Lt, top)
            .halt();
        while a.here() < func {
            a.emit(Insn::Nop);
        }
        a.emit(Insn::Add {
            rt: 4,
            ra: 4,
            rb: 6,
        })
        .emit(Insn::Blr);
    });
    assert_eq!(run(&mut m, t), StopReason::Exited);
    assert_eq!(m.regs(t).unwrap().gpr[4], 3);
}

/// The kernel-mode interlock (DESIGN §2): kernel code cannot be single-stepped, so the kernel
/// emulates the instruction (Linux `emulate_step`) with the debug hardware out of the way.
#[test]
fn kernel_mode_hit_is_emulated_without_further_interrupts() {
    use hwbkpt_hal::InstructionEmulate;
    #[derive(Default)]
    struct Emulating(Vec<Ppc64Exception>);
    impl crate::Kernel<Ppc64> for Emulating {
        fn exception(
            &mut self,
            cx: &mut crate::KernelContext<'_, Ppc64>,
            e: &Ppc64Exception,
        ) -> crate::Resume {
            self.0.push(*e);
            let pc = cx.pc();
            cx.emulate(pc).unwrap();
            crate::Resume::Continue
        }
    }
    let mut asm = Asm::new(CODE);
    asm.li(4, 0x66)
        .emit(Insn::Store {
            size: Size::B8,
            rs: 4,
            ra: 3,
            d: 0,
        })
        .emit(Insn::Load {
            size: Size::B8,
            rt: 5,
            ra: 3,
            d: 0,
        })
        .halt();
    let mut m = Machine::new(Ppc64::new(CpuProfile::POWER10), Emulating::default(), 1);
    m.memory_mut()
        .map(CODE, 0x1000, RegionAttributes::default());
    m.memory_mut()
        .map(DATA, 0x1000, RegionAttributes::default());
    asm.load_into(m.memory_mut()).unwrap();
    let mut regs = Ppc64Context::kernel(CODE);
    regs.gpr[3] = DATA;
    // Kernel-only (PNH) read/write watch.
    let debug = dawr(DATA, 8, DAWRX_DR | DAWRX_DW | DAWRX_WT | 0x2);
    regs.debug = debug;
    let t = m.spawn(regs);
    assert_eq!(m.run(t, CpuId(0), 100).unwrap().stop, StopReason::Exited);
    // One interrupt per access, each emulated: the store happened once, the load read it.
    assert_eq!(m.kernel().0.len(), 2);
    assert_eq!(m.memory().read_uint(DATA, 8).unwrap(), 0x66);
    let r = m.regs(t).unwrap();
    assert_eq!((r.gpr[5], r.debug, r.msr & MSR_SE), (0x66, debug, 0));
    assert_eq!(m.trace().accesses().count(), 2);
    // `sc` and `rfid` are not emulated.
    let mut asm = Asm::new(CODE);
    asm.emit(Insn::Rfid);
    asm.load_into(m.memory_mut()).unwrap();
    let err = m.with_task(t, |cx| cx.emulate(CODE)).unwrap().unwrap_err();
    assert_eq!(err, hwbkpt_hal::EmulateError::Unsupported { pc: CODE });
}

/// DESIGN §2: a step pending across preemption, migration to another CPU and an interrupt
/// between the hit and the step. The debug registers and MSR[SE] live in the task's context,
/// which the machine saves and restores, so the trace interrupt comes after the stepped
/// instruction on the new CPU and re-arms there.
#[test]
fn pending_step_survives_preemption_migration_and_interrupts() {
    let debug = dawr(DATA, 8, RW_USER);
    let mut asm = Asm::new(CODE);
    asm.li(4, 0x42)
        .emit(Insn::Store {
            size: Size::B8,
            rs: 4,
            ra: 3,
            d: 0,
        })
        .emit(Insn::Load {
            size: Size::B8,
            rt: 5,
            ra: 3,
            d: 0,
        })
        .halt();
    let mut m = Machine::new(
        Ppc64::new(CpuProfile::POWER10),
        SteppingKernel::default(),
        2,
    );
    m.memory_mut()
        .map(CODE, 0x1000, RegionAttributes::default());
    m.memory_mut()
        .map(DATA, 0x1000, RegionAttributes::default());
    asm.load_into(m.memory_mut()).unwrap();
    let mut regs = Ppc64Context::user(CODE);
    regs.gpr[3] = DATA;
    regs.debug = debug;
    let t = m.spawn(regs);
    // `li` and the store's DSI: the kernel disarmed and asked for a step.
    m.run(t, CpuId(0), 2).unwrap();
    assert!(m.kernel().step_pending(t));
    assert_eq!(m.memory().read_uint(DATA, 8).unwrap(), 0);
    m.interrupt(CpuId(0)).unwrap();
    m.preempt(CpuId(0)).unwrap();
    m.migrate(t, CpuId(1)).unwrap();
    assert_eq!(m.run(t, CpuId(1), 100).unwrap().stop, StopReason::Exited);
    let kinds: Vec<_> = m
        .kernel()
        .seen
        .iter()
        .map(|s| (s.nip, s.exception))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                CODE + 4,
                Ppc64Exception::DataStorage {
                    dsisr: DSISR_DABRMATCH | DSISR_ISSTORE,
                    dar: DATA
                }
            ),
            (
                CODE + 8,
                Ppc64Exception::Trace {
                    single_step: true,
                    ciabr: false
                }
            ),
            // Re-armed: the load hits too, on CPU 1.
            (
                CODE + 8,
                Ppc64Exception::DataStorage {
                    dsisr: DSISR_DABRMATCH,
                    dar: DATA
                }
            ),
            (
                CODE + 12,
                Ppc64Exception::Trace {
                    single_step: true,
                    ciabr: false
                }
            ),
        ]
    );
    assert_eq!(m.regs(t).unwrap().gpr[5], 0x42);
    let store_cpu = m.trace().accesses().next().unwrap().cpu;
    assert_eq!(store_cpu, CpuId(1));
}

/// DAWRX WT / DABR BT against `MSR[DR]`, and HYP against `MSR[HV]`, on running code.
#[test]
fn translation_and_hypervisor_bits_on_the_machine() {
    use super::msr::{MSR_DR, MSR_HV, MSR_KERNEL};
    let run_with = |profile: CpuProfile, debug: DebugRegisters, msr: u64| {
        let mut asm = Asm::new(CODE);
        asm.emit(Insn::Load {
            size: Size::B4,
            rt: 4,
            ra: 3,
            d: 4,
        })
        .halt();
        let mut m = Machine::new(Ppc64::new(profile), SteppingKernel::default(), 1);
        m.memory_mut()
            .map(CODE, 0x1000, RegionAttributes::default());
        m.memory_mut()
            .map(DATA, 0x1000, RegionAttributes::default());
        asm.load_into(m.memory_mut()).unwrap();
        let mut regs = Ppc64Context::with_msr(CODE, msr);
        regs.gpr[3] = DATA;
        regs.debug = debug;
        let t = m.spawn(regs);
        assert_eq!(m.run(t, CpuId(0), 100).unwrap().stop, StopReason::Exited);
        m.kernel().seen.len()
    };
    let p10 = CpuProfile::POWER10;
    // WT = 1 matches only with translation on.
    assert_eq!(run_with(p10, dawr(DATA, 8, RW_USER), MSR_USER), 2);
    assert_eq!(run_with(p10, dawr(DATA, 8, RW_USER), MSR_USER & !MSR_DR), 0);
    // WTI ignores it.
    let wti = DAWRX_DR | 0x8 | 0x1;
    assert_eq!(run_with(p10, dawr(DATA, 8, wti), MSR_USER & !MSR_DR), 2);
    // HYP only: hypervisor state matches, privileged non-hypervisor does not.
    let hyp = DAWRX_DR | DAWRX_WT | 0x4;
    assert_eq!(run_with(p10, dawr(DATA, 8, hyp), MSR_KERNEL | MSR_HV), 2);
    assert_eq!(run_with(p10, dawr(DATA, 8, hyp), MSR_KERNEL), 0);
    // POWER7 DABR: BT = 0 matches only in real mode (MSR[DR] = 0).
    let dabr = DebugRegisters {
        dabr: DATA | 0x1,
        dabrx: 0x1,
        ..DebugRegisters::CLEAR
    };
    assert_eq!(run_with(CpuProfile::POWER7, dabr, MSR_USER), 0);
    assert_eq!(run_with(CpuProfile::POWER7, dabr, MSR_USER & !MSR_DR), 2);
}

/// DESIGN §2: the PC changed while a step is pending (signal delivery, ptrace setting the PC):
/// the default kernel cancels the step and re-arms, so the breakpoint fires again at the new PC.
#[test]
fn pc_change_cancels_the_pending_step_and_rearms() {
    let debug = dawr(DATA, 8, RW_USER);
    let (mut m, t) = machine(CpuProfile::POWER10, debug, |a| {
        a.emit(Insn::Store {
            size: Size::B8,
            rs: 0,
            ra: 3,
            d: 0,
        }) // hit, then PC moved
        .emit(Insn::Nop)
        .emit(Insn::Load {
            size: Size::B8,
            rt: 4,
            ra: 3,
            d: 0,
        }); // the new PC: hits too
    });
    m.run(t, CpuId(0), 1).unwrap();
    assert!(m.kernel().step_pending(t));
    m.set_pc(t, CODE + 8).unwrap();
    assert!(!m.kernel().step_pending(t));
    let regs = m.regs(t).unwrap();
    assert_eq!((regs.debug, regs.msr & MSR_SE), (debug, 0));
    assert_eq!(run(&mut m, t), StopReason::Exited);
    let nips: Vec<u64> = m.kernel().seen.iter().map(|s| s.nip).collect();
    // The store's DSI, then the load's DSI and its step; the store never ran.
    assert_eq!(nips, [CODE, CODE + 8, CODE + 12]);
    assert_eq!(m.trace().accesses().count(), 1);
}
