//! Property tests of the PPC64 model: breakpoints never change what a program computes, the
//! decode hook names exactly the access execution makes, and no register image or
//! instruction word makes the machine panic.

use hwbkpt_hal::{AccessClass, CpuId, InstructionDecode, TaskId};
use proptest::prelude::*;

use crate::{Machine, RandomPolicy, RegionAttributes, StopReason, TraceEvent};

use super::{
    Asm, Cond, CpuProfile, DebugRegisters, Insn, Ppc64, Ppc64Context, SYSCALL_VECTOR, Size,
    SteppingKernel,
};

const CODE: u64 = 0x1000_0000;
/// Each task's data area: 0x1000 bytes at `DATA + task * 0x1_0000`.
const DATA: u64 = 0x2000_0000;
const AREA: u64 = 0x1_0000;
/// Registers: r3 = data base, r4..=r10 values, r11 scratch address, r13 loop temp; r0 = 0.
const VALUES: core::ops::RangeInclusive<u8> = 4..=10;

/// One step of a generated program, in terms a counterexample reads easily.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// `addi rt, rt, imm`.
    Compute {
        rt: u8,
        imm: i16,
    },
    Load {
        size: Size,
        rt: u8,
        off: i16,
    },
    Store {
        size: Size,
        rs: u8,
        off: i16,
    },
    Lq {
        rtp: u8,
        off: i16,
    },
    Stq {
        rsp: u8,
        off: i16,
    },
    Lxv {
        v: u8,
        off: i16,
    },
    Stxv {
        v: u8,
        off: i16,
    },
    /// POWER10 only (the generator knows the profile).
    Lxvp {
        v: u8,
        off: i16,
    },
    Stxvp {
        v: u8,
        off: i16,
    },
    FetchAdd {
        size: Size,
        rt: u8,
        rb: u8,
        off: i16,
    },
    CmpXchg {
        size: Size,
        rt: u8,
        rb: u8,
        off: i16,
    },
    /// A `larx`/`add`/`stcx.`/`bne` atomic-increment retry loop.
    AtomicAdd {
        size: Size,
        rb: u8,
        off: i16,
    },
    Dcbz {
        off: i16,
    },
    /// `sc` into kernel code that stores r4 at the data base + 0x3F0 and returns.
    Syscall,
}

fn op_strategy(paired: bool) -> impl Strategy<Value = Op> {
    let size = prop::sample::select(Size::ALL.to_vec());
    let reg = VALUES;
    let pair = prop::sample::select(vec![4u8, 6, 8]);
    let vreg = 0u8..8;
    let vpair = prop::sample::select(vec![0u8, 2, 4, 6]);
    let off = 0i16..0x3C0;
    let mut ops = vec![
        (reg.clone(), any::<i16>())
            .prop_map(|(rt, imm)| Op::Compute { rt, imm })
            .boxed(),
        (size.clone(), reg.clone(), off.clone())
            .prop_map(|(size, rt, off)| Op::Load { size, rt, off })
            .boxed(),
        (size.clone(), reg.clone(), off.clone())
            .prop_map(|(size, rs, off)| Op::Store { size, rs, off })
            .boxed(),
        (pair.clone(), off.clone())
            .prop_map(|(rtp, off)| Op::Lq { rtp, off })
            .boxed(),
        (pair, off.clone())
            .prop_map(|(rsp, off)| Op::Stq { rsp, off })
            .boxed(),
        (vreg.clone(), off.clone())
            .prop_map(|(v, off)| Op::Lxv { v, off })
            .boxed(),
        (vreg, off.clone())
            .prop_map(|(v, off)| Op::Stxv { v, off })
            .boxed(),
        (size.clone(), reg.clone(), reg.clone(), off.clone())
            .prop_map(|(size, rt, rb, off)| Op::FetchAdd { size, rt, rb, off })
            .boxed(),
        (size.clone(), reg.clone(), reg.clone(), off.clone())
            .prop_map(|(size, rt, rb, off)| Op::CmpXchg { size, rt, rb, off })
            .boxed(),
        (size, reg, off.clone())
            .prop_map(|(size, rb, off)| Op::AtomicAdd { size, rb, off })
            .boxed(),
        off.clone().prop_map(|off| Op::Dcbz { off }).boxed(),
        Just(Op::Syscall).boxed(),
    ];
    if paired {
        ops.push(
            (vpair.clone(), off.clone())
                .prop_map(|(v, off)| Op::Lxvp { v, off })
                .boxed(),
        );
        ops.push(
            (vpair, off)
                .prop_map(|(v, off)| Op::Stxvp { v, off })
                .boxed(),
        );
    }
    prop::strategy::Union::new(ops)
}

