//! Executing one instruction of the x86 model, with the debug hardware watching.

use hwbkpt_hal::{
    AccessClass, AccessKind, DecodeError, DecodedAccess, EmulateError, MemoryReadError,
    StringProgress,
};

use super::debug::{DebugRegisters, Hits, bits};
use super::{
    DebugClass, Insn, MAX_INSN_LEN, Mem, Reg, StringWidth, X86, X86Context, X86Exception, rflags,
};
use crate::{Bus, EntryReason, FaultKind, Memory, StepOutcome};

/// Fetch and decode the instruction at `rip`. Fetching stops at the first unmapped byte, so
/// a short instruction at the end of a mapping still decodes.
fn fetch(memory: &Memory, rip: u64) -> Result<(Insn, u64), FaultKind> {
    let mut buf = [0u8; MAX_INSN_LEN];
    let mut have = 0;
    if memory.read(rip, &mut buf).is_ok() {
        have = MAX_INSN_LEN;
    } else {
        while have < MAX_INSN_LEN
            && memory
                .read(rip.wrapping_add(have as u64), &mut buf[have..=have])
                .is_ok()
        {
            have += 1;
        }
    }
    match Insn::decode(&buf[..have]) {
        Some((insn, len)) => Ok((insn, len as u64)),
        None if have < MAX_INSN_LEN => Err(FaultKind::Unmapped {
            addr: rip.wrapping_add(have as u64),
        }),
        None => Err(FaultKind::InvalidInstruction),
    }
}

/// Where execution goes after the instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// The next instruction.
    Next,
    /// A branch target.
    Jump(u64),
    /// The same instruction again: a `rep` string with iterations left.
    Repeat,
    /// The task ends.
    End,
}

/// One instruction's execution: the registers, the bus, and the breakpoint hits so far.
struct Exec<'c, 'b, 'm> {
    cpu: &'c X86,
    ctx: &'c mut X86Context,
    bus: &'b mut Bus<'m, X86Exception>,
    hits: Hits,
}

const fn unmapped(f: crate::MemoryFault) -> FaultKind {
    FaultKind::Unmapped { addr: f.addr }
}

fn effective(ctx: &X86Context, mem: Mem) -> u64 {
    let base = mem.base.map_or(0, |r| ctx.gpr(r));
    base.wrapping_add_signed(i64::from(mem.disp))
}

fn le_value(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(b)
}

const fn mask(bytes: u32) -> u64 {
    if bytes >= 8 {
        u64::MAX
    } else {
        (1 << (8 * bytes)) - 1
    }
}

