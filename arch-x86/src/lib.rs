//! # hwbkpt-x86
//!
//! The x86-64 backend of hwbkpt: the debug registers DR0–DR3, DR6 and DR7 as types, exact
//! encoding and decoding, the hardware's rules as typed errors, optimal planning of any byte
//! range onto the four slots, CPU profiles as data, and (with the `instructions` feature, on
//! `x86_64`) ring-0 access to the real registers.
//!
//! ```
//! use hwbkpt_hal::{AccessKind, DebugArchitecture, Request, RequestError};
//! use hwbkpt_x86::{DebugSlot, X86Cpu, X86Profile, merge_images};
//!
//! let cpu = X86Cpu::new(X86Profile::GENERIC_X86_64);
//!
//! // Watch writes to the 4 bytes at 0x7fff_0000_1000.
//! let request = Request::builder(0x7fff_0000_1000, 4, AccessKind::WRITE).build()?;
//! let plan = cpu.prepare(&request)?; // address-space policy, then hardware rules
//! assert_eq!(plan.len(), 1);
//!
//! let mut images = Vec::new();
//! for (slot, program) in DebugSlot::ALL.into_iter().zip(&plan) {
//!     images.push(cpu.encode(slot.slot_id(), program)?);
//! }
//! let dr7 = merge_images(images.iter().copied());
//! println!("DR0 = {:#x}", images[0].address());
//! println!("DR7 = {dr7}"); // 0xd0602 (DR0: G write 4 bytes; GE)
//! assert_eq!(dr7.bits(), 0x000d_0602);
//! # Ok::<(), RequestError>(())
//! ```
//!
//! ## Map
//!
//! | concept | items |
//! |---|---|
//! | register fields | [`DebugSlot`], [`Condition`] (R/W), [`BreakpointLength`] (LEN), [`EnableMode`] |
//! | registers | [`Dr7`] + [`Dr7Flags`], [`Dr6`] + [`Dr6Flags`] |
//! | planning | [`AlignedCover`] (exact, minimal), [`X86Cpu`] ([`DebugArchitecture`](hwbkpt_hal::DebugArchitecture)), [`X86Cpu::plan_io`] |
//! | programs and images | [`X86Program`], [`X86SlotImage`], [`merge_images`] |
//! | CPU profiles | [`X86Profile`], [`Paging`] |
//! | ptrace-compatible virtual registers | [`ptrace_file::X86PtraceFile`]: `PTRACE_POKEUSER`/`PEEKUSER` of DR0–DR7 with Linux's errnos, on the HAL's dispatcher (`no_std`) |
//! | fast strings | [`string_progress`] ([`StringFrame`], [`RFLAGS_RF`]): a trap between `rep movs`/`rep stos` iterations, for [`InstructionDecode::string_progress`](hwbkpt_hal::InstructionDecode::string_progress) |
//! | register owners | [`install_writes`] / [`uninstall_writes`] (the write order every owner follows), [`SlotError`], [`SingleStep`]; `raw` and `BareMetal` with the `instructions` feature on `x86_64`; `TracedThread` (Linux ptrace, with its typed `PtraceError`/`Refusal`) with the `linux-ptrace` feature on x86-64 Linux |
//!
//! ## Sources
//!
//! Every constant cites the Intel 64 and IA-32 Architectures Software Developer's Manual
//! (SDM). Section numbers follow the editions in which "Debug, Branch Profile, TSC, and
//! Intel Resource Director Technology Features" is chapter 18 of Vol. 3B (§18.2 Debug
//! Registers, §18.3 Debug Exceptions); older editions number that chapter 17 and newer ones
//! 19, with the same section titles. The fact sheet in the project's DESIGN.md §4 summarises
//! them.
//!
//! ## What is deliberately not here
//!
//! **AMD's breakpoint address-mask extension** (the `DR0_ADDR_MASK`..`DR3_ADDR_MASK` MSRs,
//! which make a slot ignore chosen address bits and so watch larger aligned blocks) is left
//! out. Doing it right needs facts this crate could not pin down from primary sources: the
//! exact CPUID feature bits for the DR0 mask and for the DR1–DR3 masks, how the mask combines
//! with LEN and with execute breakpoints, and whether masked matches report in DR6 like
//! unmasked ones. A wrong guess would silently watch bytes outside a request, which breaks
//! the exactness every plan here guarantees. The registers are also MSRs, not debug
//! registers, so every [`RegisterAccess`](hwbkpt_hal::RegisterAccess) owner (bare metal,
//! ptrace, the simulator) would need a new channel for them. It can be added later as a
//! separate profile once those facts are checked against AMD's APM Vol. 2.
//!
//! **Privilege filtering**: x86 debug registers match accesses at every CPL, so
//! [`Capabilities::hardware_privileges`](hwbkpt_hal::Capabilities::hardware_privileges) is
//! empty and the dispatch layer filters by privilege in software.
// Tests run on the host with std (proptest needs it); the library itself never uses it.
#![cfg_attr(not(test), no_std)]

mod condition;
mod cover;
mod cpu;
mod dr6;
mod dr7;
mod enable;
mod image;
mod io;
mod length;
mod profile;
mod program;
pub mod ptrace_file;
mod register_write;
mod rep_string;
mod single_step;
mod slot;
mod slot_error;

#[cfg(all(target_arch = "x86_64", feature = "instructions"))]
mod bare_metal;
#[cfg(all(target_arch = "x86_64", feature = "instructions"))]
pub mod raw;

#[cfg(all(target_os = "linux", target_arch = "x86_64", feature = "linux-ptrace"))]
mod linux_ptrace;

#[cfg(test)]
mod vector_tests;

pub use condition::Condition;
pub use cover::{AlignedCover, AlignedPiece};
pub use cpu::X86Cpu;
pub use dr6::{Dr6, Dr6Flags};
pub use dr7::{Dr7, Dr7Flags};
pub use enable::EnableMode;
pub use image::{X86SlotImage, merge_images};
pub use length::BreakpointLength;
pub use profile::{Paging, X86Profile};
pub use program::X86Program;
pub use register_write::{RegisterWrite, WriteSequence, install_writes, uninstall_writes};
pub use rep_string::{RFLAGS_RF, StringFrame, string_progress};
pub use single_step::{RFLAGS_TF, SingleStep};
pub use slot::DebugSlot;
pub use slot_error::SlotError;

#[cfg(all(target_arch = "x86_64", feature = "instructions"))]
pub use bare_metal::BareMetal;
#[cfg(all(target_os = "linux", target_arch = "x86_64", feature = "linux-ptrace"))]
pub use linux_ptrace::{PtraceError, Refusal, TracedThread, U_DEBUGREG_OFFSET, debugreg_offset};

// DebugSlot::slot_id relies on the HAL allowing all four DR0–DR3 in one pool.
const _: () = assert!(hwbkpt_hal::SlotId::MAX_PER_POOL >= DebugSlot::COUNT);
// A plan must be able to hold one program per slot.
const _: () = assert!(hwbkpt_hal::MAX_PLAN_SLOTS >= DebugSlot::COUNT as usize);
// The register types are exactly their raw values.
const _: () = assert!(core::mem::size_of::<Dr7>() == 8 && core::mem::size_of::<Dr6>() == 8);

static_assertions::assert_impl_all!(X86Cpu: hwbkpt_hal::DebugArchitecture, Send, Sync, Copy);
static_assertions::assert_impl_all!(X86SlotImage: Send, Sync, Copy);
static_assertions::assert_impl_all!(SlotError: core::error::Error, Send, Sync);