/// A program: its ops and the instruction addresses that lie inside `larx`/`stcx.` loops
/// (a CIABR there would livelock the loop, on real hardware as here).
struct Program {
    asm: Asm,
    loop_addrs: Vec<u64>,
}

fn assemble(ops: &[Op]) -> Program {
    let mut a = Asm::new(CODE);
    let mut loop_addrs = Vec::new();
    for r in VALUES {
        a.li(r, 0x0101_0101_0101_0101u64.wrapping_mul(u64::from(r)));
    }
    for &op in ops {
        match op {
            Op::Compute { rt, imm } => {
                a.emit(Insn::Addi { rt, ra: rt, d: imm });
            }
            Op::Load { size, rt, off } => {
                a.emit(Insn::Load {
                    size,
                    rt,
                    ra: 3,
                    d: off,
                });
            }
            Op::Store { size, rs, off } => {
                a.emit(Insn::Store {
                    size,
                    rs,
                    ra: 3,
                    d: off,
                });
            }
            Op::Lq { rtp, off } => {
                a.emit(Insn::Lq { rtp, ra: 3, d: off });
            }
            Op::Stq { rsp, off } => {
                a.emit(Insn::Stq { rsp, ra: 3, d: off });
            }
            Op::Lxv { v, off } => {
                a.emit(Insn::Lxv {
                    vt: v,
                    ra: 3,
                    d: off,
                });
            }
            Op::Stxv { v, off } => {
                a.emit(Insn::Stxv {
                    vs: v,
                    ra: 3,
                    d: off,
                });
            }
            Op::Lxvp { v, off } => {
                a.emit(Insn::Lxvp {
                    vtp: v,
                    ra: 3,
                    d: off,
                });
            }
            Op::Stxvp { v, off } => {
                a.emit(Insn::Stxvp {
                    vsp: v,
                    ra: 3,
                    d: off,
                });
            }
            Op::FetchAdd { size, rt, rb, off } => {
                a.emit(Insn::Addi {
                    rt: 11,
                    ra: 3,
                    d: off,
                });
                a.emit(Insn::FetchAdd {
                    size,
                    rt,
                    ra: 11,
                    rb,
                });
            }
            Op::CmpXchg { size, rt, rb, off } => {
                a.emit(Insn::Addi {
                    rt: 11,
                    ra: 3,
                    d: off,
                });
                a.emit(Insn::CmpXchg {
                    size,
                    rt,
                    ra: 11,
                    rb,
                });
            }
            Op::AtomicAdd { size, rb, off } => {
                a.emit(Insn::Addi {
                    rt: 11,
                    ra: 3,
                    d: off,
                });
                let top = a.here();
                a.emit(Insn::Larx {
                    size,
                    rt: 13,
                    ra: 11,
                    rb: 0,
                })
                .emit(Insn::Add { rt: 13, ra: 13, rb })
                .emit(Insn::Stcx {
                    size,
                    rs: 13,
                    ra: 11,
                    rb: 0,
                })
                .bc(Cond::Ne, top);
                loop_addrs.extend((0..4).map(|i| top + 4 * i));
            }
            Op::Dcbz { off } => {
                a.emit(Insn::Addi {
                    rt: 11,
                    ra: 3,
                    d: off,
                });
                a.emit(Insn::Dcbz { ra: 11, rb: 0 });
            }
            Op::Syscall => {
                a.emit(Insn::Sc);
            }
        }
    }
    a.halt();
    Program { asm: a, loop_addrs }
}

fn kernel_code() -> Asm {
    let mut k = Asm::new(SYSCALL_VECTOR);
    k.emit(Insn::Store {
        size: Size::B8,
        rs: 4,
        ra: 3,
        d: 0x3F0,
    })
    .emit(Insn::Rfid);
    k
}

/// A machine with `cpus` CPUs running `program` once per entry of `debug` (one task each,
/// with its own data area and debug registers).
fn machine(
    profile: CpuProfile,
    program: &Program,
    debug: &[DebugRegisters],
    cpus: u32,
) -> (Machine<Ppc64, SteppingKernel>, Vec<TaskId>) {
    let mut m = Machine::new(Ppc64::new(profile), SteppingKernel::default(), cpus);
    m.memory_mut()
        .map(CODE, 0x1_0000, RegionAttributes::default());
    m.memory_mut()
        .map(SYSCALL_VECTOR & !0xFFF, 0x1000, RegionAttributes::default());
    program.asm.load_into(m.memory_mut()).unwrap();
    kernel_code().load_into(m.memory_mut()).unwrap();
    let tasks = debug
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let base = DATA + AREA * i as u64;
            m.memory_mut()
                .map(base, 0x1000, RegionAttributes::default());
            let mut regs = Ppc64Context::user(CODE);
            regs.gpr[3] = base;
            regs.debug = *d;
            m.spawn(regs)
        })
        .collect();
    (m, tasks)
}

