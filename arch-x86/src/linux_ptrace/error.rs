//! The kernel's refusals, as typed errors.
//!
//! Linux answers a `PTRACE_POKEUSER` of a debug register with an errno only. Which rule was
//! broken follows from the register and the value written, so [`Refusal::classify`] turns the
//! errno back into the reason (facts from Linux `arch/x86/kernel/ptrace.c`
//! `ptrace_set_debugreg`/`ptrace_write_dr7` and `arch/x86/kernel/hw_breakpoint.c`
//! `arch_build_bp_info`/`hw_breakpoint_arch_parse`, kernel 5.10 to 6.18):
//!
//! | errno | when |
//! |---|---|
//! | `EINVAL` | an address not aligned to the slot's length (checked at the address write against the slot's *current* LEN, and at the DR7 write against the new one); an I/O breakpoint (R/W = 10); an execute breakpoint with LEN ≠ 00; an address at or above `TASK_SIZE_MAX` (ptrace breakpoints exclude the kernel) |
//! | `ENOSPC` | the CPU's four slots are taken (ptrace and perf share them: a new ptrace slot is reserved at its first address write, and enabling counts again) |
//! | `EIO` | DR4 or DR5 (they do not exist for ptrace), an unaligned or out-of-area offset |
//! | `ESRCH` | the thread is not traced by the caller or not stopped |
//! | `EPERM` | not allowed to trace it |

use crate::{BreakpointLength, Condition, DebugSlot, Dr7, SlotError};

/// First address a user breakpoint may not cover on x86-64 with 4-level paging: Linux's
/// `TASK_SIZE_MAX`, `2^47 − 4096`. (With 5-level paging it is `2^56 − 4096`; an address in
/// between is classified as misaligned-or-invalid instead, which the kernel reports the same.)
const TASK_SIZE_MAX_4LEVEL: u64 = 0x7FFF_FFFF_F000;

/// Why the kernel refused a debug-register write or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// `EINVAL`: the slot's address is not aligned to its length.
    Misaligned {
        /// The slot.
        slot: DebugSlot,
        /// Its address.
        address: u64,
        /// The alignment its LEN needs.
        align: u64,
    },
    /// `EINVAL`: R/W = 10 (I/O) — Linux has no I/O breakpoints for ptrace.
    IoBreakpoint {
        /// The slot.
        slot: DebugSlot,
    },
    /// `EINVAL`: an execute breakpoint must have LEN = 00 (one byte).
    ExecuteLength {
        /// The slot.
        slot: DebugSlot,
        /// The length its LEN field asked for.
        len: u64,
    },
    /// `EINVAL`: the address lies in the kernel half (ptrace breakpoints exclude the kernel).
    KernelAddress {
        /// The slot.
        slot: DebugSlot,
        /// The address.
        address: u64,
    },
    /// `EINVAL` for a reason this layer could not pin down.
    Invalid,
    /// `ENOSPC`: no free slot; ptrace and perf (`perf_event_open` with
    /// `PERF_TYPE_BREAKPOINT`) share the four debug registers.
    NoSpace,
    /// `EIO`: the register does not exist for ptrace (DR4, DR5).
    NoSuchRegister,
    /// `ESRCH`: the thread is not traced by this process, or not stopped.
    NotStopped,
    /// `EPERM`: not allowed.
    Permission,
    /// Any other errno.
    Other,
}

impl Refusal {
    /// The reason behind `errno` for a write of `value` to debug register `register`, with
    /// `addresses` the slots' addresses and `dr7` DR7 as they are when the write is made.
    #[must_use]
    pub fn classify(errno: i32, register: u8, value: u64, addresses: [u64; 4], dr7: Dr7) -> Self {
        match errno {
            libc::EINVAL => match DebugSlot::new(register) {
                Some(slot) => Self::address_reason(slot, value, dr7),
                None if register == 7 => {
                    Self::control_reason(Dr7::from_bits_retain(value), addresses)
                }
                None => Self::Invalid,
            },
            libc::ENOSPC => Self::NoSpace,
            libc::EIO => Self::NoSuchRegister,
            libc::ESRCH => Self::NotStopped,
            libc::EPERM => Self::Permission,
            _ => Self::Other,
        }
    }

