//! The PPC64 model as the CLI drives it: the portable ops in the model's instruction set
//! (base register r3, value r4, loads into r5, X-form addresses in r7), the breakpoint SPRs by
//! name, DSISR/DAR decoded.

use hwbkpt_ppc64::{PowerCpu, PowerProfile};
use hwbkpt_sim::ppc64::{Asm, CpuProfile, Insn, Ppc64, Ppc64Context, Ppc64Exception, Size};
use toml::Spanned;

use super::{Assembled, Model};
use crate::report::{Hex, RegValue};
use crate::scenario::{Arch, ErrorClass, Op, OpName, Profile, ScenarioError, Source, TaskMode};

fn size(bytes: u64) -> Size {
    match bytes {
        1 => Size::B1,
        2 => Size::B2,
        4 => Size::B4,
        _ => Size::B8,
    }
}

const fn suffix(bytes: u64) -> &'static str {
    match bytes {
        1 => "b",
        2 => "h",
        4 => "w",
        _ => "d",
    }
}

struct PpcAsm {
    asm: Asm,
    out: Assembled,
    regs: [Option<u64>; 8],
}

impl PpcAsm {
    fn emit(&mut self, insn: Insn, text: String) -> u64 {
        let pc = self.asm.here();
        self.asm.emit(insn);
        self.out.listing.insert(pc, text);
        pc
    }

    fn li(&mut self, reg: u8, value: u64) {
        if self.regs[usize::from(reg)] == Some(value) {
            return;
        }
        self.regs[usize::from(reg)] = Some(value);
        if let Ok(d) = i16::try_from(value) {
            self.emit(
                Insn::Addi { rt: reg, ra: 0, d },
                format!("li r{reg}, {value:#x}"),
            );
            return;
        }
        if value < 0x8000_0000 {
            // lis + ori: the upper half is below 0x8000, so addis does not sign-extend.
            let (hi, lo) = ((value >> 16) as u16, (value & 0xffff) as u16);
            self.emit(
                Insn::Addis {
                    rt: reg,
                    ra: 0,
                    d: hi.cast_signed(),
                },
                format!("lis r{reg}, {hi:#x}"),
            );
            if lo != 0 {
                self.emit(
                    Insn::Ori {
                        rt: reg,
                        ra: reg,
                        imm: lo,
                    },
                    format!("ori r{reg}, r{reg}, {lo:#x}"),
                );
            }
            return;
        }
        let start = self.asm.here();
        self.asm.li(reg, value);
        let end = self.asm.here();
        let mut pc = start;
        while pc < end {
            let text = if pc == start {
                format!("li r{reg}, {value:#x}  (64-bit constant)")
            } else {
                format!("  (li r{reg}, {value:#x} continued)")
            };
            self.out.listing.insert(pc, text);
            pc += 4;
        }
    }

    /// `d(r3)` reaching `addr`, reloading r3 when the displacement does not fit.
    fn d_form(&mut self, addr: u64) -> (i16, String) {
        let d = self.regs[3].and_then(|b| i16::try_from(addr.wrapping_sub(b) as i64).ok());
        let d = match d {
            Some(d) => d,
            None => {
                self.li(3, addr);
                0
            }
        };
        (d, format!("{d}(r3)  ; {addr:#x}"))
    }
}

impl Model for Ppc64 {
    const ARCH: Arch = Arch::Ppc64;
    const CODE: u64 = 0x1000_0000;
    const STEP_TEXT: &'static str =
        "set MSR[SE]: a trace interrupt after the instruction completes";

    fn program_text(program: &hwbkpt_ppc64::PowerProgram) -> String {
        crate::registers::power_program_text(program)
    }

    fn build(profile: Profile) -> (Self, PowerCpu) {
        let (sim, backend, dangerous) = match profile {
            Profile::Power7 => (CpuProfile::POWER7, PowerProfile::Power7, false),
            Profile::Power8 => (CpuProfile::POWER8, PowerProfile::Power8, false),
            Profile::Power9 => (CpuProfile::POWER9, PowerProfile::Power9, false),
            Profile::Power9Dangerous => (CpuProfile::POWER9_DANGEROUS, PowerProfile::Power9, true),
            _ => (CpuProfile::POWER10, PowerProfile::Power10, false),
        };
        (
            Ppc64::new(sim),
            PowerCpu::new(backend).with_dangerous_dawr(dangerous),
        )
    }

