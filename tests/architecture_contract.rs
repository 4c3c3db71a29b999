//! The `DebugArchitecture` contract, checked generically over every CPU profile of both
//! backends: whatever a backend plans, the HAL can rely on it.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]
use hwbkpt::{AccessKind, AddressRange, DebugArchitecture, PoolKind, Request, SlotId, SlotProgram};
use hwbkpt_ppc64::{PowerCpu, PowerProfile};
use hwbkpt_x86::{X86Cpu, X86Profile};

/// Every accepted plan: stays in one pool, fits it, covers every requested byte, watches at
/// least the requested kinds, never overlaps itself, and encodes into each slot it needs.
fn check_contract<A: DebugArchitecture>(arch: &A, name: &str) -> usize {
    let mut accepted = 0;
    let base = 0x1000_0000u64;
    for access in [
        AccessKind::READ,
        AccessKind::WRITE,
        AccessKind::READ_WRITE,
        AccessKind::EXECUTE,
    ] {
        for offset in 0..64 {
            for len in 1..=64 {
                let request = Request::builder(base + offset, len, access)
                    .build()
                    .unwrap();
                let Ok(plan) = arch.prepare(&request) else {
                    continue;
                };
                accepted += 1;
                let pool_kind = plan.pool().unwrap();
                let pool = arch
                    .capabilities()
                    .pools
                    .iter()
                    .find(|p| p.kind == pool_kind)
                    .unwrap();
                assert!(
                    plan.len() <= usize::from(pool.count),
                    "{name}: {request:?} overfills {pool_kind:?}"
                );
                assert!(
                    pool.serves.contains(access),
                    "{name}: wrong pool for {access}"
                );
                let mut previous: Option<AddressRange> = None;
                for program in &plan {
                    assert_eq!(program.pool(), pool_kind);
                    assert!(
                        program.hardware_access().contains(access),
                        "{name}: {program:?} does not watch {access}"
                    );
                    if let Some(prev) = previous {
                        assert!(
                            prev.end() <= program.hardware_range().start(),
                            "{name}: overlap in {plan:?}"
                        );
                    }
                    previous = Some(program.hardware_range());
                }
                for byte in request.range().start()..request.range().end() {
                    assert!(
                        plan.hardware_covers(byte),
                        "{name}: byte {byte:#x} of {request:?} uncovered"
                    );
                }
                for (index, program) in (0u8..).zip(&plan) {
                    let slot = SlotId::new(pool_kind, index).unwrap();
                    arch.encode(slot, program)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                }
            }
        }
    }
    accepted
}

#[test]
fn every_x86_profile_keeps_the_contract() {
    for profile in [
        X86Profile::GENERIC_X86_64,
        X86Profile::GENERIC_X86_64_LA57,
        X86Profile::IA32,
    ] {
        let accepted = check_contract(&X86Cpu::new(profile), "x86");
        assert!(accepted > 1000, "x86 accepted only {accepted} requests");
    }
}

#[test]
fn every_power_profile_keeps_the_contract() {
    for profile in [
        PowerProfile::Power7,
        PowerProfile::Power8,
        PowerProfile::Power9,
        PowerProfile::Power10,
    ] {
        for dangerous in [false, true] {
            let cpu = PowerCpu::new(profile).with_dangerous_dawr(dangerous);
            let accepted = check_contract(&cpu, "ppc64");
            assert!(accepted > 0, "{profile:?} accepted nothing");
        }
    }
}

#[test]
fn x86_plans_are_exact_and_power_plans_round_to_doublewords_only() {
    let x86 = X86Cpu::new(X86Profile::GENERIC_X86_64);
    let power = PowerCpu::new(PowerProfile::Power10);
    for offset in 0..16 {
        for len in 1..=24 {
            let request = Request::builder(0x2000 + offset, len, AccessKind::WRITE)
                .build()
                .unwrap();
            if let Ok(plan) = x86.prepare(&request) {
                let total: u64 = plan.iter().map(|p| p.hardware_range().len()).sum();
                assert_eq!(total, len, "x86 watches bytes outside {request:?}");
            }
            let plan = power.prepare(&request).unwrap();
            let rounded = request.range().rounded_out(8).unwrap();
            let total: u64 = plan.iter().map(|p| p.hardware_range().len()).sum();
            assert_eq!(
                total,
                rounded.len(),
                "POWER10 rounds {request:?} beyond doublewords"
            );
        }
    }
}

#[test]
fn facade_exports_the_native_backend() {
    #[cfg(target_arch = "x86_64")]
    let capabilities =
        *hwbkpt::native::X86Cpu::new(hwbkpt::native::X86Profile::GENERIC_X86_64).capabilities();
    #[cfg(target_arch = "powerpc64")]
    let capabilities =
        *hwbkpt::native::PowerCpu::new(hwbkpt::native::PowerProfile::Power10).capabilities();
    #[cfg(any(target_arch = "x86_64", target_arch = "powerpc64"))]
    assert!(
        capabilities
            .pools
            .iter()
            .any(|p| p.kind != PoolKind::Instruction && p.count > 0)
    );
}
