//! A slot image: the register values that make one slot run one program.

use hwbkpt_hal::{RequestError, SlotId};

use crate::{Condition, DebugSlot, Dr7, Dr7Flags, EnableMode, SlotError, X86Program};

/// The register values that arm one slot: the address for DR*n* and the slot's bits of DR7
/// (L*n*/G*n*, R/W*n*, LEN*n*, and LE/GE as the enable mode asks).
///
/// Built by [`X86Cpu::encode`](hwbkpt_hal::DebugArchitecture::encode); installed by a
/// [`RegisterAccess`](hwbkpt_hal::RegisterAccess) owner, which writes
/// [`address`](Self::address) to DR*n* and merges the DR7 bits with
/// [`install_into`](Self::install_into).
///
/// ```
/// use hwbkpt_hal::{AccessKind, DebugArchitecture, Request};
/// use hwbkpt_x86::{DebugSlot, Dr7, X86Cpu, X86Profile, merge_images};
///
/// let cpu = X86Cpu::new(X86Profile::GENERIC_X86_64);
/// let plan = cpu.plan(&Request::builder(0x1006, 4, AccessKind::WRITE).build()?)?;
/// // 0x1006+4 needs two slots: 2 bytes at 0x1006 and 2 at 0x1008.
/// let mut images = Vec::new();
/// for (slot, program) in DebugSlot::ALL.into_iter().zip(&plan) {
///     images.push(cpu.encode(slot.slot_id(), program)?);
/// }
/// let dr7 = merge_images(images.iter().copied());
/// assert_eq!(dr7.bits(), 0x0055_060a);
/// # Ok::<(), hwbkpt_hal::RequestError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct X86SlotImage {
    slot: DebugSlot,
    program: X86Program,
    enable: EnableMode,
}

impl X86SlotImage {
    /// The image arming `slot` with `program` through `enable`'s bits.
    #[must_use]
    pub const fn new(slot: DebugSlot, program: X86Program, enable: EnableMode) -> Self {
        Self {
            slot,
            program,
            enable,
        }
    }

    /// The slot this image arms.
    #[must_use]
    pub const fn slot(&self) -> DebugSlot {
        self.slot
    }

    /// The program it runs.
    #[must_use]
    pub const fn program(&self) -> X86Program {
        self.program
    }

    /// Which enable bits arm it.
    #[must_use]
    pub const fn enable_mode(&self) -> EnableMode {
        self.enable
    }

    /// The value for DR*n*.
    #[must_use]
    pub const fn address(&self) -> u64 {
        self.program.address()
    }

    /// This slot's bits of DR7 and nothing else (no bit 10, no other slot): for slot `n`
    /// with global enable, `(LEN << 2 | R/W) << (16 + 4n) | 2 << 2n | GE`, the value
    /// Linux's `encode_dr7` computes.
    #[must_use]
    pub const fn dr7_bits(&self) -> u64 {
        self.install_into(Dr7::from_bits_retain(0)).bits()
    }

    /// `dr7` with this slot replaced by the image: the slot's old fields are cleared, the new
    /// ones and the enable flags set; other slots and every reserved bit are kept.
    #[must_use]
    pub const fn install_into(&self, dr7: Dr7) -> Dr7 {
        let mut dr7 = dr7;
        dr7.disable_slot(self.slot);
        dr7.set_condition(self.slot, self.program.condition());
        dr7.set_size(self.slot, self.program.length());
        dr7.insert(self.enable.flags(self.slot));
        dr7
    }

    /// `dr7` with `slot` disarmed and its fields cleared; LE (GE) is cleared too once no
    /// local (global) enable remains, so a DR7 whose every slot was installed and then
    /// uninstalled reads back as it started.
    #[must_use]
    pub const fn uninstall_from(slot: DebugSlot, dr7: Dr7) -> Dr7 {
        let mut dr7 = dr7;
        dr7.disable_slot(slot);
        if dr7.bits() & Dr7Flags::ALL_LOCAL_ENABLES.bits() == 0 {
            dr7.remove(Dr7Flags::LE);
        }
        if dr7.bits() & Dr7Flags::ALL_GLOBAL_ENABLES.bits() == 0 {
            dr7.remove(Dr7Flags::GE);
        }
        dr7
    }

