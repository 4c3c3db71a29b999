//! The PowerPC 64 CPU model: big-endian memory, 4-byte instructions, and the debug hardware
//! of POWER7 to POWER10 decoded from raw register images — with this crate's own code, never
//! `hwbkpt-ppc64`'s.
//!
//! [`Ppc64`] plugs into the generic [`Machine`](crate::Machine); [`SteppingKernel`] is a default
//! kernel that records exceptions and steps past data breakpoint hits as Linux does.
//!
//! What it models, each rule in its own file with tests citing the manual or kernel behaviour:
//! - [`insn`] — the instruction set (own 4-byte encoding, big-endian) and its decoder;
//! - [`access`] — the access an instruction makes (Linux `analyse_instr`'s counterpart), used
//!   by execution and by the HAL's decode hook ([`Isa::decode_access`](crate::Isa::decode_access));
//! - [`footprint`] — per-doubleword matching (16-byte granules for pre-POWER10 quadwords,
//!   whole blocks for `dcbz`);
//! - [`dabr`], [`dawr`], [`ciabr`] — the registers, from their raw images;
//! - [`debug_regs`] — one CPU's images and the match decision, with DAR;
//! - [`profile`] — POWER7/8/9/10 differences, including the POWER9 checkstop hazard;
//! - [`msr`], [`dsisr`] — the status bits involved; [`context`] — the per-task registers;
//!   [`exception`] — what a kernel is told.
//!
//! Where the manuals leave a choice, the choice is documented where it is made and listed in
//! `sim/NOTES.md`.
//!
//! ```
//! use hwbkpt_hal::CpuId;
//! use hwbkpt_sim::ppc64::{
//!     Asm, CpuProfile, DebugRegisters, Insn, Ppc64, Ppc64Context, Ppc64Exception, Size,
//!     SteppingKernel,
//! };
//! use hwbkpt_sim::{Machine, RegionAttributes, StopReason};
//!
//! let mut asm = Asm::new(0x1000_0000);
//! asm.li(4, 0x1234)
//!     .emit(Insn::Store { size: Size::B4, rs: 4, ra: 3, d: 2 })
//!     .halt();
//! let mut m = Machine::new(Ppc64::new(CpuProfile::POWER10), SteppingKernel::default(), 1);
//! m.memory_mut().map(0x1000_0000, 0x1000, RegionAttributes::default());
//! m.memory_mut().map(0x2000_0000, 0x1000, RegionAttributes::default());
//! asm.load_into(m.memory_mut())?;
//! let mut regs = Ppc64Context::user(0x1000_0000);
//! regs.gpr[3] = 0x2000_0000;
//! // DAWR0 on the doubleword at 0x2000_0000: read/write, user, translation on (DAWRX 0x71).
//! regs.debug = DebugRegisters { dawr: [0x2000_0000, 0], dawrx: [0x71, 0], ..DebugRegisters::CLEAR };
//! let task = m.spawn(regs);
//! assert_eq!(m.run(task, CpuId(0), 100)?.stop, StopReason::Exited);
//! // A data storage interrupt before the store (DSISR bit 41 and the store bit, DAR = first
//! // watched byte), then the trace interrupt of the kernel's single step after it.
//! assert_eq!(
//!     m.kernel().seen[0].exception,
//!     Ppc64Exception::DataStorage { dsisr: 0x0240_0000, dar: 0x2000_0002 }
//! );
//! assert_eq!(m.memory().read_uint(0x2000_0002, 4)?, 0x1234);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
