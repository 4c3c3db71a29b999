//! Every error this backend produces, with its message where a person reads it.

use hwbkpt_hal::{
    AccessKind, AddressRange, DebugArchitecture, Delivery, PoolKind, PrivilegeFilter, Request,
    RequestError, SlotId,
};

use super::{ciabr_slot, data_slot, request, request_with};
use crate::{
    DataWatch, InstructionBreak, POWER9_ERRATUM_REASON, PowerCpu, PowerProfile, PowerProgram,
    Translation,
};

const P7: PowerCpu = PowerCpu::new(PowerProfile::Power7);
const P8: PowerCpu = PowerCpu::new(PowerProfile::Power8);
const P9: PowerCpu = PowerCpu::new(PowerProfile::Power9);
const P10: PowerCpu = PowerCpu::new(PowerProfile::Power10);

fn watch(start: u64, len: u64) -> PowerProgram {
    let range = AddressRange::new(start, len).unwrap();
    PowerProgram::Data(
        DataWatch::new(
            range,
            AccessKind::WRITE,
            PrivilegeFilter::USER,
            Translation::On,
        )
        .unwrap(),
    )
}

#[test]
fn dawr_too_long_on_one_slot() {
    let err = P8
        .plan(&request(0x1000, 600, AccessKind::WRITE))
        .unwrap_err();
    assert_eq!(
        err,
        RequestError::RangeTooLong {
            register: "DAWR",
            addr: 0x1000,
            len: 600,
            max: 512
        }
    );
    assert_eq!(err.to_string(), "DAWR range 0x1000+600 exceeds 512 bytes");
    // The rounded range is what is reported.
    let err = P8
        .plan(&request(0x1004, 510, AccessKind::READ))
        .unwrap_err();
    assert_eq!(err.to_string(), "DAWR range 0x1000+520 exceeds 512 bytes");
    let p9 = P9.with_dangerous_dawr(true);
    assert!(matches!(
        p9.plan(&request(0x1000, 513, AccessKind::WRITE)),
        Err(RequestError::RangeTooLong { max: 512, .. })
    ));
}

#[test]
fn dawr_crosses_boundary_before_power10() {
    let req = request(0x11F8, 16, AccessKind::WRITE);
    let expected = RequestError::CrossesBoundary {
        register: "DAWR",
        addr: 0x11F8,
        len: 16,
        boundary: 512,
    };
    assert_eq!(P8.plan(&req), Err(expected));
    assert_eq!(P9.with_dangerous_dawr(true).plan(&req), Err(expected));
    assert_eq!(
        expected.to_string(),
        "DAWR range 0x11f8+16 crosses a 512-byte boundary"
    );
    // POWER10 has no boundary rule: one slot.
    assert_eq!(P10.plan(&req).unwrap().len(), 1);
    // A program planned for POWER10 does not encode on POWER8.
    let program = *P10.plan(&req).unwrap().iter().next().unwrap();
    assert_eq!(P8.encode(data_slot(0), &program), Err(expected));
    // Exactly DAWR's longest range, but across the boundary: the boundary is the reason.
    assert_eq!(
        P8.plan(&request(0x1100, 512, AccessKind::WRITE)),
        Err(RequestError::CrossesBoundary {
            register: "DAWR",
            addr: 0x1100,
            len: 512,
            boundary: 512,
        })
    );
}

#[test]
fn power9_refuses_dawr_by_default() {
    let err = P9.plan(&request(0x1000, 8, AccessKind::WRITE)).unwrap_err();
    assert_eq!(
        err,
        RequestError::NoSlots {
            kind: "data",
            reason: POWER9_ERRATUM_REASON
        }
    );
    assert_eq!(
        err.to_string(),
        "no usable data slot: POWER9 DAWR disabled: checkstop erratum (enable dangerous mode to use it)"
    );
    // Encoding onto the disabled DAWR is refused the same way.
    assert_eq!(P9.encode(data_slot(0), &watch(0x1000, 8)), Err(err));
    // CIABR still works on POWER9.
    assert!(P9.plan(&request(0x1000, 4, AccessKind::EXECUTE)).is_ok());
}