impl Exec<'_, '_, '_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), FaultKind> {
        self.bus.read(addr, buf).map_err(unmapped)?;
        self.hits
            .add(self.ctx.debug().data_hits(addr, buf.len() as u64, false));
        Ok(())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), FaultKind> {
        self.bus.write(addr, data).map_err(unmapped)?;
        self.hits
            .add(self.ctx.debug().data_hits(addr, data.len() as u64, true));
        Ok(())
    }

    fn rmw(&mut self, addr: u64, len: u32, f: impl FnOnce(&mut [u8])) -> Result<(), FaultKind> {
        self.bus
            .read_modify_write(addr, len as usize, f)
            .map_err(unmapped)?;
        self.hits
            .add(self.ctx.debug().data_hits(addr, u64::from(len), true));
        Ok(())
    }

    fn read_uint(&mut self, addr: u64, bytes: u32) -> Result<u64, FaultKind> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b[..bytes as usize])?;
        Ok(le_value(&b[..bytes as usize]))
    }

    fn write_uint(&mut self, addr: u64, bytes: u32, value: u64) -> Result<(), FaultKind> {
        self.write(addr, &value.to_le_bytes()[..bytes as usize])
    }

    fn push(&mut self, value: u64) -> Result<(), FaultKind> {
        let rsp = self.ctx.gpr(Reg::Rsp).wrapping_sub(8);
        self.write_uint(rsp, 8, value)?;
        self.ctx.set_gpr(Reg::Rsp, rsp);
        Ok(())
    }

    fn pop(&mut self) -> Result<u64, FaultKind> {
        let rsp = self.ctx.gpr(Reg::Rsp);
        let v = self.read_uint(rsp, 8)?;
        self.ctx.set_gpr(Reg::Rsp, rsp.wrapping_add(8));
        Ok(v)
    }

    fn set_zf(&mut self, zero: bool) {
        let f = self.ctx.rflags() & !rflags::ZF;
        self.ctx.set_rflags(if zero { f | rflags::ZF } else { f });
    }

    fn execute(&mut self, insn: Insn, next: u64, tf: bool) -> Result<Flow, FaultKind> {
        let ctx = &mut *self.ctx;
        match insn {
            Insn::Nop => {}
            Insn::MovImm { dst, imm } => ctx.set_gpr(dst, imm),
            Insn::MovReg { dst, src } => ctx.set_gpr(dst, ctx.gpr(src)),
            Insn::AddImm { dst, imm } => {
                let v = ctx.gpr(dst).wrapping_add_signed(i64::from(imm));
                ctx.set_gpr(dst, v);
                self.set_zf(v == 0);
            }
            Insn::Load { width, dst, mem } => {
                let a = effective(ctx, mem);
                let v = self.read_uint(a, width.bytes())?;
                self.ctx.set_gpr(dst, v);
            }
            Insn::Store { width, src, mem } => {
                let (a, v) = (effective(ctx, mem), ctx.gpr(src));
                self.write_uint(a, width.bytes(), v)?;
            }
            Insn::VecLoad { width, dst, mem } => {
                let mut b = [0u8; 64];
                let n = width.bytes() as usize;
                let a = effective(ctx, mem);
                self.read(a, &mut b[..n])?;
                // VEX/EVEX loads zero the rest of the register.
                *self.ctx.vector_mut(usize::from(dst)) = b;
            }
            Insn::VecStore { width, src, mem } => {
                let a = effective(ctx, mem);
                let v = *ctx.vector_mut(usize::from(src));
                self.write(a, &v[..width.bytes() as usize])?;
            }
            Insn::AddMem { width, src, mem } => {
                let (a, addend, n) = (effective(ctx, mem), ctx.gpr(src), width.bytes());
                let mut result = 0;
                self.rmw(a, n, |b| {
                    result = le_value(b).wrapping_add(addend) & mask(n);
                    b.copy_from_slice(&result.to_le_bytes()[..n as usize]);
                })?;
                self.set_zf(result == 0);
            }
            Insn::LockCmpxchg { width, src, mem } => {
                let (a, n) = (effective(ctx, mem), width.bytes());
                let (expected, new) = (ctx.gpr(Reg::Rax) & mask(n), ctx.gpr(src) & mask(n));
                let mut old = 0;
                // The locked cycle writes either way: the new value on success, the old one
                // back on failure (SDM vol. 2 "CMPXCHG": "the destination operand is written
                // back if the comparison fails").
                self.rmw(a, n, |b| {
                    old = le_value(b);
                    if old == expected {
                        b.copy_from_slice(&new.to_le_bytes()[..n as usize]);
                    }
                })?;
                let equal = old == expected;
                if !equal {
                    let rax = self.ctx.gpr(Reg::Rax);
                    let merged = if n >= 4 { old } else { (rax & !mask(n)) | old };
                    self.ctx.set_gpr(Reg::Rax, merged);
                }
                self.set_zf(equal);
            }
            Insn::RepMovs(w) | Insn::RepStos(w) => return self.string(insn, w, tf),
            Insn::MovSsReg(r) => {
                #[allow(clippy::cast_possible_truncation, reason = "a selector is 16 bits")]
                ctx.set_ss(ctx.gpr(r) as u16);
            }
            Insn::MovSsMem(mem) => {
                let a = effective(ctx, mem);
                let v = self.read_uint(a, 2)?;
                #[allow(clippy::cast_possible_truncation, reason = "a 2-byte load")]
                self.ctx.set_ss(v as u16);
            }
            Insn::PopSs => {
                let v = self.pop()?;
                #[allow(clippy::cast_possible_truncation, reason = "a selector is 16 bits")]
                self.ctx.set_ss(v as u16);
            }
            Insn::Pushf => {
                // The image on the stack has RF and VM clear (SDM vol. 2 "PUSHF").
                let image = ctx.rflags() & !(rflags::RF | (1 << 17));
                self.push(image)?;
            }
            Insn::Popf => {
                let v = self.pop()?;
                let ctx = &mut *self.ctx;
                let allowed = if ctx.cpl() == 0 {
                    rflags::POPF_KERNEL
                } else {
                    rflags::POPF_USER
                };
                ctx.set_rflags((ctx.rflags() & !allowed) | (v & allowed));
            }
            Insn::Push(r) => {
                let v = ctx.gpr(r);
                self.push(v)?;
            }
            Insn::Pop(r) => {
                let v = self.pop()?;
                self.ctx.set_gpr(r, v);
            }
            Insn::Syscall => {
                ctx.set_gpr(Reg::Rcx, next);
                ctx.set_gpr(Reg::R11, ctx.rflags() & !rflags::RF);
                ctx.set_rflags(ctx.rflags() & !rflags::LINUX_FMASK & !rflags::RF);
                ctx.set_cpl(0);
                return Ok(Flow::Jump(self.cpu.syscall_entry));
            }
            Insn::Sysret => {
                let (rcx, r11) = (ctx.gpr(Reg::Rcx), ctx.gpr(Reg::R11));
                ctx.set_rflags(r11 & rflags::SYSRET_MASK);
                ctx.set_cpl(3);
                return Ok(Flow::Jump(rcx));
            }
            Insn::Jmp(rel) => return Ok(Flow::Jump(next.wrapping_add_signed(i64::from(rel)))),
            Insn::Jnz(rel) | Insn::Jz(rel) => {
                let zf = ctx.rflags() & rflags::ZF != 0;
                let taken = if matches!(insn, Insn::Jz(_)) { zf } else { !zf };
                if taken {
                    return Ok(Flow::Jump(next.wrapping_add_signed(i64::from(rel))));
                }
            }
            Insn::Call(rel) => {
                self.push(next)?;
                return Ok(Flow::Jump(next.wrapping_add_signed(i64::from(rel))));
            }
            Insn::Ret => return Ok(Flow::Jump(self.pop()?)),
            Insn::MovToDr { dr, src } => {
                let v = ctx.gpr(src);
                ctx.write_dr(dr, v)
                    .map_err(|_| FaultKind::GeneralProtection)?;
            }
            Insn::MovFromDr { dst, dr } => {
                let v = ctx.read_dr(dr).map_err(|_| FaultKind::InvalidInstruction)?;
                ctx.set_gpr(dst, v);
            }
            Insn::End => return Ok(Flow::End),
        }
        Ok(Flow::Next)
    }

    /// One step of `rep movs`/`rep stos`: one iteration, or with fast strings past the
    /// precise prefix, the iterations up to the end of the destination's block.
    fn string(&mut self, insn: Insn, width: StringWidth, tf: bool) -> Result<Flow, FaultKind> {
        let size = width.bytes();
        let down = self.ctx.rflags() & rflags::DF != 0;
        let movs = matches!(insn, Insn::RepMovs(_));
        let grouped = match self.cpu.profile.fast_strings_for(movs) {
            Some(fs) if width == StringWidth::Byte && !down && !tf => {
                let dst0 = self
                    .ctx
                    .gpr(Reg::Rdi)
                    .wrapping_sub(self.ctx.string_progress);
                let start = fs.fast_start(dst0);
                (self.ctx.string_progress >= start).then_some((fs, start))
            }
            _ => None,
        };
        loop {
            let rcx = self.ctx.gpr(Reg::Rcx);
            if rcx == 0 {
                return Ok(Flow::Next);
            }
            let (rsi, rdi) = (self.ctx.gpr(Reg::Rsi), self.ctx.gpr(Reg::Rdi));
            #[allow(clippy::cast_possible_truncation, reason = "size is 1 or 8")]
            let n = size as u32;
            if matches!(insn, Insn::RepMovs(_)) {
                let v = self.read_uint(rsi, n)?;
                self.write_uint(rdi, n, v)?;
                let rsi = if down {
                    rsi.wrapping_sub(size)
                } else {
                    rsi.wrapping_add(size)
                };
                self.ctx.set_gpr(Reg::Rsi, rsi);
            } else {
                let v = self.ctx.gpr(Reg::Rax);
                self.write_uint(rdi, n, v)?;
            }
            let rdi = if down {
                rdi.wrapping_sub(size)
            } else {
                rdi.wrapping_add(size)
            };
            self.ctx.set_gpr(Reg::Rdi, rdi);
            self.ctx.set_gpr(Reg::Rcx, rcx - 1);
            self.ctx.string_progress += size;
            match grouped {
                Some((fs, start))
                    if rcx - 1 != 0 && !fs.ends_group(self.ctx.string_progress, rdi, start) => {}
                _ => break,
            }
        }
        Ok(if self.ctx.gpr(Reg::Rcx) == 0 {
            Flow::Next
        } else {
            Flow::Repeat
        })
    }
}