    /// `EINVAL` on an address write: checked against the slot's current fields.
    fn address_reason(slot: DebugSlot, address: u64, dr7: Dr7) -> Self {
        let len = effective_length(dr7, slot);
        if address.saturating_add(len - 1) >= TASK_SIZE_MAX_4LEVEL {
            Self::KernelAddress { slot, address }
        } else if !address.is_multiple_of(len) {
            Self::Misaligned {
                slot,
                address,
                align: len,
            }
        } else {
            Self::Invalid
        }
    }

    /// `EINVAL` on a DR7 write: the first slot whose fields the kernel cannot take.
    fn control_reason(dr7: Dr7, addresses: [u64; 4]) -> Self {
        for slot in DebugSlot::ALL {
            // Linux checks the fields of every slot it holds, enabled or not.
            if dr7.bits() & Dr7::slot_mask(slot) == 0 {
                continue;
            }
            let len = dr7.size(slot);
            match dr7.condition(slot) {
                Condition::Io => return Self::IoBreakpoint { slot },
                Condition::Execute if len != BreakpointLength::One => {
                    return Self::ExecuteLength {
                        slot,
                        len: len.bytes(),
                    };
                }
                Condition::Execute | Condition::Write | Condition::ReadWrite => {}
            }
            let address = addresses[usize::from(slot.index())];
            if !len.is_aligned(address) {
                return Self::Misaligned {
                    slot,
                    address,
                    align: len.bytes(),
                };
            }
        }
        Self::Invalid
    }
}

/// Bytes the kernel checks an address write of `slot` against: its LEN, except that an
/// execute slot is one byte.
fn effective_length(dr7: Dr7, slot: DebugSlot) -> u64 {
    match dr7.condition(slot) {
        Condition::Execute => 1,
        _ => dr7.size(slot).bytes(),
    }
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Misaligned {
                slot,
                address,
                align,
            } => write!(
                f,
                "{slot} address {address:#x} is not aligned to {align} bytes"
            ),
            Self::IoBreakpoint { slot } => {
                write!(f, "{slot}: Linux ptrace has no I/O breakpoints")
            }
            Self::ExecuteLength { slot, len } => {
                write!(f, "{slot}: an execute breakpoint is 1 byte, not {len}")
            }
            Self::KernelAddress { slot, address } => {
                write!(f, "{slot} address {address:#x} is not a user address")
            }
            Self::Invalid => f.write_str("the kernel refused the value"),
            Self::NoSpace => f.write_str(
                "no free debug register: ptrace and perf breakpoints share the four slots",
            ),
            Self::NoSuchRegister => f.write_str("no such debug register for ptrace (DR4/DR5)"),
            Self::NotStopped => f.write_str("the thread is not traced by us or not stopped"),
            Self::Permission => f.write_str("not permitted to trace the thread"),
            Self::Other => f.write_str("unexpected error"),
        }
    }
}

/// Why the ptrace owner could not complete an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PtraceError {
    /// The slot or image was wrong; nothing was written.
    Slot(SlotError),
    /// Reading debug register `register` failed.
    Read {
        /// DR number.
        register: u8,
        /// Why.
        refusal: Refusal,
        /// The raw errno.
        errno: i32,
    },
    /// Writing `value` to debug register `register` failed. The registers hold what they
    /// held before the operation started (the owner rolled back its earlier writes).
    Write {
        /// DR number.
        register: u8,
        /// The value refused.
        value: u64,
        /// Why.
        refusal: Refusal,
        /// The raw errno.
        errno: i32,
    },
    /// A write failed and so did the rollback: the slot may be disarmed or hold the new
    /// address. Uninstall it, or read the registers back, before relying on it.
    Inconsistent {
        /// DR number of the write that failed first.
        register: u8,
        /// Why it failed.
        refusal: Refusal,
    },
}

impl PtraceError {
    /// The kernel's reason, if the kernel refused.
    #[must_use]
    pub const fn refusal(&self) -> Option<Refusal> {
        match *self {
            Self::Slot(_) => None,
            Self::Read { refusal, .. }
            | Self::Write { refusal, .. }
            | Self::Inconsistent { refusal, .. } => Some(refusal),
        }
    }
}

impl From<SlotError> for PtraceError {
    fn from(error: SlotError) -> Self {
        Self::Slot(error)
    }
}

