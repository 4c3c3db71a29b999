//! The x86-64 model as the CLI drives it: the portable ops in the model's instruction set
//! (base register RBX, value RAX, loads into RCX), DR0–DR7 by name, DR6 decoded.

use hwbkpt_sim::x86::{
    Asm, DebugClass, Insn, Mem, Reg, StringWidth, Width, X86, X86Context, X86Exception,
    X86Profile as SimProfile,
};
use hwbkpt_x86::{X86Cpu, X86Profile};
use toml::Spanned;

use super::{Assembled, Model};
use crate::report::Hex;
use crate::report::RegValue;
use crate::scenario::{Arch, ErrorClass, Op, OpName, Profile, ScenarioError, Source, TaskMode};

/// Top of the stack every task gets.
const STACK_TOP: u64 = 0x7fff_0000;

fn width(size: u64) -> Width {
    match size {
        1 => Width::B1,
        2 => Width::B2,
        4 => Width::B4,
        _ => Width::B8,
    }
}

const fn ptr(size: u64) -> &'static str {
    match size {
        1 => "byte",
        2 => "word",
        4 => "dword",
        _ => "qword",
    }
}

struct X86Asm {
    asm: Asm,
    out: Assembled,
    rbx: Option<u64>,
    rax: Option<u64>,
}

impl X86Asm {
    fn emit(&mut self, insn: Insn, text: String) -> u64 {
        let pc = self.asm.here();
        self.asm.emit(insn);
        self.out.listing.insert(pc, text);
        pc
    }

    fn set(&mut self, reg: Reg, value: u64) {
        let cached = match reg {
            Reg::Rbx => &mut self.rbx,
            Reg::Rax => &mut self.rax,
            _ => {
                self.emit(
                    Insn::MovImm {
                        dst: reg,
                        imm: value,
                    },
                    format!("mov {}, {value:#x}", name(reg)),
                );
                return;
            }
        };
        if *cached == Some(value) {
            return;
        }
        *cached = Some(value);
        self.emit(
            Insn::MovImm {
                dst: reg,
                imm: value,
            },
            format!("mov {}, {value:#x}", name(reg)),
        );
    }

    /// `[rbx + disp]` reaching `addr`, reloading RBX when the displacement does not fit.
    fn mem(&mut self, addr: u64) -> (Mem, String) {
        let disp = self
            .rbx
            .and_then(|b| i32::try_from(addr.wrapping_sub(b) as i64).ok());
        let disp = match disp {
            Some(d) => d,
            None => {
                self.set(Reg::Rbx, addr);
                0
            }
        };
        let text = if disp == 0 {
            format!("[rbx]  ; {addr:#x}")
        } else if disp > 0 {
            format!("[rbx+{disp:#x}]  ; {addr:#x}")
        } else {
            format!("[rbx-{:#x}]  ; {addr:#x}", -i64::from(disp))
        };
        (Mem::base(Reg::Rbx, disp), text)
    }
}

const fn name(reg: Reg) -> &'static str {
    match reg {
        Reg::Rax => "rax",
        Reg::Rbx => "rbx",
        Reg::Rcx => "rcx",
        Reg::Rsi => "rsi",
        Reg::Rdi => "rdi",
        _ => "r?",
    }
}

fn split(text: &str) -> (&str, &str) {
    text.split_once("  ;").unwrap_or((text, ""))
}

impl Model for X86 {
    const ARCH: Arch = Arch::X86;
    const CODE: u64 = 0x40_0000;
    const STEP_TEXT: &'static str = "set RFLAGS.TF: a trap after the next instruction";

    fn program_text(program: &hwbkpt_x86::X86Program) -> String {
        crate::registers::x86_program_text(program)
    }

    fn build(profile: Profile) -> (Self, X86Cpu) {
        let sim = match profile {
            Profile::Qemu => SimProfile::QEMU,
            Profile::IntelFastStrings => SimProfile::INTEL_FAST_STRINGS,
            _ => SimProfile::GENERIC,
        };
        (X86::new(sim), X86Cpu::new(X86Profile::GENERIC_X86_64))
    }

