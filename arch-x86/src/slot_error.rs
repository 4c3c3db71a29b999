//! Why a register owner refused a slot.

use hwbkpt_hal::SlotId;

use crate::DebugSlot;

/// Why a [`RegisterAccess`](hwbkpt_hal::RegisterAccess) owner of the x86 debug registers
/// refused to touch a slot. Nothing is written when this is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotError {
    /// The HAL slot is not one of DR0–DR3: x86 has only the shared pool.
    NotADebugRegister {
        /// The slot the caller named.
        slot: SlotId,
    },
    /// The image was encoded for another slot; its DR7 bits sit in that slot's fields.
    ImageForAnotherSlot {
        /// The slot the caller named.
        slot: DebugSlot,
        /// The slot the image was encoded for.
        image: DebugSlot,
    },
}

impl SlotError {
    /// The x86 slot behind `slot`.
    ///
    /// # Errors
    /// [`SlotError::NotADebugRegister`] unless `slot` is in the shared pool.
    pub const fn debug_slot(slot: SlotId) -> Result<DebugSlot, Self> {
        match DebugSlot::from_slot_id(slot) {
            Some(x86) => Ok(x86),
            None => Err(Self::NotADebugRegister { slot }),
        }
    }
}

impl core::fmt::Display for SlotError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::NotADebugRegister { slot } => write!(
                f,
                "slot {} of the {} pool is not one of DR0-DR3 (x86 has only the shared pool)",
                slot.index(),
                slot.pool().name()
            ),
            Self::ImageForAnotherSlot { slot, image } => write!(
                f,
                "an image encoded for {image} cannot be installed in {slot}"
            ),
        }
    }
}

impl core::error::Error for SlotError {}

#[cfg(test)]
mod tests {
    use super::*;
    use hwbkpt_hal::PoolKind;

    #[test]
    fn messages() {
        let data = SlotId::new(PoolKind::Data, 1).unwrap();
        assert_eq!(
            SlotError::debug_slot(data).unwrap_err().to_string(),
            "slot 1 of the data pool is not one of DR0-DR3 (x86 has only the shared pool)"
        );
        let mismatch = SlotError::ImageForAnotherSlot {
            slot: DebugSlot::Dr0,
            image: DebugSlot::Dr3,
        };
        assert_eq!(
            mismatch.to_string(),
            "an image encoded for DR3 cannot be installed in DR0"
        );
        assert_eq!(
            SlotError::debug_slot(DebugSlot::Dr2.slot_id()),
            Ok(DebugSlot::Dr2)
        );
    }
}
