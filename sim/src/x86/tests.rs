//! The x86 model's rules on a running machine, each test citing the passage it encodes.

use hwbkpt_hal::{AccessKind, CpuId, InstructionDecode, TaskId};

use super::*;
use crate::{FaultKind, Machine, RegionAttributes, StopReason, TraceEvent};

pub(super) const CODE: u64 = 0x40_0000;
pub(super) const KERNEL: u64 = X86::DEFAULT_SYSCALL_ENTRY;
pub(super) const STACK_TOP: u64 = 0x7fff_0000;
/// Data below 2 GiB so absolute `[disp32]` operands reach it (the SDM example uses A0001h…).
pub(super) const DATA: u64 = 0x9_0000;
pub(super) const DATA_LEN: u64 = 0x4_0000;

/// DR7 R/W codes and LEN codes (SDM vol. 3 §18.2.4, Figure 18-1).
pub(super) const RW_EXECUTE: u64 = 0b00;
pub(super) const RW_WRITE: u64 = 0b01;
pub(super) const RW_READ_WRITE: u64 = 0b11;

/// LEN code for a length in bytes: 1 → 00, 2 → 01, 4 → 11, 8 → 10.
pub(super) fn len_code(len: u64) -> u64 {
    match len {
        1 => 0b00,
        2 => 0b01,
        4 => 0b11,
        _ => 0b10,
    }
}

/// DR7 bits for slot `n`: local enable L`n` (bit 2n), R/W at 16+4n, LEN at 18+4n.
pub(super) fn dr7_local(n: u64, rw: u64, len: u64) -> u64 {
    (1 << (2 * n)) | (rw << (16 + 4 * n)) | (len_code(len) << (18 + 4 * n))
}

pub(super) struct Rig {
    pub(super) m: Machine<X86, RecordingKernel>,
    pub(super) task: TaskId,
}

impl Rig {
    pub(super) fn new(profile: X86Profile, build: impl FnOnce(&mut Asm)) -> Self {
        Self::with_kernel(profile, build, |k| {
            k.mov_imm(Reg::Rax, 0).emit(Insn::Sysret);
        })
    }

    pub(super) fn with_kernel(
        profile: X86Profile,
        build: impl FnOnce(&mut Asm),
        kernel: impl FnOnce(&mut Asm),
    ) -> Self {
        let mut m = Machine::new(X86::new(profile), RecordingKernel::default(), 2);
        let plain = RegionAttributes::default();
        m.memory_mut().map(CODE, 0x1_0000, plain);
        m.memory_mut().map(KERNEL, 0x1000, plain);
        m.memory_mut().map(STACK_TOP - 0x1_0000, 0x1_0000, plain);
        m.memory_mut().map(DATA, DATA_LEN, plain);
        let mut user = Asm::new(CODE);
        build(&mut user);
        user.finish().unwrap().load(m.memory_mut()).unwrap();
        let mut k = Asm::new(KERNEL);
        kernel(&mut k);
        k.finish().unwrap().load(m.memory_mut()).unwrap();
        let mut regs = X86Context::user(CODE);
        regs.set_gpr(Reg::Rsp, STACK_TOP);
        regs.set_gpr(Reg::Rbx, DATA);
        let task = m.spawn(regs);
        Self { m, task }
    }

    pub(super) fn generic(build: impl FnOnce(&mut Asm)) -> Self {
        Self::new(X86Profile::GENERIC, build)
    }

    /// Program DR0–DR3 and DR7 as a kernel would before running the task.
    pub(super) fn arm(&mut self, addrs: [u64; 4], dr7: u64) -> &mut Self {
        self.m
            .with_task(self.task, |cx| {
                let r = cx.regs_mut();
                for (n, a) in (0u8..).zip(addrs) {
                    r.write_dr(n, a).unwrap();
                }
                r.write_dr(7, dr7).unwrap();
            })
            .unwrap();
        self
    }

    pub(super) fn run(&mut self) -> StopReason {
        self.m.run(self.task, CpuId(0), 100_000).unwrap().stop
    }

    pub(super) fn regs(&self) -> &X86Context {
        self.m.regs(self.task).unwrap()
    }

    pub(super) fn hits(&self) -> &[RecordedException] {
        &self.m.kernel().exceptions
    }

    pub(super) fn read(&self, addr: u64, size: usize) -> u64 {
        self.m.memory().read_uint(addr, size).unwrap()
    }
}

fn starts(build: impl FnOnce(&mut Asm)) -> Vec<u64> {
    let mut a = Asm::new(CODE);
    build(&mut a);
    a.finish().unwrap().starts
}

/// SDM vol. 3 §18.3.1.2: a data breakpoint is a trap "after it executes the instruction that
/// accesses the given memory location": memory already holds the value, RIP is past it.
#[test]
fn data_breakpoint_traps_after_the_instruction() {
    let prog = |a: &mut Asm| {
        a.mov_imm(Reg::Rax, 0xAB)
            .store(Width::B1, Reg::Rax, Mem::base(Reg::Rbx, 0x10))
            .emit(Insn::Nop)
            .end();
    };
    let at = starts(prog);
    let mut r = Rig::generic(prog);
    r.arm([DATA + 0x10, 0, 0, 0], dr7_local(0, RW_WRITE, 1));
    assert_eq!(r.run(), StopReason::Exited);
    let h = r.hits();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].rip, h[0].b_bits(), h[0].class),
        (at[2], 0b1, DebugClass::Trap)
    );
    assert!(!h[0].single_step());
    // The trace shows the trap after the access, with the value already stored.
    let ev = r.m.trace().events();
    let access = ev
        .iter()
        .position(|e| matches!(e, TraceEvent::Access(a) if a.after[..] == [0xAB]));
    let exc = ev
        .iter()
        .position(|e| matches!(e, TraceEvent::Exception { .. }));
    assert!(access < exc);
}

