//! Plans and images for concrete requests on each profile.

use hwbkpt_hal::{
    AccessKind, DebugArchitecture, Delivery, PoolKind, PrivilegeFilter, Request, SlotProgram,
};

use super::{ciabr_slot, data_slot, request, request_with};
use crate::{
    Ciabr, CiabrPrivilege, DawrIndex, DawrxFlags, PowerCpu, PowerProfile, PowerProgram, SlotImage,
};

fn ranges(cpu: &PowerCpu, req: &Request) -> Vec<(u64, u64)> {
    cpu.plan(req)
        .unwrap()
        .iter()
        .map(|p| (p.hardware_range().start(), p.hardware_range().len()))
        .collect()
}

#[test]
fn power10_splits_over_both_dawrs() {
    let cpu = PowerCpu::new(PowerProfile::Power10);
    let req = request(0x2000, 1024, AccessKind::READ_WRITE);
    assert_eq!(ranges(&cpu, &req), [(0x2000, 512), (0x2200, 512)]);
    let plan = cpu.plan(&req).unwrap();
    let images: Vec<_> = plan
        .iter()
        .enumerate()
        .map(|(i, p)| cpu.encode(data_slot(i as u8), p).unwrap())
        .collect();
    let [
        SlotImage::Dawr {
            index: DawrIndex::Dawr0,
            dawr: d0,
            dawrx: x0,
        },
        SlotImage::Dawr {
            index: DawrIndex::Dawr1,
            dawr: d1,
            dawrx: x1,
        },
    ] = images[..]
    else {
        panic!("{images:?}")
    };
    assert_eq!(
        (d0.bits(), x0.bits()),
        (0x2000, 0xFC00 | 0x40 | 0x20 | 0x10 | 0x1)
    );
    assert_eq!((d1.bits(), x1.bits()), (0x2200, 0xFC71));

    // Boundary crossing is fine in one slot up to 512 bytes, two beyond.
    assert_eq!(
        ranges(&cpu, &request(0x21F8, 16, AccessKind::WRITE)),
        [(0x21F8, 16)]
    );
    assert_eq!(
        ranges(&cpu, &request(0x21F8, 600, AccessKind::WRITE)),
        [(0x21F8, 512), (0x23F8, 88)]
    );
}

#[test]
fn power8_rounds_out_to_doublewords_only() {
    let cpu = PowerCpu::new(PowerProfile::Power8);
    assert_eq!(
        ranges(&cpu, &request(0x1003, 1, AccessKind::READ)),
        [(0x1000, 8)]
    );
    assert_eq!(
        ranges(&cpu, &request(0x1003, 6, AccessKind::READ)),
        [(0x1000, 16)]
    );
    assert_eq!(
        ranges(&cpu, &request(0x1000, 512, AccessKind::READ)),
        [(0x1000, 512)]
    );
    assert_eq!(
        ranges(&cpu, &request(0x11F0, 16, AccessKind::READ)),
        [(0x11F0, 16)]
    );
}

#[test]
fn power7_watches_one_doubleword() {
    let cpu = PowerCpu::new(PowerProfile::Power7);
    let req = request_with(0x1000_0005, 3, AccessKind::WRITE, PrivilegeFilter::all());
    let plan = cpu.plan(&req).unwrap();
    let image = cpu
        .encode(data_slot(0), plan.iter().next().unwrap())
        .unwrap();
    let SlotImage::Dabr { dabr, dabrx } = image else {
        panic!("{image:?}")
    };
    assert_eq!(dabr.bits(), 0x1000_0000 | 0x4 | 0x2);
    assert_eq!(dabrx.bits(), 0x7);
}

