//! # hwbkpt
//!
//! One portable way to program and handle hardware breakpoints and watchpoints on x86-64
//! and PowerPC 64. Re-exports the HAL and, for the target being built, its native backend
//! as [`native`].
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