/// SDM §18.3.1.1: an instruction breakpoint is a fault "before it executes the target
/// instruction"; with RF set in the frame the instruction runs once, and RF is cleared after it
/// completes, so the next execution of the same address faults again.
#[test]
fn execute_breakpoint_faults_before_and_rf_suppresses_one_retrigger() {
    let prog = |a: &mut Asm| {
        let top = a.label();
        let done = a.label();
        a.mov_imm(Reg::Rcx, 2)
            .bind(top)
            .add_mem(Width::B8, Reg::Rcx, Mem::base(Reg::Rbx, 0))
            .add_imm(Reg::Rcx, -1)
            .jz(done)
            .jmp(top)
            .bind(done)
            .end();
    };
    let at = starts(prog);
    let mut r = Rig::generic(prog);
    r.arm([at[1], 0, 0, 0], dr7_local(0, RW_EXECUTE, 1));
    assert_eq!(r.run(), StopReason::Exited);
    let h = r.hits();
    assert_eq!(
        h.len(),
        2,
        "one fault per execution, RF suppressing only the re-execution"
    );
    for e in h {
        assert_eq!((e.rip, e.class, e.b_bits()), (at[1], DebugClass::Fault, 1));
    }
    assert_eq!(r.read(DATA, 8), 3);
    assert_eq!(
        r.regs().rflags() & rflags::RF,
        0,
        "RF cleared after the instruction"
    );
}

/// SDM §18.3.1.4: single-step traps after each instruction while TF is set, and "if the POPF
/// instruction is used to set the TF flag, a single-step trap does not occur until after the
/// instruction that follows the POPF". SDM §18.2.3: DR6 may report several conditions at once
/// — BS together with the B bit of a data breakpoint hit by the stepped instruction.
#[test]
fn single_step_sets_bs_together_with_data_hits() {
    let prog = |a: &mut Asm| {
        a.emit(Insn::Pushf)
            .emit(Insn::Pop(Reg::Rax))
            .mov_imm(Reg::Rdx, rflags::TF)
            .emit(Insn::Push(Reg::Rdx))
            .emit(Insn::Popf) // sets TF
            .emit(Insn::Nop) // first BS after this
            .store(Width::B4, Reg::Rax, Mem::base(Reg::Rbx, 0x20)) // BS + B2
            .emit(Insn::Push(Reg::Rax))
            .emit(Insn::Popf) // clears TF: still trapped after (TF was set at its start)
            .emit(Insn::Nop)
            .end();
    };
    let at = starts(prog);
    let mut r = Rig::generic(prog);
    r.arm([0, 0, DATA + 0x22, 0], dr7_local(2, RW_WRITE, 1));
    assert_eq!(r.run(), StopReason::Exited);
    let got: Vec<_> = r
        .hits()
        .iter()
        .map(|e| (e.rip, e.single_step(), e.b_bits()))
        .collect();
    assert_eq!(
        got,
        [
            (at[6], true, 0),
            (at[7], true, 0b100),
            (at[8], true, 0),
            (at[9], true, 0),
        ]
    );
}

/// SDM §18.2.3: "the processor never clears" B0–B3/BS — DR6 accumulates until software writes
/// it back, which is why handlers write 0xFFFF0FF0.
#[test]
fn dr6_bits_accumulate_until_software_writes_it_back() {
    let prog = |a: &mut Asm| {
        a.store(Width::B1, Reg::Rax, Mem::base(Reg::Rbx, 0))
            .store(Width::B1, Reg::Rax, Mem::base(Reg::Rbx, 8))
            .end();
    };
    let mut r = Rig::generic(prog);
    r.m.kernel_mut().keep_dr6 = true;
    r.arm(
        [DATA, DATA + 8, 0, 0],
        dr7_local(0, RW_WRITE, 1) | dr7_local(1, RW_WRITE, 1),
    );
    r.run();
    let dr6: Vec<_> = r.hits().iter().map(|e| e.dr6).collect();
    assert_eq!(dr6, [0xFFFF_0FF1, 0xFFFF_0FF3]);
}

/// SDM §18.2.3: B0–B3 "may be set even if the breakpoint is not enabled"; QEMU sets them
/// (its `check_hw_breakpoints` updates DR6 for every matching slot). A disabled slot alone
/// never traps.
#[test]
fn b_bits_for_matching_disabled_slots_follow_the_profile() {
    let prog = |a: &mut Asm| {
        a.store(Width::B8, Reg::Rax, Mem::base(Reg::Rbx, 0))
            .store(Width::B8, Reg::Rax, Mem::base(Reg::Rbx, 0x40))
            .end();
    };
    // Slot 0 enabled on DATA; slot 1 programmed on DATA+4 and DATA+0x40-ish but not enabled.
    let dr7 = dr7_local(0, RW_WRITE, 8) | ((RW_WRITE | (len_code(8) << 2)) << 20);
    for (profile, b) in [(X86Profile::GENERIC, 0b01), (X86Profile::QEMU, 0b11)] {
        let mut r = Rig::new(profile, prog);
        r.arm([DATA, DATA, DATA + 0x40, 0], dr7);
        r.run();
        let got: Vec<_> = r.hits().iter().map(RecordedException::b_bits).collect();
        assert_eq!(got, [b], "{}", profile.name);
    }
}