    fn assemble(
        source: &Source,
        ops: &[Spanned<Op>],
        code: u64,
        base: u64,
    ) -> Result<Assembled, ScenarioError> {
        let mut a = PpcAsm {
            asm: Asm::new(code),
            out: Assembled::default(),
            regs: [None; 8],
        };
        a.regs[3] = Some(base);
        for spanned in ops {
            let op = spanned.get_ref();
            if op.only.is_some_and(|o| o != Arch::Ppc64) || op.op.native_to() == Some(Arch::X86) {
                if op.only.is_none() {
                    a.out.skipped.push(op.op.name().to_owned());
                }
                continue;
            }
            let addr = op.addr.map_or(0, |n| n.0);
            let bytes = op.size.map_or(8, |n| n.0);
            let value = op.value.map_or(0, |n| n.0);
            let s = suffix(bytes);
            let main = match op.op {
                OpName::Nop => a.emit(Insn::Nop, "nop".to_owned()),
                OpName::Load => {
                    let (d, text) = a.d_form(addr);
                    let mnemonic = if bytes == 8 {
                        "ld".to_owned()
                    } else {
                        format!("l{s}z")
                    };
                    a.emit(
                        Insn::Load {
                            size: size(bytes),
                            rt: 5,
                            ra: 3,
                            d,
                        },
                        format!("{mnemonic} r5, {text}"),
                    )
                }
                OpName::Store => {
                    a.li(4, value);
                    let (d, text) = a.d_form(addr);
                    a.emit(
                        Insn::Store {
                            size: size(bytes),
                            rs: 4,
                            ra: 3,
                            d,
                        },
                        format!("st{s} r4, {text}"),
                    )
                }
                OpName::Add => {
                    a.li(4, value);
                    a.li(7, addr);
                    a.emit(
                        Insn::FetchAdd {
                            size: size(bytes),
                            rt: 5,
                            ra: 7,
                            rb: 4,
                        },
                        format!("l{s}at r5, r7, r4 (fetch and add)  ; {addr:#x}"),
                    )
                }
                OpName::Larx => {
                    a.li(7, addr);
                    a.emit(
                        Insn::Larx {
                            size: size(bytes),
                            rt: 5,
                            ra: 0,
                            rb: 7,
                        },
                        format!("l{s}arx r5, 0, r7  ; {addr:#x}"),
                    )
                }
                OpName::Stcx => {
                    a.li(4, value);
                    a.li(7, addr);
                    a.emit(
                        Insn::Stcx {
                            size: size(bytes),
                            rs: 4,
                            ra: 0,
                            rb: 7,
                        },
                        format!("st{s}cx. r4, 0, r7  ; {addr:#x}"),
                    )
                }
                OpName::Dcbz => {
                    a.li(7, addr);
                    a.emit(
                        Insn::Dcbz { ra: 0, rb: 7 },
                        format!("dcbz 0, r7  ; {addr:#x}"),
                    )
                }
                OpName::RepMovsb | OpName::RepStosb | OpName::MovSs => {
                    return Err(source.error_at(
                        spanned.span(),
                        ErrorClass::Arch,
                        format!("op `{}` does not exist on PPC64", op.op.name()),
                    ));
                }
            };
            if let Some(label) = &op.label {
                a.out.labels.insert(label.clone(), main);
            }
        }
        let end = a.asm.here();
        a.asm.halt();
        a.out.listing.insert(end, "halt (exit)".to_owned());
        a.out.bytes = a.asm.bytes();
        Ok(a.out)
    }

    fn map_extra(_memory: &mut hwbkpt_sim::Memory) {}

    fn context(entry: u64, mode: TaskMode, base: u64) -> Ppc64Context {
        let mut regs = match mode {
            TaskMode::User => Ppc64Context::user(entry),
            TaskMode::Kernel => Ppc64Context::kernel(entry),
        };
        regs.gpr[3] = base;
        regs
    }

    fn debug_registers(ctx: &Ppc64Context) -> Vec<(&'static str, u64)> {
        let d = &ctx.debug;
        vec![
            ("DABR", d.dabr),
            ("DABRX", d.dabrx),
            ("DAWR0", d.dawr[0]),
            ("DAWRX0", d.dawrx[0]),
            ("DAWR1", d.dawr[1]),
            ("DAWRX1", d.dawrx[1]),
            ("CIABR", d.ciabr),
        ]
    }

    fn raw_write(ctx: &mut Ppc64Context, register: &str, value: u64) -> Result<(), String> {
        let d = &mut ctx.debug;
        let slot = match register.to_ascii_lowercase().as_str() {
            "dabr" => &mut d.dabr,
            "dabrx" => &mut d.dabrx,
            "dawr0" => &mut d.dawr[0],
            "dawrx0" => &mut d.dawrx[0],
            "dawr1" => &mut d.dawr[1],
            "dawrx1" => &mut d.dawrx[1],
            "ciabr" => &mut d.ciabr,
            other => {
                return Err(format!(
                    "no register `{other}` on PPC64; expected dabr, dabrx, dawr0, dawrx0, dawr1, dawrx1 or ciabr"
                ));
            }
        };
        *slot = value;
        Ok(())
    }

    fn describe(exception: &Ppc64Exception) -> (Vec<RegValue>, String) {
        match *exception {
            Ppc64Exception::DataStorage { dsisr, dar } => {
                let mut causes = Vec::new();
                if dsisr & 0x0040_0000 != 0 {
                    causes.push("DABR/DAWR match (bit 41)");
                }
                if dsisr & 0x0200_0000 != 0 {
                    causes.push("store (bit 38)");
                }
                (
                    vec![
                        RegValue {
                            name: "DSISR".to_owned(),
                            value: Hex(dsisr),
                        },
                        RegValue {
                            name: "DAR".to_owned(),
                            value: Hex(dar),
                        },
                    ],
                    format!(
                        "data storage interrupt before the access: {}",
                        causes.join(", ")
                    ),
                )
            }
            Ppc64Exception::Trace { single_step, ciabr } => {
                let mut causes = Vec::new();
                if single_step {
                    causes.push("single step (MSR[SE])");
                }
                if ciabr {
                    causes.push("CIABR match, after completion");
                }
                (
                    Vec::new(),
                    format!(
                        "trace interrupt after the instruction: {}",
                        causes.join(", ")
                    ),
                )
            }
        }
    }

    fn single_step(exception: &Ppc64Exception) -> bool {
        matches!(
            *exception,
            Ppc64Exception::Trace {
                single_step: true,
                ..
            }
        )
    }

    fn breakpoint_match(exception: &Ppc64Exception) -> bool {
        matches!(
            *exception,
            Ppc64Exception::DataStorage { .. } | Ppc64Exception::Trace { ciabr: true, .. }
        )
    }
}
