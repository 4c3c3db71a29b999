//! The PowerPC 64 CPU model: big-endian memory, 4-byte instructions, and the debug hardware
//! of POWER7 to POWER10 decoded from raw register images.
//!
//! What it models, each rule in its own file with tests citing the manual or kernel behaviour:
//! - [`insn`] — the instruction set (own 4-byte encoding) and its decoder;
//! - [`footprint`] — per-doubleword matching (16-byte granules for pre-POWER10 quadwords,
//!   whole blocks for `dcbz`);
//! - [`dabr`], [`dawr`], [`ciabr`] — the registers, from their raw images;
//! - [`debug_regs`] — one CPU's images and the match decision, with DAR;
//! - [`profile`] — POWER7/8/9/10 differences, including the POWER9 checkstop hazard;
//! - [`msr`], [`dsisr`] — the status bits involved.

pub mod access;
mod asm;
mod bits;
pub mod ciabr;
pub mod context;
pub mod dabr;
pub mod dawr;
pub mod debug_regs;
pub mod dsisr;
pub mod exception;
pub mod footprint;
pub mod insn;
mod kernel;
mod model;
pub mod msr;
pub mod profile;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use asm::Asm;
pub use context::{Ppc64Context, Reservation};
pub use debug_regs::{DataMatch, DataSlot, DebugRegisters};
pub use exception::Ppc64Exception;
pub use insn::{Cond, Insn, Reg, Size};
pub use kernel::{SeenException, SteppingKernel};
pub use model::{CHECKSTOP_REASON, Ppc64, SYSCALL_VECTOR};
pub use profile::{CpuProfile, Generation, QuadwordDar};