/// SDM vol. 2 "CMPXCHG": "the destination operand is written back if the comparison fails",
/// so a write breakpoint fires on a failed `lock cmpxchg` too.
#[test]
fn failed_lock_cmpxchg_is_a_write() {
    let prog = |a: &mut Asm| {
        a.mov_imm(Reg::Rax, 1)
            .mov_imm(Reg::Rdx, 99)
            .lock_cmpxchg(Width::B4, Reg::Rdx, Mem::base(Reg::Rbx, 0))
            .end();
    };
    let mut r = Rig::generic(prog);
    r.m.memory_mut().write_uint(DATA, 4, 7).unwrap();
    r.arm([DATA, 0, 0, 0], dr7_local(0, RW_WRITE, 4));
    r.run();
    assert_eq!(r.hits().len(), 1);
    assert_eq!(
        r.read(DATA, 4),
        7,
        "comparison failed: memory keeps the old value"
    );
    assert_eq!(r.regs().gpr(Reg::Rax), 7, "RAX receives the old value");
    let a = r.m.trace().accesses().next().unwrap();
    assert_eq!(
        (a.kind, &a.before[..], &a.after[..]),
        (AccessKind::READ_WRITE, &[7, 0, 0, 0][..], &[7, 0, 0, 0][..])
    );
}

