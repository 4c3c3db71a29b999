//! Properties over random requests on every profile.

use hwbkpt_hal::{
    AccessKind, AddressRange, DebugArchitecture, Delivery, PrivilegeFilter, Request, RequestError,
    SlotProgram,
};
use proptest::prelude::*;

use super::data_slot;
use crate::{Dsisr, PowerCpu, PowerProfile, PowerProgram, PowerStatus, SlotImage, Srr1};

fn cpu() -> impl Strategy<Value = PowerCpu> {
    (0usize..4, any::<bool>()).prop_map(|(p, dangerous)| {
        PowerCpu::new(PowerProfile::ALL[p]).with_dangerous_dawr(dangerous)
    })
}

fn data_access() -> impl Strategy<Value = AccessKind> {
    prop::sample::select(vec![
        AccessKind::READ,
        AccessKind::WRITE,
        AccessKind::READ_WRITE,
    ])
}

fn privilege() -> impl Strategy<Value = PrivilegeFilter> {
    (1u8..8).prop_map(PrivilegeFilter::from_bits_truncate)
}

/// Addresses near interesting places: low memory, 512-byte boundaries, the top.
fn addr() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..0x4000,
        (1u64..1 << 40).prop_map(|b| b * 512 - 64),
        any::<u64>(),
        (0u64..64).prop_map(|d| u64::MAX - d),
    ]
}

fn len() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..=1100, any::<u64>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A successful data plan covers the request rounded out to doublewords, exactly, with
    /// no overlap, within the profile's limits; every program encodes on its slot and
    /// decodes back to itself.
    #[test]
    fn data_plans_cover_the_rounded_request_exactly(
        cpu in cpu(), a in addr(), l in len(), access in data_access(), p in privilege()
    ) {
        let Ok(req) = Request::builder(a, l, access).privilege(p).build() else {
            return Ok(());
        };
        let limits = cpu.profile().limits();
        match cpu.plan(&req) {
            Ok(plan) => {
                let window = req.range().rounded_out(8).unwrap();
                prop_assert!(!plan.is_empty());
                prop_assert!(plan.len() <= usize::from(cpu.data_slots()));
                let mut next = window.start();
                for (i, program) in plan.iter().enumerate() {
                    let r = program.hardware_range();
                    prop_assert_eq!(r.start(), next, "gap or overlap");
                    next = r.end();
                    prop_assert_eq!(r.start() % 8, 0);
                    prop_assert_eq!(r.len() % 8, 0);
                    prop_assert!(r.len() <= limits.max_data_len);
                    if let Some(b) = limits.data_boundary {
                        prop_assert_eq!(r.start() / b, r.last() / b);
                    }
                    prop_assert_eq!(program.hardware_access(), access);
                    let image = cpu.encode(data_slot(i as u8), program).unwrap();
                    prop_assert_eq!(image.decode(), Some(*program));
                }
                prop_assert_eq!(next, window.end());
                // Fewest slots: one fewer cannot cover the window.
                let min = match limits.data_boundary {
                    Some(b) => window.last() / b - window.start() / b + 1,
                    None => window.len().div_ceil(limits.max_data_len),
                };
                prop_assert_eq!(plan.len() as u64, min);
            }
            Err(e) => {
                let window = req.range().rounded_out(8);
                let ok_kind = matches!(
                    e,
                    RequestError::TooManySlots { .. }
                        | RequestError::RangeTooLong { .. }
                        | RequestError::CrossesBoundary { .. }
                        | RequestError::RangeWraps { .. }
                        | RequestError::NoSlots { .. }
                );
                prop_assert!(ok_kind, "{e:?}");
                // Refused only when the hardware really cannot.
                if let Some(w) = window {
                    let fits_one = w.len() <= limits.max_data_len
                        && limits.data_boundary.is_none_or(|b| w.start() / b == w.last() / b);
                    prop_assert!(!(fits_one && cpu.data_slots() >= 1), "{e:?} for {w:?}");
                }
            }
        }
    }

    /// No input to plan, encode or decode_status panics.
    #[test]
    fn nothing_panics(
        cpu in cpu(), a: u64, l: u64, access in 0u8..8, p in 0u8..8,
        delivery in 0usize..3, slot_pool in 0usize..3, slot_index in 0u8..4,
        dsisr: u64, dar: u64, srr1: u64,
    ) {
        let delivery = [Delivery::After, Delivery::Before, Delivery::Native][delivery];
        if let Ok(req) = Request::builder(a, l, AccessKind::from_bits_truncate(access))
            .privilege(PrivilegeFilter::from_bits_truncate(p))
            .delivery(delivery)
            .build()
        {
            let _ = cpu.prepare(&req);
            if let Ok(plan) = cpu.plan(&req) {
                let pool = [hwbkpt_hal::PoolKind::Shared, hwbkpt_hal::PoolKind::Data, hwbkpt_hal::PoolKind::Instruction][slot_pool];
                let slot = hwbkpt_hal::SlotId::new(pool, slot_index).unwrap();
                for program in &plan {
                    let _ = cpu.encode(slot, program);
                }
            }
        }
        let _ = cpu.decode_status(&PowerStatus::DataStorage { dsisr: Dsisr::from_bits_retain(dsisr), dar });
        let _ = cpu.decode_status(&PowerStatus::Trace { srr1: Srr1::from_bits_retain(srr1) });
    }

    /// Execute plans: one CIABR on the word holding the request, or a refusal.
    #[test]
    fn execute_plans(cpu in cpu(), a in addr(), l in 1u64..16, p in privilege()) {
        let Ok(req) = Request::builder(a, l, AccessKind::EXECUTE).privilege(p).build() else {
            return Ok(());
        };
        if let Ok(plan) = cpu.plan(&req) {
            prop_assert_eq!(plan.len(), 1);
            let program = plan.iter().next().unwrap();
            prop_assert!(matches!(program, PowerProgram::Instruction(_)));
            prop_assert!(program.hardware_range().covers(&req.range()));
            prop_assert_eq!(program.hardware_range().start() % 4, 0);
            prop_assert_eq!(p.bits().count_ones(), 1);
            let image = cpu.encode(super::ciabr_slot(), program).unwrap();
            prop_assert!(matches!(image, SlotImage::Ciabr(_)));
            prop_assert_eq!(image.decode(), Some(*program));
        } else {
            prop_assert!(
                !cpu.profile().limits().ciabr
                    || a % 4 != 0
                    || l > 4
                    || p.bits().count_ones() != 1
                    || a > u64::MAX - 4
            );
        }
    }

    /// Register images decode without panicking for any raw value.
    #[test]
    fn any_image_decodes(a: u64, b: u64, i in 0u8..2) {
        let index = crate::DawrIndex::new(i).unwrap();
        let _ = SlotImage::Dawr { index, dawr: crate::Dawr::from_bits(a), dawrx: crate::Dawrx::from_bits(b) }.decode();
        let _ = SlotImage::Dabr { dabr: crate::Dabr::from_bits(a), dabrx: crate::Dabrx::from_bits_retain(b) }.decode();
        let _ = SlotImage::Ciabr(crate::Ciabr::from_bits(a)).decode();
        let _ = AddressRange::new(a, b);
    }
}
