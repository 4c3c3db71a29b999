//! Programs to register images and back.
//!
//! The privilege bits come from the request's filter (user → PR, kernel → PNH,
//! hypervisor → HYP; CIABR takes exactly one), the access bits from its access set
//! (read → DR, write → DW), and the translation bits from [`Translation`] (on → WT/BT,
//! ignore → WTI/BTI). Linux `arch/powerpc/kernel/dawr.c` (`set_dawr`) and
//! `hw_breakpoint.c` build the same values.

use hwbkpt_hal::{AccessKind, AddressRange, PrivilegeFilter};

use crate::program::{DataWatch, InstructionBreak, PowerProgram, Translation};
use crate::registers::{Ciabr, Dabr, DabrFlags, Dabrx, Dawr, Dawrx, DawrxFlags, Mrd};

/// DAWR and DAWRX for `watch` (its length is 8..=512 by construction).
#[must_use]
pub const fn encode_dawr(watch: &DataWatch) -> (Dawr, Dawrx) {
    let mut flags = DawrxFlags::empty();
    if watch.access().contains(AccessKind::READ) {
        flags = flags.union(DawrxFlags::DR);
    }
    if watch.access().contains(AccessKind::WRITE) {
        flags = flags.union(DawrxFlags::DW);
    }
    flags = flags.union(match watch.translation() {
        Translation::On => DawrxFlags::WT,
        Translation::Off => DawrxFlags::empty(),
        Translation::Ignore => DawrxFlags::WTI,
    });
    flags = flags.union(DawrxFlags::from_bits_truncate(privilege_bits(
        watch.privilege(),
    )));
    // DataWatch guarantees a length of 8..=512 in doublewords; MAX is never used.
    let mrd = match Mrd::from_len(watch.range().len()) {
        Some(mrd) => mrd,
        None => Mrd::MAX,
    };
    (Dawr::new(watch.address()), Dawrx::new(mrd, flags))
}

/// DABR and DABRX for the first doubleword of `watch` (a DABR watches exactly one).
#[must_use]
pub const fn encode_dabr(watch: &DataWatch) -> (Dabr, Dabrx) {
    let mut flags = DabrFlags::empty();
    if watch.access().contains(AccessKind::READ) {
        flags = flags.union(DabrFlags::DR);
    }
    if watch.access().contains(AccessKind::WRITE) {
        flags = flags.union(DabrFlags::DW);
    }
    let mut dabrx = Dabrx::from_bits_retain(privilege_bits(watch.privilege()));
    match watch.translation() {
        Translation::On => flags = flags.union(DabrFlags::BT),
        Translation::Off => {}
        Translation::Ignore => dabrx = dabrx.union(Dabrx::BTI),
    }
    (Dabr::new(watch.address(), flags), dabrx)
}

/// CIABR for `brk`.
#[must_use]
pub const fn encode_ciabr(brk: &InstructionBreak) -> Ciabr {
    Ciabr::new(brk.address(), brk.privilege())
}

/// PR/PNH/HYP as LSB bits 0/1/2 — the same positions in DABRX and DAWRX.
const fn privilege_bits(filter: PrivilegeFilter) -> u64 {
    let mut bits = 0;
    if filter.contains(PrivilegeFilter::USER) {
        bits |= DawrxFlags::PR.bits();
    }
    if filter.contains(PrivilegeFilter::KERNEL) {
        bits |= DawrxFlags::PNH.bits();
    }
    if filter.contains(PrivilegeFilter::HYPERVISOR) {
        bits |= DawrxFlags::HYP.bits();
    }
    bits
}

const fn privilege_filter(bits: u64) -> PrivilegeFilter {
    let mut filter = PrivilegeFilter::empty();
    if bits & DawrxFlags::PR.bits() != 0 {
        filter = filter.union(PrivilegeFilter::USER);
    }
    if bits & DawrxFlags::PNH.bits() != 0 {
        filter = filter.union(PrivilegeFilter::KERNEL);
    }
    if bits & DawrxFlags::HYP.bits() != 0 {
        filter = filter.union(PrivilegeFilter::HYPERVISOR);
    }
    filter
}

const _: () = assert!(DawrxFlags::PRIVILEGE.bits() == Dabrx::PRIVILEGE.bits());

const fn translation(on: bool, ignore: bool) -> Translation {
    if ignore {
        Translation::Ignore
    } else if on {
        Translation::On
    } else {
        Translation::Off
    }
}

