//! The differential harness: one [`Scenario`] runs on the real CPU (a traced child process,
//! breakpoints programmed through the HAL and `TracedThread`) and on the simulated CPU (the
//! HAL as the simulated machine's kernel), and each side reports an [`Outcome`].
//!
//! ## What is compared, and how the kernel's DR6 maps onto the simulator's
//!
//! Linux does not show a tracer the raw DR6. At each #DB it builds a *virtual* DR6: BS if
//! the real DR6 had it, plus B*n* for each **ptrace slot** *n* whose breakpoint fired
//! (numbered by the tracer's slot, whatever physical register perf put it in), nothing for
//! slots that matched without being enabled, and no reserved or active-low bits beyond the
//! `0xFFFF0FF0` it ORs in. A single-step trap and an execute fault are different #DBs and so
//! different stops. So a [`Stop`] is compared as:
//!
//! | field | real | simulated |
//! |---|---|---|
//! | `insn` | RIP from `PTRACE_GETREGS`, as an index into the body | RIP in the #DB frame, likewise |
//! | `slots` | virtual DR6 bits 0–3 | DR6 bits 0–3 ∩ the slots the HAL armed |
//! | `step` | virtual DR6 BS | DR6 BS |
//! | `si_code` | `PTRACE_GETSIGINFO` | TRAP_TRACE (2) with BS, else TRAP_HWBKPT (4) |
//! | `rcx` | RCX (iterations left in a `rep`) | RCX |
//! | `visible` | the bytes the instruction writes already hold its value | the same, in simulated memory |
//!
//! Above stops, the HAL events both dispatchers delivered are compared too (request, timing,
//! instruction, old and new bytes).

#![allow(dead_code, unreachable_pub, reason = "shared by several test binaries")]

pub mod host;
pub mod program;
pub mod real;
pub mod sim;

use hwbkpt::{AccessKind, Timing};

pub use program::{R, Step};

/// Bytes of the data area (four pages: long `rep` copies cross page boundaries).
pub const DATA_LEN: u64 = 0x4000;
/// Where scenarios read vector values from (never watched).
pub const VECTOR_SOURCE: i32 = 0x3800;

/// The data area's initial contents: byte `i` is `i * 7 + 3` (mod 256), so old and new
/// values are never zero and differ from each other.
#[must_use]
pub fn pattern() -> Vec<u8> {
    (0..DATA_LEN).map(|i| (i * 7 + 3) as u8).collect()
}

/// A breakpoint request of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// `len` bytes at data offset `off`, for `access` (delivery `After`).
    Data {
        /// Offset into the data area.
        off: u64,
        /// Bytes.
        len: u64,
        /// WRITE or READ_WRITE.
        access: AccessKind,
    },
    /// An execute breakpoint at `delta` bytes from the start of body instruction `insn`.
    Exec {
        /// The instruction.
        insn: usize,
        /// Offset from its first byte (0: the instruction; 1: inside it; −1: the last byte
        /// of the previous one).
        delta: i64,
    },
}

/// What a scenario runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// For messages.
    pub name: String,
    /// The instructions.
    pub body: Vec<Step>,
    /// The requests, registered in this order (so they get the same slots on both sides).
    pub watches: Vec<Watch>,
    /// After these stops (by number, from 0), resume with a single step instead of
    /// continuing.
    pub step_after: Vec<usize>,
}

/// One stop of the traced thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stop {
    /// Body instruction RIP points at (`body.len()` = the end); `None` outside the body.
    pub insn: Option<usize>,
    /// B0–B3 as the kernel reports them.
    pub slots: u8,
    /// BS.
    pub step: bool,
    /// `si_code` of the SIGTRAP.
    pub si_code: i32,
    /// RCX at the stop.
    pub rcx: u64,
    /// For an instruction that writes at a fixed place: whether memory already holds the
    /// value it writes.
    pub visible: Option<bool>,
}

/// One HAL event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Registration order of the request.
    pub request: usize,
    /// Body instruction of the event's PC.
    pub insn: Option<usize>,
    /// Hit timing (`None` for non-hit events).
    pub timing: Option<Timing>,
    /// Old and new bytes.
    pub values: Option<(Vec<u8>, Vec<u8>)>,
    /// The `rep` iterations a hit names: RCX left, and RCX at the task's previous trap in the
    /// same instruction (`Hit::iterations`).
    pub iterations: Option<(u64, Option<u64>)>,
}

/// What one machine did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Every stop, in order.
    pub stops: Vec<Stop>,
    /// Every HAL event, in order.
    pub events: Vec<EventRecord>,
}

/// `SIGTRAP` codes.
pub const TRAP_TRACE: i32 = 2;
/// `TRAP_HWBKPT`.
pub const TRAP_HWBKPT: i32 = 4;

/// For a `Store` at body position `k`: the data offset and the bytes it writes, worked out
/// from the body (RAX from the last `MovImm`, vector register 0 from the last vector load
/// of the initial pattern).
#[must_use]
pub fn written_value(body: &[Step], k: usize) -> Option<(i32, Vec<u8>)> {
    let Step::Store { size, off } = *body.get(k)? else {
        return None;
    };
    let size = size as usize;
    if size <= 8 {
        let rax = body[..k].iter().rev().find_map(|s| match *s {
            Step::MovImm(R::Rax, v) => Some(v),
            _ => None,
        })?;
        Some((off, rax.to_le_bytes()[..size].to_vec()))
    } else {
        let source = body[..k].iter().rev().find_map(|s| match *s {
            Step::Load { size: s, off } if s as usize >= size => Some(off),
            _ => None,
        })?;
        let start = usize::try_from(source).ok()?;
        Some((off, pattern()[start..start + size].to_vec()))
    }
}
