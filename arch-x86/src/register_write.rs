//! The order in which a register owner writes the debug registers.
//!
//! Kept apart from the ring-0 accessors so that every owner (bare metal, ptrace, a
//! simulator) performs the same sequence, and so the sequence is tested on any host.

use crate::{DebugSlot, Dr6, Dr7, X86SlotImage};

/// One write to a debug register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegisterWrite {
    /// Write `address` to DR*n* of `slot`.
    Address {
        /// The slot.
        slot: DebugSlot,
        /// Its new address.
        address: u64,
    },
    /// Write DR7.
    Control(Dr7),
    /// Write DR6.
    Status(Dr6),
}

impl RegisterWrite {
    /// Return DR6 to its quiet value, [`Dr6::RESET`] (never zero: see [`Dr6`]).
    pub const RESET_STATUS: Self = Self::Status(Dr6::RESET);
}

/// Up to three writes, performed in order. Built by [`install_writes`] and
/// [`uninstall_writes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteSequence {
    writes: [Option<RegisterWrite>; 3],
    next: usize,
}

impl WriteSequence {
    const fn new(writes: [Option<RegisterWrite>; 3]) -> Self {
        Self { writes, next: 0 }
    }
}

impl From<RegisterWrite> for WriteSequence {
    /// A sequence of the one write.
    fn from(write: RegisterWrite) -> Self {
        Self::new([Some(write), None, None])
    }
}

impl Iterator for WriteSequence {
    type Item = RegisterWrite;

    fn next(&mut self) -> Option<RegisterWrite> {
        while let Some(slot) = self.writes.get(self.next) {
            self.next += 1;
            if let Some(write) = slot {
                return Some(*write);
            }
        }
        None
    }
}

/// The writes that install `image` when DR7 currently holds `current`:
///
/// 1. if the slot is armed, DR7 with the slot disarmed — so no access is matched against
///    the new address under the old condition and length;
/// 2. the address, into DR*n*, while the slot is disarmed;
/// 3. DR7 with the slot's fields and enables (read-modify-write of `current`: other slots
///    and reserved bits kept).
///
/// ```
/// use hwbkpt_x86::{DebugSlot, Dr7, EnableMode, RegisterWrite, X86Program, X86SlotImage, install_writes};
///
/// let image = X86SlotImage::new(DebugSlot::Dr0, X86Program::execute(0x40_1000)?, EnableMode::Global);
/// let writes: Vec<_> = install_writes(Dr7::RESET, &image).collect();
/// assert_eq!(writes, [
///     RegisterWrite::Address { slot: DebugSlot::Dr0, address: 0x40_1000 },
///     RegisterWrite::Control(Dr7::from_bits_retain(0x602)),
/// ]);
/// # Ok::<(), hwbkpt_hal::RequestError>(())
/// ```
#[must_use]
pub const fn install_writes(current: Dr7, image: &X86SlotImage) -> WriteSequence {
    let slot = image.slot();
    let disarm = if current.is_enabled(slot) {
        let mut disarmed = current;
        disarmed.disable_slot(slot);
        Some(RegisterWrite::Control(disarmed))
    } else {
        None
    };
    WriteSequence::new([
        disarm,
        Some(RegisterWrite::Address {
            slot,
            address: image.address(),
        }),
        Some(RegisterWrite::Control(image.install_into(current))),
    ])
}

/// The writes that uninstall `slot` when DR7 currently holds `current`: one DR7 write that
/// clears the slot's enables, R/W and LEN (see [`X86SlotImage::uninstall_from`]). The address
/// register keeps its value; it no longer matches anything.
#[must_use]
pub const fn uninstall_writes(current: Dr7, slot: DebugSlot) -> WriteSequence {
    WriteSequence::new([
        Some(RegisterWrite::Control(X86SlotImage::uninstall_from(
            slot, current,
        ))),
        None,
        None,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BreakpointLength, Condition, Dr7Flags, EnableMode, X86Program};
    use proptest::prelude::*;

    fn image(slot: DebugSlot, address: u64) -> X86SlotImage {
        let program = X86Program::new(address, BreakpointLength::Eight, Condition::Write).unwrap();
        X86SlotImage::new(slot, program, EnableMode::Global)
    }

    #[test]
    fn retargeting_an_armed_slot_disarms_it_first() {
        let armed = image(DebugSlot::Dr1, 0x1000).install_into(Dr7::RESET);
        let next = image(DebugSlot::Dr1, 0x2000);
        let writes: Vec<_> = install_writes(armed, &next).collect();
        assert_eq!(writes.len(), 3);
        let RegisterWrite::Control(disarmed) = writes[0] else {
            panic!("{writes:?}")
        };
        assert!(!disarmed.is_enabled(DebugSlot::Dr1));
        assert_eq!(
            writes[1],
            RegisterWrite::Address {
                slot: DebugSlot::Dr1,
                address: 0x2000
            }
        );
        assert_eq!(writes[2], RegisterWrite::Control(next.install_into(armed)));
    }

    #[test]
    fn uninstall_is_one_dr7_write() {
        let armed = image(DebugSlot::Dr3, 0x1000).install_into(Dr7::RESET);
        let writes: Vec<_> = uninstall_writes(armed, DebugSlot::Dr3).collect();
        assert_eq!(writes, [RegisterWrite::Control(Dr7::RESET)]);
        assert_eq!(
            RegisterWrite::RESET_STATUS,
            RegisterWrite::Status(Dr6::from_bits_retain(0xFFFF_0FF0))
        );
    }

    proptest! {
        #[test]
        fn the_slot_is_never_armed_while_its_address_changes(slot in 0u8..4, raw: u64, address in (0u64..u64::MAX / 2).prop_map(|a| a & !7)) {
            let slot = DebugSlot::new(slot).unwrap();
            let target = image(slot, address);
            let mut dr7 = Dr7::from_bits_retain(raw);
            for write in install_writes(dr7, &target) {
                match write {
                    RegisterWrite::Address { slot: written, address: value } => {
                        prop_assert_eq!(written, slot);
                        prop_assert_eq!(value, address);
                        prop_assert!(!dr7.is_enabled(slot), "address written while armed");
                    }
                    RegisterWrite::Control(value) => {
                        // Nothing but this slot and the exact-breakpoint flags changes.
                        let owned = Dr7::slot_mask(slot) | Dr7Flags::LE.bits() | Dr7Flags::GE.bits();
                        prop_assert_eq!(value.bits() & !owned, raw & !owned);
                        dr7 = value;
                    }
                    RegisterWrite::Status(_) => prop_assert!(false, "no DR6 write on install"),
                }
            }
            prop_assert_eq!(dr7, target.install_into(Dr7::from_bits_retain(raw)));
        }
    }
}