/// SDM vol. 3 §18.3.1.2 and vol. 2 "REP": a data breakpoint in a repeated string instruction
/// traps after the iteration that hit, with RCX, RSI, RDI updated and RIP at the instruction
/// while iterations remain; the trap sets RF in the frame so the restart does not re-fire an
/// execute breakpoint on the `rep` itself.
#[test]
fn rep_movs_traps_after_the_iteration_that_hit() {
    let prog = |a: &mut Asm| {
        a.mov_imm(Reg::Rsi, DATA)
            .mov_imm(Reg::Rdi, DATA + 0x100)
            .mov_imm(Reg::Rcx, 10)
            .rep_movs(StringWidth::Byte)
            .end();
    };
    let at = starts(prog);
    let mut r = Rig::generic(prog);
    r.m.memory_mut()
        .write(DATA, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        .unwrap();
    r.m.kernel_mut().stop_on_exception = true;
    r.arm(
        [DATA + 0x105, at[3], 0, 0],
        dr7_local(0, RW_WRITE, 1) | dr7_local(1, RW_EXECUTE, 1),
    );
    // The execute breakpoint on the rep faults first.
    assert_eq!(r.run(), StopReason::Stopped);
    assert_eq!(r.hits()[0].b_bits(), 0b10);
    assert_eq!(r.run(), StopReason::Stopped);
    let regs = r.regs();
    assert_eq!(r.hits()[1].b_bits(), 0b01);
    assert_eq!(regs.rip(), at[3], "iterations remain: RIP stays at the rep");
    assert_eq!(regs.gpr(Reg::Rcx), 4);
    assert_eq!(regs.gpr(Reg::Rdi), DATA + 0x106);
    assert_eq!(regs.gpr(Reg::Rsi), DATA + 6);
    assert_ne!(regs.rflags() & rflags::RF, 0);
    assert_eq!(r.read(DATA + 0x105, 1), 6);
    assert_eq!(r.read(DATA + 0x106, 1), 0, "not copied yet");
    assert_eq!(r.run(), StopReason::Exited);
    assert_eq!(
        r.hits().len(),
        2,
        "no re-fire of the execute breakpoint on restart"
    );
    assert_eq!(r.read(DATA + 0x109, 1), 10);
}

/// The qword form: each iteration is one 8-byte access.
#[test]
fn rep_stosq_counts_qwords() {
    let prog = |a: &mut Asm| {
        a.mov_imm(Reg::Rax, u64::MAX)
            .mov_imm(Reg::Rdi, DATA)
            .mov_imm(Reg::Rcx, 8)
            .rep_stos(StringWidth::Qword)
            .end();
    };
    let mut r = Rig::generic(prog);
    r.m.kernel_mut().stop_on_exception = true;
    r.arm([DATA + 0x1C, 0, 0, 0], dr7_local(0, RW_WRITE, 4));
    assert_eq!(r.run(), StopReason::Stopped);
    assert_eq!(
        r.regs().gpr(Reg::Rcx),
        4,
        "hit by the 4th qword (bytes 0x18..0x20)"
    );
    assert_eq!(r.run(), StopReason::Exited);
    assert_eq!(r.read(DATA + 0x38, 8), u64::MAX);
}

/// Fast strings, a measured fact of Intel family 6 model 0xCF: precise within the first 256
/// bytes, otherwise one stop at the end of the 128-byte destination-aligned block holding the
/// watched byte — never early, at most 127 bytes late, one stop per block.
#[test]
fn fast_strings_group_hits_by_destination_block() {
    // Destination deliberately not block-aligned: blocks are aligned to addresses.
    let dst = DATA + 0x1010;
    let count = 1024;
    let prog = |a: &mut Asm| {
        a.mov_imm(Reg::Rax, 0x5A)
            .mov_imm(Reg::Rdi, dst)
            .mov_imm(Reg::Rcx, count)
            .rep_stos(StringWidth::Byte)
            .end();
    };
    let run = |profile, watched: [u64; 2]| {
        let mut r = Rig::new(profile, prog);
        r.m.kernel_mut().stop_on_exception = true;
        r.arm(
            [dst + watched[0], dst + watched[1], 0, 0],
            dr7_local(0, RW_WRITE, 1) | dr7_local(1, RW_WRITE, 1),
        );
        let mut stops = Vec::new();
        while r.run() == StopReason::Stopped {
            let regs = r.regs();
            let done = count - regs.gpr(Reg::Rcx);
            stops.push((done, r.hits().last().unwrap().b_bits()));
        }
        stops
    };
    let fast = X86Profile::INTEL_FAST_STRINGS;
    // Within the first 256 bytes: precise.
    assert_eq!(run(fast, [100, 200]), [(101, 0b01), (201, 0b10)]);
    // Offset 300 = address dst+300 = DATA+0x113C, in block DATA+0x1100..0x1180: the stop comes
    // after the byte at DATA+0x117F, i.e. after 0x170 = 368 bytes. Offset 320 is in the same
    // block: one stop for both.
    assert_eq!(run(fast, [300, 320]), [(368, 0b11)]);
    // Offset 1000 = DATA+0x13F8: block end DATA+0x1400 = 1008 bytes. Offset 1020 lies in the
    // last, partial block: the stop comes at the end of the operation.
    assert_eq!(run(fast, [1000, 600]), [(624, 0b10), (1008, 0b01)]);
    assert_eq!(run(fast, [1020, 600]), [(624, 0b10), (1024, 0b01)]);
    // The generic profile is precise everywhere.
    assert_eq!(
        run(X86Profile::GENERIC, [300, 320]),
        [(301, 0b01), (321, 0b10)]
    );
}

/// Fast strings on Intel family 6 model 0x55, as measured through ptrace on a real CPU
/// (`tests/real_hw_x86.rs`): `rep stosb` is precise until more than 128 bytes are done and the
/// destination is 64-byte aligned, then reports once per 128 bytes counted from there;
/// `rep movsb` (not deterministic on the real CPU) is predicted at its latest: precise for
/// 64 bytes, then at the end of the 64-byte destination block.
#[test]
fn fast_strings_skx_groups_from_the_fast_start() {
    let count = 2048;
    let run = |shift: u64, movs: bool, watched: u64| {
        let dst = DATA + 0x1000 + shift;
        let prog = |a: &mut Asm| {
            a.mov_imm(Reg::Rax, 0x5A)
                .mov_imm(Reg::Rsi, DATA + shift)
                .mov_imm(Reg::Rdi, dst)
                .mov_imm(Reg::Rcx, count);
            if movs {
                a.rep_movs(StringWidth::Byte);
            } else {
                a.rep_stos(StringWidth::Byte);
            }
            a.end();
        };
        let mut r = Rig::new(X86Profile::INTEL_SKX_FAST_STRINGS, prog);
        r.m.kernel_mut().stop_on_exception = true;
        r.arm([dst + watched, 0, 0, 0], dr7_local(0, RW_WRITE, 1));
        let mut stops = Vec::new();
        while r.run() == StopReason::Stopped {
            stops.push(count - r.regs().gpr(Reg::Rcx));
        }
        stops
    };
    // stosb, destination page-aligned: precise through 191, then groups [192, 320), …
    assert_eq!(run(0, false, 128), [129]);
    assert_eq!(run(0, false, 191), [192]);
    assert_eq!(run(0, false, 192), [320]);
    assert_eq!(run(0, false, 319), [320]);
    assert_eq!(run(0, false, 320), [448]);
    assert_eq!(run(0, false, 1000), [1088]);
    // Destination 16 bytes in: the fast part starts at the 64-aligned address 192 (176 done).
    assert_eq!(run(16, false, 175), [176]);
    assert_eq!(run(16, false, 176), [304]);
    // Destination 64 bytes in: 128 done is 64-aligned but not past 128; 192 is.
    assert_eq!(run(64, false, 150), [151]);
    assert_eq!(run(64, false, 192), [320]);
    // movsb: precise for 64 bytes, then the end of the 64-byte destination block.
    assert_eq!(run(0, true, 63), [64]);
    assert_eq!(run(0, true, 64), [128]);
    assert_eq!(run(0, true, 130), [192]);
    assert_eq!(run(16, true, 112), [176]);
    // The 0xCF profile keeps its destination-aligned blocks.
    assert_eq!(
        X86Profile::INTEL_FAST_STRINGS.fast_strings_for(true),
        X86Profile::INTEL_FAST_STRINGS.fast_strings
    );
}

/// Measured on Intel family 6 model 0x55 (`tests/real_hw_x86.rs`): a data trap on one
/// instruction and an execute breakpoint on the next are reported by one #DB with both B
/// bits; the generic profile reports them as two.
#[test]
fn execute_breakpoint_on_the_next_instruction_joins_a_trap() {
    let body = |a: &mut Asm| {
        a.mov_imm(Reg::Rax, 1)
            .store(Width::B8, Reg::Rax, Mem::base(Reg::Rbx, 0x40));
    };
    let mut probe = Asm::new(CODE);
    body(&mut probe);
    let nop = probe.here();
    let run = |profile| {
        let mut r = Rig::new(profile, |a: &mut Asm| {
            body(a);
            a.emit(Insn::Nop).end();
        });
        let dr7 = dr7_local(0, RW_WRITE, 8) | dr7_local(1, 0, 1);
        r.arm([DATA + 0x40, nop, 0, 0], dr7);
        r.run();
        r.hits()
            .iter()
            .map(|h| (h.rip, h.b_bits()))
            .collect::<Vec<_>>()
    };
    // One #DB with both bits. The recording kernel sets RF only after faults, so the execute
    // breakpoint faults once more afterwards — as the hardware would: the B bit in a trap
    // is a report, and only RF suppresses the fault (Linux sets RF when it sees it).
    assert_eq!(
        run(X86Profile::INTEL_SKX_FAST_STRINGS),
        [(nop, 0b11), (nop, 0b10)]
    );
    assert_eq!(run(X86Profile::GENERIC), [(nop, 0b01), (nop, 0b10)]);
    // A single-step trap does not take the execute bit along (measured as well).
    let mut r = Rig::new(X86Profile::INTEL_SKX_FAST_STRINGS, |a: &mut Asm| {
        body(a);
        a.emit(Insn::Nop).end();
    });
    r.arm(
        [DATA + 0x40, nop, 0, 0],
        dr7_local(0, RW_WRITE, 8) | dr7_local(1, 0, 1),
    );
    r.m.with_task(r.task, |cx| cx.set_single_step(true))
        .unwrap();
    r.m.run(r.task, CpuId(0), 2).unwrap();
    let first_step_and_data: Vec<_> = r
        .hits()
        .iter()
        .map(|h| (h.b_bits(), h.single_step()))
        .collect();
    assert_eq!(first_step_and_data, [(0, true), (0b01, true)]);
}

/// SDM vol. 3 §6.8.3: after MOV SS / POP SS the processor "inhibits interrupts, debug
/// exceptions, and single-step trap exceptions … until the instruction boundary following the
/// next instruction". The held #DB arrives after the next instruction, carrying both
/// instructions' conditions.
#[test]
fn mov_ss_holds_debug_exceptions_past_the_next_instruction() {
    for shadowing in [Insn::MovSsMem(Mem::base(Reg::Rbx, 0)), Insn::PopSs] {
        let prog = |a: &mut Asm| {
            a.mov_imm(Reg::Rax, 0x2b)
                .emit(Insn::Push(Reg::Rax))
                .emit(shadowing)
                .store(Width::B8, Reg::Rax, Mem::base(Reg::Rbx, 0x40))
                .emit(Insn::Nop)
                .end();
        };
        let at = starts(prog);
        let mut r = Rig::generic(prog);
        r.m.memory_mut().write_uint(DATA, 2, 0x2b).unwrap();
        let watched = if shadowing == Insn::PopSs {
            STACK_TOP - 8
        } else {
            DATA
        };
        r.arm(
            [watched, DATA + 0x40, 0, 0],
            dr7_local(0, RW_READ_WRITE, 2) | dr7_local(1, RW_WRITE, 8),
        );
        r.run();
        let got: Vec<_> = r.hits().iter().map(|e| (e.rip, e.b_bits())).collect();
        // Pushing onto the watched stack slot hits slot 0 once for POP SS's case, precisely.
        let expected_push = (shadowing == Insn::PopSs).then_some((at[2], 0b01));
        let mut expected: Vec<_> = expected_push.into_iter().collect();
        expected.push((at[4], 0b11));
        assert_eq!(got, expected, "{shadowing:?}");
        assert_eq!(r.regs().ss(), 0x2b);
    }
}

/// CVE-2018-8897: MOV SS whose load hits a breakpoint, followed by SYSCALL: the held #DB is
/// delivered after SYSCALL, at the first kernel instruction, at CPL 0.
#[test]
fn mov_ss_then_syscall_delivers_the_db_in_the_kernel() {
    let prog = |a: &mut Asm| {
        a.emit(Insn::MovSsMem(Mem::base(Reg::Rbx, 0)))
            .syscall()
            .end();
    };
    let mut r = Rig::generic(prog);
    r.arm([DATA, 0, 0, 0], dr7_local(0, RW_READ_WRITE, 1));
    assert_eq!(r.run(), StopReason::Exited);
    let h = r.hits();
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].rip, h[0].cpl, h[0].b_bits()), (KERNEL, 0, 1));
}