/// Execute one instruction (or one `rep` step) on `ctx`.
pub(crate) fn step(
    cpu: &X86,
    ctx: &mut X86Context,
    bus: &mut Bus<'_, X86Exception>,
) -> StepOutcome<X86Exception> {
    let rip = ctx.rip();
    let (insn, len) = match fetch(bus.memory(), rip) {
        Ok(decoded) => decoded,
        Err(kind) => return StepOutcome::Fault(kind),
    };
    let shadowed = ctx.shadow.active;
    let tf = ctx.rflags() & rflags::TF != 0;
    let report_disabled = cpu.profile.reports_disabled_matches;

    // Instruction breakpoints: a fault before the instruction, the highest-priority debug
    // exception (SDM §18.3.1.1); RF suppresses it; after MOV SS / POP SS "the breakpoint may
    // not be triggered" (same section) — the model never triggers it.
    if ctx.rflags() & rflags::RF == 0 && !shadowed {
        let hits = ctx.debug().execute_hits(rip);
        if hits.enabled != 0 {
            let b = hits.enabled | if report_disabled { hits.disabled } else { 0 };
            ctx.debug_mut().report(b);
            return StepOutcome::Exception(X86Exception::Debug {
                dr6: ctx.debug().dr6(),
                class: DebugClass::Fault,
            });
        }
    }

    let privileged = matches!(
        insn,
        Insn::MovToDr { .. } | Insn::MovFromDr { .. } | Insn::Sysret
    );
    if privileged && ctx.cpl() != 0 {
        return StepOutcome::Fault(FaultKind::Privileged);
    }
    // General detect: the access faults with BD before it happens (SDM §18.2.4).
    if matches!(insn, Insn::MovToDr { .. } | Insn::MovFromDr { .. })
        && ctx.debug_mut().general_detect().is_err()
    {
        return StepOutcome::Exception(X86Exception::Debug {
            dr6: ctx.debug().dr6(),
            class: DebugClass::Fault,
        });
    }

    let next = rip.wrapping_add(len);
    let mut exec = Exec {
        cpu,
        ctx,
        bus,
        hits: Hits::default(),
    };
    let flow = match exec.execute(insn, next, tf) {
        Ok(flow) => flow,
        Err(kind) => return StepOutcome::Fault(kind),
    };
    let Exec { ctx, bus, hits, .. } = exec;
    let new_rip = match flow {
        Flow::Next | Flow::End => next,
        Flow::Jump(target) => target,
        Flow::Repeat => rip,
    };
    ctx.set_rip(new_rip);
    bus.retired(new_rip);
    match insn {
        Insn::Syscall => bus.kernel_entry(EntryReason::SystemCall),
        Insn::Sysret => bus.kernel_exit(),
        _ => {}
    }
    if flow != Flow::Repeat {
        // RF is cleared once an instruction completes (SDM §18.3.1.1).
        ctx.set_rflags(ctx.rflags() & !rflags::RF);
        ctx.string_progress = 0;
    }
    if flow == Flow::End {
        return StepOutcome::Exited;
    }

    // Trap-class conditions of this instruction: data breakpoints and single-step.
    let mut pending = hits.enabled;
    if tf {
        pending |= bits::DR6_BS;
    }
    if pending != 0 && report_disabled {
        pending |= hits.disabled;
    }
    if shadowed {
        pending |= ctx.shadow.held_dr6;
        ctx.shadow = super::regs::Shadow::default();
    } else if matches!(insn, Insn::MovSsReg(_) | Insn::MovSsMem(_) | Insn::PopSs) {
        // Hold everything until after the next instruction (SDM vol. 3 §6.8.3).
        ctx.shadow.active = true;
        ctx.shadow.held_dr6 = pending;
        return StepOutcome::Retired;
    }
    if pending == 0 {
        return StepOutcome::Retired;
    }
    if cpu.profile.merges_execute_into_traps
        && !tf
        && flow != Flow::Repeat
        && ctx.rflags() & rflags::RF == 0
    {
        // The execute breakpoint of the next instruction joins a data trap's #DB (profile
        // switch; measured: not a single-step trap's, with or without data hits).
        let next_hits = ctx.debug().execute_hits(new_rip);
        if next_hits.enabled != 0 {
            pending |= next_hits.enabled
                | if report_disabled {
                    next_hits.disabled
                } else {
                    0
                };
        }
    }
    ctx.debug_mut().report(pending);
    if flow == Flow::Repeat {
        // A trap between iterations of a string instruction sets RF in the frame, so the
        // restarted instruction does not re-trigger an execute breakpoint on itself.
        ctx.set_rflags(ctx.rflags() | rflags::RF);
    }
    StepOutcome::Exception(X86Exception::Debug {
        dr6: ctx.debug().dr6(),
        class: DebugClass::Trap,
    })
}

