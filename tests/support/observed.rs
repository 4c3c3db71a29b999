//! Events in a form both sides can build and compare: the pipeline's [`Event`]s are converted
//! into it, and the reference model produces it directly (a [`ValueChange`] cannot be built
//! outside the HAL, and its bytes live in fixed buffers).

use hwbkpt::{
    AccessKind, CpuId, DisableReason, Event, EventKind, RequestId, StringIterations, TaskId,
    Timing, ValueChange,
};

/// Old and new bytes of a write hit.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Values {
    /// First reported byte.
    pub(crate) addr: u64,
    /// Bytes before the access (exact or last observed, see `old_exact`).
    pub(crate) old: Vec<u8>,
    /// Bytes after it.
    pub(crate) new: Vec<u8>,
    /// Whether `old` was read just before the access.
    pub(crate) old_exact: bool,
    /// Whether more bytes were touched than an event carries.
    pub(crate) truncated: bool,
}

impl core::fmt::Debug for Values {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{:#x}: {:02x?} -> {:02x?}{}{}",
            self.addr,
            self.old,
            self.new,
            if self.old_exact {
                " (exact)"
            } else {
                " (last observed)"
            },
            if self.truncated { " truncated" } else { "" }
        )
    }
}

impl From<&ValueChange> for Values {
    fn from(change: &ValueChange) -> Self {
        Self {
            addr: change.addr,
            old: change.old().to_vec(),
            new: change.new_value().to_vec(),
            old_exact: change.old_exact,
            truncated: change.truncated,
        }
    }
}

/// What happened, comparably.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Happened {
    /// A hit.
    Hit {
        /// Before or after the access / instruction.
        timing: Timing,
        /// The access kind, where the hardware lets the layer know it.
        access: Option<AccessKind>,
        /// The first watched byte touched, or the breakpoint's instruction address.
        address: Option<u64>,
        /// Old and new bytes for write watches.
        values: Option<Values>,
        /// The `rep` iterations an x86 data hit inside an interrupted string instruction names.
        iterations: Option<StringIterations>,
    },
    /// The request was disabled.
    Disabled(DisableReason),
}

/// One event, comparably.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observed {
    /// The request.
    pub(crate) request: RequestId,
    /// The task that ran.
    pub(crate) task: TaskId,
    /// The CPU it ran on.
    pub(crate) cpu: CpuId,
    /// The trap frame's PC.
    pub(crate) pc: u64,
    /// What happened.
    pub(crate) happened: Happened,
}

impl From<&Event> for Observed {
    fn from(event: &Event) -> Self {
        let happened = match event.kind {
            EventKind::Hit(hit) => Happened::Hit {
                timing: hit.timing,
                access: hit.access,
                address: hit.address,
                values: hit.values.as_ref().map(Values::from),
                iterations: hit.iterations,
            },
            EventKind::Disabled(reason) => Happened::Disabled(reason),
        };
        Self {
            request: event.request,
            task: event.task,
            cpu: event.cpu,
            pc: event.pc,
            happened,
        }
    }
}

/// The delivered events, comparably.
pub(crate) fn observe(events: &[Event]) -> Vec<Observed> {
    events.iter().map(Observed::from).collect()
}

/// Compare what the pipeline delivered and counted with what the reference model expects:
/// events exactly, then the stray, step and cancelled-step counters, and that every delivered
/// hit was counted. Returns the observed events and the counters for further checks.
pub(crate) fn check_against_reference(
    delivered: &[Event],
    stats: hwbkpt::Statistics,
    expected: &super::reference::Expected,
) -> Result<(Vec<Observed>, hwbkpt::Statistics), proptest::test_runner::TestCaseError> {
    use proptest::prop_assert_eq;
    prop_assert_eq!(observe(delivered), expected.events.clone());
    prop_assert_eq!(stats.stray_hits, expected.strays, "stray count");
    prop_assert_eq!(stats.steps, expected.steps, "interlock steps");
    prop_assert_eq!(
        stats.cancelled_steps,
        expected.cancelled_steps,
        "cancelled steps"
    );
    let hits = delivered
        .iter()
        .filter(|e| matches!(e.kind, hwbkpt::EventKind::Hit(_)))
        .count();
    prop_assert_eq!(stats.delivered_hits, hits as u64);
    Ok((observe(delivered), stats))
}
