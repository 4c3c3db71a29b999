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
