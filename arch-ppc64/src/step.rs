//! Single-step requests for the interrupted context.
//!
//! MSR\[SE\] of the code that hit a breakpoint is not the live MSR of the handler: the
//! interrupt saved it in SRR1 (and the kernel in its trap frame), and `rfid` restores it
//! from there. So asking for a step cannot be an `mtmsr`; it is a note the kernel's
//! interrupt-return path applies to the saved MSR before returning. [`StepRequest`] is that
//! note; `BareMetal` (powerpc64, feature `instructions`) keeps one.

use crate::registers::Msr;

/// A pending change of MSR\[SE\] for the interrupted context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StepRequest(Option<bool>);

impl StepRequest {
    /// Nothing requested.
    #[must_use]
    pub const fn new() -> Self {
        Self(None)
    }

    /// Ask for (`true`) or cancel (`false`) a trace interrupt after the next instruction of
    /// the interrupted context. The last request wins.
    pub const fn request(&mut self, enabled: bool) {
        self.0 = Some(enabled);
    }

    /// The pending request, if any.
    #[must_use]
    pub const fn pending(&self) -> Option<bool> {
        self.0
    }

    /// Apply the pending request to the interrupted context's saved MSR and clear it; every
    /// other MSR bit is kept. Call it on the interrupt-return path, then restore SRR1 from
    /// the result.
    #[must_use]
    pub const fn apply(&mut self, saved_msr: Msr) -> Msr {
        let msr = match self.0 {
            Some(true) => saved_msr.union(Msr::SE),
            Some(false) => saved_msr.difference(Msr::SE),
            None => saved_msr,
        };
        self.0 = None;
        msr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn last_request_wins_and_is_consumed() {
        let mut s = StepRequest::new();
        let user = Msr::SF | Msr::PR | Msr::DR | Msr::IR;
        assert_eq!(s.apply(user), user);
        s.request(true);
        s.request(false);
        s.request(true);
        assert_eq!(s.pending(), Some(true));
        assert_eq!(s.apply(user), user | Msr::SE);
        assert_eq!(s.pending(), None);
        s.request(false);
        assert_eq!(s.apply(user | Msr::SE), user);
    }

    proptest! {
        #[test]
        fn only_se_changes(raw: u64, req: Option<bool>) {
            let mut s = StepRequest::new();
            if let Some(r) = req {
                s.request(r);
            }
            let out = s.apply(Msr::from_bits_retain(raw));
            prop_assert_eq!(out.bits() & !Msr::SE.bits(), raw & !Msr::SE.bits());
        }
    }
}