/// SDM §18.3.1.1: "if a code instruction breakpoint is placed on an instruction located
/// immediately after a POP SS/MOV SS instruction, the breakpoint may not be triggered" — the
/// model never triggers it; interrupts wait for the boundary after that instruction.
#[test]
fn shadowed_instruction_skips_execute_breakpoints_and_interrupts_wait() {
    let prog = |a: &mut Asm| {
        a.emit(Insn::MovSsReg(Reg::Rax))
            .emit(Insn::Nop)
            .emit(Insn::Nop)
            .end();
    };
    let at = starts(prog);
    let mut r = Rig::generic(prog);
    r.arm(
        [at[1], at[2], 0, 0],
        dr7_local(0, RW_EXECUTE, 1) | dr7_local(1, RW_EXECUTE, 1),
    );
    r.m.run(r.task, CpuId(0), 1).unwrap();
    assert!(r.regs().in_interrupt_shadow());
    r.m.interrupt(CpuId(0)).unwrap();
    assert!(
        !r.m.trace()
            .events()
            .iter()
            .any(|e| matches!(e, TraceEvent::Interrupt { .. }))
    );
    r.m.run(r.task, CpuId(0), 1).unwrap();
    assert!(
        r.m.trace()
            .events()
            .iter()
            .any(|e| matches!(e, TraceEvent::Interrupt { .. }))
    );
    assert_eq!(r.run(), StopReason::Exited);
    let got: Vec<_> = r.hits().iter().map(|e| (e.rip, e.b_bits())).collect();
    assert_eq!(got, [(at[2], 0b10)]);
}

