//! Request validation and planning on every CPU profile: no panic, and every accepted plan
//! covers the request (x86 exactly; PPC64 rounded out to doublewords and no more), fits its
//! pool, and encodes into each slot it needs.
#![no_main]

use libfuzzer_sys::fuzz_target;

use hwbkpt_fuzz::RawRequest;
use hwbkpt_hal::{DebugArchitecture, Request, SlotId, SlotProgram};
use hwbkpt_ppc64::{PowerCpu, PowerProfile};
use hwbkpt_x86::{X86Cpu, X86Profile};

fn check<A: DebugArchitecture>(arch: &A, request: &Request, exact: bool) {
    let Ok(plan) = arch.prepare(request) else {
        return;
    };
    let pool_kind = plan.pool().expect("an accepted plan uses a pool");
    let pool = arch
        .capabilities()
        .pools
        .iter()
        .find(|p| p.kind == pool_kind)
        .expect("pool exists");
    assert!(plan.len() <= usize::from(pool.count));
    // Instruction breakpoints watch one instruction, not a rounded data range (a CIABR on
    // the last doubleword of the address space is valid; rounding that doubleword up is not).
    if !request.is_execute() {
        let covered: u64 = plan.iter().map(|p| p.hardware_range().len()).sum();
        let range = request.range();
        let expected = if exact {
            range
        } else {
            range
                .rounded_out(8)
                .expect("accepted data ranges round to doublewords")
        };
        assert_eq!(covered, expected.len(), "{request:?} -> {plan:?}");
        for p in &plan {
            assert!(
                expected.covers(&p.hardware_range()),
                "{p:?} outside {expected:?}"
            );
        }
    }
    for (i, program) in (0u8..).zip(&plan) {
        let slot = SlotId::new(pool_kind, i).expect("plans fit a pool");
        arch.encode(slot, program).expect("planned programs encode");
    }
}

fuzz_target!(|raw: RawRequest| {
    let Ok(request) = raw.build() else { return };
    for profile in [
        X86Profile::GENERIC_X86_64,
        X86Profile::GENERIC_X86_64_LA57,
        X86Profile::IA32,
    ] {
        check(&X86Cpu::new(profile), &request, true);
    }
    for profile in [
        PowerProfile::Power7,
        PowerProfile::Power8,
        PowerProfile::Power9,
        PowerProfile::Power10,
    ] {
        for dangerous in [false, true] {
            check(
                &PowerCpu::new(profile).with_dangerous_dawr(dangerous),
                &request,
                false,
            );
        }
    }
});
