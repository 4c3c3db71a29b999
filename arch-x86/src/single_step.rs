//! Single-step requests, which no debug register can carry.
//!
//! x86 single-steps through RFLAGS.TF (bit 8): with TF set, the processor raises #DB with
//! DR6.BS after the next instruction (Intel SDM Vol. 3B §18.3.1.4 "Single-Step Exception
//! Condition"). RFLAGS is not a debug register: the value that matters is the one the
//! exception-return path (`iretq`) restores into the interrupted context. So a register owner
//! cannot apply a step request itself; it records a [`SingleStep`] and the kernel's return
//! path applies it to the saved RFLAGS with [`SingleStep::apply`].

/// RFLAGS.TF, the trap flag (Intel SDM Vol. 3A §2.3 "System Flags and Fields in the EFLAGS
/// Register"; bit 8 in EFLAGS and RFLAGS alike).
pub const RFLAGS_TF: u64 = 1 << 8;

/// What the exception-return path should do to the interrupted context's RFLAGS.TF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SingleStep {
    /// Nobody asked: leave TF as it is (it may belong to a debugger's own stepping).
    #[default]
    Unchanged,
    /// Set TF: trap after the next instruction of the interrupted context.
    Enable,
    /// Clear TF.
    Disable,
}

impl SingleStep {
    /// The request `RegisterAccess::set_single_step(enabled)` records.
    #[must_use]
    pub const fn from_enabled(enabled: bool) -> Self {
        if enabled { Self::Enable } else { Self::Disable }
    }

    /// `rflags` (the saved value in the trap frame) with the request applied.
    ///
    /// ```
    /// use hwbkpt_x86::{RFLAGS_TF, SingleStep};
    ///
    /// let saved = 0x246; // IF, ZF, PF
    /// assert_eq!(SingleStep::Enable.apply(saved), 0x346);
    /// assert_eq!(SingleStep::Disable.apply(0x346), saved);
    /// assert_eq!(SingleStep::Unchanged.apply(0x346) & RFLAGS_TF, RFLAGS_TF);
    /// ```
    #[must_use]
    pub const fn apply(self, rflags: u64) -> u64 {
        match self {
            Self::Unchanged => rflags,
            Self::Enable => rflags | RFLAGS_TF,
            Self::Disable => rflags & !RFLAGS_TF,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn apply_touches_only_tf(rflags: u64, enabled: bool) {
            let after = SingleStep::from_enabled(enabled).apply(rflags);
            prop_assert_eq!(after & !RFLAGS_TF, rflags & !RFLAGS_TF);
            prop_assert_eq!(after & RFLAGS_TF != 0, enabled);
            prop_assert_eq!(SingleStep::Unchanged.apply(rflags), rflags);
        }
    }
}
