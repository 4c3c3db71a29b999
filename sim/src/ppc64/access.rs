//! The access an instruction makes, from the instruction and the registers alone — the model's
//! counterpart of Linux's `analyse_instr`. Execution and the HAL's decode hook both use it,
//! and it never looks at the trace.

use hwbkpt_hal::{AccessClass, AccessKind, DecodedAccess};

use super::context::Ppc64Context;
use super::insn::Insn;

/// Size of the block `dcbz` zeroes: the POWER L1 data cache line.
pub const CACHE_BLOCK: u64 = 128;

const fn access(addr: u64, size: u32, kind: AccessKind, class: AccessClass) -> DecodedAccess {
    DecodedAccess {
        addr,
        size,
        kind,
        class,
    }
}

/// `(ra|0) + d`, wrapping like 64-bit mode address arithmetic.
const fn ea_d(ctx: &Ppc64Context, ra: u8, d: i16) -> u64 {
    ctx.base(ra).wrapping_add(d as i64 as u64)
}

/// `(ra|0) + rb`.
const fn ea_x(ctx: &Ppc64Context, ra: u8, rb: u8) -> u64 {
    ctx.base(ra).wrapping_add(ctx.gpr(rb))
}

/// The data access `insn` makes with registers `ctx`, or `None` for an instruction that makes
/// none. `dcbz` reports its whole aligned block, which is what it writes (Linux aligns the
/// decoded `dcbz` EA down to the block too).
#[must_use]
pub const fn access_of(insn: &Insn, ctx: &Ppc64Context) -> Option<DecodedAccess> {
    use AccessClass::{CacheBlock, LoadReserve, Plain, StoreConditional};
    const R: AccessKind = AccessKind::READ;
    const W: AccessKind = AccessKind::WRITE;
    const RW: AccessKind = AccessKind::READ_WRITE;
    let a = match *insn {
        Insn::Load { size, ra, d, .. } => access(ea_d(ctx, ra, d), size.bytes(), R, Plain),
        Insn::Store { size, ra, d, .. } => access(ea_d(ctx, ra, d), size.bytes(), W, Plain),
        Insn::Lq { ra, d, .. } | Insn::Lxv { ra, d, .. } => access(ea_d(ctx, ra, d), 16, R, Plain),
        Insn::Stq { ra, d, .. } | Insn::Stxv { ra, d, .. } => {
            access(ea_d(ctx, ra, d), 16, W, Plain)
        }
        Insn::Lxvp { ra, d, .. } => access(ea_d(ctx, ra, d), 32, R, Plain),
        Insn::Stxvp { ra, d, .. } => access(ea_d(ctx, ra, d), 32, W, Plain),
        Insn::FetchAdd { size, ra, .. } | Insn::CmpXchg { size, ra, .. } => {
            access(ctx.base(ra), size.bytes(), RW, Plain)
        }
        Insn::Larx { size, ra, rb, .. } => access(ea_x(ctx, ra, rb), size.bytes(), R, LoadReserve),
        Insn::Stcx { size, ra, rb, .. } => {
            access(ea_x(ctx, ra, rb), size.bytes(), W, StoreConditional)
        }
        Insn::Dcbz { ra, rb } => access(
            ea_x(ctx, ra, rb) & !(CACHE_BLOCK - 1),
            CACHE_BLOCK as u32,
            W,
            CacheBlock,
        ),
        Insn::Halt
        | Insn::Nop
        | Insn::Addi { .. }
        | Insn::Addis { .. }
        | Insn::Ori { .. }
        | Insn::Sldi { .. }
        | Insn::Add { .. }
        | Insn::Cmpd { .. }
        | Insn::Sc
        | Insn::Rfid
        | Insn::B { .. }
        | Insn::Bl { .. }
        | Insn::Blr
        | Insn::Bc { .. }
        | Insn::Mtlr { .. }
        | Insn::Mflr { .. } => return None,
    };
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::super::insn::Size;
    use super::*;

    #[test]
    fn effective_addresses_follow_ra_or_zero() {
        let mut ctx = Ppc64Context::user(0x1000);
        ctx.gpr[0] = 0xdead; // never used as a base
        ctx.gpr[3] = 0x2000;
        ctx.gpr[4] = 0x10;
        let ld = Insn::Load {
            size: Size::B8,
            rt: 5,
            ra: 3,
            d: -3,
        };
        assert_eq!(access_of(&ld, &ctx).unwrap().addr, 0x1FFD);
        let abs = Insn::Store {
            size: Size::B2,
            rs: 5,
            ra: 0,
            d: 0x100,
        };
        let a = access_of(&abs, &ctx).unwrap();
        assert_eq!((a.addr, a.size, a.kind), (0x100, 2, AccessKind::WRITE));
        let larx = Insn::Larx {
            size: Size::B4,
            rt: 5,
            ra: 3,
            rb: 4,
        };
        let a = access_of(&larx, &ctx).unwrap();
        assert_eq!((a.addr, a.class), (0x2010, AccessClass::LoadReserve));
        let stcx = Insn::Stcx {
            size: Size::B4,
            rs: 5,
            ra: 0,
            rb: 4,
        };
        let a = access_of(&stcx, &ctx).unwrap();
        assert_eq!((a.addr, a.class), (0x10, AccessClass::StoreConditional));
    }

    #[test]
    fn sizes_and_kinds() {
        let mut ctx = Ppc64Context::user(0x1000);
        ctx.gpr[3] = 0x2001;
        let cases = [
            (
                Insn::Lq {
                    rtp: 4,
                    ra: 3,
                    d: 0,
                },
                16,
                AccessKind::READ,
            ),
            (Insn::Stxv { vs: 1, ra: 3, d: 0 }, 16, AccessKind::WRITE),
            (
                Insn::Lxvp {
                    vtp: 2,
                    ra: 3,
                    d: 0,
                },
                32,
                AccessKind::READ,
            ),
            (
                Insn::Stxvp {
                    vsp: 2,
                    ra: 3,
                    d: 0,
                },
                32,
                AccessKind::WRITE,
            ),
            (
                Insn::FetchAdd {
                    size: Size::B8,
                    rt: 4,
                    ra: 3,
                    rb: 5,
                },
                8,
                AccessKind::READ_WRITE,
            ),
            (
                Insn::CmpXchg {
                    size: Size::B4,
                    rt: 4,
                    ra: 3,
                    rb: 5,
                },
                4,
                AccessKind::READ_WRITE,
            ),
        ];
        for (insn, size, kind) in cases {
            let a = access_of(&insn, &ctx).unwrap();
            assert_eq!(
                (a.addr, a.size, a.kind, a.class),
                (0x2001, size, kind, AccessClass::Plain)
            );
        }
        assert_eq!(access_of(&Insn::Sc, &ctx), None);
    }

    #[test]
    fn dcbz_reports_its_whole_aligned_block() {
        let mut ctx = Ppc64Context::user(0x1000);
        ctx.gpr[3] = 0x2000;
        ctx.gpr[4] = 0xC5;
        let a = access_of(&Insn::Dcbz { ra: 3, rb: 4 }, &ctx).unwrap();
        assert_eq!(
            (a.addr, a.size, a.kind, a.class),
            (0x2080, 128, AccessKind::WRITE, AccessClass::CacheBlock)
        );
    }
}
