//! The debug registers of the CPU this code runs on, owned at ring 0.

use core::marker::PhantomData;

use hwbkpt_hal::{RegisterAccess, SlotId};

use crate::{
    Dr6, Dr7, RegisterWrite, SingleStep, SlotError, WriteSequence, X86SlotImage, install_writes,
    raw, uninstall_writes,
};

/// Owner of the current CPU's real debug registers, for kernels running at ring 0.
///
/// Installing performs [`install_writes`]: DR*n* first and DR7 second (read-modify-write,
/// other slots and reserved bits kept), so a slot is never armed with a stale address; a
/// slot that is already armed is disarmed before its address changes, so no access is
/// matched against the new address under the old condition. Uninstalling clears the slot's
/// enable, R/W and LEN bits.
/// [`reset_status`](RegisterAccess::reset_status) writes [`Dr6::RESET`], never zero.
///
/// **Single-step** lives in RFLAGS.TF of the interrupted context, not in a debug register,
/// so [`set_single_step`](RegisterAccess::set_single_step) only records the request; the
/// kernel's exception-return path collects it with [`take_single_step`](Self::take_single_step)
/// and applies it to the saved RFLAGS with [`SingleStep::apply`] before `iretq`.
///
/// The debug registers belong to one CPU, so this type is neither `Send` nor `Sync`: it
/// cannot migrate to another CPU behind its owner's back.
#[derive(Debug)]
pub struct BareMetal {
    single_step: SingleStep,
    /// Per-CPU state: keep the value on the CPU that created it.
    _not_send: PhantomData<*const ()>,
}

impl BareMetal {
    /// Take ownership of this CPU's debug registers.
    ///
    /// # Safety
    /// For as long as the value lives, the caller guarantees that:
    /// - its methods run at CPL 0, on the CPU that created it (it is `!Send`, but a kernel
    ///   thread holding it could still be migrated: pin it or disable preemption);
    /// - DR7.GD is clear (or a #DB handler deals with DR6.BD and resumes);
    /// - nothing else writes DR0–DR3, DR6 or DR7 of this CPU concurrently (e.g. an
    ///   interrupt handler in the middle of an install);
    /// - a #DB handler is installed that expects the hits of every slot armed through it.
    #[must_use]
    pub const unsafe fn new() -> Self {
        Self {
            single_step: SingleStep::Unchanged,
            _not_send: PhantomData,
        }
    }

    /// The pending single-step request, leaving [`SingleStep::Unchanged`] behind. Call on
    /// the exception-return path and apply the result to the saved RFLAGS.
    pub fn take_single_step(&mut self) -> SingleStep {
        core::mem::take(&mut self.single_step)
    }

    /// The current DR7.
    #[must_use]
    pub fn control(&self) -> Dr7 {
        // SAFETY: `new`'s contract: CPL 0, on the owning CPU, GD clear or handled.
        unsafe { raw::read_dr7() }
    }
}

impl BareMetal {
    /// Perform `writes` in order.
    fn perform(writes: WriteSequence) {
        for write in writes {
            match write {
                // SAFETY: `new`'s contract (CPL 0, owning CPU, GD clear or handled, a #DB
                // handler for armed slots); the sequence writes an address only while its
                // slot is disarmed.
                RegisterWrite::Address { slot, address } => unsafe {
                    raw::write_address(slot, address);
                },
                // SAFETY: `new`'s contract; every DR7 in a sequence is a value read from the
                // hardware with only one slot's fields and LE/GE changed, so bits 32–63 stay
                // clear.
                RegisterWrite::Control(dr7) => unsafe { raw::write_dr7(dr7) },
                // SAFETY: `new`'s contract; the only DR6 written is RESET, bits 32–63 clear.
                RegisterWrite::Status(dr6) => unsafe { raw::write_dr6(dr6) },
            }
        }
    }
}

impl RegisterAccess for BareMetal {
    type Image = X86SlotImage;
    type Status = Dr6;
    type Error = SlotError;

    /// Writes the sequence of [`install_writes`]: disarm if armed, DR*n*, then DR7.
    fn install(&mut self, slot: SlotId, image: X86SlotImage) -> Result<(), SlotError> {
        image.target(slot)?;
        Self::perform(install_writes(self.control(), &image));
        Ok(())
    }

    /// Writes the sequence of [`uninstall_writes`]: one DR7 write.
    fn uninstall(&mut self, slot: SlotId) -> Result<(), SlotError> {
        let slot = SlotError::debug_slot(slot)?;
        Self::perform(uninstall_writes(self.control(), slot));
        Ok(())
    }

    fn read_status(&mut self) -> Result<Dr6, SlotError> {
        // SAFETY: `new`'s contract.
        Ok(unsafe { raw::read_dr6() })
    }

    fn reset_status(&mut self) -> Result<(), SlotError> {
        Self::perform(WriteSequence::from(RegisterWrite::RESET_STATUS));
        Ok(())
    }

    /// Records the request for the exception-return path; see the type's documentation.
    fn set_single_step(&mut self, enabled: bool) -> Result<(), SlotError> {
        self.single_step = SingleStep::from_enabled(enabled);
        Ok(())
    }
}

static_assertions::assert_impl_all!(BareMetal: RegisterAccess<Image = X86SlotImage, Status = Dr6>);
static_assertions::assert_not_impl_any!(BareMetal: Send, Sync);