/// SDM §18.2.4: with GD set, "an attempt to access a debug register" raises #DB (a fault, BD
/// set) and "the processor clears the GD flag upon entering to the debug exception handler".
#[test]
fn general_detect_faults_any_debug_register_access() {
    let kernel = |k: &mut Asm| {
        k.mov_imm(Reg::Rdx, 0x400)
            .emit(Insn::MovToDr {
                dr: 7,
                src: Reg::Rdx,
            })
            .emit(Insn::MovFromDr {
                dst: Reg::R8,
                dr: 6,
            })
            .emit(Insn::Sysret);
    };
    let mut r = Rig::with_kernel(
        X86Profile::GENERIC,
        |a| {
            a.syscall().end();
        },
        kernel,
    );
    r.arm([0; 4], bits::DR7_GD | 0x400);
    assert_eq!(r.run(), StopReason::Exited);
    let h = r.hits();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].rip, h[0].class, h[0].dr6 & bits::DR6_BD),
        (KERNEL + 10, DebugClass::Fault, bits::DR6_BD)
    );
    assert_eq!(r.regs().debug().dr7(), 0x400);
    assert_eq!(
        r.regs().gpr(Reg::R8),
        bits::DR6_QUIET,
        "the handler wrote DR6 back"
    );
    // The same rule for kernel code acting between instructions.
    let mut regs = X86Context::kernel(0);
    regs.write_dr(7, bits::DR7_GD).unwrap();
    assert_eq!(
        regs.kernel_write_dr(0, 1),
        Err(DrAccessError::GeneralDetect)
    );
    assert_eq!(regs.kernel_write_dr(0, 1), Ok(()));
}

/// SDM vol. 2 MOV to DR: #GP(0) for a 1 in bits 63:32 of DR7 — a fault the kernel handles,
/// never a panic; user mode cannot touch debug registers at all.
#[test]
fn bad_debug_register_writes_fault() {
    let kernel = |k: &mut Asm| {
        k.mov_imm(Reg::Rdx, 1 << 40).emit(Insn::MovToDr {
            dr: 7,
            src: Reg::Rdx,
        });
    };
    let mut r = Rig::with_kernel(
        X86Profile::GENERIC,
        |a| {
            a.syscall();
        },
        kernel,
    );
    assert_eq!(r.run(), StopReason::Killed);
    assert_eq!(r.m.kernel().faults[0].kind, FaultKind::GeneralProtection);
    assert_eq!(r.regs().debug().dr7(), 0x400);
    let mut u = Rig::generic(|a| {
        a.emit(Insn::MovFromDr {
            dst: Reg::Rax,
            dr: 7,
        });
    });
    assert_eq!(u.run(), StopReason::Killed);
    assert_eq!(u.m.kernel().faults[0].kind, FaultKind::Privileged);
}

/// The hardware does not filter by CPL: kernel code writing to watched user memory during a
/// system call traps, at CPL 0.
#[test]
fn kernel_accesses_during_a_system_call_trap_at_cpl0() {
    let kernel = |k: &mut Asm| {
        k.store(Width::B8, Reg::Rcx, Mem::base(Reg::Rbx, 0))
            .emit(Insn::Sysret);
    };
    let prog = |a: &mut Asm| {
        a.syscall().emit(Insn::Nop).end();
    };
    let at = starts(prog);
    let mut r = Rig::with_kernel(X86Profile::GENERIC, prog, kernel);
    r.arm([DATA, 0, 0, 0], dr7_local(0, RW_WRITE, 8));
    assert_eq!(r.run(), StopReason::Exited);
    let h = r.hits();
    assert_eq!(
        (h.len(), h[0].cpl, h[0].rip),
        (
            1,
            0,
            KERNEL
                + Insn::Store {
                    width: Width::B8,
                    src: Reg::Rcx,
                    mem: Mem::base(Reg::Rbx, 0)
                }
                .encoded_len()
        )
    );
    assert_eq!(r.read(DATA, 8), at[1], "RCX held the return address");
    let modes: Vec<_> =
        r.m.trace()
            .events()
            .iter()
            .filter_map(|e| match e {
                TraceEvent::Retired { mode, .. } => Some(*mode),
                _ => None,
            })
            .collect();
    assert_eq!(
        modes,
        [
            crate::Mode::User,
            crate::Mode::Supervisor,
            crate::Mode::Supervisor,
            crate::Mode::User,
            crate::Mode::User
        ]
    );
}

