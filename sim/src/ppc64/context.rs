//! The register context of one hardware thread: what a kernel saves and restores per task,
//! debug and interrupt-status registers included.

use super::DebugRegisters;
use super::msr::{MSR_KERNEL, MSR_USER};

/// CR0 bits (`cmpd`, `cmpxchg`, `stcx.` set them; `bc` tests them).
pub mod cr0 {
    /// Less than.
    pub const LT: u8 = 0b1000;
    /// Greater than.
    pub const GT: u8 = 0b0100;
    /// Equal (for `stcx.` and `cmpxchg`: the store happened).
    pub const EQ: u8 = 0b0010;
}

/// A load-and-reserve's reservation: `stcx.` stores only while it holds.
///
/// Power ISA Book II: the reservation is lost when another processor (or device) stores to
/// the reservation granule. The model checks that the reserved bytes still hold the value
/// `larx` loaded: a store by anyone that changes them breaks the reservation. Linux clears the
/// reservation on every exit from an interrupt (a dummy `stdcx.`); the model does the same on
/// every exception and fault it reports, and on `rfid`. That is why a stepped `stcx.` fails:
/// the problem the HAL's interlock handles by disabling the breakpoint (DESIGN §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reservation {
    /// Reserved address.
    pub addr: u64,
    /// Bytes reserved.
    pub size: u32,
    /// The value `larx` loaded.
    pub value: u64,
}

/// Every register of one PPC64 hardware thread the model has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ppc64Context {
    /// General-purpose registers.
    pub gpr: [u64; 32],
    /// Vector registers (VSX quadwords), big-endian element order.
    pub vr: [u128; 32],
    /// Link register.
    pub lr: u64,
    /// Condition register field 0 ([`cr0`] bits).
    pub cr0: u8,
    /// Next instruction address. Always word-aligned: the low two bits are ignored.
    pub nip: u64,
    /// Machine State Register (raw image).
    pub msr: u64,
    /// Save/restore register 0 (`sc` stores the return address, `rfid` reads it).
    pub srr0: u64,
    /// Save/restore register 1 (`sc` stores the MSR, `rfid` restores it).
    pub srr1: u64,
    /// Data address register (set by a data storage interrupt).
    pub dar: u64,
    /// Data storage interrupt status register (set by a data storage interrupt).
    pub dsisr: u64,
    /// The debug registers, raw images.
    pub debug: DebugRegisters,
    /// The current reservation, if any.
    pub reservation: Option<Reservation>,
}

impl Ppc64Context {
    /// A user-mode context (Linux's user MSR: translation on, problem state) starting at
    /// `entry`, every other register zero.
    #[must_use]
    pub const fn user(entry: u64) -> Self {
        Self::with_msr(entry, MSR_USER)
    }

    /// A kernel-mode context (privileged, not hypervisor, translation on) starting at `entry`.
    #[must_use]
    pub const fn kernel(entry: u64) -> Self {
        Self::with_msr(entry, MSR_KERNEL)
    }

    /// A context with MSR `msr` starting at `entry`.
    #[must_use]
    pub const fn with_msr(entry: u64, msr: u64) -> Self {
        Self {
            gpr: [0; 32],
            vr: [0; 32],
            lr: 0,
            cr0: 0,
            nip: entry & !3,
            msr,
            srr0: 0,
            srr1: 0,
            dar: 0,
            dsisr: 0,
            debug: DebugRegisters::CLEAR,
            reservation: None,
        }
    }

    /// `RA|0`: register 0 as a base address reads as zero (Power ISA D-form and X-form EAs).
    #[must_use]
    pub const fn base(&self, ra: u8) -> u64 {
        if ra == 0 {
            0
        } else {
            self.gpr[(ra & 31) as usize]
        }
    }

    /// A GPR (the number is taken modulo 32).
    #[must_use]
    pub const fn gpr(&self, r: u8) -> u64 {
        self.gpr[(r & 31) as usize]
    }

    /// Set a GPR (the number is taken modulo 32).
    pub const fn set_gpr(&mut self, r: u8, value: u64) {
        self.gpr[(r & 31) as usize] = value;
    }
}
