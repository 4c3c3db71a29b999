//! A gdb remote stub on the simulated CPUs (`hwbkpt-sim gdbserver`), built on `gdbstub`: the
//! real gdb debugs a scenario's program, and every hardware watchpoint and breakpoint it sets
//! goes through the HAL — validation, planning (a 32-byte object on x86 takes four slots),
//! slot reservation and dispatch — never straight into the simulated registers.
//!
//! - [`ppc64_arch`]: our 64-bit big-endian PowerPC `Arch` and target description
//!   (`gdbstub_arch` has only 32-bit PowerPC); x86-64 uses `gdbstub_arch`'s.
//! - [`model`]: what differs per CPU — registers in gdb's layout, and how gdb's watch kinds
//!   become requests (x86 `rwatch` on a read/write slot, reported as a read only when the
//!   value is unchanged; PPC64 watches delivered before the access, because gdb's PowerPC
//!   support steps over the access itself).
//! - [`breakpoints`]: gdb's insertions and the HAL requests serving them; what a hit means
//!   for gdb (the stop names the address gdb asked for, not the wider range the hardware
//!   matched).
//! - [`kernel`]: the bridge's `HalKernel` as the machine's kernel, plus the stop decision.
//! - [`target`]: the `gdbstub` target (registers, memory, breakpoints); [`run_loop`]:
//!   continue, step, Ctrl-C; [`server`]: the TCP listener and the session.
//!
//! ```no_run
//! use hwbkpt_sim_cli::gdb::serve;
//! use hwbkpt_sim_cli::scenario::{self, Arch, Profile};
//!
//! let source = scenario::load("sim/cli/examples/gdb-watch.toml".as_ref())?;
//! // Prints the labels and the bound address, then serves one gdb until it detaches.
//! let ended = serve(&source, Arch::X86, Profile::Generic, "127.0.0.1:0", Box::new(std::io::stderr()))?;
//! println!("{}", ended.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod breakpoints;
pub mod kernel;
pub mod model;
pub mod ppc64_arch;
pub mod run_loop;
pub mod server;
pub mod stop;
pub mod target;

mod ppc64;
#[cfg(test)]
mod tests;
mod x86;

pub use server::{Ended, ServeError, prepare, serve};
