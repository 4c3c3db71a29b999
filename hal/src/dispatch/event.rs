//! Events delivered to consumers.

use crate::{AccessKind, CpuId, TaskId, Timing};

/// Most bytes of old and new value an event carries.
pub const MAX_VALUE_BYTES: usize = 64;

/// Names a registered request; stale ids (of released requests) never match a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId {
    pub(crate) index: u16,
    pub(crate) generation: u16,
}

impl RequestId {
    /// The table index (stable while the request is registered).
    #[must_use]
    pub const fn index(&self) -> usize {
        self.index as usize
    }
}

/// Bytes of the watched range touched by an access, before and after it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ValueChange {
    /// Address of the first reported byte.
    pub addr: u64,
    len: u8,
    old: [u8; MAX_VALUE_BYTES],
    new: [u8; MAX_VALUE_BYTES],
    /// `true` when `old` was read just before the access (PPC64 interlock); `false` when it is
    /// the value the layer last observed, at arming or at the previous hit (x86, which traps
    /// after the access).
    pub old_exact: bool,
    /// More bytes were touched than [`MAX_VALUE_BYTES`]; only the first ones are reported.
    pub truncated: bool,
}

impl ValueChange {
    /// No bytes yet (filled in place on the exception path).
    pub(crate) const EMPTY: Self = Self {
        addr: 0,
        len: 0,
        old: [0; MAX_VALUE_BYTES],
        new: [0; MAX_VALUE_BYTES],
        old_exact: false,
        truncated: false,
    };
    /// Report the first `len` bytes (at most [`MAX_VALUE_BYTES`]).
    #[inline]
    pub(crate) fn set_len(&mut self, len: u64) {
        self.len = u8::try_from(len.min(MAX_VALUE_BYTES as u64)).unwrap_or(u8::MAX);
    }
    /// The whole buffer of old bytes (only the first `len` are reported).
    #[inline]
    pub(crate) const fn old_buffer_mut(&mut self) -> &mut [u8; MAX_VALUE_BYTES] {
        &mut self.old
    }
    /// The whole buffer of new bytes, zeros past `len`.
    #[inline]
    pub(crate) const fn new_buffer(&self) -> &[u8; MAX_VALUE_BYTES] {
        &self.new
    }
    /// The whole buffer of new bytes (only the first `len` are reported).
    #[inline]
    pub(crate) const fn new_buffer_mut(&mut self) -> &mut [u8; MAX_VALUE_BYTES] {
        &mut self.new
    }
    /// The bytes before the access.
    #[must_use]
    pub fn old(&self) -> &[u8] {
        self.old.get(..usize::from(self.len)).unwrap_or_default()
    }
    /// The bytes after the access.
    #[must_use]
    pub fn new_value(&self) -> &[u8] {
        self.new.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl core::fmt::Debug for ValueChange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ValueChange")
            .field("addr", &format_args!("{:#x}", self.addr))
            .field("old", &self.old())
            .field("new", &self.new_value())
            .field("old_exact", &self.old_exact)
            .field("truncated", &self.truncated)
            .finish()
    }
}

/// A breakpoint hit, as the consumer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Whether the access (or instruction) already happened.
    pub timing: Timing,
    /// The kind of the access, where the hardware lets the layer know it (PPC64 decodes the
    /// instruction; x86 data traps do not say).
    pub access: Option<AccessKind>,
    /// The first watched byte the access touched (PPC64 data), or the breakpoint's
    /// instruction address (execute). x86 data traps do not report an address.
    pub address: Option<u64>,
    /// Old and new bytes, for hits on watches that include writes.
    pub values: Option<ValueChange>,
    /// x86 fast strings: the iterations of a `rep movs`/`rep stos` this hit may come from,
    /// when the trap interrupted the instruction with iterations left. `None` for every other
    /// hit — including the trap after a `rep`'s last iteration, which the layer cannot tell
    /// from the trap after any other instruction (RIP is past it then).
    pub iterations: Option<StringIterations>,
}

/// The iterations of an interrupted `rep movs`/`rep stos` a data hit comes from (DESIGN §2:
/// fast strings report a hit once per group of iterations, at most one group late).
///
/// Iterations are named by the count they leave in RCX. The hit was made by one of the
/// iterations after the one that left [`since`](Self::since) (from the instruction's first
/// iteration when `None`) up to and including the one that left
/// [`remaining`](Self::remaining): RCX counted down from `since` (exclusive) to `remaining`
/// (inclusive) in the window. This holds whatever the CPU's grouping, since all of them ran
/// after the layer last saw the instruction; when the hits fall in consecutive groups, the
/// window is exactly the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StringIterations {
    /// The iterations left when the trap was taken (RCX in the trap frame, at least 1).
    pub remaining: u64,
    /// The iterations that were left at this task's previous data trap, when that trap was
    /// inside the same instruction (the same PC, more iterations left) and the kernel did not
    /// move the task's PC since ([`Dispatcher::cancel_step`](crate::Dispatcher::cancel_step)):
    /// the hit came after it. `None` when the layer did not see the instruction before — the
    /// hit may then come from any iteration since the instruction started.
    ///
    /// A loop that runs the same instruction again, with no data trap between the last one
    /// seen mid-way through the earlier run and this one, looks the same to the layer as
    /// one run (same PC, same registers): `since` then names a point of the earlier run.
    pub since: Option<u64>,
}

