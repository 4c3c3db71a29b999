//! Properties of the x86 model over random programs and random register images.

use hwbkpt_hal::CpuId;
use proptest::prelude::*;

use super::tests::{DATA, Rig};
use super::*;
use crate::{RandomPolicy, StopReason};

/// Registers random programs compute with (RBX is the data base; RCX, RSI, RDI belong to the
/// string instructions; R11 and RCX are clobbered by `syscall`).
const WORK: [Reg; 5] = [Reg::Rax, Reg::Rdx, Reg::R8, Reg::R9, Reg::R10];
/// Random accesses stay in `[DATA, DATA + REGION)`.
const REGION: u16 = 0x1000;

#[derive(Debug, Clone)]
enum Op {
    Store(Width, usize, u16),
    Load(Width, usize, u16),
    AddMem(Width, usize, u16),
    Cmpxchg(Width, usize, u16),
    VecLoad(VecWidth, u8, u16),
    VecStore(VecWidth, u8, u16),
    Movs(StringWidth, u16, u16, u16),
    Stos(StringWidth, u16, u16),
    PushPop(usize, usize),
    MovSs(u16),
    Syscall,
    AddImm(usize, i32),
}

fn width() -> impl Strategy<Value = Width> {
    prop_oneof![
        Just(Width::B1),
        Just(Width::B2),
        Just(Width::B4),
        Just(Width::B8)
    ]
}

fn vec_width() -> impl Strategy<Value = VecWidth> {
    prop_oneof![
        Just(VecWidth::Sse),
        Just(VecWidth::Avx),
        Just(VecWidth::Avx512)
    ]
}

fn string_width() -> impl Strategy<Value = StringWidth> {
    prop_oneof![Just(StringWidth::Byte), Just(StringWidth::Qword)]
}

fn op() -> impl Strategy<Value = Op> {
    let off = 0..REGION - 64;
    let reg = 0..WORK.len();
    prop_oneof![
        (width(), reg.clone(), off.clone()).prop_map(|(w, r, o)| Op::Store(w, r, o)),
        (width(), reg.clone(), off.clone()).prop_map(|(w, r, o)| Op::Load(w, r, o)),
        (width(), reg.clone(), off.clone()).prop_map(|(w, r, o)| Op::AddMem(w, r, o)),
        (width(), reg.clone(), off.clone()).prop_map(|(w, r, o)| Op::Cmpxchg(w, r, o)),
        (vec_width(), 0..8u8, off.clone()).prop_map(|(w, v, o)| Op::VecLoad(w, v, o)),
        (vec_width(), 0..8u8, off.clone()).prop_map(|(w, v, o)| Op::VecStore(w, v, o)),
        (string_width(), 0..REGION / 2, 0..REGION / 2, 0..300u16)
            .prop_map(|(w, s, d, n)| Op::Movs(w, s, d, n)),
        (string_width(), 0..REGION / 2, 0..300u16).prop_map(|(w, d, n)| Op::Stos(w, d, n)),
        (reg.clone(), reg.clone()).prop_map(|(a, b)| Op::PushPop(a, b)),
        off.prop_map(Op::MovSs),
        Just(Op::Syscall),
        (reg, any::<i32>()).prop_map(|(r, i)| Op::AddImm(r, i)),
    ]
}

fn assemble(ops: &[Op], a: &mut Asm) {
    let at = |o: u16| Mem::base(Reg::Rbx, i32::from(o));
    for (i, r) in WORK.iter().enumerate() {
        a.mov_imm(*r, 0x0102_0304_0506_0708u64.wrapping_mul(i as u64 + 3));
    }
    for op in ops {
        match *op {
            Op::Store(w, r, o) => a.store(w, WORK[r], at(o)),
            Op::Load(w, r, o) => a.load(w, WORK[r], at(o)),
            Op::AddMem(w, r, o) => a.add_mem(w, WORK[r], at(o)),
            Op::Cmpxchg(w, r, o) => a.lock_cmpxchg(w, WORK[r], at(o)),
            Op::VecLoad(w, v, o) => a.vec_load(w, v, at(o)),
            Op::VecStore(w, v, o) => a.vec_store(w, v, at(o)),
            Op::Movs(w, s, d, n) => {
                let n = if w == StringWidth::Qword { n / 8 } else { n };
                a.mov_imm(Reg::Rsi, DATA + u64::from(s))
                    .mov_imm(Reg::Rdi, DATA + u64::from(d) + u64::from(REGION / 2))
                    .mov_imm(Reg::Rcx, u64::from(n))
                    .rep_movs(w)
            }
            Op::Stos(w, d, n) => {
                let n = if w == StringWidth::Qword { n / 8 } else { n };
                a.mov_imm(Reg::Rdi, DATA + u64::from(d))
                    .mov_imm(Reg::Rcx, u64::from(n))
                    .rep_stos(w)
            }
            Op::PushPop(x, y) => a.emit(Insn::Push(WORK[x])).emit(Insn::Pop(WORK[y])),
            Op::MovSs(o) => a.emit(Insn::MovSsMem(at(o))),
            Op::Syscall => a.syscall(),
            Op::AddImm(r, i) => a.add_imm(WORK[r], i),
        };
    }
    a.end();
}

/// The kernel's `syscall` handler also touches user data, so kernel-mode hits happen too.
fn kernel(k: &mut Asm) {
    k.add_mem(
        Width::B8,
        Reg::Rax,
        Mem::base(Reg::Rbx, i32::from(REGION) - 8),
    )
    .emit(Insn::Sysret);
}

