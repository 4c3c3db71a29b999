//! Tests of the reservation engine: the Linux KUnit analogs, behaviour tests, and the
//! property test against a brute-force oracle.

extern crate std;

mod behaviour;
mod kunit;
mod oracle;
mod properties;

use crate::{
    AccessKind, AddressRange, Capabilities, Pinning, Plan, PoolKind, PrivilegeFilter, Request,
    Scope, Sharing, SlotPool, SlotProgram, Timing,
};

/// A slot program for tests: a pool and an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct TestProgram {
    pub(super) pool: PoolKind,
    pub(super) addr: u64,
}

impl SlotProgram for TestProgram {
    fn pool(&self) -> PoolKind {
        self.pool
    }
    fn hardware_range(&self) -> AddressRange {
        AddressRange::new(self.addr, 8).unwrap()
    }
    fn hardware_access(&self) -> AccessKind {
        AccessKind::WRITE
    }
}

/// A plan of one program per address, all in `pool`.
pub(super) fn plan_in(pool: PoolKind, addrs: &[u64]) -> Plan<TestProgram> {
    let mut plan = Plan::new();
    for &addr in addrs {
        plan.push(TestProgram { pool, addr }).unwrap();
    }
    plan
}

pub(super) fn request(scope: Scope, pinning: Pinning, sharing: Sharing, addr: u64) -> Request {
    Request::builder(addr, 8, AccessKind::WRITE)
        .scope(scope)
        .pinning(pinning)
        .sharing(sharing)
        .build()
        .unwrap()
}

pub(super) static X86_POOLS: [SlotPool; 1] = [SlotPool {
    kind: PoolKind::Shared,
    count: 4,
    serves: AccessKind::all(),
    register: "DR0-DR3",
}];

pub(super) static POWER10_POOLS: [SlotPool; 2] = [
    SlotPool {
        kind: PoolKind::Data,
        count: 2,
        serves: AccessKind::READ_WRITE,
        register: "DAWR",
    },
    SlotPool {
        kind: PoolKind::Instruction,
        count: 1,
        serves: AccessKind::EXECUTE,
        register: "CIABR",
    },
];

pub(super) const fn caps(pools: &'static [SlotPool]) -> Capabilities {
    Capabilities {
        arch: "test",
        profile: "test",
        pools,
        data_len_pow2_mask: 0b1111,
        max_data_len: 8,
        granularity: 1,
        data_boundary: None,
        data_timing: Timing::After,
        execute_timing: Timing::Before,
        hardware_privileges: PrivilegeFilter::all(),
        read_only_data: false,
    }
}

pub(super) static X86: Capabilities = caps(&X86_POOLS);
pub(crate) static POWER10: Capabilities = caps(&POWER10_POOLS);

/// The engine most tests use: 4 CPUs, 128 reservations, 64 task places.
pub(super) type Engine = crate::FixedReservations<TestProgram, 4, 128, 64>;
