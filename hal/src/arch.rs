//! The architecture trait: what a CPU's debug hardware can do, and how requests map onto it.

use crate::{
    AccessKind, AddressSpacePolicy, Plan, PoolKind, PrivilegeFilter, Request, RequestError,
    SlotProgram, Timing,
};

/// One pool of interchangeable hardware slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotPool {
    /// Which pool.
    pub kind: PoolKind,
    /// How many slots it has on this CPU profile (may be zero, e.g. POWER9 DAWR by default).
    pub count: u8,
    /// Access kinds its slots can watch.
    pub serves: AccessKind,
    /// Name of the register family, for messages (`"DR0-DR3"`, `"DAWR"`, `"CIABR"`).
    pub register: &'static str,
}

/// What a CPU profile's debug hardware offers, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Architecture name, for messages (`"x86-64"`, `"PPC64"`).
    pub arch: &'static str,
    /// CPU profile name (`"generic x86-64"`, `"POWER10"`).
    pub profile: &'static str,
    /// The slot pools.
    pub pools: &'static [SlotPool],
    /// Lengths one data slot can watch, as a bit set: bit `n` set means `2^n` bytes
    /// (x86: 1, 2, 4, 8; DABR: 8). DAWR's multiples of 8 are described by
    /// [`max_data_len`](Self::max_data_len) and [`granularity`](Self::granularity).
    pub data_len_pow2_mask: u64,
    /// Longest range one data slot watches, in bytes.
    pub max_data_len: u64,
    /// A data slot watches whole blocks of this many bytes (x86: 1, PPC64: 8).
    pub granularity: u64,
    /// A single data slot's range may not cross a multiple of this (DAWR before POWER10: 512).
    pub data_boundary: Option<u64>,
    /// When data slots signal.
    pub data_timing: Timing,
    /// When instruction slots signal.
    pub execute_timing: Timing,
    /// Privilege filters the hardware itself can apply (others are filtered in software).
    pub hardware_privileges: PrivilegeFilter,
    /// Whether a data slot can watch reads without writes.
    pub read_only_data: bool,
}

impl Capabilities {
    /// The pool serving `access`, if this profile has one.
    #[must_use]
    pub fn pool_for(&self, access: AccessKind) -> Option<&SlotPool> {
        self.pools.iter().find(|p| p.serves.contains(access))
    }

    /// Native timing of a breakpoint watching `access`.
    #[must_use]
    pub const fn native_timing(&self, access: AccessKind) -> Timing {
        if access.contains(AccessKind::EXECUTE) {
            self.execute_timing
        } else {
            self.data_timing
        }
    }
}

/// Identifies one hardware slot: its pool and index inside the pool.
///
/// Kept as its dense ordinal (pool × [`Self::MAX_PER_POOL`] + index): slot sets and per-slot
/// tables index by it on the exception path, and pool and index are a shift and a mask away.
/// Ordered by pool, then index.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId {
    ordinal: u8,
}

impl core::fmt::Debug for SlotId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SlotId")
            .field("pool", &self.pool())
            .field("index", &self.index())
            .finish()
    }
}

impl SlotId {
    /// Most slots in any one pool.
    pub const MAX_PER_POOL: u8 = 4;

    /// Slot `index` of `pool`; `None` when `index` exceeds [`Self::MAX_PER_POOL`].
    #[must_use]
    pub const fn new(pool: PoolKind, index: u8) -> Option<Self> {
        if index < Self::MAX_PER_POOL {
            let first = match pool {
                PoolKind::Shared => 0,
                PoolKind::Data => Self::MAX_PER_POOL,
                PoolKind::Instruction => 2 * Self::MAX_PER_POOL,
            };
            Some(Self {
                ordinal: first + index,
            })
        } else {
            None
        }
    }

    /// The pool.
    #[must_use]
    pub const fn pool(&self) -> PoolKind {
        match self.ordinal / Self::MAX_PER_POOL {
            0 => PoolKind::Shared,
            1 => PoolKind::Data,
            _ => PoolKind::Instruction,
        }
    }

    /// Index inside the pool (x86: the DR number 0–3).
    #[must_use]
    pub const fn index(&self) -> u8 {
        self.ordinal % Self::MAX_PER_POOL
    }

    /// Every slot of every pool has one ordinal below [`Self::ORDINALS`].
    pub(crate) const ORDINALS: usize = 3 * Self::MAX_PER_POOL as usize;

    /// Dense number of the slot across pools, for per-slot tables.
    pub(crate) const fn ordinal(&self) -> usize {
        self.ordinal as usize
    }

    /// The slot with dense number `ordinal` (inverse of [`Self::ordinal`]).
    pub(crate) const fn from_ordinal(ordinal: u32) -> Option<Self> {
        if ordinal < Self::ORDINALS as u32 {
            Some(Self {
                ordinal: ordinal as u8,
            })
        } else {
            None
        }
    }