#[test]
fn too_many_slots() {
    // Two doublewords on POWER7's single DABR.
    assert_eq!(
        P7.plan(&request(0x1004, 8, AccessKind::WRITE)),
        Err(RequestError::TooManySlots {
            needed: 2,
            available: 1
        })
    );
    assert_eq!(
        P7.plan(&request(0x1000, 9, AccessKind::READ)),
        Err(RequestError::TooManySlots {
            needed: 2,
            available: 1
        })
    );
    // More than two DAWRs' worth on POWER10.
    let err = P10
        .plan(&request(0x1000, 1025, AccessKind::WRITE))
        .unwrap_err();
    assert_eq!(
        err,
        RequestError::TooManySlots {
            needed: 3,
            available: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "covering the range needs 3 slots but the CPU has 2"
    );
    // Huge ranges saturate instead of overflowing.
    assert!(matches!(
        P7.plan(&request(0, u64::MAX - 8, AccessKind::READ)),
        Err(RequestError::TooManySlots {
            needed: u32::MAX,
            available: 1
        })
    ));
}

#[test]
fn dabr_holds_one_doubleword() {
    assert_eq!(
        P7.encode(data_slot(0), &watch(0x1000, 16)),
        Err(RequestError::RangeTooLong {
            register: "DABR",
            addr: 0x1000,
            len: 16,
            max: 8
        })
    );
}

#[test]
fn ciabr_refusals() {
    // POWER7 has none.
    let exec = request(0x1000, 4, AccessKind::EXECUTE);
    let err = P7.plan(&exec).unwrap_err();
    assert!(matches!(
        err,
        RequestError::NoSlots {
            kind: "instruction",
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "no usable instruction slot: no CIABR before POWER8"
    );

    // Before delivery is impossible: it reports after completion.
    let before = Request::builder(0x1000, 4, AccessKind::EXECUTE)
        .delivery(Delivery::Before)
        .build()
        .unwrap();
    let err = P8.plan(&before).unwrap_err();
    assert!(matches!(
        err,
        RequestError::DeliveryUnsupported {
            delivery: Delivery::Before,
            ..
        }
    ));
    assert!(err.to_string().contains("after the instruction completed"));
    // After and Native are fine.
    for d in [Delivery::After, Delivery::Native] {
        let r = Request::builder(0x1000, 4, AccessKind::EXECUTE)
            .delivery(d)
            .build()
            .unwrap();
        assert!(P10.plan(&r).is_ok());
    }

    // Exactly one privilege state.
    let both = request_with(
        0x1000,
        4,
        AccessKind::EXECUTE,
        PrivilegeFilter::USER | PrivilegeFilter::KERNEL,
    );
    let err = P8.plan(&both).unwrap_err();
    assert_eq!(
        err,
        RequestError::PrivilegeUnsupported {
            privilege: PrivilegeFilter::USER | PrivilegeFilter::KERNEL,
            register: "CIABR"
        }
    );
    assert!(
        err.to_string()
            .starts_with("CIABR cannot filter on privilege")
    );

    // Word alignment.
    let err = P8
        .plan(&request(0x1002, 2, AccessKind::EXECUTE))
        .unwrap_err();
    assert_eq!(
        err,
        RequestError::Misaligned {
            register: "CIABR",
            addr: 0x1002,
            align: 4
        }
    );
    assert_eq!(
        err.to_string(),
        "CIABR address 0x1002 is not aligned to 4 bytes"
    );

    // One instruction at most.
    let err = P8
        .plan(&request(0x1000, 8, AccessKind::EXECUTE))
        .unwrap_err();
    assert_eq!(
        err,
        RequestError::RangeTooLong {
            register: "CIABR",
            addr: 0x1000,
            len: 8,
            max: 4
        }
    );
}

#[test]
fn encode_refuses_missing_slots() {
    let data = watch(0x1000, 8);
    let brk = *P8
        .plan(&request(0x1000, 4, AccessKind::EXECUTE))
        .unwrap()
        .iter()
        .next()
        .unwrap();
    // A second DAWR exists only on POWER10. On POWER9 with its DAWR enabled, the reason is
    // the missing slot, not the erratum.
    let missing = Err(RequestError::NoSlots {
        kind: "data",
        reason: "the profile has fewer data slots",
    });
    assert_eq!(P8.encode(data_slot(1), &data), missing);
    assert_eq!(
        P9.with_dangerous_dawr(true).encode(data_slot(1), &data),
        missing
    );
    assert!(P10.encode(data_slot(1), &data).is_ok());
    assert!(matches!(
        P10.encode(data_slot(2), &data),
        Err(RequestError::NoSlots { kind: "data", .. })
    ));
    // One CIABR; none on POWER7.
    assert!(matches!(
        P8.encode(SlotId::new(PoolKind::Instruction, 1).unwrap(), &brk),
        Err(RequestError::NoSlots {
            kind: "instruction",
            ..
        })
    ));
    assert!(matches!(
        P7.encode(ciabr_slot(), &brk),
        Err(RequestError::NoSlots {
            kind: "instruction",
            ..
        })
    ));
    // No shared pool on PPC64.
    assert!(matches!(
        P8.encode(SlotId::new(PoolKind::Shared, 0).unwrap(), &data),
        Err(RequestError::NoSlots { kind: "shared", .. })
    ));
    // Programs go to slots of their own pool.
    assert!(matches!(
        P8.encode(ciabr_slot(), &data),
        Err(RequestError::NoSlots { kind: "data", .. })
    ));
    assert!(matches!(
        P8.encode(data_slot(0), &brk),
        Err(RequestError::NoSlots {
            kind: "instruction",
            ..
        })
    ));
}

#[test]
fn last_doubleword_wraps() {
    let req = request(u64::MAX - 3, 2, AccessKind::WRITE);
    let req_p10 = P10.plan(&req);
    assert_eq!(
        req_p10,
        Err(RequestError::RangeWraps {
            addr: u64::MAX - 7,
            len: 8
        })
    );
    assert_eq!(
        InstructionBreak::new(u64::MAX - 3, PrivilegeFilter::KERNEL),
        Err(RequestError::RangeWraps {
            addr: u64::MAX - 3,
            len: 4
        })
    );
    let exec = Request::builder(u64::MAX - 3, 2, AccessKind::EXECUTE)
        .privilege(PrivilegeFilter::KERNEL)
        .build()
        .unwrap();
    assert!(matches!(
        P10.plan(&exec),
        Err(RequestError::RangeWraps { .. })
    ));
}

#[test]
fn validated_program_constructors() {
    let r = |s, l| AddressRange::new(s, l).unwrap();
    let new = |range, access, privilege| DataWatch::new(range, access, privilege, Translation::On);
    let (w, u) = (AccessKind::WRITE, PrivilegeFilter::USER);
    assert_eq!(
        new(r(0x1004, 8), w, u),
        Err(RequestError::Misaligned {
            register: "DABR/DAWR",
            addr: 0x1004,
            align: 8
        })
    );
    assert_eq!(
        new(r(0x1000, 12), w, u),
        Err(RequestError::UnsupportedLength {
            register: "DABR/DAWR",
            len: 12
        })
    );
    assert_eq!(
        new(r(0x1000, 520), w, u),
        Err(RequestError::RangeTooLong {
            register: "DAWR",
            addr: 0x1000,
            len: 520,
            max: 512
        })
    );
    assert_eq!(
        new(r(0x1000, 8), AccessKind::empty(), u),
        Err(RequestError::NoAccessKind)
    );
    assert_eq!(
        new(r(0x1000, 8), AccessKind::EXECUTE, u),
        Err(RequestError::ExecuteWithData {
            access: AccessKind::EXECUTE
        })
    );
    assert_eq!(
        new(r(0x1000, 8), w, PrivilegeFilter::empty()),
        Err(RequestError::NoPrivilege)
    );
    assert_eq!(
        InstructionBreak::new(0x1000, PrivilegeFilter::empty()),
        Err(RequestError::NoPrivilege)
    );
    assert!(matches!(
        InstructionBreak::new(0x1000, PrivilegeFilter::all()),
        Err(RequestError::PrivilegeUnsupported { .. })
    ));
    assert!(matches!(
        InstructionBreak::new(0x1001, PrivilegeFilter::USER),
        Err(RequestError::Misaligned { .. })
    ));
}

#[test]
fn user_requests_stay_below_the_book3s64_limit() {
    let limit = 0x0010_0000_0000_0000;
    for profile in PowerProfile::ALL {
        let cpu = PowerCpu::new(profile).with_dangerous_dawr(true);
        assert_eq!(cpu.address_space().user_limit, limit);
        let kernel_addr = request(0xc000_0000_0000_1000, 8, AccessKind::WRITE);
        assert_eq!(
            cpu.prepare(&kernel_addr),
            Err(RequestError::NotUserAddress {
                addr: 0xc000_0000_0000_1000,
                len: 8,
                user_limit: limit
            })
        );
        assert!(
            cpu.prepare(&request(limit - 8, 8, AccessKind::WRITE))
                .is_ok()
        );
        assert!(
            cpu.prepare(&request(limit - 4, 8, AccessKind::WRITE))
                .is_err()
        );
        // The kernel may watch its own addresses.
        let kernel = Request::builder(0xc000_0000_0000_1000, 8, AccessKind::WRITE)
            .origin(hwbkpt_hal::Origin::Kernel)
            .privilege(PrivilegeFilter::KERNEL)
            .build()
            .unwrap();
        assert!(cpu.prepare(&kernel).is_ok());
    }
}