/// Where a random breakpoint points: into the data, at an instruction, or anywhere.
#[derive(Debug, Clone)]
enum Target {
    Data(u16),
    Instruction(usize),
    Raw(u64),
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        3 => (0..REGION + 64).prop_map(Target::Data),
        2 => any::<usize>().prop_map(Target::Instruction),
        1 => any::<u64>().prop_map(Target::Raw),
    ]
}

/// What the program computed: every memory access in order (address, size, kind, bytes
/// before and after), the data region, and the registers it uses.
type Outcome = (
    Vec<(u64, u32, hwbkpt_hal::AccessKind, Vec<u8>, Vec<u8>)>,
    Vec<u8>,
    Vec<u64>,
    Vec<[u8; 64]>,
);

fn outcome(r: &Rig) -> Outcome {
    let accesses =
        r.m.trace()
            .accesses()
            .map(|a| (a.addr, a.size, a.kind, a.before.to_vec(), a.after.to_vec()))
            .collect();
    let mut data = vec![0; usize::from(REGION)];
    r.m.memory().read(DATA, &mut data).unwrap();
    let regs = r.regs();
    let gprs = Reg::ALL
        .iter()
        .filter(|g| **g != Reg::R11)
        .map(|g| regs.gpr(*g))
        .collect();
    let vecs = (0..VECTOR_REGS).map(|v| *regs.vector(v).unwrap()).collect();
    (accesses, data, gprs, vecs)
}

fn profile() -> impl Strategy<Value = X86Profile> {
    prop_oneof![
        Just(X86Profile::GENERIC),
        Just(X86Profile::QEMU),
        Just(X86Profile::INTEL_FAST_STRINGS)
    ]
}

/// Cases per property: `PROPTEST_CASES` when set (CI and long runs), 256 otherwise.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Breakpoints never change what a program computes: with any DR0–DR3 and any DR7 low
    /// word, with or without TF, and the default handler (DR6 back to 0xFFFF0FF0, RF after
    /// faults, continue), the same accesses happen with the same values and the program ends
    /// with the same memory and registers as with the debug registers at reset.
    #[test]
    fn breakpoints_never_change_results(
        ops in proptest::collection::vec(op(), 1..40),
        targets in [target(), target(), target(), target()],
        dr7 in any::<u32>(),
        tf in any::<bool>(),
        profile in profile(),
    ) {
        let plain = {
            let mut r = Rig::with_kernel(profile, |a| assemble(&ops, a), kernel);
            prop_assert_eq!(r.run(), StopReason::Exited);
            prop_assert!(r.hits().is_empty());
            outcome(&r)
        };
        let starts = {
            let mut a = Asm::new(super::tests::CODE);
            assemble(&ops, &mut a);
            a.finish().unwrap().starts
        };
        let addrs = targets.map(|t| match t {
            Target::Data(o) => DATA + u64::from(o),
            Target::Instruction(i) => starts[i % starts.len()],
            Target::Raw(a) => a,
        });
        let mut r = Rig::with_kernel(profile, |a| assemble(&ops, a), kernel);
        r.arm(addrs, u64::from(dr7));
        if tf {
            r.m.with_task(r.task, |cx| cx.set_single_step(true)).unwrap();
        }
        prop_assert_eq!(r.run(), StopReason::Exited);
        prop_assert_eq!(outcome(&r), plain);
    }

    /// The same program under a random schedule on two CPUs (preemption, migration,
    /// interrupts) computes the same thing, breakpoints armed or not.
    #[test]
    fn scheduling_never_changes_results(
        ops in proptest::collection::vec(op(), 1..30),
        seed in any::<u64>(),
        dr7 in any::<u32>(),
        offsets in [0..REGION, 0..REGION, 0..REGION, 0..REGION],
    ) {
        let mut straight = Rig::with_kernel(X86Profile::GENERIC, |a| assemble(&ops, a), kernel);
        prop_assert_eq!(straight.run(), StopReason::Exited);
        let mut r = Rig::with_kernel(X86Profile::GENERIC, |a| assemble(&ops, a), kernel);
        r.arm(offsets.map(|o| DATA + u64::from(o)), u64::from(dr7));
        r.m.run_random(&mut RandomPolicy::new(seed), 100_000);
        prop_assert!(r.m.live_tasks().is_empty());
        prop_assert_eq!(outcome(&r), outcome(&straight));
    }

    /// No register image makes the machine panic: any value in any debug register number
    /// (writes may fail with #GP or #UD), any RFLAGS, any DR write executed by kernel code.
    #[test]
    fn no_register_image_panics(
        images in proptest::collection::vec((any::<u8>(), any::<u64>()), 0..12),
        rflags_bits in any::<u64>(),
        kernel_dr in (0u8..16, any::<u64>()),
        ops in proptest::collection::vec(op(), 0..10),
        profile in profile(),
    ) {
        let handler = |k: &mut Asm| {
            k.mov_imm(Reg::R8, kernel_dr.1)
                .emit(Insn::MovToDr { dr: kernel_dr.0, src: Reg::R8 })
                .emit(Insn::MovFromDr { dst: Reg::R9, dr: kernel_dr.0 })
                .emit(Insn::Sysret);
        };
        let mut r = Rig::with_kernel(profile, |a| {
            a.syscall();
            assemble(&ops, a);
        }, handler);
        r.m.with_task(r.task, |cx| {
            let regs = cx.regs_mut();
            for (n, v) in &images {
                let _ = regs.write_dr(*n, *v);
                let _ = regs.kernel_write_dr(*n, *v);
                let _ = regs.read_dr(*n);
            }
            regs.set_rflags(rflags_bits);
        }).unwrap();
        let out = r.m.run(r.task, CpuId(0), 20_000).unwrap();
        prop_assert!(out.steps <= 20_000);
    }
}