/// Debug registers aimed at a data area (so that they hit), with random enables, privilege
/// and translation bits — reserved bits included.
fn debug_strategy(
    program_len: u64,
    loop_addrs: Vec<u64>,
) -> impl Strategy<Value = DebugRegisters> + Clone {
    let addr = (0u64..0x400).prop_map(|off| DATA + off);
    let ciabr = (0..program_len.max(1), 0u64..4).prop_map(move |(i, privilege)| {
        let at = CODE + 4 * i;
        if loop_addrs.contains(&at) {
            0
        } else {
            at | privilege
        }
    });
    (
        addr.clone(),
        any::<u64>(),
        [addr.clone(), addr],
        any::<[u64; 2]>(),
        ciabr,
    )
        .prop_map(
            |(dabr_addr, dabr_bits, dawr, dawrx, ciabr)| DebugRegisters {
                dabr: dabr_addr | (dabr_bits & 7),
                dabrx: dabr_bits >> 8,
                dawr,
                dawrx,
                ciabr,
            },
        )
}

fn profile_strategy() -> impl Strategy<Value = CpuProfile> {
    prop::sample::select(CpuProfile::ALL.to_vec())
}

fn programs() -> impl Strategy<Value = (CpuProfile, Vec<Op>)> {
    profile_strategy().prop_flat_map(|p| {
        (
            Just(p),
            prop::collection::vec(op_strategy(p.has_paired_vector()), 1..24),
        )
    })
}

/// Data area contents and register files of every task.
fn results(
    m: &Machine<Ppc64, SteppingKernel>,
    tasks: &[TaskId],
) -> Vec<(Vec<u8>, [u64; 32], [u128; 32])> {
    tasks
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let mut bytes = vec![0u8; 0x1000];
            m.memory().read(DATA + AREA * i as u64, &mut bytes).unwrap();
            let regs = m.regs(t).unwrap();
            (bytes, regs.gpr, regs.vr)
        })
        .collect()
}

fn run_to_end(m: &mut Machine<Ppc64, SteppingKernel>, tasks: &[TaskId]) {
    for &t in tasks {
        if m.task(t).is_some_and(|task| task.state.is_alive()) {
            let out = m.run(t, CpuId(0), 100_000).unwrap();
            assert_eq!(out.stop, StopReason::Exited);
        }
    }
}

