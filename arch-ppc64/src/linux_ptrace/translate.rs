//! HAL programs in the kernel's ptrace terms: a [`PowerProgram`] becomes a
//! [`PpcHwBreakpoint`] (the `PPC_PTRACE_SETHWDEBUG` interface) or a DABR-style word (the old
//! `PTRACE_SET_DEBUGREG` interface).
//!
//! What Linux's Book3S ptrace (`arch/powerpc/kernel/ptrace/ptrace-noadv.c`) accepts, and so
//! what the translation produces:
//! - data breakpoints only: `trigger_type` is READ, WRITE or both; there are no instruction
//!   breakpoints (`num_instruction_bps` is 0, CIABR is not exposed);
//! - `condition_mode` NONE, `version` 1;
//! - `addr_mode` EXACT (one doubleword) or RANGE_INCLUSIVE with the length `addr2 - addr`;
//!   the kernel rounds the range out to doublewords itself and refuses (EINVAL) ranges over
//!   512 bytes, over 8 bytes on a DABR, or crossing a 512-byte boundary before POWER10;
//! - the kernel always sets translation on (WT/BT) and every privilege: a program watching
//!   in real mode cannot be expressed, and a user-only or kernel-only privilege filter is
//!   applied by the dispatch layer in software (Linux's PPC64 ptrace matches kernel accesses
//!   to the watched user memory, DESIGN §2).

use hwbkpt_hal::AccessKind;

use super::uapi::{
    PPC_BREAKPOINT_CONDITION_NONE, PPC_BREAKPOINT_MODE_EXACT, PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE,
    PPC_BREAKPOINT_TRIGGER_READ, PPC_BREAKPOINT_TRIGGER_WRITE, PPC_DEBUG_CURRENT_VERSION,
    PpcHwBreakpoint,
};
use crate::{DOUBLEWORD, DataWatch, PowerProgram, Translation};

/// A program Linux's ptrace cannot carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TranslateError {
    /// Linux's Book3S ptrace has no instruction breakpoints (CIABR is not exposed).
    InstructionBreakpoint,
    /// The kernel always watches with translation on (WT/BT); real-mode watches cannot be
    /// requested.
    Translation(Translation),
    /// The old `PTRACE_SET_DEBUGREG` interface watches exactly one doubleword.
    NotOneDoubleword {
        /// Bytes the program watches.
        len: u64,
    },
}

impl core::fmt::Display for TranslateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::InstructionBreakpoint => {
                f.write_str("Linux ptrace on Book3S PowerPC has no instruction breakpoints")
            }
            Self::Translation(t) => write!(
                f,
                "Linux ptrace watches with translation on only, not {t:?}"
            ),
            Self::NotOneDoubleword { len } => write!(
                f,
                "PTRACE_SET_DEBUGREG watches one doubleword, not {len} bytes"
            ),
        }
    }
}

impl core::error::Error for TranslateError {}

/// The data watch of `program`, if ptrace can carry it.
fn data_watch(program: &PowerProgram) -> Result<DataWatch, TranslateError> {
    match program {
        PowerProgram::Instruction(_) => Err(TranslateError::InstructionBreakpoint),
        PowerProgram::Data(watch) => match watch.translation() {
            Translation::On => Ok(*watch),
            other => Err(TranslateError::Translation(other)),
        },
    }
}

/// `trigger_type` for an access set.
const fn trigger(access: AccessKind) -> u32 {
    let mut trigger = 0;
    if access.contains(AccessKind::READ) {
        trigger |= PPC_BREAKPOINT_TRIGGER_READ;
    }
    if access.contains(AccessKind::WRITE) {
        trigger |= PPC_BREAKPOINT_TRIGGER_WRITE;
    }
    trigger
}

/// The `PPC_PTRACE_SETHWDEBUG` request for `program`: EXACT for one doubleword (what GDB
/// sends for small watches), RANGE_INCLUSIVE `[addr, addr + len)` otherwise.
///
/// ```
/// use hwbkpt_hal::{AccessKind, DebugArchitecture, Request};
/// use hwbkpt_ppc64::linux_ptrace::{PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE, hw_breakpoint};
/// use hwbkpt_ppc64::{PowerCpu, PowerProfile};
///
/// let cpu = PowerCpu::new(PowerProfile::Power10);
/// let plan = cpu.prepare(&Request::builder(0x1000_0004, 12, AccessKind::WRITE).build()?)?;
/// let bp = hw_breakpoint(plan.iter().next().unwrap())?;
/// assert_eq!((bp.addr, bp.addr2), (0x1000_0000, 0x1000_0010)); // two doublewords
/// assert_eq!(bp.addr_mode, PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE);
/// assert_eq!(bp.trigger_type, 0x4); // WRITE
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`TranslateError`] for programs Linux's ptrace cannot carry.
pub fn hw_breakpoint(program: &PowerProgram) -> Result<PpcHwBreakpoint, TranslateError> {
    let watch = data_watch(program)?;
    let range = watch.range();
    let (addr_mode, addr2) = if range.len() == DOUBLEWORD {
        (PPC_BREAKPOINT_MODE_EXACT, 0)
    } else {
        (
            PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE,
            range.start() + range.len(),
        )
    };
    Ok(PpcHwBreakpoint {
        version: PPC_DEBUG_CURRENT_VERSION,
        trigger_type: trigger(watch.access()),
        addr_mode,
        condition_mode: PPC_BREAKPOINT_CONDITION_NONE,
        addr: range.start(),
        addr2,
        condition_value: 0,
    })
}

/// DABR's BT bit, which `PTRACE_SET_DEBUGREG` requires (translation on).
pub const DABR_BT: u64 = 0x4;
/// DABR's DW bit (watch writes).
pub const DABR_DW: u64 = 0x2;
/// DABR's DR bit (watch reads).
pub const DABR_DR: u64 = 0x1;

/// The `PTRACE_SET_DEBUGREG` word for `program`: doubleword address | BT | DW | DR.
///
/// # Errors
/// [`TranslateError`] for programs the old interface cannot carry (anything but one
/// doubleword watched with translation on).
pub fn dabr_word(program: &PowerProgram) -> Result<u64, TranslateError> {
    let watch = data_watch(program)?;
    let range = watch.range();
    if range.len() != DOUBLEWORD {
        return Err(TranslateError::NotOneDoubleword { len: range.len() });
    }
    let mut word = range.start() | DABR_BT;
    if watch.access().contains(AccessKind::WRITE) {
        word |= DABR_DW;
    }
    if watch.access().contains(AccessKind::READ) {
        word |= DABR_DR;
    }
    Ok(word)
}
