//! The architecture-neutral parts of a ptrace-compatible virtual debug-register file.
//!
//! A kernel that routes its ptrace debug-register requests through hwbkpt answers each of
//! them with success or one of Linux's error numbers. The register files themselves are
//! per architecture (`hwbkpt_x86::ptrace_file`, `hwbkpt_ppc64::ptrace_file`); what they share
//! lives here: [`Errno`], the mapping of HAL refusals onto it, and the stop a debugger sees.
//!
//! ```
//! use hwbkpt_hal::{DispatchError, RequestError, ptrace::Errno};
//!
//! let refused = DispatchError::Request(RequestError::NotUserAddress {
//!     addr: 0xffff_8000_0000_0000,
//!     len: 8,
//!     user_limit: 0x7FFF_FFFF_F000,
//! });
//! assert_eq!(Errno::from_dispatch(&refused), Errno::EINVAL);
//! assert_eq!(Errno::EINVAL.to_string(), "EINVAL (22): invalid argument");
//! assert_eq!(Errno::ENOTSUPP.code(), 524);
//! ```

mod errno;

pub use errno::Errno;

/// Linux's `TRAP_TRACE` (`include/uapi/asm-generic/siginfo.h`): the `si_code` of a
/// single-step stop. x86 reports it instead of `TRAP_HWBKPT` when the virtual DR6 has BS,
/// even if a breakpoint bit is set too.
pub const TRAP_TRACE: i32 = 2;

static_assertions::assert_impl_all!(Errno: Send, Sync, Copy, core::error::Error);
