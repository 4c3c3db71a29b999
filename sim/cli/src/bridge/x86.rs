//! The x86-64 model carrying `hwbkpt-x86`'s images: DR0–DR3 and DR7 written in the order
//! [`install_writes`] gives, DR6 read as [`Dr6`].

use hwbkpt_hal::{ResumeAction, SlotId};
use hwbkpt_sim::x86::{DebugClass, X86, X86Context, X86Exception, rflags};
use hwbkpt_x86::{
    DebugSlot, Dr6, Dr7, RegisterWrite, X86Cpu, X86SlotImage, install_writes, uninstall_writes,
};

use super::{BridgeError, SimBinding};

/// Perform one write as the #DB handler would (GD is already clear inside the handler).
fn perform(regs: &mut X86Context, write: RegisterWrite) -> Result<(), BridgeError> {
    let (register, value) = match write {
        RegisterWrite::Address { slot, address } => (slot.index(), address),
        RegisterWrite::Control(dr7) => (7, dr7.bits()),
        RegisterWrite::Status(dr6) => (6, dr6.bits()),
    };
    regs.write_dr(register, value)
        .map_err(|_| BridgeError::Refused)
}

fn current_dr7(regs: &X86Context) -> Dr7 {
    Dr7::from_bits_retain(regs.debug().dr7())
}

impl SimBinding for X86 {
    type Arch = X86Cpu;

    fn status(exception: &X86Exception) -> Dr6 {
        match *exception {
            X86Exception::Debug { dr6, .. } => Dr6::from_bits_retain(dr6),
            // Not a #DB: nothing in it is a debug-register hit.
            _ => Dr6::RESET,
        }
    }

    fn install(
        _arch: &X86Cpu,
        regs: &mut X86Context,
        slot: SlotId,
        image: X86SlotImage,
    ) -> Result<(), BridgeError> {
        image
            .target(slot)
            .map_err(|_| BridgeError::WrongSlot(slot))?;
        for write in install_writes(current_dr7(regs), &image) {
            perform(regs, write)?;
        }
        Ok(())
    }

    fn uninstall(_arch: &X86Cpu, regs: &mut X86Context, slot: SlotId) -> Result<(), BridgeError> {
        let debug_slot = DebugSlot::from_slot_id(slot).ok_or(BridgeError::WrongSlot(slot))?;
        for write in uninstall_writes(current_dr7(regs), debug_slot) {
            perform(regs, write)?;
        }
        Ok(())
    }

    fn read_status(regs: &X86Context) -> Dr6 {
        Dr6::from_bits_retain(regs.debug().dr6())
    }

    fn reset_status(regs: &mut X86Context) -> Result<(), BridgeError> {
        perform(regs, RegisterWrite::RESET_STATUS)
    }

    fn apply(regs: &mut X86Context, action: ResumeAction) {
        if action == ResumeAction::ResumeWithResumeFlag {
            regs.set_rflags(regs.rflags() | rflags::RF);
        }
    }

    fn held_across_entry(&self, regs: &X86Context, exception: &X86Exception) -> bool {
        matches!(
            exception,
            X86Exception::Debug {
                class: DebugClass::Trap,
                ..
            }
        ) && regs.rip() == self.syscall_entry
    }
}