impl StringIterations {
    /// How many iterations the window holds, when the layer knows (`since - remaining`).
    #[must_use]
    pub const fn count(&self) -> Option<u64> {
        match self.since {
            Some(since) => Some(since.saturating_sub(self.remaining)),
            None => None,
        }
    }

    /// Whether the iteration that left `left` iterations (`RCX` just after it) lies in the
    /// window.
    #[must_use]
    pub const fn contains(&self, left: u64) -> bool {
        left >= self.remaining
            && match self.since {
                Some(since) => left < since,
                None => true,
            }
    }
}

/// Why a request stopped firing without being released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisableReason {
    /// The hit instruction is a load-and-reserve or store-conditional: stepping it would lose
    /// the reservation (and loop forever), so the breakpoint is disabled.
    AtomicReservation,
    /// The instruction at the hit could not be decoded, so the access is unknown.
    UndecodableInstruction,
    /// The kernel-mode instruction could not be emulated.
    EmulationFailed,
    /// Too many tasks have a step pending at once (the fixed interlock table is full).
    InterlockFull,
}

/// What happened to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The request matched an access.
    Hit(Hit),
    /// The request is disabled until re-armed; hits may be lost from now on, and this says so.
    Disabled(DisableReason),
}

/// One event for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The request.
    pub request: RequestId,
    /// The task that ran.
    pub task: TaskId,
    /// The CPU it ran on.
    pub cpu: CpuId,
    /// The trap frame's PC when the event was produced.
    pub pc: u64,
    /// What happened.
    pub kind: EventKind,
}

/// A signal as Linux delivers a hardware-breakpoint hit to a traced task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalRecord {
    /// `SIGTRAP` (5).
    pub signo: i32,
    /// `TRAP_HWBKPT` (4).
    pub code: i32,
    /// `si_addr`: the watched address.
    pub addr: u64,
}

impl SignalRecord {
    /// Linux's `SIGTRAP`.
    pub const SIGTRAP: i32 = 5;
    /// Linux's `TRAP_HWBKPT` (`include/uapi/asm-generic/siginfo.h`).
    pub const TRAP_HWBKPT: i32 = 4;
}

/// Receives events in program order. Runs in exception context: must not block or allocate.
pub trait EventSink {
    /// Take one event. It is lent, not given: the sink copies what it keeps, so the
    /// exception path builds each event once, in place.
    fn deliver(&mut self, event: &Event);
}

impl<F: FnMut(&Event)> EventSink for F {
    fn deliver(&mut self, event: &Event) {
        self(event);
    }
}

impl Event {
    /// The signal Linux would deliver for this event to a traced task: `si_addr` is the hit
    /// address where the hardware gives one (PPC64 DAR semantics, execute address) and the
    /// PC otherwise (x86 data traps: RIP after the instruction). `None` for non-hit events.
    #[must_use]
    pub const fn signal_record(&self) -> Option<SignalRecord> {
        match self.kind {
            EventKind::Hit(hit) => Some(SignalRecord {
                signo: SignalRecord::SIGTRAP,
                code: SignalRecord::TRAP_HWBKPT,
                addr: match hit.address {
                    Some(addr) => addr,
                    None => self.pc,
                },
            }),
            EventKind::Disabled(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::format;

    use super::{MAX_VALUE_BYTES, StringIterations, ValueChange};

    fn change(old: &[u8], new: &[u8]) -> ValueChange {
        let mut change = ValueChange::EMPTY;
        change.addr = 0x1000;
        change.set_len(old.len() as u64);
        change.old_buffer_mut()[..old.len()].copy_from_slice(old);
        change.new_buffer_mut()[..new.len()].copy_from_slice(new);
        change.old_exact = true;
        change
    }

    #[test]
    fn debug_shows_the_reported_bytes_only() {
        let shown = format!("{:?}", change(&[1, 2], &[3, 4]));
        assert_eq!(
            shown,
            "ValueChange { addr: 0x1000, old: [1, 2], new: [3, 4], old_exact: true, truncated: false }"
        );
    }

    #[test]
    fn a_length_past_the_buffers_reports_the_whole_buffers() {
        let mut change = change(&[7; MAX_VALUE_BYTES], &[9; MAX_VALUE_BYTES]);
        change.set_len(1000);
        assert_eq!(change.old(), &[7; MAX_VALUE_BYTES]);
        assert_eq!(change.new_value(), &[9; MAX_VALUE_BYTES]);
    }

    #[test]
    fn a_window_since_a_known_count_holds_the_iterations_after_it() {
        let window = StringIterations {
            remaining: 3,
            since: Some(7),
        };
        assert_eq!(window.count(), Some(4));
        assert!(
            !window.contains(7),
            "the iteration that left 7 was seen before"
        );
        assert!(window.contains(6));
        assert!(window.contains(3));
        assert!(!window.contains(2), "not run yet");
    }

    #[test]
    fn a_window_from_the_first_iteration_has_no_count() {
        let window = StringIterations {
            remaining: 3,
            since: None,
        };
        assert_eq!(window.count(), None);
        assert!(window.contains(u64::MAX));
        assert!(!window.contains(2));
    }
}