/// The program a DAWR/DAWRX pair runs, or `None` when it can match nothing (no access or
/// no privilege bit) or its range would pass the end of the address space.
#[must_use]
pub fn decode_dawr(dawr: Dawr, dawrx: Dawrx) -> Option<PowerProgram> {
    let f = dawrx.flags();
    let mut access = AccessKind::empty();
    if f.contains(DawrxFlags::DR) {
        access |= AccessKind::READ;
    }
    if f.contains(DawrxFlags::DW) {
        access |= AccessKind::WRITE;
    }
    let range = AddressRange::new(dawr.address().get(), dawrx.length()).ok()?;
    DataWatch::new(
        range,
        access,
        privilege_filter(f.bits()),
        translation(f.contains(DawrxFlags::WT), f.contains(DawrxFlags::WTI)),
    )
    .ok()
    .map(PowerProgram::Data)
}

/// The program a DABR/DABRX pair runs, or `None` when it can match nothing.
#[must_use]
pub fn decode_dabr(dabr: Dabr, dabrx: Dabrx) -> Option<PowerProgram> {
    let f = dabr.flags();
    let mut access = AccessKind::empty();
    if f.contains(DabrFlags::DR) {
        access |= AccessKind::READ;
    }
    if f.contains(DabrFlags::DW) {
        access |= AccessKind::WRITE;
    }
    let range = AddressRange::new(dabr.address().get(), 8).ok()?;
    DataWatch::new(
        range,
        access,
        privilege_filter(dabrx.bits()),
        translation(f.contains(DabrFlags::BT), dabrx.contains(Dabrx::BTI)),
    )
    .ok()
    .map(PowerProgram::Data)
}

/// The program a CIABR runs, or `None` when it is off (or on the last word of the
/// address space).
#[must_use]
pub fn decode_ciabr(ciabr: Ciabr) -> Option<PowerProgram> {
    InstructionBreak::new(ciabr.address().get(), ciabr.privilege().to_filter())
        .ok()
        .map(PowerProgram::Instruction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn data(range_start: u64, dws: u64, access: u8, privilege: u8, t: u8) -> Option<DataWatch> {
        let range = AddressRange::new(range_start * 8, dws * 8).ok()?;
        let translation = [Translation::On, Translation::Off, Translation::Ignore][t as usize % 3];
        DataWatch::new(
            range,
            AccessKind::from_bits_truncate(access),
            PrivilegeFilter::from_bits_truncate(privilege),
            translation,
        )
        .ok()
    }

    #[test]
    fn linux_normal_user_write() {
        // 8 bytes, write, user, translation on: DW | WT | PR = 0x51, MRD 0.
        let w = data(0x200, 1, 2, 1, 0).unwrap();
        let (dawr, dawrx) = encode_dawr(&w);
        assert_eq!((dawr.bits(), dawrx.bits()), (0x1000, 0x51));
        let (dabr, dabrx) = encode_dabr(&w);
        assert_eq!((dabr.bits(), dabrx.bits()), (0x1006, 0x1));
    }

    proptest! {
        #[test]
        fn dawr_round_trip(start in 0u64..(1 << 58), dws in 1u64..=64, access in 1u8..4, privilege in 1u8..8, t in 0u8..3) {
            let w = data(start, dws, access, privilege, t).unwrap();
            let (dawr, dawrx) = encode_dawr(&w);
            prop_assert_eq!(decode_dawr(dawr, dawrx), Some(PowerProgram::Data(w)));
            prop_assert_eq!(dawrx.reserved(), 0);
            prop_assert_eq!(dawr.reserved(), 0);
        }

        #[test]
        fn dabr_round_trip(start in 0u64..(1 << 58), access in 1u8..4, privilege in 1u8..8, t in 0u8..3) {
            let w = data(start, 1, access, privilege, t).unwrap();
            let (dabr, dabrx) = encode_dabr(&w);
            prop_assert_eq!(decode_dabr(dabr, dabrx), Some(PowerProgram::Data(w)));
        }

        #[test]
        fn ciabr_round_trip(word in 0u64..(1 << 61), p in 0usize..3) {
            let filter = [PrivilegeFilter::USER, PrivilegeFilter::KERNEL, PrivilegeFilter::HYPERVISOR][p];
            let brk = InstructionBreak::new(word * 4, filter).unwrap();
            prop_assert_eq!(decode_ciabr(encode_ciabr(&brk)), Some(PowerProgram::Instruction(brk)));
        }

        #[test]
        fn decoders_never_panic(a: u64, b: u64) {
            let _ = decode_dawr(Dawr::from_bits(a), Dawrx::from_bits(b));
            let _ = decode_dabr(Dabr::from_bits(a), Dabrx::from_bits_retain(b));
            let _ = decode_ciabr(Ciabr::from_bits(a));
        }
    }
}