    /// Read back what `dr7` and the address register of `slot` program: `Ok(None)` when the
    /// slot is disarmed.
    ///
    /// # Errors
    /// When the registers hold something this crate would never build: a misaligned
    /// address ([`RequestError::Misaligned`]), an execute slot with a length other than 1
    /// ([`RequestError::UnsupportedLength`]), an I/O slot beyond port 0xFFFF
    /// ([`RequestError::RangeWraps`]), or bytes past `u64::MAX`.
    pub fn from_registers(
        slot: DebugSlot,
        address: u64,
        dr7: Dr7,
    ) -> Result<Option<Self>, RequestError> {
        let Some(enable) =
            EnableMode::from_enables(dr7.local_enabled(slot), dr7.global_enabled(slot))
        else {
            return Ok(None);
        };
        let length = dr7.size(slot);
        let program = match dr7.condition(slot) {
            Condition::Io => {
                let port = u16::try_from(address).map_err(|_| RequestError::RangeWraps {
                    addr: address,
                    len: length.bytes(),
                })?;
                // The slot is armed for I/O, so whoever armed it had CR4.DE set.
                X86Program::io_port(port, length, true)?
            }
            condition => X86Program::new(address, length, condition)?,
        };
        Ok(Some(Self::new(slot, program, enable)))
    }

    /// The x86 slot behind the HAL's `slot`, if it is the one this image was built for.
    /// [`RegisterAccess`](hwbkpt_hal::RegisterAccess) implementations call this before
    /// touching a register.
    ///
    /// # Errors
    /// [`SlotError::NotADebugRegister`] when `slot` is not in the shared pool,
    /// [`SlotError::ImageForAnotherSlot`] when it is another slot.
    pub const fn target(&self, slot: SlotId) -> Result<DebugSlot, SlotError> {
        match SlotError::debug_slot(slot) {
            Ok(x86) if x86.index() == self.slot.index() => Ok(x86),
            Ok(x86) => Err(SlotError::ImageForAnotherSlot {
                slot: x86,
                image: self.slot,
            }),
            Err(e) => Err(e),
        }
    }
}

