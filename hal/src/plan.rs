//! A plan: the hardware slot programs that together cover one request.

use crate::{AccessKind, AddressRange, RequestError};

/// Most slots any plan may use: the largest pool of any supported CPU (x86: 4).
pub const MAX_PLAN_SLOTS: usize = 4;

/// The slot pools a CPU offers; each slot belongs to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoolKind {
    /// Slots that serve both data and execute breakpoints (x86 DR0–DR3).
    Shared,
    /// Data-only slots (PPC64 DABR or DAWR0/1).
    Data,
    /// Instruction-only slots (PPC64 CIABR).
    Instruction,
}

impl PoolKind {
    /// Short name for messages.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::Data => "data",
            Self::Instruction => "instruction",
        }
    }
}

/// What every architecture's slot program can tell the architecture-neutral layer.
pub trait SlotProgram: Copy + Eq + core::fmt::Debug {
    /// The pool whose slot this program occupies.
    fn pool(&self) -> PoolKind;
    /// The bytes the hardware will match (may be wider than the request on PPC64).
    fn hardware_range(&self) -> AddressRange;
    /// The access kinds the hardware will match (x86 cannot match reads alone).
    fn hardware_access(&self) -> AccessKind;
}

/// The slot programs covering one request, in ascending address order; fixed capacity,
/// no allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Plan<P> {
    programs: [Option<P>; MAX_PLAN_SLOTS],
    len: usize,
}

impl<P: SlotProgram> Plan<P> {
    /// An empty plan.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            programs: [None; MAX_PLAN_SLOTS],
            len: 0,
        }
    }

    /// Append a program.
    ///
    /// # Errors
    /// [`RequestError::TooManySlots`] when the plan is already full; `needed` is then
    /// the count the caller was about to reach.
    pub fn push(&mut self, program: P) -> Result<(), RequestError> {
        match self.programs.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(program);
                self.len += 1;
                Ok(())
            }
            None => Err(RequestError::TooManySlots {
                needed: u32::try_from(self.len + 1).unwrap_or(u32::MAX),
                available: MAX_PLAN_SLOTS as u32,
            }),
        }
    }

    /// Number of slots used.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether no slot is used.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The programs in order.
    pub fn iter(&self) -> impl Iterator<Item = &P> + '_ {
        self.into_iter()
    }

    /// The pool this plan draws from (all programs of one plan share it), if not empty.
    #[must_use]
    pub fn pool(&self) -> Option<PoolKind> {
        self.iter().next().map(SlotProgram::pool)
    }

    /// Whether `addr` lies in any program's hardware range.
    #[must_use]
    pub fn hardware_covers(&self, addr: u64) -> bool {
        self.iter().any(|p| p.hardware_range().contains(addr))
    }
}

impl<P: SlotProgram> Default for Plan<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: core::fmt::Debug> core::fmt::Debug for Plan<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.programs.iter().flatten())
            .finish()
    }
}

impl<'a, P: SlotProgram> IntoIterator for &'a Plan<P> {
    type Item = &'a P;
    type IntoIter = core::iter::Flatten<core::slice::Iter<'a, Option<P>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.programs
            .get(..self.len)
            .unwrap_or_default()
            .iter()
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::{format, vec::Vec};

    use super::{MAX_PLAN_SLOTS, Plan, PoolKind, SlotProgram};
    use crate::{AccessKind, AddressRange, RequestError};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Doubleword(u64);

    impl SlotProgram for Doubleword {
        fn pool(&self) -> PoolKind {
            PoolKind::Instruction
        }
        fn hardware_range(&self) -> AddressRange {
            AddressRange::new(self.0, 8).unwrap()
        }
        fn hardware_access(&self) -> AccessKind {
            AccessKind::WRITE
        }
    }

    #[test]
    fn an_empty_plan_has_no_pool_and_covers_nothing() {
        let plan = Plan::<Doubleword>::default();
        assert!(plan.is_empty());
        assert_eq!((plan.len(), plan.pool()), (0, None));
        assert!(!plan.hardware_covers(0));
        assert_eq!(format!("{plan:?}"), "[]");
    }

    #[test]
    fn a_plan_keeps_its_programs_in_order_and_covers_their_bytes() {
        let mut plan = Plan::new();
        plan.push(Doubleword(0x100)).unwrap();
        plan.push(Doubleword(0x110)).unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(plan.pool(), Some(PoolKind::Instruction));
        assert_eq!(
            plan.iter().copied().collect::<Vec<_>>(),
            [Doubleword(0x100), Doubleword(0x110)]
        );
        assert!(plan.hardware_covers(0x100) && plan.hardware_covers(0x117));
        assert!(!plan.hardware_covers(0x108), "between the programs");
        assert!(!plan.hardware_covers(0xff) && !plan.hardware_covers(0x118));
        assert_eq!(format!("{plan:?}"), "[Doubleword(256), Doubleword(272)]");
    }

    #[test]
    fn a_full_plan_refuses_one_more_and_says_how_many_it_would_need() {
        let mut plan = Plan::new();
        for i in 0..MAX_PLAN_SLOTS as u64 {
            plan.push(Doubleword(16 * i)).unwrap();
        }
        assert_eq!(
            plan.push(Doubleword(0x1000)),
            Err(RequestError::TooManySlots {
                needed: MAX_PLAN_SLOTS as u32 + 1,
                available: MAX_PLAN_SLOTS as u32,
            })
        );
        assert_eq!(plan.len(), MAX_PLAN_SLOTS);
    }
}
