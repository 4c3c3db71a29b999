//! Decoding exception status into the HAL's terms.

use hwbkpt_hal::{DebugArchitecture, ExceptionCause, PoolKind, SlotSet};

use super::{ciabr_slot, data_slot};
use crate::{Dsisr, PowerCpu, PowerProfile, PowerStatus, Srr1};

#[test]
fn dsi_names_every_data_slot_as_a_candidate() {
    let cases = [
        (PowerCpu::new(PowerProfile::Power7), 1),
        (PowerCpu::new(PowerProfile::Power8), 1),
        (PowerCpu::new(PowerProfile::Power9), 0),
        (
            PowerCpu::new(PowerProfile::Power9).with_dangerous_dawr(true),
            1,
        ),
        (PowerCpu::new(PowerProfile::Power10), 2),
    ];
    for (cpu, slots) in cases {
        let cause = cpu.decode_status(&PowerStatus::watchpoint(0x1234));
        assert_eq!(cause.slots.len(), slots, "{cpu:?}");
        assert_eq!(cause.slots.in_pool(PoolKind::Data).count(), slots as usize);
        assert!(!cause.slots_exact);
        assert!(!cause.single_step);
        assert_eq!(cause.address, Some(0x1234));
    }
    let p10 = PowerCpu::new(PowerProfile::Power10);
    let cause = p10.decode_status(&PowerStatus::DataStorage {
        dsisr: Dsisr::DABR_MATCH | Dsisr::STORE,
        dar: 0x2000,
    });
    assert_eq!(
        cause.slots,
        SlotSet::EMPTY.with(data_slot(0)).with(data_slot(1))
    );
}

#[test]
fn page_faults_are_not_debug_events() {
    let cpu = PowerCpu::new(PowerProfile::Power10);
    let cause = cpu.decode_status(&PowerStatus::DataStorage {
        dsisr: Dsisr::from_bits_retain(0x4000_0000) | Dsisr::STORE,
        dar: 0x2000,
    });
    assert_eq!(cause, ExceptionCause::default());
}

#[test]
fn trace_interrupts() {
    let cpu = PowerCpu::new(PowerProfile::Power8);
    let step = cpu.decode_status(&PowerStatus::single_step());
    assert!(step.single_step);
    assert!(step.slots.is_empty());
    assert_eq!(step.address, None);

    let ciabr = cpu.decode_status(&PowerStatus::ciabr_match());
    assert!(!ciabr.single_step);
    assert!(ciabr.slots_exact);
    assert_eq!(ciabr.slots, SlotSet::EMPTY.with(ciabr_slot()));

    let both = cpu.decode_status(&PowerStatus::Trace {
        srr1: Srr1::SE | Srr1::CIABR_MATCH | Srr1::PR,
    });
    assert!(both.single_step);
    assert_eq!(both.slots, SlotSet::EMPTY.with(ciabr_slot()));

    // POWER7 has no CIABR to name.
    let p7 = PowerCpu::new(PowerProfile::Power7);
    assert!(
        p7.decode_status(&PowerStatus::ciabr_match())
            .slots
            .is_empty()
    );
}

/// The bytes a DABR/DAWR compares for an access: doublewords, but whole quadwords for a
/// 16-byte access before POWER10 (Linux `ea_hw_range_overlaps`). A slot watching `0x1028`
/// fires on a 16-byte load at `0x1011` on POWER8/9 (its quadword `0x1010..0x1030` reaches
/// it) and not on POWER10 (its doublewords end at `0x1028`).
#[test]
fn match_window_widens_quadword_accesses_before_power10() {
    use hwbkpt_hal::{AccessClass, AccessKind, AddressRange, DecodedAccess};
    let access = |addr, size, class| DecodedAccess {
        addr,
        size,
        kind: AccessKind::READ,
        class,
    };
    let range = |start, len| AddressRange::new(start, len).ok();
    let plain = AccessClass::Plain;
    let cases = [
        // (profile, access, window)
        (
            PowerProfile::Power7,
            access(0x1011, 16, plain),
            range(0x1010, 0x20),
        ),
        (
            PowerProfile::Power8,
            access(0x1011, 16, plain),
            range(0x1010, 0x20),
        ),
        (
            PowerProfile::Power9,
            access(0x1010, 16, plain),
            range(0x1010, 0x10),
        ),
        (
            PowerProfile::Power10,
            access(0x1011, 16, plain),
            range(0x1010, 0x18),
        ),
        (
            PowerProfile::Power8,
            access(0x1013, 2, plain),
            range(0x1010, 8),
        ),
        (
            PowerProfile::Power8,
            access(0x1017, 2, plain),
            range(0x1010, 0x10),
        ),
        (
            PowerProfile::Power10,
            access(0x1013, 8, plain),
            range(0x1010, 0x10),
        ),
        (
            PowerProfile::Power8,
            access(0x1080, 128, AccessClass::CacheBlock),
            range(0x1080, 128),
        ),
        (PowerProfile::Power8, access(0x1000, 0, plain), None),
    ];
    for (profile, access, window) in cases {
        let cpu = PowerCpu::new(profile);
        assert_eq!(cpu.match_window(&access), window, "{profile:?} {access:?}");
    }
}