/// Execute the whole instruction at RIP for the kernel with the debug hardware out of the way:
/// DR7 reads as reset and TF as clear while it runs, and the debug registers, TF and the
/// interrupt shadow are put back afterwards, so no #DB is raised or recorded.
pub(crate) fn emulate(
    cpu: &X86,
    ctx: &mut X86Context,
    bus: &mut Bus<'_, X86Exception>,
) -> Result<(), EmulateError> {
    let pc = ctx.rip();
    // Debug-register moves would act on the registers set aside below; the end instruction
    // would end the task: neither is emulated.
    match fetch(bus.memory(), pc) {
        Ok((Insn::MovToDr { .. } | Insn::MovFromDr { .. } | Insn::End, _)) | Err(_) => {
            return Err(EmulateError::Unsupported { pc });
        }
        Ok(_) => {}
    }
    let debug = ctx.debug().clone();
    let tf = ctx.rflags() & rflags::TF;
    let shadow = ctx.shadow;
    *ctx.debug_mut() = DebugRegisters::default();
    ctx.set_rflags(ctx.rflags() & !rflags::TF);
    ctx.shadow = super::regs::Shadow::default();
    let result = loop {
        match step(cpu, ctx, bus) {
            // A `rep` instruction with iterations left: keep going.
            StepOutcome::Retired if ctx.rip() == pc && ctx.string_progress != 0 => {}
            StepOutcome::Retired => break Ok(()),
            StepOutcome::Fault(FaultKind::Unmapped { addr }) => {
                break Err(EmulateError::Fault { addr });
            }
            _ => break Err(EmulateError::Unsupported { pc }),
        }
    };
    *ctx.debug_mut() = debug;
    ctx.set_rflags((ctx.rflags() & !rflags::TF) | tf);
    ctx.shadow = shadow;
    result
}

