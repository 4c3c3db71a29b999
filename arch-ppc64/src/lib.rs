//! # hwbkpt-ppc64
//!
//! The PowerPC 64 backend of hwbkpt: the debug registers of POWER7 to POWER10 as types
//! (DABR/DABRX, DAWR0/1 and DAWRX0/1 with their MRD length field, CIABR, the DSISR match bit,
//! the MSR bits of single-stepping), each profile's limits as data, and [`PowerCpu`], which
//! implements [`hwbkpt_hal::DebugArchitecture`]: it turns a request into the fewest slot
//! programs (rounded out to doublewords and no more), encodes them into exact register
//! images, and decodes exception status.
//!
//! Watch 16 bytes for writes on POWER10 and print the registers:
//!
//! ```
//! use hwbkpt_hal::{AccessKind, DebugArchitecture, Request, RequestError, SlotId, PoolKind};
//! use hwbkpt_ppc64::{PowerCpu, PowerProfile, SlotImage};
//!
//! let cpu = PowerCpu::new(PowerProfile::Power10);
//! let request = Request::builder(0x7fff_8000_1234, 16, AccessKind::WRITE).build()?;
//! let plan = cpu.prepare(&request)?; // policy (user address limit), then hardware rules
//! for (i, program) in plan.iter().enumerate() {
//!     let slot = SlotId::new(PoolKind::Data, i as u8).expect("plans have at most 2 data slots");
//!     if let SlotImage::Dawr { index, dawr, dawrx } = cpu.encode(slot, program)? {
//!         println!("{index:?}: DAWR = {:#018x}  DAWRX = {:#06x}", dawr.bits(), dawrx.bits());
//!         println!("  address {:?}, {} bytes (MRD {}), {:?}",
//!             dawr.address(), dawrx.length(), dawrx.mrd().get(), dawrx.flags());
//!         // 0x1234+16 rounds out to the three doublewords 0x1230..0x1248.
//!         assert_eq!(dawr.bits(), 0x7fff_8000_1230);
//!         assert_eq!(dawrx.bits(), 0x0800 | 0x40 | 0x10 | 0x1); // MRD 2, DW, WT, PR
//!     }
//! }
//! # Ok::<(), RequestError>(())
//! ```
//!
//! Layout: [`ibm`] explains the IBM bit numbering once (the rest of the crate uses LSB
//! masks); [`registers`] has one file per register; `profile` holds POWER7–10 as data;
//! `plan` splits a rounded range over the fewest slots; `encode` maps programs to register
//! images; `raw` (powerpc64 with the `instructions` feature; docs.rs documents it for the
//! powerpc64 targets) has `mfspr`/`mtspr` with the SPR number as a const generic, and
//! `BareMetal` implements [`hwbkpt_hal::RegisterAccess`] on top of it. Single-stepping is a
//! [`StepRequest`] the kernel's interrupt-return path applies to the saved MSR.
//!
//! With the `linux-ptrace` feature, [`linux_ptrace`] has the kernel's ptrace structures
//! (`struct ppc_debug_info`, `struct ppc_hw_breakpoint`, layouts asserted at compile time),
//! the translation of a slot program into a `PPC_PTRACE_SETHWDEBUG` request on every host,
//! and, on powerpc64 Linux, `TracedThread`, a register owner for a stopped traced thread.
//!
//! Every `unsafe` block is in `raw.rs`, `bare_metal.rs` and `linux_ptrace/thread.rs` (the
//! ptrace calls).
#![cfg_attr(not(test), no_std)]

pub mod ibm;
pub mod registers;

mod cpu;
mod encode;
mod image;
mod plan;
mod profile;
mod program;
mod status;
mod step;

#[cfg(feature = "linux-ptrace")]
pub mod linux_ptrace;
#[cfg(feature = "linux-ptrace")]
pub mod ptrace_file;

#[cfg(all(target_arch = "powerpc64", feature = "instructions"))]
mod bare_metal;
#[cfg(all(target_arch = "powerpc64", feature = "instructions"))]
pub mod raw;

#[cfg(test)]
mod tests;

pub use cpu::{POWER9_ERRATUM_REASON, PowerCpu};
pub use encode::{decode_ciabr, decode_dabr, decode_dawr, encode_ciabr, encode_dabr, encode_dawr};
pub use ibm::{ibm_bit, ibm_field, ibm_shift};
pub use image::{DawrIndex, SlotImage, SlotRegisters, SprWrite, WriteSequence};
pub use profile::{
    BOOK3S64_USER_LIMIT, DAWR_BOUNDARY, DAWR_MAX_LEN, DOUBLEWORD, DataRegister, PowerProfile,
    ProfileLimits, QUADWORD,
};
pub use program::{DataWatch, InstructionBreak, PowerProgram, Translation};
pub use registers::{
    Ciabr, CiabrPrivilege, Dabr, DabrFlags, Dabrx, Dawr, Dawrx, DawrxFlags, DoublewordAddress,
    Dsisr, Mrd, Msr, Spr, Srr1, WordAddress,
};
pub use status::PowerStatus;
pub use step::StepRequest;

#[cfg(all(target_arch = "powerpc64", feature = "instructions"))]
pub use bare_metal::{BareMetal, BareMetalError};

static_assertions::assert_impl_all!(PowerCpu: Send, Sync, Copy, hwbkpt_hal::DebugArchitecture);
static_assertions::assert_impl_all!(PowerProgram: Send, Sync, Copy, hwbkpt_hal::SlotProgram);
static_assertions::assert_impl_all!(SlotImage: Send, Sync, Copy);
static_assertions::assert_eq_size!(Dawrx, u64);
static_assertions::assert_eq_size!(Dabrx, u64);
