//! # hwbkpt-sim-cli
//!
//! The HAL's exception pipeline running as the kernel of a simulated CPU, and `hwbkpt-sim`,
//! the command-line tool for exploring breakpoint semantics on both CPUs.
//!
//! The simulator (`hwbkpt-sim`) knows only raw register images and must stay free of the arch
//! crates, so that its CPU models check the backends independently; this crate is where the
//! two meet: [`bridge::HalKernel`] installs the images `hwbkpt-x86` and `hwbkpt-ppc64` encode
//! into a simulated CPU's debug registers and hands each debug exception to
//! [`hwbkpt_hal::Dispatcher`], with only what a kernel sees at the exception.
//!
//! On top of it: [`scenario`] (the versioned TOML scenario format), [`engine`] (a scenario
//! run on one model, with its timeline), [`report`] (the JSON schema), [`gdb`] (a gdb remote
//! stub whose hardware watchpoints go through the HAL), and [`cli`] (the commands). The tool's guide and the scenario format are in `sim/cli/README.md`.

pub mod bridge;
pub mod cli;
mod compare;
mod demo;
pub mod engine;
pub mod gdb;
pub mod ptrace_replay;
pub mod registers;
pub mod report;
pub mod scenario;
mod text;