    const fn bit(&self) -> u16 {
        1 << self.ordinal
    }
}

/// A set of slots, without allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SlotSet(u16);

impl SlotSet {
    /// No slot.
    pub const EMPTY: Self = Self(0);

    /// Add a slot.
    #[must_use]
    pub const fn with(self, slot: SlotId) -> Self {
        Self(self.0 | slot.bit())
    }

    /// Remove a slot.
    #[must_use]
    pub const fn without(self, slot: SlotId) -> Self {
        Self(self.0 & !slot.bit())
    }

    /// Slots in either set.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Slots in `self` but not in `other`.
    #[must_use]
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Slots in both sets.
    #[must_use]
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Whether every slot of the set belongs to `pool` (one mask test).
    pub(crate) const fn within_pool(self, pool: PoolKind) -> bool {
        let first = match SlotId::new(pool, 0) {
            Some(slot) => slot.ordinal(),
            None => 0,
        };
        let pool_bits = ((1u16 << SlotId::MAX_PER_POOL) - 1) << first;
        self.0 & !pool_bits == 0
    }

    /// Whether `slot` is in the set.
    #[must_use]
    pub const fn contains(&self, slot: SlotId) -> bool {
        self.0 & slot.bit() != 0
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Number of slots in the set.
    #[must_use]
    pub const fn len(&self) -> u32 {
        self.0.count_ones()
    }

    /// Every slot in the set, pool by pool, in index order.
    pub fn iter(self) -> impl Iterator<Item = SlotId> {
        let mut bits = self.0;
        core::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let ordinal = bits.trailing_zeros();
            bits &= bits - 1;
            SlotId::from_ordinal(ordinal)
        })
    }

    /// The slots of `pool` in the set, in index order.
    pub fn in_pool(self, pool: PoolKind) -> impl Iterator<Item = SlotId> {
        (0..SlotId::MAX_PER_POOL)
            .filter_map(move |i| SlotId::new(pool, i))
            .filter(move |s| self.contains(*s))
    }
}

/// What an exception's status registers say, in architecture-neutral terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExceptionCause {
    /// Slots the hardware reports as matched. On x86 these are DR6's B bits exactly (including
    /// bits for matching but disabled slots); on PPC64 the DSISR says only "a data slot
    /// matched", so every data slot is a candidate and [`slots_exact`](Self::slots_exact)
    /// is false.
    pub slots: SlotSet,
    /// Whether the hardware named the matching slots precisely.
    pub slots_exact: bool,
    /// A single-step (trace) completed.
    pub single_step: bool,
    /// A debug-register access was attempted while GD was set (x86 BD).
    pub debug_register_access: bool,
    /// The address the hardware reports (PPC64 DAR); x86 does not report one.
    pub address: Option<u64>,
}

/// A CPU's debug hardware, as the architecture-neutral layer sees it.
///
/// Implemented by each backend for a CPU profile (`hwbkpt_x86::X86Cpu`,
/// `hwbkpt_ppc64::PowerCpu`). Validation, planning and encoding are pure functions of the
/// profile; nothing here touches a register ([`RegisterAccess`](crate::RegisterAccess) does).
pub trait DebugArchitecture {
    /// One slot's hardware program: range, access, privilege, in the hardware's own terms.
    type Program: SlotProgram;
    /// The register image that programs one slot (what [`RegisterAccess`](crate::RegisterAccess)
    /// installs).
    type SlotImage: Copy + Eq + core::fmt::Debug;
    /// The raw status an exception handler reads (x86: DR6; PPC64: DSISR and DAR, or a trace).
    type Status: Copy + core::fmt::Debug;

    /// The profile's hardware, as data.
    fn capabilities(&self) -> &Capabilities;

    /// The profile's address-space rules (policy data; the engine lives in the HAL).
    fn address_space(&self) -> AddressSpacePolicy;

    /// The fewest slot programs covering the request, or the hardware reason it cannot be.
    ///
    /// # Errors
    /// Any hardware-constraint variant of [`RequestError`].
    fn plan(&self, request: &Request) -> Result<Plan<Self::Program>, RequestError>;

    /// The register image that makes `slot` run `program`.
    ///
    /// # Errors
    /// [`RequestError::NoSlots`] when `slot` does not exist on this profile or belongs to
    /// another pool than the program.
    fn encode(
        &self,
        slot: SlotId,
        program: &Self::Program,
    ) -> Result<Self::SlotImage, RequestError>;

    /// What the status registers say.
    fn decode_status(&self, status: &Self::Status) -> ExceptionCause;