/// Debug registers are per task: saved and restored with the rest of the context.
#[test]
fn debug_registers_follow_their_task_across_switches_and_cpus() {
    let prog = |a: &mut Asm| {
        a.store(Width::B8, Reg::Rax, Mem::base(Reg::Rbx, 0))
            .store(Width::B8, Reg::Rax, Mem::base(Reg::Rbx, 0))
            .end();
    };
    let mut r = Rig::generic(prog);
    r.arm([DATA, 0, 0, 0], dr7_local(0, RW_WRITE, 8));
    let mut other = X86Context::user(CODE);
    other.set_gpr(Reg::Rbx, DATA);
    let b = r.m.spawn(other);
    r.m.run(r.task, CpuId(0), 1).unwrap();
    r.m.run(b, CpuId(0), 10).unwrap();
    r.m.run(r.task, CpuId(1), 10).unwrap();
    let got: Vec<_> = r.hits().iter().map(|e| (e.task, e.cpu)).collect();
    assert_eq!(got, [(r.task, CpuId(0)), (r.task, CpuId(1))]);
}

/// SDM §18.2.5: vector accesses of 16, 32 and 64 bytes hit when any of their bytes is in range.
#[test]
fn wide_vector_accesses_match_on_any_byte() {
    for (width, last) in [
        (VecWidth::Sse, 15),
        (VecWidth::Avx, 31),
        (VecWidth::Avx512, 63),
    ] {
        let prog = |a: &mut Asm| {
            a.vec_load(width, 1, Mem::base(Reg::Rbx, 0))
                .vec_store(width, 1, Mem::base(Reg::Rbx, 0x100))
                .end();
        };
        let mut r = Rig::generic(prog);
        r.m.memory_mut().write(DATA + last, &[0xEE]).unwrap();
        r.arm(
            [DATA + last, DATA + 0x100 + last, DATA + 0x100 + last + 1, 0],
            dr7_local(0, RW_READ_WRITE, 1) | dr7_local(1, RW_WRITE, 1) | dr7_local(2, RW_WRITE, 1),
        );
        r.run();
        let got: Vec<_> = r.hits().iter().map(RecordedException::b_bits).collect();
        assert_eq!(got, [0b001, 0b010], "{width:?}");
        assert_eq!(r.read(DATA + 0x100 + last, 1), 0xEE);
    }
}

/// The decoder reads the instruction in memory and predicts the access the trace then shows.
#[test]
fn decoder_predicts_the_access_from_memory_and_registers() {
    let prog = |a: &mut Asm| {
        a.mov_imm(Reg::R9, DATA + 0x333)
            .add_mem(Width::B2, Reg::Rax, Mem::base(Reg::R9, -3))
            .emit(Insn::Push(Reg::Rax))
            .vec_store(VecWidth::Avx512, 0, Mem::absolute(0xA_0000))
            .emit(Insn::Nop)
            .end();
    };
    let mut r = Rig::generic(prog);
    let mut predicted = Vec::new();
    for _ in 0..5 {
        let d =
            r.m.with_task(r.task, |cx| cx.decode_access(cx.pc()))
                .unwrap()
                .unwrap();
        predicted.extend(d.map(|d| (d.addr, d.size, d.kind)));
        r.m.run(r.task, CpuId(0), 1).unwrap();
    }
    let actual: Vec<_> =
        r.m.trace()
            .accesses()
            .map(|a| (a.addr, a.size, a.kind))
            .collect();
    assert_eq!(predicted, actual);
    assert_eq!(actual.len(), 3);
}

/// The `rep` position hook (`InstructionDecode::string_progress`) sees what a #DB handler
/// sees: a trap between iterations leaves RIP at the instruction, RCX counted down and RF set
/// in the frame (SDM vol. 3 §18.3.1.1); the trap after the last iteration, or after an
/// instruction followed by a `rep`, is not inside one.
#[test]
fn string_progress_names_the_count_left_only_between_iterations() {
    let prog = |a: &mut Asm| {
        a.mov_imm(Reg::Rdi, DATA + 0x10)
            .mov_imm(Reg::Rcx, 4)
            .store(Width::B1, Reg::Rax, Mem::base(Reg::Rbx, 0))
            .rep_stos(StringWidth::Byte)
            .end();
    };
    let at = starts(prog);
    let mut r = Rig::generic(prog);
    r.m.kernel_mut().stop_on_exception = true;
    // The store before the `rep`, the `rep`'s second and last iterations.
    r.arm(
        [DATA, DATA + 0x11, DATA + 0x13, 0],
        dr7_local(0, RW_WRITE, 1) | dr7_local(1, RW_WRITE, 1) | dr7_local(2, RW_WRITE, 1),
    );
    let mut seen = Vec::new();
    while r.run() == StopReason::Stopped {
        let progress =
            r.m.with_task(r.task, |cx| cx.string_progress(cx.pc()))
                .unwrap();
        seen.push((r.regs().rip(), progress.map(|p| p.remaining)));
    }
    assert_eq!(seen, [(at[3], None), (at[3], Some(2)), (at[4], None)]);
}

