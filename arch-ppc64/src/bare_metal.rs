//! [`BareMetal`]: the kernel itself owns the debug SPRs of the CPU it runs on.

use core::fmt;

use hwbkpt_hal::{RegisterAccess, RequestError, SlotId};

use crate::cpu::PowerCpu;
use crate::image::SlotImage;
use crate::raw;
use crate::registers::Msr;
use crate::status::PowerStatus;
use crate::step::StepRequest;

/// Why [`BareMetal`] refused an operation. Nothing was written when it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BareMetalError {
    /// The slot does not exist or is not usable on this CPU profile, or the image programs
    /// other registers than the ones behind it.
    Refused {
        /// The slot.
        slot: SlotId,
        /// Why ([`RequestError::NoSlots`]).
        reason: RequestError,
    },
    /// No interrupt status was recorded by the interrupt entry.
    NoStatus,
}

impl fmt::Display for BareMetalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused { slot, reason } => write!(f, "{slot:?}: {reason}"),
            Self::NoStatus => f.write_str("no interrupt status recorded for this exception"),
        }
    }
}

impl core::error::Error for BareMetalError {}

/// The debug SPRs of the current CPU, written with `mtspr`.
///
/// Status: PPC64 reports breakpoints through two different interrupts (DSI with DSISR/DAR,
/// trace with SRR1), whose registers the kernel's interrupt entry saves before anything can
/// overwrite them. The entry hands that status over with [`record`](Self::record);
/// [`read_status`](RegisterAccess::read_status) returns it.
///
/// Single step: [`set_single_step`](RegisterAccess::set_single_step) only records a
/// [`StepRequest`]; the interrupt-return path applies it to the saved MSR with
/// [`return_msr`](Self::return_msr) before `rfid`.
#[derive(Debug)]
pub struct BareMetal {
    cpu: PowerCpu,
    status: Option<PowerStatus>,
    step: StepRequest,
}

impl BareMetal {
    /// The registers of the CPU this code runs on, described by `cpu`.
    ///
    /// # Safety
    /// `install` and `uninstall` then execute `mtspr` on the debug SPRs, so: the code runs in supervisor
    /// state, and in hypervisor state on POWER8 and later (DAWR/DAWRX/CIABR are hypervisor
    /// resources, see [`raw`](crate::raw)); `cpu` describes this CPU; the value stays on this
    /// CPU (no migration while it is used); and nothing else programs these registers
    /// meanwhile.
    #[must_use]
    pub const unsafe fn new(cpu: PowerCpu) -> Self {
        Self {
            cpu,
            status: None,
            step: StepRequest::new(),
        }
    }

    /// The CPU description.
    #[must_use]
    pub const fn cpu(&self) -> &PowerCpu {
        &self.cpu
    }

    /// Called by the interrupt entry with the status it saved (DSISR and DAR of a DSI, or
    /// SRR1 of a trace interrupt).
    pub const fn record(&mut self, status: PowerStatus) {
        self.status = Some(status);
    }

    /// Called by the interrupt-return path: the saved MSR with the pending single-step
    /// request applied (restore SRR1 from it).
    #[must_use]
    pub const fn return_msr(&mut self, saved_msr: Msr) -> Msr {
        self.step.apply(saved_msr)
    }
}

impl RegisterAccess for BareMetal {
    type Image = SlotImage;
    type Status = PowerStatus;
    type Error = BareMetalError;

    fn install(&mut self, slot: SlotId, image: SlotImage) -> Result<(), BareMetalError> {
        let sequence = self
            .cpu
            .install_sequence(slot, &image)
            .map_err(|reason| BareMetalError::Refused { slot, reason })?;
        // SAFETY: `BareMetal::new`'s contract gives the privilege and ownership; the
        // registers exist on this profile (`install_sequence` checked it).
        unsafe { raw::write_sequence(&sequence) };
        Ok(())
    }

    fn uninstall(&mut self, slot: SlotId) -> Result<(), BareMetalError> {
        let sequence = self
            .cpu
            .disarm_sequence(slot)
            .map_err(|reason| BareMetalError::Refused { slot, reason })?;
        // SAFETY: as in `install`.
        unsafe { raw::write_sequence(&sequence) };
        Ok(())
    }

    fn read_status(&mut self) -> Result<PowerStatus, BareMetalError> {
        self.status.ok_or(BareMetalError::NoStatus)
    }

    fn reset_status(&mut self) -> Result<(), BareMetalError> {
        // DSISR and SRR1 are rewritten by every interrupt: nothing to reset in hardware.
        self.status = None;
        Ok(())
    }

    fn set_single_step(&mut self, enabled: bool) -> Result<(), BareMetalError> {
        self.step.request(enabled);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwbkpt_hal::PoolKind;

    // Only what runs without touching an SPR: under qemu-user every mtspr is SIGILL.
    #[test]
    fn errors_read_well() {
        let slot = SlotId::new(PoolKind::Data, 0).unwrap();
        let cpu = PowerCpu::new(crate::PowerProfile::Power9);
        let reason = cpu.disarm_sequence(slot).unwrap_err();
        let e = BareMetalError::Refused { slot, reason };
        assert!(e.to_string().contains("POWER9 DAWR disabled"));
        assert_eq!(
            BareMetalError::NoStatus.to_string(),
            "no interrupt status recorded for this exception"
        );
    }
}
