//! `mov` to and from the debug registers. Ring 0 only.
//!
//! Every function is a single `mov` (Intel SDM Vol. 2A "MOV—Move to/from Debug Registers").
//! Common rules, repeated in each function's `# Safety`:
//!
//! - The instruction raises #GP(0) unless CPL is 0 (and always in virtual-8086 mode).
//! - While DR7.GD is set, any debug-register access raises #DB with DR6.BD before it runs.
//! - The `mov` leaves OF, SF, ZF, AF, PF and CF undefined, so no function here promises to
//!   preserve flags (the `asm!` blocks omit `preserves_flags` on purpose).
//! - Writes are compiler memory barriers (no `nomem`): arming or disarming a breakpoint must
//!   not be reordered with the memory accesses it is meant to watch.
//!
//! DR4 and DR5 are not offered: with CR4.DE set they raise #UD, without it they alias DR6
//! and DR7.

use core::arch::asm;

use crate::{DebugSlot, Dr6, Dr7};

macro_rules! address_register {
    ($read:ident, $write:ident, $reg:literal) => {
        #[doc = concat!("Read ", $reg, ": the linear address of its slot (SDM Vol. 3B §18.2.1).")]
        ///
        /// # Safety
        /// Must run at CPL 0 (else #GP). If DR7.GD is set the access raises #DB first, so the
        /// caller either knows GD is clear or has a #DB handler that handles DR6.BD.
        #[inline]
        #[must_use]
        pub unsafe fn $read() -> u64 {
            let value: u64;
            // SAFETY: the caller guarantees CPL 0 and that a GD-triggered #DB is handled;
            // reading a debug address register has no other effect.
            unsafe {
                asm!(concat!("mov {}, ", $reg), out(reg) value, options(nomem, nostack));
            }
            value
        }

        #[doc = concat!("Write ", $reg, ": the linear address of its slot (SDM Vol. 3B §18.2.1).")]
        ///
        /// # Safety
        /// Must run at CPL 0 (else #GP). If DR7.GD is set the access raises #DB first. If
        /// the slot is enabled in DR7, it watches the new address from the next instruction
        /// on: the caller must have a #DB handler that expects hits there (disarm the slot
        /// before re-targeting it to avoid a stray hit under the old condition).
        #[inline]
        pub unsafe fn $write(address: u64) {
            // SAFETY: the caller guarantees CPL 0, a handled GD #DB, and that a hit at the
            // new address is expected.
            unsafe {
                asm!(concat!("mov ", $reg, ", {}"), in(reg) address, options(nostack));
            }
        }
    };
}

address_register!(read_dr0, write_dr0, "dr0");
address_register!(read_dr1, write_dr1, "dr1");
address_register!(read_dr2, write_dr2, "dr2");
address_register!(read_dr3, write_dr3, "dr3");

/// Read the address register of `slot`.
///
/// # Safety
/// As [`read_dr0`]: CPL 0, and a #DB from DR7.GD handled or impossible.
#[inline]
#[must_use]
pub unsafe fn read_address(slot: DebugSlot) -> u64 {
    // SAFETY: the caller upholds the contract of every `read_drN`, which is this one's.
    unsafe {
        match slot {
            DebugSlot::Dr0 => read_dr0(),
            DebugSlot::Dr1 => read_dr1(),
            DebugSlot::Dr2 => read_dr2(),
            DebugSlot::Dr3 => read_dr3(),
        }
    }
}

/// Write the address register of `slot`.
///
/// # Safety
/// As [`write_dr0`]: CPL 0, a #DB from DR7.GD handled or impossible, and hits at the new
/// address expected if the slot is enabled.
#[inline]
pub unsafe fn write_address(slot: DebugSlot, address: u64) {
    // SAFETY: the caller upholds the contract of every `write_drN`, which is this one's.
    unsafe {
        match slot {
            DebugSlot::Dr0 => write_dr0(address),
            DebugSlot::Dr1 => write_dr1(address),
            DebugSlot::Dr2 => write_dr2(address),
            DebugSlot::Dr3 => write_dr3(address),
        }
    }
}

/// Read DR6, the debug status register (SDM Vol. 3B §18.2.3).
///
/// # Safety
/// Must run at CPL 0 (else #GP). If DR7.GD is set the access raises #DB first. (In a #DB
/// handler GD is already clear: the processor clears it on entry.)
#[inline]
#[must_use]
pub unsafe fn read_dr6() -> Dr6 {
    let value: u64;
    // SAFETY: the caller guarantees CPL 0 and a handled GD #DB; reading DR6 has no effect.
    unsafe {
        asm!("mov {}, dr6", out(reg) value, options(nomem, nostack));
    }
    Dr6::from_bits_retain(value)
}

/// Write DR6. Write [`Dr6::RESET`] to clear it: zero would clear the active-low BLD and RTM
/// bits and fake a bus-lock and an RTM event.
///
/// # Safety
/// Must run at CPL 0 (else #GP); `value` must have bits 32–63 clear (else #GP, see
/// [`Dr6::is_valid`]). If DR7.GD is set the access raises #DB first.
#[inline]
pub unsafe fn write_dr6(value: Dr6) {
    // SAFETY: the caller guarantees CPL 0, a valid value and a handled GD #DB.
    unsafe {
        asm!("mov dr6, {}", in(reg) value.bits(), options(nostack));
    }
}

/// Read DR7, the debug control register (SDM Vol. 3B §18.2.4).
///
/// # Safety
/// Must run at CPL 0 (else #GP). If DR7.GD is set the access raises #DB first.
#[inline]
#[must_use]
pub unsafe fn read_dr7() -> Dr7 {
    let value: u64;
    // SAFETY: the caller guarantees CPL 0 and a handled GD #DB; reading DR7 has no effect.
    unsafe {
        asm!("mov {}, dr7", out(reg) value, options(nomem, nostack));
    }
    Dr7::from_bits_retain(value)
}

/// Write DR7, arming and disarming slots.
///
/// # Safety
/// Must run at CPL 0 (else #GP); `value` must have bits 32–63 clear (else #GP, see
/// [`Dr7::is_valid`]). If DR7.GD is set the access raises #DB first. Every slot `value`
/// enables watches from the next instruction on: the caller must have a #DB handler that
/// expects those hits. Setting GD makes every later debug-register access fault.
#[inline]
pub unsafe fn write_dr7(value: Dr7) {
    // SAFETY: the caller guarantees CPL 0, a valid value, a handled GD #DB and a #DB handler
    // for the slots it arms.
    unsafe {
        asm!("mov dr7, {}", in(reg) value.bits(), options(nostack));
    }
}