    /// The bytes the hardware compares when `access` is made: the access rounded out to the
    /// matching granule (PPC64: doublewords). Used to find every slot that can fire on one
    /// instruction, so the interlock disarms all of them before stepping. Backends override it
    /// where an access class matches a wider granule (pre-POWER10 quadword accesses).
    #[inline]
    fn match_window(&self, access: &crate::DecodedAccess) -> Option<crate::AddressRange> {
        crate::AddressRange::new(access.addr, u64::from(access.size))
            .ok()?
            .rounded_out(self.capabilities().granularity)
    }

    /// Validate against the policy, then plan: everything that must pass before any
    /// register is touched.
    ///
    /// # Errors
    /// Policy errors first, then hardware errors.
    fn prepare(&self, request: &Request) -> Result<Plan<Self::Program>, RequestError> {
        self.address_space().check(request)?;
        self.plan(request)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::{format, vec, vec::Vec};

    use super::{SlotId, SlotSet};
    use crate::{AccessKind, PoolKind};

    fn slot(pool: PoolKind, index: u8) -> SlotId {
        SlotId::new(pool, index).unwrap()
    }

    #[test]
    fn slot_ids_keep_pool_and_index_apart() {
        for pool in [PoolKind::Shared, PoolKind::Data, PoolKind::Instruction] {
            for index in 0..SlotId::MAX_PER_POOL {
                let id = slot(pool, index);
                assert_eq!((id.pool(), id.index()), (pool, index));
                assert_eq!(SlotId::from_ordinal(id.ordinal() as u32), Some(id));
            }
            assert_eq!(SlotId::new(pool, SlotId::MAX_PER_POOL), None);
        }
        assert_eq!(SlotId::from_ordinal(SlotId::ORDINALS as u32), None);
        assert_eq!(
            format!("{:?}", slot(PoolKind::Instruction, 1)),
            "SlotId { pool: Instruction, index: 1 }"
        );
    }

    #[test]
    fn slot_sets_add_remove_and_combine() {
        let (a, b, c) = (
            slot(PoolKind::Shared, 0),
            slot(PoolKind::Data, 3),
            slot(PoolKind::Instruction, 3),
        );
        let ab = SlotSet::EMPTY.with(a).with(b).with(b);
        assert_eq!(ab.len(), 2);
        assert!(ab.contains(a) && ab.contains(b) && !ab.contains(c));
        assert_eq!(ab.without(a).iter().collect::<Vec<_>>(), vec![b]);
        assert_eq!(ab.without(c), ab, "removing an absent slot changes nothing");
        let bc = SlotSet::EMPTY.with(b).with(c);
        assert_eq!(ab.union(bc).iter().collect::<Vec<_>>(), vec![a, b, c]);
        assert_eq!(ab.intersection(bc).iter().collect::<Vec<_>>(), vec![b]);
        assert_eq!(ab.difference(bc).iter().collect::<Vec<_>>(), vec![a]);
        assert!(ab.difference(ab).is_empty() && !ab.is_empty());
        assert_eq!(
            ab.union(bc)
                .in_pool(PoolKind::Instruction)
                .collect::<Vec<_>>(),
            vec![c]
        );
    }

    #[test]
    fn every_slot_of_every_pool_iterates_in_order() {
        let all: Vec<SlotId> = [PoolKind::Shared, PoolKind::Data, PoolKind::Instruction]
            .into_iter()
            .flat_map(|pool| (0..SlotId::MAX_PER_POOL).map(move |i| slot(pool, i)))
            .collect();
        let set = all.iter().fold(SlotSet::EMPTY, |set, s| set.with(*s));
        assert_eq!(set.len(), 12);
        assert_eq!(set.iter().collect::<Vec<_>>(), all);
    }

    #[test]
    fn within_pool_is_false_once_another_pool_is_in() {
        let data = SlotSet::EMPTY
            .with(slot(PoolKind::Data, 0))
            .with(slot(PoolKind::Data, 3));
        assert!(data.within_pool(PoolKind::Data));
        assert!(SlotSet::EMPTY.within_pool(PoolKind::Data));
        assert!(!data.within_pool(PoolKind::Shared));
        assert!(
            !data
                .with(slot(PoolKind::Instruction, 0))
                .within_pool(PoolKind::Data)
        );
        assert!(
            !data
                .with(slot(PoolKind::Shared, 3))
                .within_pool(PoolKind::Data)
        );
    }

    #[test]
    fn a_pool_serves_the_access_kinds_it_lists() {
        // POWER10-like: a data pool (reads and writes) and an instruction pool.
        let capabilities = &crate::reserve::tests::POWER10;
        let kind = |access| capabilities.pool_for(access).map(|p| p.kind);
        assert_eq!(kind(AccessKind::WRITE), Some(PoolKind::Data));
        assert_eq!(kind(AccessKind::READ_WRITE), Some(PoolKind::Data));
        assert_eq!(kind(AccessKind::EXECUTE), Some(PoolKind::Instruction));
        assert_eq!(kind(AccessKind::WRITE | AccessKind::EXECUTE), None);
    }
}
