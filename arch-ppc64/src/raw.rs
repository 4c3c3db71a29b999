//! Raw `mfspr`/`mtspr` access to the debug SPRs (powerpc64 with the `instructions` feature).
//!
//! Privilege, from the Power ISA SPR tables and how Linux uses the registers:
//! - DSISR, DAR, DABR, DABRX: supervisor (MSR\[PR\] = 0). Under a hypervisor (an LPAR),
//!   Linux sets DABR/DABRX through the `H_SET_DABR`/`H_SET_XDABR` hcalls instead.
//! - DAWR0/1, DAWRX0/1, CIABR: hypervisor resources. Linux writes them with `mtspr` only in
//!   hypervisor mode (powernv, MSR\[HV\] = 1); an LPAR guest uses the `H_SET_MODE` hcall
//!   (`plpar_set_watchpoint0/1`, `plpar_set_ciabr`), because its `mtspr` traps to the
//!   hypervisor.
//! - In problem state (user space, and therefore under qemu-user) every access here raises
//!   a privileged-instruction program interrupt (SIGILL). Tests never call these.
//!
//! A write takes effect for instructions after the next context-synchronising event
//! (`isync`, or the `rfid` that returns from the interrupt); call [`isync`] when code that
//! follows in the same context must already be watched.

use crate::image::WriteSequence;
use crate::registers::Spr;

/// Read SPR `N`.
///
/// # Safety
/// The CPU must be in supervisor state (MSR\[PR\] = 0), and in hypervisor state for the
/// hypervisor resources (DAWR0/1, DAWRX0/1, CIABR; see the module docs); `N` must name an
/// SPR this CPU implements. Otherwise the instruction traps.
#[inline]
#[must_use]
pub unsafe fn mfspr<const N: u16>() -> u64 {
    let value: u64;
    // SAFETY: the caller guarantees the privilege and that SPR N exists; mfspr only
    // copies the SPR into a register and touches neither memory nor the stack.
    unsafe {
        core::arch::asm!(
            "mfspr {0}, {spr}",
            out(reg) value,
            spr = const N,
            options(nomem, nostack, preserves_flags),
        );
    }
    value
}

/// Write `value` to SPR `N`.
///
/// # Safety
/// As for [`mfspr`], and the caller owns the register: writing a breakpoint SPR changes
/// which later accesses or instructions interrupt, so the kernel's handlers must be ready for
/// what it arms, and nobody else (firmware, another debugger) may be using the register.
#[inline]
pub unsafe fn mtspr<const N: u16>(value: u64) {
    // SAFETY: the caller guarantees the privilege, that SPR N exists and that it owns it.
    // No `nomem`: the write changes how later memory accesses behave, so the compiler must
    // not move memory operations across it.
    unsafe {
        core::arch::asm!(
            "mtspr {spr}, {0}",
            in(reg) value,
            spr = const N,
            options(nostack, preserves_flags),
        );
    }
}

/// Context-synchronise: later instructions see every SPR written before.
///
/// # Safety
/// None beyond running on powerpc64; `isync` is unprivileged. It is `unsafe` only to keep
/// every instruction of this module behind one audit point.
#[inline]
pub unsafe fn isync() {
    // SAFETY: isync only waits for preceding instructions and refetches; it has no
    // operands and is legal in every state.
    unsafe {
        core::arch::asm!("isync", options(nostack, preserves_flags));
    }
}

/// Read `spr`.
///
/// # Safety
/// As for [`mfspr`] with the SPR's number.
#[inline]
#[must_use]
pub unsafe fn read(spr: Spr) -> u64 {
    // SAFETY: forwarded from the caller; each arm names the SPR's own number.
    unsafe {
        match spr {
            Spr::Dsisr => mfspr::<{ Spr::DSISR }>(),
            Spr::Dar => mfspr::<{ Spr::DAR }>(),
            Spr::Dawr0 => mfspr::<{ Spr::DAWR0 }>(),
            Spr::Dawr1 => mfspr::<{ Spr::DAWR1 }>(),
            Spr::Ciabr => mfspr::<{ Spr::CIABR }>(),
            Spr::Dawrx0 => mfspr::<{ Spr::DAWRX0 }>(),
            Spr::Dawrx1 => mfspr::<{ Spr::DAWRX1 }>(),
            Spr::Dabr => mfspr::<{ Spr::DABR }>(),
            Spr::Dabrx => mfspr::<{ Spr::DABRX }>(),
        }
    }
}

/// Write `value` to `spr`.
///
/// # Safety
/// As for [`mtspr`] with the SPR's number.
#[inline]
pub unsafe fn write(spr: Spr, value: u64) {
    // SAFETY: forwarded from the caller; each arm names the SPR's own number.
    unsafe {
        match spr {
            Spr::Dsisr => mtspr::<{ Spr::DSISR }>(value),
            Spr::Dar => mtspr::<{ Spr::DAR }>(value),
            Spr::Dawr0 => mtspr::<{ Spr::DAWR0 }>(value),
            Spr::Dawr1 => mtspr::<{ Spr::DAWR1 }>(value),
            Spr::Ciabr => mtspr::<{ Spr::CIABR }>(value),
            Spr::Dawrx0 => mtspr::<{ Spr::DAWRX0 }>(value),
            Spr::Dawrx1 => mtspr::<{ Spr::DAWRX1 }>(value),
            Spr::Dabr => mtspr::<{ Spr::DABR }>(value),
            Spr::Dabrx => mtspr::<{ Spr::DABRX }>(value),
        }
    }
}

/// Execute an install or disarm sequence in order.
///
/// # Safety
/// As for [`write()`], for every register of the sequence.
#[inline]
pub unsafe fn write_sequence(sequence: &WriteSequence) {
    for w in sequence.iter() {
        // SAFETY: forwarded from the caller.
        unsafe { write(w.spr, w.value) };
    }
}