/// Unmapped memory is a fault that kills the task, never a panic.
#[test]
fn unmapped_accesses_fault() {
    let mut r = Rig::generic(|a| {
        a.mov_imm(Reg::Rbx, 0xdead_0000)
            .store(Width::B1, Reg::Rax, Mem::base(Reg::Rbx, 0));
    });
    assert_eq!(r.run(), StopReason::Killed);
    assert_eq!(
        r.m.kernel().faults[0].kind,
        FaultKind::Unmapped { addr: 0xdead_0000 }
    );
}

/// The kernel-mode emulation hook (`InstructionEmulate`, Linux's `emulate_step`): the whole
/// instruction runs with no #DB, the PC advances, the debug registers are untouched, and the
/// accesses appear in the trace for the reference model.
#[test]
fn emulation_runs_the_whole_instruction_without_debug_exceptions() {
    use hwbkpt_hal::{EmulateError, InstructionEmulate};
    let prog = |a: &mut Asm| {
        a.mov_imm(Reg::Rdi, DATA)
            .mov_imm(Reg::Rcx, 16)
            .rep_stos(StringWidth::Byte)
            .emit(Insn::Nop)
            .end();
    };
    let at = starts(prog);
    let mut r = Rig::generic(prog);
    let dr7 = dr7_local(0, RW_WRITE, 1) | bits::DR7_GD;
    r.arm([DATA + 3, 0, 0, 0], dr7);
    r.m.with_task(r.task, |cx| cx.set_single_step(true))
        .unwrap();
    r.m.kernel_mut().stop_on_exception = true;
    while r.regs().rip() != at[2] {
        assert_eq!(r.run(), StopReason::Stopped, "single-stepping to the rep");
    }
    r.m.kernel_mut().exceptions.clear();
    r.m.trace_mut().clear();
    let end = r.m.with_task(r.task, |cx| {
        cx.emulate(at[2]).unwrap();
        let end = cx.pc();
        assert_eq!(
            cx.emulate(at[4]),
            Err(EmulateError::Unsupported { pc: at[4] })
        );
        cx.regs_mut().set_rip(end);
        end
    });
    assert_eq!(end.unwrap(), at[3]);
    let regs = r.regs();
    assert_eq!((regs.gpr(Reg::Rcx), regs.debug().dr7()), (0, dr7 | 0x400));
    assert_ne!(regs.rflags() & rflags::TF, 0, "TF is put back");
    assert!(r.hits().is_empty());
    assert_eq!(r.m.trace().accesses().count(), 16);
}

/// With TF set a `rep` string is stepped one iteration at a time (BS after each, RIP at the
/// instruction until the last), and fast strings do not group while stepping.
#[test]
fn single_step_stops_after_every_rep_iteration() {
    let prog = |a: &mut Asm| {
        a.mov_imm(Reg::Rdi, DATA)
            .mov_imm(Reg::Rcx, 300)
            .emit(Insn::Nop)
            .rep_stos(StringWidth::Byte)
            .end();
    };
    let at = starts(prog);
    let mut r = Rig::new(X86Profile::INTEL_FAST_STRINGS, prog);
    r.m.run(r.task, CpuId(0), 2).unwrap();
    r.m.with_task(r.task, |cx| cx.set_single_step(true))
        .unwrap();
    assert_eq!(r.run(), StopReason::Exited);
    let h = r.hits();
    assert_eq!(h.len(), 1 + 300);
    assert!(h.iter().all(RecordedException::single_step));
    assert!(h[1..300].iter().all(|e| e.rip == at[3]));
    assert_eq!(h[300].rip, at[4]);
}

/// The documented choice for TF at the start of SYSCALL: the single-step trap comes after
/// SYSCALL, at the kernel entry at CPL 0; FMASK clears TF in the kernel; SYSRET restores it
/// from R11, so stepping resumes after the next user instruction.
#[test]
fn single_step_over_syscall_traps_at_the_kernel_entry() {
    let prog = |a: &mut Asm| {
        a.syscall().emit(Insn::Nop).end();
    };
    let at = starts(prog);
    let mut r = Rig::generic(prog);
    r.m.with_task(r.task, |cx| cx.set_single_step(true))
        .unwrap();
    assert_eq!(r.run(), StopReason::Exited);
    let got: Vec<_> = r.hits().iter().map(|e| (e.rip, e.cpl)).collect();
    assert_eq!(got, [(KERNEL, 0), (at[2], 3)]);
}

/// QEMU's B bits for disabled slots also appear on an execute fault.
#[test]
fn disabled_execute_matches_show_on_the_qemu_profile() {
    let prog = |a: &mut Asm| {
        a.emit(Insn::Nop).end();
    };
    let mut r = Rig::new(X86Profile::QEMU, prog);
    // Slot 0 enabled, slot 3 the same address but disabled; both R/W = 00 (execute).
    r.arm([CODE, 0, 0, CODE], dr7_local(0, RW_EXECUTE, 1));
    r.run();
    let got: Vec<_> = r.hits().iter().map(|e| (e.class, e.b_bits())).collect();
    assert_eq!(got, [(DebugClass::Fault, 0b1001)]);
}
