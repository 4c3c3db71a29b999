//! Whoever owns the debug registers: bare metal, ptrace, or a simulated CPU.

use crate::SlotId;

/// Writes and reads debug-register state on behalf of the HAL, which never touches hardware
/// itself. Implemented by the raw ring-0 accessors, by Linux ptrace, and by each simulated CPU.
///
/// `Image` and `Status` are the architecture's
/// [`DebugArchitecture::SlotImage`](crate::DebugArchitecture::SlotImage) and
/// [`DebugArchitecture::Status`](crate::DebugArchitecture::Status).
pub trait RegisterAccess {
    /// One slot's register image.
    type Image: Copy;
    /// Exception status as read from the hardware.
    type Status: Copy;
    /// Why an access failed (ptrace errno, missing privilege, …).
    type Error: core::error::Error;

    /// Program and arm `slot`.
    ///
    /// # Errors
    /// Implementation-defined; on error the slot's previous state is kept.
    fn install(&mut self, slot: SlotId, image: Self::Image) -> Result<(), Self::Error>;

    /// Disarm `slot` (its address may stay programmed; it never matches afterwards).
    ///
    /// # Errors
    /// Implementation-defined.
    fn uninstall(&mut self, slot: SlotId) -> Result<(), Self::Error>;

    /// Read the exception status registers.
    ///
    /// # Errors
    /// Implementation-defined.
    fn read_status(&mut self) -> Result<Self::Status, Self::Error>;

    /// Return the status registers to their quiet value (x86: DR6 = 0xFFFF0FF0, not zero).
    ///
    /// # Errors
    /// Implementation-defined.
    fn reset_status(&mut self) -> Result<(), Self::Error>;

    /// Ask for (or cancel) a trace exception after the next instruction of the interrupted
    /// context (x86 RFLAGS.TF, PPC64 MSR\[SE\]).
    ///
    /// # Errors
    /// Implementation-defined.
    fn set_single_step(&mut self, enabled: bool) -> Result<(), Self::Error>;

    /// Whether a trace exception after the next instruction is already asked for — by a
    /// debugger single-stepping the task, when the layer starts an interlock step. The layer
    /// then leaves the step on when its own completes and reports the trace as the
    /// debugger's ([`Resolution::foreign_single_step`](crate::Resolution::foreign_single_step)).
    /// The default answers `false`: a backend that cannot tell loses such a debugger stop.
    ///
    /// # Errors
    /// Implementation-defined.
    fn single_step_enabled(&mut self) -> Result<bool, Self::Error> {
        Ok(false)
    }
}
