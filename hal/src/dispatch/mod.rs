//! The exception pipeline: from a debug exception's raw status to consumer events.
//!
//! A [`Dispatcher`] owns the registered requests, the [`Reservations`](crate::Reservations)
//! engine that schedules their slots (pinned or flexible, shared or exclusive, per CPU and per
//! task), what each CPU has loaded, and the per-task single-step interlock.
//!
//! The kernel calls three things:
//! - [`Dispatcher::switch_in`] whenever a task starts running on a CPU (context switch,
//!   migration, return after a registration change): it installs exactly the slots whose
//!   requests cover that task on that CPU;
//! - [`Dispatcher::handle_exception`] from the debug exception (x86 #DB; PPC64 DSI with the
//!   DABR-match bit, trace, CIABR), with only what a kernel has there;
//! - [`Dispatcher::cancel_step`] when it changes the PC of a task whose step is pending
//!   (signal delivery, ptrace setting the PC).

mod common_case;
mod error;
mod event;
mod frame;
mod interlock;
mod strings;
mod table;
#[cfg(test)]
mod tests;

pub use error::{DispatchError, SwitchError};
pub use event::{
    DisableReason, Event, EventKind, EventSink, Hit, MAX_VALUE_BYTES, RequestId, SignalRecord,
    StringIterations, ValueChange,
};
pub use frame::{ExecutionMode, Resolution, ResumeAction, TrapFrame};
pub use table::{Dispatcher, Statistics};
