//! # hwbkpt
//!
//! One portable way to program and handle hardware breakpoints and watchpoints on x86-64
//! and PowerPC 64. This facade re-exports the HAL ([`hal`], also glob-re-exported here) and,
//! for the target being built, its native backend as `native` (`hwbkpt-x86` on x86_64,
//! `hwbkpt-ppc64` on powerpc64; absent elsewhere).
//!
//! Code written against [`DebugArchitecture`] works on every CPU; the backends decide what
//! the hardware can do. The same 6-byte write watch needs three exact slots on x86-64 and one
//! doubleword-rounded DAWR on POWER10:
//!
//! ```
//! use hwbkpt::{AccessKind, DebugArchitecture, Request, RequestError};
//! use hwbkpt_ppc64::{PowerCpu, PowerProfile};
//! use hwbkpt_x86::{X86Cpu, X86Profile};
//!
//! fn slots_needed<A: DebugArchitecture>(cpu: &A, request: &Request) -> Result<usize, RequestError> {
//!     Ok(cpu.prepare(request)?.len())
//! }
//!
//! let watch = Request::builder(0x7fff_0000_1003, 6, AccessKind::WRITE).build()?;
//! assert_eq!(slots_needed(&X86Cpu::new(X86Profile::GENERIC_X86_64), &watch)?, 3); // 1 + 4 + 1 bytes
//! assert_eq!(slots_needed(&PowerCpu::new(PowerProfile::Power10), &watch)?, 1); // 0x…1000+16
//! assert!(slots_needed(&PowerCpu::new(PowerProfile::Power9), &watch).is_err()); // the erratum
//! # Ok::<(), RequestError>(())
//! ```
//!
//! Handling the exception is [`Dispatcher::handle_exception`]'s job; the README shows the
//! whole flow, and `tests/kernel/` embeds it in a ring-0 kernel.
#![no_std]

pub use hwbkpt_hal as hal;
pub use hwbkpt_hal::*;

cfg_if::cfg_if! {
    if #[cfg(target_arch = "x86_64")] {
        /// The backend of the architecture this crate is built for (x86-64).
        pub use hwbkpt_x86 as native;
    } else if #[cfg(target_arch = "powerpc64")] {
        /// The backend of the architecture this crate is built for (PowerPC 64).
        pub use hwbkpt_ppc64 as native;
    }
}
