//! The interrupted context as the HAL sees it in the #DB handler: the CPU's debug
//! registers, memory reads for old/new values, and the decode/emulate hooks (PPC64 only: an
//! x86 #DB names its slots exactly, so the dispatcher never asks).
//!
//! Like Linux's #DB entry, the handler disarms DR7 while it runs ([`Machine::enter`]) and
//! re-arms it on the way out ([`Machine::leave`]): the layer's own reads of a read/write
//! watched location (old/new values) would otherwise raise #DB inside the handler, forever.
//! Meanwhile the dispatcher's install/uninstall requests go to a DR7 image kept here, written
//! with the crate's own write sequences ([`install_writes`], [`uninstall_writes`]).

use hwbkpt_hal::{
    DecodeError, DecodedAccess, EmulateError, InstructionDecode, InstructionEmulate, MemoryRead,
    MemoryReadError, RegisterAccess, SlotId,
};
use hwbkpt_x86::{
    Dr6, Dr7, RegisterWrite, SingleStep, SlotError, WriteSequence, X86SlotImage, install_writes,
    raw, uninstall_writes,
};

/// End of the identity-mapped memory (the boot trampoline maps 1 GiB).
const MAPPED_END: u64 = 1 << 30;

/// Copy `buf.len()` bytes at `addr` (identity-mapped RAM only).
fn copy_memory(addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
    let end = addr.checked_add(buf.len() as u64);
    if addr == 0 || end.is_none_or(|end| end > MAPPED_END) {
        return Err(MemoryReadError::Unmapped { addr });
    }
    for (offset, byte) in buf.iter_mut().enumerate() {
        // SAFETY: [addr, end) lies in the identity-mapped first GiB, which is RAM.
        *byte = unsafe { core::ptr::read_volatile((addr + offset as u64) as *const u8) };
    }
    Ok(())
}

/// Copy `buf.len()` bytes at `addr` with DR7 disarmed for the duration, so that the read
/// cannot hit a read/write watch.
fn read_unwatched(addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
    // SAFETY: CPL 0, DR7.GD never set; the DR7 written back is the one just read.
    let dr7 = unsafe { raw::read_dr7() };
    // SAFETY: as above; DR7's reset value arms nothing.
    unsafe { raw::write_dr7(Dr7::RESET) };
    let result = copy_memory(addr, buf);
    // SAFETY: as above; restores the previous arming.
    unsafe { raw::write_dr7(dr7) };
    result
}

/// Memory reads for [`Dispatcher::register`](hwbkpt_hal::Dispatcher::register) (the first
/// "last observed" value).
pub struct KernelMemory;

impl MemoryRead for KernelMemory {
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        read_unwatched(addr, buf)
    }
}

/// The context handed to [`Dispatcher::handle_exception`](hwbkpt_hal::Dispatcher::handle_exception).
pub struct Machine {
    /// The DR7 to restore on the way out, with the dispatcher's changes applied.
    dr7: Dr7,
    single_step: SingleStep,
}

impl Machine {
    /// Disarm every slot for the duration of the handler.
    ///
    /// # Safety
    /// Only in the #DB handler: CPL 0, the only CPU, GD clear (the CPU clears it on #DB
    /// entry); [`leave`](Self::leave) must follow before the handler returns.
    pub unsafe fn enter() -> Self {
        // SAFETY: the caller's contract.
        let dr7 = unsafe { raw::read_dr7() };
        // SAFETY: as above; DR7's reset value arms nothing.
        unsafe { raw::write_dr7(Dr7::RESET) };
        Self {
            dr7,
            single_step: SingleStep::Unchanged,
        }
    }

    /// Re-arm DR7 (as the dispatcher left it) and return the single-step request to apply
    /// to the saved RFLAGS.
    pub fn leave(self) -> SingleStep {
        // SAFETY: `enter`'s contract; the DR7 is the one read on entry with only slot fields
        // changed by `install_writes`/`uninstall_writes`, so bits 32–63 stay clear, and the
        // handler expects the hits of every slot it arms.
        unsafe { raw::write_dr7(self.dr7) };
        self.single_step
    }

    /// Perform `writes`: addresses and DR6 go to the hardware, DR7 to the image.
    fn perform(&mut self, writes: WriteSequence) {
        for write in writes {
            match write {
                // SAFETY: `enter`'s contract; DR7 is disarmed, so the new address matches
                // nothing until `leave`.
                RegisterWrite::Address { slot, address } => unsafe {
                    raw::write_address(slot, address);
                },
                RegisterWrite::Control(dr7) => self.dr7 = dr7,
                // SAFETY: `enter`'s contract; DR6 values in sequences are RESET.
                RegisterWrite::Status(dr6) => unsafe { raw::write_dr6(dr6) },
            }
        }
    }
}

impl RegisterAccess for Machine {
    type Image = X86SlotImage;
    type Status = Dr6;
    type Error = SlotError;

    fn install(&mut self, slot: SlotId, image: X86SlotImage) -> Result<(), SlotError> {
        image.target(slot)?;
        self.perform(install_writes(self.dr7, &image));
        Ok(())
    }
    fn uninstall(&mut self, slot: SlotId) -> Result<(), SlotError> {
        let slot = SlotError::debug_slot(slot)?;
        self.perform(uninstall_writes(self.dr7, slot));
        Ok(())
    }
    fn read_status(&mut self) -> Result<Dr6, SlotError> {
        // SAFETY: `enter`'s contract.
        Ok(unsafe { raw::read_dr6() })
    }
    fn reset_status(&mut self) -> Result<(), SlotError> {
        self.perform(WriteSequence::from(RegisterWrite::RESET_STATUS));
        Ok(())
    }
    fn set_single_step(&mut self, enabled: bool) -> Result<(), SlotError> {
        self.single_step = SingleStep::from_enabled(enabled);
        Ok(())
    }
}

impl MemoryRead for Machine {
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        // DR7 is disarmed while the handler runs.
        copy_memory(addr, buf)
    }
}

impl InstructionDecode for Machine {
    fn decode_access(&mut self, pc: u64) -> Result<Option<DecodedAccess>, DecodeError> {
        Err(DecodeError::Unknown { pc })
    }
}

impl InstructionEmulate for Machine {
    fn emulate(&mut self, pc: u64) -> Result<(), EmulateError> {
        Err(EmulateError::Unsupported { pc })
    }
}
