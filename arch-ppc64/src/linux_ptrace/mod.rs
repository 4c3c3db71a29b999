//! Linux ptrace for PowerPC hardware breakpoints (feature `linux-ptrace`).
//!
//! A tracer programs a stopped tracee's data breakpoints with `PPC_PTRACE_SETHWDEBUG`
//! (0x88, returns a handle), removes them with `PPC_PTRACE_DELHWDEBUG` (0x87), and learns
//! what the kernel offers with `PPC_PTRACE_GETHWDBGINFO` (0x89); the older
//! `PTRACE_GET_DEBUGREG`/`PTRACE_SET_DEBUGREG` (25/26) fake one DABR. The kernel's structures
//! are [`PpcDebugInfo`] and [`PpcHwBreakpoint`], `#[repr(C)]` with their size and every
//! offset asserted at compile time against `arch/powerpc/include/uapi/asm/ptrace.h`.
//!
//! - [`hw_breakpoint`] and [`dabr_word`] translate a HAL slot program into the kernel's
//!   request (pure functions, compiled and tested on every host);
//! - [`PpcDebugInfo::profile`] picks the CPU profile the kernel's answer describes;
//! - `TracedThread` (powerpc64 Linux only) implements
//!   [`RegisterAccess`](hwbkpt_hal::RegisterAccess) on top of the requests.
//!
//! **What is tested where.** The layouts and the translation are tested on every host,
//! including big-endian powerpc64 under qemu-user (`scripts/test-ppc64.sh`). The requests
//! themselves are not: qemu-user does not emulate `PPC_PTRACE_*` (it forwards only the
//! generic ptrace requests, and its CPU model has no DAWR to program), so `TracedThread`
//! only compiles there (`cargo build -p hwbkpt-ppc64 --features linux-ptrace --target
//! powerpc64-unknown-linux-gnu`). It needs a real POWER8 or later machine to run.

mod translate;
mod uapi;

#[cfg(all(target_os = "linux", target_arch = "powerpc64"))]
mod thread;

pub use translate::{DABR_BT, DABR_DR, DABR_DW, TranslateError, dabr_word, hw_breakpoint};
pub use uapi::*;

#[cfg(all(target_os = "linux", target_arch = "powerpc64"))]
pub use thread::{PtraceError, Refusal, TracedThread};

use crate::PowerProfile;

impl PpcDebugInfo {
    /// The CPU profile whose data slots match what the kernel offers, or `None` when it
    /// offers no data breakpoint (a POWER9 with its DAWR disabled reports 0).
    ///
    /// ISA 3.1 → POWER10; DAWR → POWER8 (one DAWR with the 512-byte boundary rule, which a
    /// POWER9 with `dawr_enable_dangerous` also is to ptrace); otherwise a DABR → POWER7.
    #[must_use]
    pub const fn profile(&self) -> Option<PowerProfile> {
        if self.num_data_bps == 0 {
            None
        } else if self.features & PPC_DEBUG_FEATURE_DATA_BP_ARCH_31 != 0 {
            Some(PowerProfile::Power10)
        } else if self.features & PPC_DEBUG_FEATURE_DATA_BP_DAWR != 0 {
            Some(PowerProfile::Power8)
        } else {
            Some(PowerProfile::Power7)
        }
    }
}

#[cfg(test)]
mod tests;