proptest! {
    /// DESIGN §2 / issue 3: breakpoints never change what a program computes. The default
    /// kernel steps past each data hit (disarm, MSR[SE], re-arm on the trace interrupt) and
    /// disables breakpoints hit by `larx`/`stcx.`, as Linux does; CIABR and stray trace
    /// interrupts just continue.
    #[test]
    fn armed_breakpoints_do_not_change_results(
        (profile, ops, debug) in programs().prop_flat_map(|(p, ops)| {
            let prog = assemble(&ops);
            let len = prog.asm.len() as u64;
            (Just(p), Just(ops), debug_strategy(len, prog.loop_addrs))
        })
    ) {
        let program = assemble(&ops);
        let (mut plain, tp) = machine(profile, &program, &[DebugRegisters::CLEAR], 1);
        run_to_end(&mut plain, &tp);
        let (mut armed, ta) = machine(profile, &program, &[debug], 1);
        run_to_end(&mut armed, &ta);
        prop_assert_eq!(results(&plain, &tp), results(&armed, &ta));
        // The trace holds the same stores: a DSI comes before the access, which then happens
        // once. (Loads may repeat: an atomic loop whose `larx`/`stcx.` hit retries after the
        // interrupt lost its reservation, and re-reads.)
        let stores = |m: &Machine<Ppc64, SteppingKernel>| {
            m.trace()
                .accesses()
                .filter(|a| a.kind.contains(hwbkpt_hal::AccessKind::WRITE))
                .map(|a| (a.addr, a.size, a.kind, a.after.clone()))
                .collect::<Vec<_>>()
        };
        prop_assert_eq!(stores(&plain), stores(&armed));
    }

    /// The same with two tasks on two CPUs under a seeded random schedule: preemption,
    /// migration and interrupts while a step is pending change nothing either.
    #[test]
    fn armed_breakpoints_do_not_change_results_under_scheduling(
        (profile, ops, debug) in programs().prop_flat_map(|(p, ops)| {
            let prog = assemble(&ops);
            let len = prog.asm.len() as u64;
            let d = debug_strategy(len, prog.loop_addrs);
            (Just(p), Just(ops), [d.clone(), d])
        }),
        seed in any::<u64>(),
    ) {
        let program = assemble(&ops);
        // Each task's watch addresses point into its own data area.
        let debug = [debug[0], DebugRegisters {
            dabr: debug[1].dabr.wrapping_add(AREA),
            dawr: [debug[1].dawr[0] + AREA, debug[1].dawr[1] + AREA],
            ..debug[1]
        }];
        let (mut plain, tp) = machine(profile, &program, &[DebugRegisters::CLEAR; 2], 2);
        plain.run_random(&mut RandomPolicy::new(seed), 200);
        run_to_end(&mut plain, &tp);
        let (mut armed, ta) = machine(profile, &program, &debug, 2);
        armed.run_random(&mut RandomPolicy::new(seed), 200);
        run_to_end(&mut armed, &ta);
        prop_assert_eq!(results(&plain, &tp), results(&armed, &ta));
    }

    /// The decode hook (Linux `analyse_instr`'s counterpart) names exactly the access the
    /// next step makes: address, size, kind — read from memory and registers, never the trace.
    #[test]
    fn decoder_agrees_with_execution((profile, ops) in programs()) {
        let program = assemble(&ops);
        let (mut m, t) = machine(profile, &program, &[DebugRegisters::CLEAR], 1);
        let t = t[0];
        for _ in 0..10_000 {
            if !m.task(t).is_some_and(|task| task.state.is_alive()) {
                break;
            }
            let decoded = m.with_task(t, |cx| cx.decode_access(cx.pc())).unwrap().unwrap();
            let before = m.trace().events().len();
            m.run(t, CpuId(0), 1).unwrap();
            let made: Vec<_> = m.trace().events()[before..]
                .iter()
                .filter_map(|e| match e {
                    TraceEvent::Access(a) => Some((a.addr, a.size, a.kind)),
                    _ => None,
                })
                .collect();
            match decoded {
                None => prop_assert!(made.is_empty()),
                // A failing stcx. stores nothing.
                Some(d) if d.class == AccessClass::StoreConditional && made.is_empty() => {}
                Some(d) => prop_assert_eq!(made, vec![(d.addr, d.size, d.kind)]),
            }
        }
    }

    /// The machine never panics on any register image — reserved bits, any MSR (privilege,
    /// SE, translation), any debug registers, cache-inhibited memory — nor on any word.
    #[test]
    fn no_register_image_or_word_panics(
        profile in profile_strategy(),
        debug in any::<(u64, u64, [u64; 2], [u64; 2], u64)>(),
        near in any::<bool>(),
        msr in any::<u64>(),
        gprs in any::<[u64; 8]>(),
        words in prop::collection::vec(any::<u32>(), 1..32),
        ci in any::<bool>(),
    ) {
        let (dabr, dabrx, mut dawr, dawrx, ciabr) = debug;
        if near {
            // Aim the DAWRs at the data so that matching paths run too.
            dawr = [DATA | (dawr[0] & 0x3FF), DATA | (dawr[1] & 0x3FF)];
        }
        let mut m = Machine::new(Ppc64::new(profile), SteppingKernel::default(), 1);
        m.memory_mut().map(CODE, 0x1000, RegionAttributes::default());
        m.memory_mut().map(DATA, 0x1000, RegionAttributes { cache_inhibited: ci });
        let mut code = Vec::new();
        for w in &words {
            code.extend_from_slice(&w.to_be_bytes());
        }
        m.memory_mut().write(CODE, &code).unwrap();
        let mut regs = Ppc64Context::with_msr(CODE, msr);
        for (i, g) in gprs.iter().enumerate() {
            // Half the registers point into the data area.
            regs.gpr[i + 1] = if i % 2 == 0 { DATA | (g & 0xFFF) } else { *g };
        }
        regs.debug = DebugRegisters { dabr, dabrx, dawr, dawrx, ciabr };
        let t = m.spawn(regs);
        let _ = m.with_task(t, |cx| cx.decode_access(cx.pc()));
        let _ = m.run(t, CpuId(0), 200);
    }
}