#[test]
fn data_privileges_and_deliveries_are_all_native() {
    let cpu = PowerCpu::new(PowerProfile::Power10);
    for bits in 1..8u8 {
        let privilege = PrivilegeFilter::from_bits_truncate(bits);
        for delivery in [Delivery::After, Delivery::Before, Delivery::Native] {
            let req = Request::builder(0x1000, 8, AccessKind::READ)
                .privilege(privilege)
                .delivery(delivery)
                .build()
                .unwrap();
            let plan = cpu.plan(&req).unwrap();
            let program = plan.iter().next().unwrap();
            assert_eq!(program.pool(), PoolKind::Data);
            assert_eq!(program.hardware_access(), AccessKind::READ);
            let SlotImage::Dawr { dawrx, .. } = cpu.encode(data_slot(0), program).unwrap() else {
                panic!("not a DAWR")
            };
            let f = dawrx.flags();
            assert_eq!(
                f.contains(DawrxFlags::PR),
                privilege.contains(PrivilegeFilter::USER)
            );
            assert_eq!(
                f.contains(DawrxFlags::PNH),
                privilege.contains(PrivilegeFilter::KERNEL)
            );
            assert_eq!(
                f.contains(DawrxFlags::HYP),
                privilege.contains(PrivilegeFilter::HYPERVISOR)
            );
            assert!(f.contains(DawrxFlags::WT | DawrxFlags::DR));
            assert!(!f.intersects(DawrxFlags::DW | DawrxFlags::WTI));
        }
    }
}

#[test]
fn ciabr_programs() {
    for profile in [
        PowerProfile::Power8,
        PowerProfile::Power9,
        PowerProfile::Power10,
    ] {
        let cpu = PowerCpu::new(profile);
        for (filter, priv_field) in [
            (PrivilegeFilter::USER, CiabrPrivilege::USER),
            (PrivilegeFilter::KERNEL, CiabrPrivilege::KERNEL),
            (PrivilegeFilter::HYPERVISOR, CiabrPrivilege::HYPERVISOR),
        ] {
            for len in 1..=4 {
                let req = request_with(0x1000_2000, len, AccessKind::EXECUTE, filter);
                let plan = cpu.plan(&req).unwrap();
                assert_eq!(plan.len(), 1);
                let program = plan.iter().next().unwrap();
                assert!(matches!(program, PowerProgram::Instruction(_)));
                assert_eq!(program.pool(), PoolKind::Instruction);
                assert_eq!(program.hardware_access(), AccessKind::EXECUTE);
                assert_eq!(program.hardware_range().len(), 4);
                let image = cpu.encode(ciabr_slot(), program).unwrap();
                assert_eq!(
                    image,
                    SlotImage::Ciabr(Ciabr::from_bits(0x1000_2000 | u64::from(priv_field.get())))
                );
                assert_eq!(image.decode(), Some(*program));
            }
        }
    }
}

#[test]
fn capabilities_follow_the_switch() {
    let p9 = PowerCpu::new(PowerProfile::Power9);
    assert_eq!(p9.capabilities().pools[0].count, 0);
    assert_eq!(
        p9.with_dangerous_dawr(true).capabilities().pools[0].count,
        1
    );
    assert!(p9.with_dangerous_dawr(true).dangerous_dawr());
    // The switch changes nothing elsewhere.
    for profile in [
        PowerProfile::Power7,
        PowerProfile::Power8,
        PowerProfile::Power10,
    ] {
        let cpu = PowerCpu::new(profile);
        assert_eq!(
            cpu.capabilities(),
            cpu.with_dangerous_dawr(true).capabilities()
        );
        assert_eq!(cpu.data_slots(), cpu.with_dangerous_dawr(true).data_slots());
        assert_eq!(cpu.profile(), profile);
    }
}

#[test]
fn cpus_are_equal_when_profile_and_switch_are() {
    use std::collections::HashSet;
    let power9 = PowerCpu::new(PowerProfile::Power9);
    let dangerous = power9.with_dangerous_dawr(true);
    assert!(!power9.dangerous_dawr() && dangerous.dangerous_dawr());
    assert_eq!(power9, PowerCpu::new(PowerProfile::Power9));
    assert_ne!(power9, dangerous);
    assert_ne!(power9, PowerCpu::new(PowerProfile::Power10));
    let set: HashSet<PowerCpu> = [power9, dangerous, power9.with_dangerous_dawr(false)].into();
    assert_eq!(set.len(), 2);
}