    fn assemble(
        source: &Source,
        ops: &[Spanned<Op>],
        code: u64,
        base: u64,
    ) -> Result<Assembled, ScenarioError> {
        let mut a = X86Asm {
            asm: Asm::new(code),
            out: Assembled::default(),
            rbx: Some(base),
            rax: None,
        };
        for spanned in ops {
            let op = spanned.get_ref();
            if op.only.is_some_and(|o| o != Arch::X86) || op.op.native_to() == Some(Arch::Ppc64) {
                if op.only.is_none() {
                    a.out.skipped.push(op.op.name().to_owned());
                }
                continue;
            }
            let addr = op.addr.map_or(0, |n| n.0);
            let size = op.size.map_or(8, |n| n.0);
            let value = op.value.map_or(0, |n| n.0);
            let main = match op.op {
                OpName::Nop => a.emit(Insn::Nop, "nop".to_owned()),
                OpName::Load => {
                    let (mem, text) = a.mem(addr);
                    let (m, c) = split(&text);
                    a.emit(
                        Insn::Load {
                            width: width(size),
                            dst: Reg::Rcx,
                            mem,
                        },
                        format!("mov rcx, {} {m}  ;{c}", ptr(size)),
                    )
                }
                OpName::Store | OpName::Add => {
                    a.set(Reg::Rax, value);
                    let (mem, text) = a.mem(addr);
                    let (m, c) = split(&text);
                    if op.op == OpName::Store {
                        a.emit(
                            Insn::Store {
                                width: width(size),
                                src: Reg::Rax,
                                mem,
                            },
                            format!("mov {} {m}, rax  ;{c}", ptr(size)),
                        )
                    } else {
                        a.emit(
                            Insn::AddMem {
                                width: width(size),
                                src: Reg::Rax,
                                mem,
                            },
                            format!("add {} {m}, rax  ;{c}", ptr(size)),
                        )
                    }
                }
                OpName::RepMovsb | OpName::RepStosb => {
                    let count = op.count.map_or(0, |n| n.0);
                    let dst = op.dst.map_or(0, |n| n.0);
                    if op.op == OpName::RepMovsb {
                        a.set(Reg::Rsi, op.src.map_or(0, |n| n.0));
                    } else {
                        a.set(Reg::Rax, value);
                    }
                    a.set(Reg::Rdi, dst);
                    a.set(Reg::Rcx, count);
                    if op.op == OpName::RepMovsb {
                        a.emit(Insn::RepMovs(StringWidth::Byte), "rep movsb".to_owned())
                    } else {
                        a.emit(Insn::RepStos(StringWidth::Byte), "rep stosb".to_owned())
                    }
                }
                OpName::MovSs => {
                    let (mem, text) = a.mem(addr);
                    let (m, c) = split(&text);
                    a.emit(Insn::MovSsMem(mem), format!("mov ss, word {m}  ;{c}"))
                }
                OpName::Larx | OpName::Stcx | OpName::Dcbz => {
                    return Err(source.error_at(
                        spanned.span(),
                        ErrorClass::Arch,
                        format!("op `{}` does not exist on x86-64", op.op.name()),
                    ));
                }
            };
            if let Some(label) = &op.label {
                a.out.labels.insert(label.clone(), main);
            }
        }
        let end = a.asm.here();
        a.asm.end();
        a.out.listing.insert(end, "end (exit)".to_owned());
        let program = a.asm.finish().map_err(|e| {
            ScenarioError::at(
                &source.path,
                &source.text,
                None,
                ErrorClass::Value,
                format!("the program cannot be assembled: {e}"),
            )
        })?;
        a.out.bytes = program.bytes;
        Ok(a.out)
    }

    fn map_extra(memory: &mut hwbkpt_sim::Memory) {
        memory.map(
            STACK_TOP - 0x1_0000,
            0x1_0000,
            hwbkpt_sim::RegionAttributes::default(),
        );
    }

    fn context(entry: u64, mode: TaskMode, base: u64) -> X86Context {
        let mut regs = match mode {
            TaskMode::User => X86Context::user(entry),
            TaskMode::Kernel => X86Context::kernel(entry),
        };
        regs.set_gpr(Reg::Rsp, STACK_TOP);
        regs.set_gpr(Reg::Rbx, base);
        regs
    }

    fn debug_registers(ctx: &X86Context) -> Vec<(&'static str, u64)> {
        let d = ctx.debug();
        vec![
            ("DR0", d.address(0)),
            ("DR1", d.address(1)),
            ("DR2", d.address(2)),
            ("DR3", d.address(3)),
            ("DR7", d.dr7()),
            ("RFLAGS.RF", ctx.rflags() & hwbkpt_sim::x86::rflags::RF),
        ]
    }

    fn raw_write(ctx: &mut X86Context, register: &str, value: u64) -> Result<(), String> {
        let n = match register.to_ascii_lowercase().as_str() {
            "dr0" => 0,
            "dr1" => 1,
            "dr2" => 2,
            "dr3" => 3,
            "dr6" => 6,
            "dr7" => 7,
            other => {
                return Err(format!(
                    "no register `{other}` on x86-64; expected dr0, dr1, dr2, dr3, dr6 or dr7"
                ));
            }
        };
        ctx.kernel_write_dr(n, value)
            .map_err(|e| format!("the CPU refused {register} = {value:#x}: {e:?}"))
    }

    fn describe(exception: &X86Exception) -> (Vec<RegValue>, String) {
        match *exception {
            X86Exception::Debug { dr6, class } => {
                let mut parts = Vec::new();
                for n in 0..4 {
                    if dr6 & (1 << n) != 0 {
                        parts.push(format!("B{n}"));
                    }
                }
                for (bit, name) in [(13, "BD"), (14, "BS"), (15, "BT")] {
                    if dr6 & (1 << bit) != 0 {
                        parts.push(name.to_owned());
                    }
                }
                let kind = match class {
                    DebugClass::Fault => "#DB fault (before the instruction)",
                    DebugClass::Trap => "#DB trap (after the instruction)",
                };
                (
                    vec![RegValue {
                        name: "DR6".to_owned(),
                        value: Hex(dr6),
                    }],
                    format!("{kind}: {}", parts.join(" ")),
                )
            }
            _ => (Vec::new(), "exception".to_owned()),
        }
    }

    fn single_step(exception: &X86Exception) -> bool {
        matches!(*exception, X86Exception::Debug { dr6, .. } if dr6 & (1 << 14) != 0)
    }

    fn breakpoint_match(exception: &X86Exception) -> bool {
        matches!(*exception, X86Exception::Debug { dr6, .. } if dr6 & 0x200f != 0)
    }
}