/// Where the `rep movs`/`rep stos` at `pc` stands, when the trap frame `ctx` interrupted it
/// with iterations left: RF is set in the frame (the CPU sets it for a trap between
/// iterations, and clears it when an instruction completes), the instruction at `pc` is a
/// `rep` string and RCX is not 0. What a kernel can check in its #DB handler.
pub(crate) fn string_progress(
    ctx: &X86Context,
    memory: &Memory,
    pc: u64,
) -> Option<StringProgress> {
    if ctx.rflags() & rflags::RF == 0 {
        return None;
    }
    let (insn, _) = fetch(memory, pc).ok()?;
    let remaining = ctx.gpr(Reg::Rcx);
    (matches!(insn, Insn::RepMovs(_) | Insn::RepStos(_)) && remaining != 0)
        .then_some(StringProgress { remaining })
}

/// The data access the instruction at `pc` makes with `ctx`'s registers (for `movs`, the
/// write), decoded from memory.
pub(crate) fn decode_access(
    ctx: &X86Context,
    memory: &Memory,
    pc: u64,
) -> Result<Option<DecodedAccess>, DecodeError> {
    let (insn, _) = fetch(memory, pc).map_err(|kind| match kind {
        FaultKind::Unmapped { addr } => DecodeError::Fetch(MemoryReadError::Unmapped { addr }),
        _ => DecodeError::Unknown { pc },
    })?;
    let rsp = ctx.gpr(Reg::Rsp);
    let access = |addr: u64, size: u32, kind: AccessKind| {
        Some(DecodedAccess {
            addr,
            size,
            kind,
            class: AccessClass::Plain,
        })
    };
    let string = |w: StringWidth| {
        #[allow(clippy::cast_possible_truncation, reason = "1 or 8")]
        let size = w.bytes() as u32;
        if ctx.gpr(Reg::Rcx) == 0 {
            None
        } else {
            access(ctx.gpr(Reg::Rdi), size, AccessKind::WRITE)
        }
    };
    Ok(match insn {
        Insn::Load { width, mem, .. } => {
            access(effective(ctx, mem), width.bytes(), AccessKind::READ)
        }
        Insn::Store { width, mem, .. } => {
            access(effective(ctx, mem), width.bytes(), AccessKind::WRITE)
        }
        Insn::VecLoad { width, mem, .. } => {
            access(effective(ctx, mem), width.bytes(), AccessKind::READ)
        }
        Insn::VecStore { width, mem, .. } => {
            access(effective(ctx, mem), width.bytes(), AccessKind::WRITE)
        }
        Insn::AddMem { width, mem, .. } | Insn::LockCmpxchg { width, mem, .. } => {
            access(effective(ctx, mem), width.bytes(), AccessKind::READ_WRITE)
        }
        Insn::RepMovs(w) | Insn::RepStos(w) => string(w),
        Insn::MovSsMem(mem) => access(effective(ctx, mem), 2, AccessKind::READ),
        Insn::PopSs | Insn::Popf | Insn::Pop(_) | Insn::Ret => access(rsp, 8, AccessKind::READ),
        Insn::Pushf | Insn::Push(_) | Insn::Call(_) => {
            access(rsp.wrapping_sub(8), 8, AccessKind::WRITE)
        }
        _ => None,
    })
}
