//! Tests of the whole backend through the HAL's trait: vectors, errors, properties.

mod errors;
mod planning;
mod properties;
mod sequences;
mod status;
mod vectors;

use hwbkpt_hal::{AccessKind, PoolKind, PrivilegeFilter, Request, SlotId};

/// A user-origin request built from valid pieces (test helper).
fn request(addr: u64, len: u64, access: AccessKind) -> Request {
    Request::builder(addr, len, access).build().unwrap()
}

fn request_with(addr: u64, len: u64, access: AccessKind, privilege: PrivilegeFilter) -> Request {
    Request::builder(addr, len, access)
        .privilege(privilege)
        .build()
        .unwrap()
}

fn data_slot(i: u8) -> SlotId {
    SlotId::new(PoolKind::Data, i).unwrap()
}

fn ciabr_slot() -> SlotId {
    SlotId::new(PoolKind::Instruction, 0).unwrap()
}
