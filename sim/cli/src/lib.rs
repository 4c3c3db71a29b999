//! # hwbkpt-sim-cli
//!
//! The HAL's exception pipeline running as the kernel of a simulated CPU. The simulator
//! (`hwbkpt-sim`) knows only raw register images and must stay free of the arch crates, so
//! that its CPU models check the backends independently; this crate is where the two meet:
//! [`bridge::HalKernel`] installs the images `hwbkpt-x86` and `hwbkpt-ppc64` encode into a
//! simulated CPU's debug registers and hands each debug exception to
//! [`hwbkpt_hal::Dispatcher`], with only what a kernel sees at the exception.

pub mod bridge;