impl core::fmt::Display for PtraceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Slot(e) => e.fmt(f),
            Self::Read {
                register,
                refusal,
                errno,
            } => write!(f, "PTRACE_PEEKUSER DR{register}: {refusal} (errno {errno})"),
            Self::Write {
                register,
                value,
                refusal,
                errno,
            } => write!(
                f,
                "PTRACE_POKEUSER DR{register} = {value:#x}: {refusal} (errno {errno}); registers unchanged"
            ),
            Self::Inconsistent { register, refusal } => write!(
                f,
                "PTRACE_POKEUSER DR{register}: {refusal}, and restoring the previous state failed too"
            ),
        }
    }
}

impl core::error::Error for PtraceError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EnableMode, X86Program, X86SlotImage};

    fn armed(slot: DebugSlot, address: u64, len: BreakpointLength, condition: Condition) -> Dr7 {
        let mut dr7 = Dr7::RESET;
        dr7.set_global_enable(slot, true);
        dr7.set_condition(slot, condition);
        dr7.set_size(slot, len);
        let _ = address;
        dr7
    }

    #[test]
    fn address_write_reasons() {
        let dr7 = armed(DebugSlot::Dr1, 0, BreakpointLength::Eight, Condition::Write);
        assert_eq!(
            Refusal::classify(libc::EINVAL, 1, 0x1004, [0; 4], dr7),
            Refusal::Misaligned {
                slot: DebugSlot::Dr1,
                address: 0x1004,
                align: 8
            }
        );
        assert_eq!(
            Refusal::classify(libc::EINVAL, 1, 0xffff_8000_0000_0000, [0; 4], dr7),
            Refusal::KernelAddress {
                slot: DebugSlot::Dr1,
                address: 0xffff_8000_0000_0000
            }
        );
        // An execute slot (fields 00/00: a cleared slot) takes any alignment.
        assert_eq!(
            Refusal::classify(libc::EINVAL, 2, 0x1003, [0; 4], dr7),
            Refusal::Invalid
        );
        assert_eq!(
            Refusal::classify(libc::EIO, 4, 0, [0; 4], dr7),
            Refusal::NoSuchRegister
        );
        assert_eq!(
            Refusal::classify(libc::ENOSPC, 0, 0x1000, [0; 4], dr7),
            Refusal::NoSpace
        );
    }

    #[test]
    fn control_write_reasons() {
        let mut io = Dr7::RESET;
        io.set_global_enable(DebugSlot::Dr2, true);
        io.set_condition(DebugSlot::Dr2, Condition::Io);
        assert_eq!(
            Refusal::classify(libc::EINVAL, 7, io.bits(), [0; 4], Dr7::RESET),
            Refusal::IoBreakpoint {
                slot: DebugSlot::Dr2
            }
        );
        let long_exec = armed(
            DebugSlot::Dr0,
            0,
            BreakpointLength::Four,
            Condition::Execute,
        );
        assert_eq!(
            Refusal::classify(libc::EINVAL, 7, long_exec.bits(), [0; 4], Dr7::RESET),
            Refusal::ExecuteLength {
                slot: DebugSlot::Dr0,
                len: 4
            }
        );
        let program = X86Program::new(0x2000, BreakpointLength::Eight, Condition::ReadWrite);
        let image = X86SlotImage::new(DebugSlot::Dr3, program.unwrap(), EnableMode::Global);
        let dr7 = image.install_into(Dr7::RESET);
        assert_eq!(
            Refusal::classify(libc::EINVAL, 7, dr7.bits(), [0, 0, 0, 0x2002], Dr7::RESET),
            Refusal::Misaligned {
                slot: DebugSlot::Dr3,
                address: 0x2002,
                align: 8
            }
        );
    }

    #[test]
    fn messages() {
        let e = PtraceError::Write {
            register: 7,
            value: 0x1,
            refusal: Refusal::NoSpace,
            errno: libc::ENOSPC,
        };
        assert_eq!(
            e.to_string(),
            "PTRACE_POKEUSER DR7 = 0x1: no free debug register: ptrace and perf breakpoints \
             share the four slots (errno 28); registers unchanged"
        );
        assert_eq!(e.refusal(), Some(Refusal::NoSpace));
    }
}