/// DR7 with every image installed, starting from [`Dr7::RESET`]. Later images for the same
/// slot replace earlier ones.
#[must_use]
pub fn merge_images(images: impl IntoIterator<Item = X86SlotImage>) -> Dr7 {
    images
        .into_iter()
        .fold(Dr7::RESET, |dr7, image| image.install_into(dr7))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BreakpointLength;
    use hwbkpt_hal::PoolKind;
    use proptest::prelude::*;

    fn write4(slot: DebugSlot, mode: EnableMode) -> X86SlotImage {
        let program = X86Program::new(0x1000, BreakpointLength::Four, Condition::Write).unwrap();
        X86SlotImage::new(slot, program, mode)
    }

    #[test]
    fn install_then_uninstall_restores_reset() {
        let mut dr7 = Dr7::RESET;
        for (slot, mode) in DebugSlot::ALL.into_iter().zip([
            EnableMode::Local,
            EnableMode::Global,
            EnableMode::Both,
            EnableMode::Global,
        ]) {
            dr7 = write4(slot, mode).install_into(dr7);
        }
        assert!(dr7.contains(Dr7Flags::LE | Dr7Flags::GE));
        dr7 = X86SlotImage::uninstall_from(DebugSlot::Dr0, dr7);
        dr7 = X86SlotImage::uninstall_from(DebugSlot::Dr2, dr7);
        assert!(!dr7.contains(Dr7Flags::LE), "no local enable left");
        assert!(dr7.contains(Dr7Flags::GE), "DR1 and DR3 still global");
        dr7 = X86SlotImage::uninstall_from(DebugSlot::Dr1, dr7);
        dr7 = X86SlotImage::uninstall_from(DebugSlot::Dr3, dr7);
        assert_eq!(dr7, Dr7::RESET);
    }

    #[test]
    fn le_and_ge_stay_while_any_slot_keeps_its_enable() {
        for first in DebugSlot::ALL {
            for second in DebugSlot::ALL.into_iter().filter(|s| *s != first) {
                for mode in [EnableMode::Local, EnableMode::Global] {
                    let both = write4(second, mode)
                        .install_into(write4(first, mode).install_into(Dr7::RESET));
                    let left = X86SlotImage::uninstall_from(first, both);
                    let exact = if mode == EnableMode::Local {
                        Dr7Flags::LE
                    } else {
                        Dr7Flags::GE
                    };
                    assert!(
                        left.contains(exact),
                        "{first:?} out, {second:?} {mode:?} in"
                    );
                    assert_eq!(X86SlotImage::uninstall_from(second, left), Dr7::RESET);
                }
            }
        }
    }

    #[test]
    fn reinstalling_a_slot_leaves_no_stale_bits() {
        let rw8 = X86Program::new(0x2000, BreakpointLength::Eight, Condition::ReadWrite).unwrap();
        let x = X86Program::execute(0x3001).unwrap();
        let dr7 = X86SlotImage::new(DebugSlot::Dr1, rw8, EnableMode::Both).install_into(Dr7::RESET);
        let dr7 = X86SlotImage::new(DebugSlot::Dr1, x, EnableMode::Global).install_into(dr7);
        // R/W1 = 00, LEN1 = 00, G1, GE; the earlier L1 is gone with the old fields.
        assert_eq!(dr7.bits(), 0x400 | 0x200 | 0x100 | 1 << 3);
        // LE stays: install replaces the slot, the exact flags are only tidied on uninstall.
        assert!(!dr7.local_enabled(DebugSlot::Dr1));
    }

    #[test]
    fn target_checks_pool_and_index() {
        let image = write4(DebugSlot::Dr2, EnableMode::Global);
        assert_eq!(image.target(DebugSlot::Dr2.slot_id()), Ok(DebugSlot::Dr2));
        assert_eq!(
            image.target(DebugSlot::Dr1.slot_id()),
            Err(SlotError::ImageForAnotherSlot {
                slot: DebugSlot::Dr1,
                image: DebugSlot::Dr2
            })
        );
        let data = SlotId::new(PoolKind::Data, 2).unwrap();
        assert_eq!(
            image.target(data),
            Err(SlotError::NotADebugRegister { slot: data })
        );
    }

    #[test]
    fn from_registers_rejects_what_encode_never_builds() {
        let slot = DebugSlot::Dr0;
        let mut dr7 = Dr7::RESET;
        assert_eq!(X86SlotImage::from_registers(slot, 0x1001, dr7), Ok(None));
        dr7.set_global_enable(slot, true);
        dr7.set_condition(slot, Condition::Write);
        dr7.set_size(slot, BreakpointLength::Four);
        assert!(matches!(
            X86SlotImage::from_registers(slot, 0x1001, dr7),
            Err(RequestError::Misaligned { .. })
        ));
        dr7.set_condition(slot, Condition::Execute);
        assert!(matches!(
            X86SlotImage::from_registers(slot, 0x1000, dr7),
            Err(RequestError::UnsupportedLength { .. })
        ));
        dr7.set_condition(slot, Condition::Io);
        assert!(matches!(
            X86SlotImage::from_registers(slot, 0x1_0000, dr7),
            Err(RequestError::RangeWraps { .. })
        ));
        let io = X86SlotImage::from_registers(slot, 0x60, dr7)
            .unwrap()
            .unwrap();
        assert!(io.program().is_io());
    }

    fn any_image() -> impl Strategy<Value = X86SlotImage> {
        (
            0u8..4,
            any::<u64>(),
            0u64..4,
            prop_oneof![
                Just(Condition::Execute),
                Just(Condition::Write),
                Just(Condition::ReadWrite),
                Just(Condition::Io)
            ],
            prop_oneof![
                Just(EnableMode::Local),
                Just(EnableMode::Global),
                Just(EnableMode::Both)
            ],
        )
            .prop_filter_map(
                "valid programs only",
                |(slot, address, len_bits, condition, mode)| {
                    let length = BreakpointLength::from_bits(len_bits)?;
                    let length = if condition == Condition::Execute {
                        BreakpointLength::One
                    } else {
                        length
                    };
                    let address = address & !(length.bytes() - 1);
                    let program = match condition {
                        Condition::Io => X86Program::io_port(address as u16, length, true),
                        _ => X86Program::new(address, length, condition),
                    }
                    .ok()?;
                    Some(X86SlotImage::new(DebugSlot::new(slot)?, program, mode))
                },
            )
    }

    proptest! {
        #[test]
        fn decode_of_encode_is_identity(image in any_image(), raw: u64) {
            // Install into an arbitrary DR7, read the slot back from the registers.
            let dr7 = image.install_into(Dr7::from_bits_retain(raw));
            let back = X86SlotImage::from_registers(image.slot(), image.address(), dr7);
            prop_assert_eq!(back, Ok(Some(image)));
        }

        #[test]
        fn install_touches_only_its_slot_and_exact_flags(image in any_image(), raw: u64) {
            let before = Dr7::from_bits_retain(raw);
            let after = image.install_into(before);
            let owned = Dr7::slot_mask(image.slot()) | Dr7Flags::LE.bits() | Dr7Flags::GE.bits();
            prop_assert_eq!(after.bits() & !owned, raw & !owned);
            prop_assert_eq!(after.bits() & Dr7::slot_mask(image.slot()), image.dr7_bits() & Dr7::slot_mask(image.slot()));
        }

        #[test]
        fn uninstall_keeps_other_slots_and_reserved_bits(slot in 0u8..4, raw: u64) {
            let slot = DebugSlot::new(slot).unwrap();
            let after = X86SlotImage::uninstall_from(slot, Dr7::from_bits_retain(raw));
            let owned = Dr7::slot_mask(slot) | Dr7Flags::LE.bits() | Dr7Flags::GE.bits();
            prop_assert_eq!(after.bits() & !owned, raw & !owned);
            prop_assert!(!after.is_enabled(slot));
        }

        #[test]
        fn from_registers_never_panics(slot in 0u8..4, address: u64, raw: u64) {
            let slot = DebugSlot::new(slot).unwrap();
            let _ = X86SlotImage::from_registers(slot, address, Dr7::from_bits_retain(raw));
        }
    }
}
