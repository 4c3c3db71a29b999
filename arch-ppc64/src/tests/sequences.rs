//! What `BareMetal` writes: install and disarm sequences per slot and profile.

use hwbkpt_hal::{AccessKind, DebugArchitecture, PoolKind, RequestError, SlotId};

use super::{ciabr_slot, data_slot, request};
use crate::{PowerCpu, PowerProfile, Spr, SprWrite};

fn writes(seq: crate::WriteSequence) -> Vec<(Spr, u64)> {
    seq.iter()
        .map(|SprWrite { spr, value }| (spr, value))
        .collect()
}

#[test]
fn install_then_disarm_each_register_family() {
    let p10 = PowerCpu::new(PowerProfile::Power10);
    let plan = p10.plan(&request(0x1000, 1024, AccessKind::WRITE)).unwrap();
    let second = plan.iter().nth(1).unwrap();
    let image = p10.encode(data_slot(1), second).unwrap();
    assert_eq!(
        writes(p10.install_sequence(data_slot(1), &image).unwrap()),
        [
            (Spr::Dawrx1, 0),
            (Spr::Dawr1, 0x1200),
            (Spr::Dawrx1, 0xFC51)
        ]
    );
    assert_eq!(
        writes(p10.disarm_sequence(data_slot(1)).unwrap()),
        [(Spr::Dawrx1, 0)]
    );
    // DAWR1's image does not go into DAWR0.
    assert!(matches!(
        p10.install_sequence(data_slot(0), &image),
        Err(RequestError::NoSlots { kind: "data", .. })
    ));

    let p7 = PowerCpu::new(PowerProfile::Power7);
    let plan = p7.plan(&request(0x1000, 8, AccessKind::READ)).unwrap();
    let image = p7
        .encode(data_slot(0), plan.iter().next().unwrap())
        .unwrap();
    assert_eq!(
        writes(p7.install_sequence(data_slot(0), &image).unwrap()),
        [(Spr::Dabr, 0), (Spr::Dabrx, 0x1), (Spr::Dabr, 0x1005)]
    );
    assert_eq!(
        writes(p7.disarm_sequence(data_slot(0)).unwrap()),
        [(Spr::Dabr, 0)]
    );

    let p8 = PowerCpu::new(PowerProfile::Power8);
    let plan = p8.plan(&request(0x4000, 4, AccessKind::EXECUTE)).unwrap();
    let image = p8
        .encode(ciabr_slot(), plan.iter().next().unwrap())
        .unwrap();
    assert_eq!(
        writes(p8.install_sequence(ciabr_slot(), &image).unwrap()),
        [(Spr::Ciabr, 0x4001)]
    );
    assert_eq!(
        writes(p8.disarm_sequence(ciabr_slot()).unwrap()),
        [(Spr::Ciabr, 0)]
    );
    // A CIABR image does not go into a data slot.
    assert!(p8.install_sequence(data_slot(0), &image).is_err());
}

#[test]
fn power9_never_touches_its_dawr_by_default() {
    let p9 = PowerCpu::new(PowerProfile::Power9);
    let dangerous = p9.with_dangerous_dawr(true);
    let plan = dangerous
        .plan(&request(0x1000, 8, AccessKind::WRITE))
        .unwrap();
    let image = dangerous
        .encode(data_slot(0), plan.iter().next().unwrap())
        .unwrap();
    assert!(dangerous.install_sequence(data_slot(0), &image).is_ok());
    assert!(matches!(
        p9.install_sequence(data_slot(0), &image),
        Err(RequestError::NoSlots { kind: "data", .. })
    ));
    assert!(p9.disarm_sequence(data_slot(0)).is_err());
    assert!(p9.disarm_sequence(ciabr_slot()).is_ok());
    assert!(
        p9.disarm_sequence(SlotId::new(PoolKind::Shared, 0).unwrap())
            .is_err()
    );
}
