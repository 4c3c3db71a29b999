//! Programming a CPU's debug registers from a switch-in's slot assignment.

use core::fmt;

use crate::{DebugArchitecture, RegisterAccess, RequestError, SlotId};

use super::switch_in::SlotAssignment;

/// Why [`SlotAssignment::install`] stopped. Slots before the failing one are already written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstallError<E> {
    /// The architecture could not encode a program for its slot (a slot the profile lacks).
    Encode {
        /// The slot.
        slot: SlotId,
        /// Why.
        error: RequestError,
    },
    /// The register backend failed.
    Register {
        /// The slot being written.
        slot: SlotId,
        /// The backend's error.
        error: E,
    },
}

impl<E: fmt::Display> fmt::Display for InstallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encode { slot, error } => write!(
                f,
                "cannot encode {} slot {}: {error}",
                slot.pool().name(),
                slot.index()
            ),
            Self::Register { slot, error } => write!(
                f,
                "writing {} slot {} failed: {error}",
                slot.pool().name(),
                slot.index()
            ),
        }
    }
}

impl<E: core::error::Error> core::error::Error for InstallError<E> {}

impl<P: crate::SlotProgram> SlotAssignment<P> {
    /// Program every slot of the profile: encode and install the assigned ones, uninstall the
    /// others — what a dispatcher does at context switch and migration.
    ///
    /// # Errors
    /// [`InstallError::Encode`] or [`InstallError::Register`] for the first slot that fails.
    pub fn install<A, R>(&self, arch: &A, regs: &mut R) -> Result<(), InstallError<R::Error>>
    where
        A: DebugArchitecture<Program = P>,
        R: RegisterAccess<Image = A::SlotImage>,
    {
        for pool in arch.capabilities().pools {
            for index in 0..pool.count.min(SlotId::MAX_PER_POOL) {
                let Some(slot) = SlotId::new(pool.kind, index) else {
                    continue;
                };
                let written = match self.get(slot) {
                    Some(loaded) => {
                        let image = arch
                            .encode(slot, &loaded.program)
                            .map_err(|error| InstallError::Encode { slot, error })?;
                        regs.install(slot, image)
                    }
                    None => regs.uninstall(slot),
                };
                written.map_err(|error| InstallError::Register { slot, error })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::InstallError;
    use crate::{PoolKind, RequestError, SlotId};

    #[test]
    fn install_errors_name_the_slot_and_the_cause() {
        let slot = SlotId::new(PoolKind::Data, 1).unwrap();
        let encode: InstallError<core::fmt::Error> = InstallError::Encode {
            slot,
            error: RequestError::NoSlots {
                kind: "DAWR",
                reason: "disabled",
            },
        };
        assert_eq!(
            encode.to_string(),
            "cannot encode data slot 1: no usable DAWR slot: disabled"
        );
        let register = InstallError::Register {
            slot,
            error: core::fmt::Error,
        };
        assert_eq!(
            register.to_string(),
            "writing data slot 1 failed: an error occurred when formatting an argument"
        );
    }
}
