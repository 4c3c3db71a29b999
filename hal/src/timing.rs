//! When events are delivered, relative to the access.

/// When the consumer wants to hear about a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Delivery {
    /// Continuous trigger (perf-style): after the access completed, once per access,
    /// the breakpoint stays armed. Native on x86 data slots; PPC64 data slots need the
    /// disarm/step/re-arm interlock.
    #[default]
    After,
    /// One-shot stop before the access (ptrace-style), with the access address.
    /// Native on PPC64 data slots; impossible for x86 data breakpoints.
    Before,
    /// Whatever the hardware does natively; the event says which. The usual choice for
    /// execute breakpoints (x86 faults before, PPC64 CIABR reports after completion).
    Native,
}

/// When a hardware slot signals, relative to the access or instruction it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timing {
    /// Before the access happens (fault-like: PPC64 DSI, x86 instruction breakpoint).
    Before,
    /// After the access completed (trap-like: x86 data breakpoint, PPC64 CIABR).
    After,
}

impl Delivery {
    /// The timing this delivery produces on hardware whose native timing is `native`.
    #[must_use]
    pub const fn effective_timing(self, native: Timing) -> Timing {
        match self {
            Self::After => Timing::After,
            Self::Before => Timing::Before,
            Self::Native => native,
        }
    }
}

/// How reservation treats the request when slots are short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Pinning {
    /// Armed whenever its scope runs, or refused at reservation.
    #[default]
    Pinned,
    /// Armed when room exists, rotated otherwise; the consumer is told when it is not armed.
    Flexible,
}

/// Whether identical hardware programs from several consumers may share one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Sharing {
    /// Identical programs share one slot, reference counted.
    #[default]
    Shared,
    /// This request needs slots of its own.
    Exclusive,
}
