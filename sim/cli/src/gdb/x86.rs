//! The x86-64 model for gdb: `gdbstub_arch`'s x86-64 registers, native trap-after watches,
//! `rwatch` on a read/write slot.

use gdbstub::target::ext::breakpoints::WatchKind;
use gdbstub_arch::x86::X86_64_SSE;
use gdbstub_arch::x86::reg::X86_64CoreRegs;
use hwbkpt_hal::{AccessKind, Delivery};
use hwbkpt_sim::x86::{Reg, VECTOR_REGS, X86, X86Context};

use super::model::{GdbModel, UnmodelledRegister};

/// gdb's order of the general registers: RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP, R8–R15
/// (the model numbers them in encoding order: RAX, RCX, RDX, RBX, …).
const GDB_ORDER: [Reg; 16] = [
    Reg::Rax,
    Reg::Rbx,
    Reg::Rcx,
    Reg::Rdx,
    Reg::Rsi,
    Reg::Rdi,
    Reg::Rbp,
    Reg::Rsp,
    Reg::R8,
    Reg::R9,
    Reg::R10,
    Reg::R11,
    Reg::R12,
    Reg::R13,
    Reg::R14,
    Reg::R15,
];

/// The model keeps only the privilege level, not a CS selector; gdb is shown the selector
/// Linux uses for that level (`__USER_CS` 0x33, `__KERNEL_CS` 0x10), whose RPL is the CPL.
const fn cs_for(cpl: u8) -> u32 {
    if cpl == 0 { 0x10 } else { 0x33 }
}

/// Reset values of the x87 control word and MXCSR (SDM vol. 1 §8.1.5, §10.2.3): the model
/// has no floating-point state, so gdb sees a freshly reset unit.
const FCTRL_RESET: u32 = 0x037F;
const MXCSR_RESET: u32 = 0x1F80;

/// What gdb is shown for everything the model does not have.
fn unmodelled(ctx: &X86Context) -> X86_64CoreRegs {
    let mut regs = X86_64CoreRegs::default();
    regs.segments.cs = cs_for(ctx.cpl());
    regs.segments.ss = u32::from(ctx.ss());
    regs.fpu.fctrl = FCTRL_RESET;
    regs.mxcsr = MXCSR_RESET;
    regs
}

fn xmm(ctx: &X86Context, n: usize) -> u128 {
    ctx.vector(n).map_or(0, |v| {
        let mut low = [0; 16];
        low.copy_from_slice(&v[..16]);
        u128::from_le_bytes(low)
    })
}

impl GdbModel for X86 {
    type GdbArch = X86_64_SSE;

    const GDB: &'static str = "gdb";
    const GDB_SETUP: &'static [&'static str] = &[];
    const WATCH_DELIVERY: Delivery = Delivery::After;
    const HW_BREAK_REFUSAL: Option<&'static str> = None;

    fn watch_access(kind: WatchKind) -> (AccessKind, bool) {
        match kind {
            WatchKind::Write => (AccessKind::WRITE, false),
            // R/W 10 is I/O and there is no read-only encoding (SDM vol. 3 §18.2.4).
            WatchKind::Read => (AccessKind::READ_WRITE, true),
            WatchKind::ReadWrite => (AccessKind::READ_WRITE, false),
        }
    }

    fn read_registers(ctx: &X86Context, regs: &mut X86_64CoreRegs) {
        *regs = unmodelled(ctx);
        for (slot, reg) in regs.regs.iter_mut().zip(GDB_ORDER) {
            *slot = ctx.gpr(reg);
        }
        regs.rip = ctx.rip();
        // gdb's eflags is 32 bits wide; bits 63:32 of RFLAGS are reserved (zero).
        regs.eflags = ctx.rflags() as u32;
        for (n, slot) in regs.xmm.iter_mut().enumerate().take(VECTOR_REGS) {
            *slot = xmm(ctx, n);
        }
    }

    fn write_registers(
        ctx: &mut X86Context,
        regs: &X86_64CoreRegs,
    ) -> Result<(), UnmodelledRegister> {
        let fixed = unmodelled(ctx);
        if regs.segments != fixed.segments {
            return Err(UnmodelledRegister("segment selector"));
        }
        if regs.st != fixed.st || regs.fpu != fixed.fpu {
            return Err(UnmodelledRegister("x87 register"));
        }
        if regs.mxcsr != fixed.mxcsr {
            return Err(UnmodelledRegister("mxcsr"));
        }
        if regs.xmm[VECTOR_REGS..].iter().any(|x| *x != 0) {
            return Err(UnmodelledRegister("xmm8-xmm15"));
        }
        for (value, reg) in regs.regs.iter().zip(GDB_ORDER) {
            ctx.set_gpr(reg, *value);
        }
        ctx.set_rflags((ctx.rflags() & !u64::from(u32::MAX)) | u64::from(regs.eflags));
        for (n, value) in regs.xmm.iter().enumerate().take(VECTOR_REGS) {
            if let Some(old) = ctx.vector(n) {
                let mut v = *old;
                v[..16].copy_from_slice(&value.to_le_bytes());
                ctx.set_vector(n, v);
            }
        }
        Ok(())
    }

    fn pc_of(regs: &X86_64CoreRegs) -> u64 {
        regs.rip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_round_trip_in_gdb_order() {
        let mut ctx = X86Context::user(0x40_0000);
        ctx.set_gpr(Reg::Rbx, 0x2000_0000);
        ctx.set_gpr(Reg::Rsp, 0x7fff_0000);
        let mut regs = X86_64CoreRegs::default();
        X86::read_registers(&ctx, &mut regs);
        assert_eq!(regs.regs[1], 0x2000_0000, "gdb's second register is RBX");
        assert_eq!(regs.regs[7], 0x7fff_0000, "gdb's eighth register is RSP");
        assert_eq!(regs.segments.cs & 3, 3, "CS's RPL is the CPL");
        regs.regs[0] = 0x1234;
        X86::write_registers(&mut ctx, &regs).unwrap();
        assert_eq!(ctx.gpr(Reg::Rax), 0x1234);
        regs.xmm[9] = 1;
        assert_eq!(
            X86::write_registers(&mut ctx, &regs),
            Err(UnmodelledRegister("xmm8-xmm15"))
        );
    }
}
