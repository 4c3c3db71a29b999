//! # hwbkpt-hal
//!
//! The architecture-neutral half of hwbkpt: the types a breakpoint request is made of, the
//! checks that refuse bad requests with a typed error before any register is touched, the
//! [`DebugArchitecture`] trait each backend implements (capabilities as data, `plan`,
//! `encode`, status decoding), the address-space policy engine, the hooks the exception
//! pipeline is allowed to use, the exception pipeline itself ([`Dispatcher`]: matching hits
//! to requests, dropping strays, the single-step interlock), and slot reservation
//! ([`Reservations`]: per-CPU and per-task accounting, pinned/flexible, shared/exclusive).
//!
//! `no_std` and no `unsafe`. Nothing needs an allocator: the dispatcher and
//! [`FixedReservations`] have fixed capacity. The `alloc` feature adds
//! `HeapReservations`, which grows to any number of tasks.
//!
//! ```
//! use hwbkpt_hal::{AccessKind, AddressSpacePolicy, Origin, Request, RequestError};
//!
//! let request = Request::builder(0x7fff_0000_1000, 8, AccessKind::READ_WRITE).build()?;
//! let policy = AddressSpacePolicy { user_limit: 0x7FFF_FFFF_F000, forbidden: &[] };
//! policy.check(&request)?;
//!
//! let kernel_addr = Request::builder(0xffff_8000_0000_0000, 8, AccessKind::WRITE).build()?;
//! assert!(matches!(policy.check(&kernel_addr), Err(RequestError::NotUserAddress { .. })));
//! # Ok::<(), RequestError>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod access;
mod arch;
mod dispatch;
mod error;
mod hooks;
pub mod kgdb;
mod plan;
mod policy;
mod privilege;
pub mod ptrace;
mod range;
mod registers;
mod request;
mod reserve;
mod scope;
mod timing;

pub use access::AccessKind;
pub use arch::{Capabilities, DebugArchitecture, ExceptionCause, SlotId, SlotPool, SlotSet};
pub use dispatch::{
    DisableReason, DispatchError, Dispatcher, Event, EventKind, EventSink, ExecutionMode, Hit,
    MAX_VALUE_BYTES, RequestId, Resolution, ResumeAction, SignalRecord, Statistics,
    StringIterations, SwitchError, TrapFrame, ValueChange,
};
pub use error::RequestError;
pub use hooks::{
    AccessClass, DecodeError, DecodedAccess, EmulateError, ExceptionEnvironment, InstructionDecode,
    InstructionEmulate, MemoryRead, MemoryReadError, StringProgress,
};
pub use plan::{MAX_PLAN_SLOTS, Plan, PoolKind, SlotProgram};
pub use policy::{
    AddressSpacePolicy, ForbiddenRanges, ForbiddenRegion, Forbids, MAX_FORBIDDEN_REGIONS,
    RegistryError,
};
pub use privilege::{Origin, PrivilegeFilter};
pub use range::AddressRange;
pub use registers::RegisterAccess;
pub use request::{Request, RequestBuilder};
pub use reserve::{
    FixedReservations, FixedSlab, FixedStorage, FixedTaskTable, InstallError, LoadedSlot,
    MAX_SLOTS, PoolUsage, ReservationId, ReservationStatus, Reservations, ReserveError, Slab,
    SlotAssignment, SlotGroupId, Storage, TaskTable,
};
#[cfg(feature = "alloc")]
pub use reserve::{HeapReservations, HeapStorage, HeapTaskTable, VecSlab};
pub use scope::{CpuId, Scope, TaskId};
pub use timing::{Delivery, Pinning, Sharing, Timing};

static_assertions::assert_impl_all!(Request: Send, Sync, Copy);
static_assertions::assert_impl_all!(RequestError: Send, Sync, core::error::Error);
