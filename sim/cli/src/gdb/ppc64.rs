//! The PPC64 model for gdb: our own 64-bit big-endian [`Ppc64Arch`], watches stopped before
//! the access (gdb steps over the access itself), real read-only watches, no `hbreak`.

use gdbstub::target::ext::breakpoints::WatchKind;
use hwbkpt_hal::{AccessKind, Delivery};
use hwbkpt_sim::ppc64::{Ppc64, Ppc64Context};

use super::model::{GdbModel, UnmodelledRegister};
use super::ppc64_arch::{Ppc64Arch, Ppc64Regs};

/// CR0 is the most significant field of the 32-bit CR.
const CR0_SHIFT: u32 = 28;

impl GdbModel for Ppc64 {
    type GdbArch = Ppc64Arch;

    const GDB: &'static str = "gdb-multiarch";
    const GDB_SETUP: &'static [&'static str] = &["set endian big"];
    const WATCH_DELIVERY: Delivery = Delivery::Before;
    /// CIABR fires after the instruction completed (NIP already at the next one), and gdb
    /// expects a hardware breakpoint to stop before the instruction at its address.
    const HW_BREAK_REFUSAL: Option<&'static str> =
        Some("CIABR stops after the instruction completes; gdb needs a stop before it");

    fn watch_access(kind: WatchKind) -> (AccessKind, bool) {
        match kind {
            WatchKind::Write => (AccessKind::WRITE, false),
            WatchKind::Read => (AccessKind::READ, false),
            WatchKind::ReadWrite => (AccessKind::READ_WRITE, false),
        }
    }

    fn read_registers(ctx: &Ppc64Context, regs: &mut Ppc64Regs) {
        *regs = Ppc64Regs {
            gpr: ctx.gpr,
            pc: ctx.nip,
            msr: ctx.msr,
            cr: u32::from(ctx.cr0) << CR0_SHIFT,
            lr: ctx.lr,
            // The model has no CTR or XER: they read as zero.
            ctr: 0,
            xer: 0,
        };
    }

    fn write_registers(ctx: &mut Ppc64Context, regs: &Ppc64Regs) -> Result<(), UnmodelledRegister> {
        if regs.cr & ((1 << CR0_SHIFT) - 1) != 0 {
            return Err(UnmodelledRegister("CR1-CR7"));
        }
        if regs.ctr != 0 {
            return Err(UnmodelledRegister("ctr"));
        }
        if regs.xer != 0 {
            return Err(UnmodelledRegister("xer"));
        }
        ctx.gpr = regs.gpr;
        ctx.msr = regs.msr;
        ctx.lr = regs.lr;
        // Only CR0 is modelled, and the check above leaves nothing below it.
        ctx.cr0 = (regs.cr >> CR0_SHIFT) as u8;
        Ok(())
    }

    fn pc_of(regs: &Ppc64Regs) -> u64 {
        regs.pc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cr0_is_the_top_field() {
        let mut ctx = Ppc64Context::user(0x1000_0000);
        ctx.cr0 = 0b0010;
        let mut regs = Ppc64Regs::default();
        Ppc64::read_registers(&ctx, &mut regs);
        assert_eq!(regs.cr, 0x2000_0000);
        assert_eq!(regs.pc, 0x1000_0000);
        regs.cr = 0x8000_0000;
        regs.gpr[4] = 9;
        Ppc64::write_registers(&mut ctx, &regs).unwrap();
        assert_eq!((ctx.cr0, ctx.gpr[4]), (0b1000, 9));
        regs.cr = 0x0100_0000;
        assert!(Ppc64::write_registers(&mut ctx, &regs).is_err());
    }
}
