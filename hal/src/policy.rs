//! The address-space policy: which addresses a requester may watch.
//!
//! Security is about *addresses*, not about the privilege filter: a user-origin request may
//! only watch user memory, but it may still match kernel accesses to that memory where the
//! architecture's policy says so (see DESIGN §2). The numbers come from each architecture and
//! CPU profile as data; the engine here applies them.

use crate::{AddressRange, Origin, Request, RequestError};

/// A region no request may watch, whatever its origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForbiddenRegion {
    /// The bytes.
    pub range: AddressRange,
    /// What lives there, for the error message (e.g. "interrupt descriptor table").
    pub what: &'static str,
}

/// Address-space rules of one architecture and CPU profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressSpacePolicy {
    /// Every byte a user-origin request watches must lie below this address
    /// (x86-64 4-level paging: `0x7FFF_FFFF_F000`; PPC64 book3s64: `0x0010_0000_0000_0000`).
    pub user_limit: u64,
    /// Regions nobody may watch.
    pub forbidden: &'static [ForbiddenRegion],
}

impl AddressSpacePolicy {
    /// Check that the request's origin may watch its range.
    ///
    /// # Errors
    /// [`RequestError::NotUserAddress`] for a user request reaching the limit,
    /// [`RequestError::ForbiddenRange`] for any request touching a forbidden region.
    ///
    /// ```
    /// use hwbkpt_hal::{AccessKind, AddressSpacePolicy, Request, RequestError};
    ///
    /// let policy = AddressSpacePolicy { user_limit: 0x7FFF_FFFF_F000, forbidden: &[] };
    /// let r = Request::builder(0x7FFF_FFFF_EFFC, 8, AccessKind::WRITE).build().unwrap();
    /// assert!(matches!(policy.check(&r), Err(RequestError::NotUserAddress { .. })));
    /// ```
    pub fn check(&self, request: &Request) -> Result<(), RequestError> {
        let range = request.range();
        if request.origin() == Origin::User && range.last() >= self.user_limit {
            return Err(RequestError::NotUserAddress {
                addr: range.start(),
                len: range.len(),
                user_limit: self.user_limit,
            });
        }
        match self
            .forbidden
            .iter()
            .find(|region| region.range.overlaps(&range))
        {
            Some(region) => Err(RequestError::ForbiddenRange {
                addr: range.start(),
                len: range.len(),
                region: region.what,
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AccessKind;

    const IDT: ForbiddenRegion = ForbiddenRegion {
        range: match AddressRange::new(0xFFFF_FE00_0000_0000, 4096) {
            Ok(r) => r,
            Err(_) => panic!("constant range"),
        },
        what: "interrupt descriptor table",
    };
    const X86_4LEVEL: AddressSpacePolicy = AddressSpacePolicy {
        user_limit: 0x7FFF_FFFF_F000,
        forbidden: &[IDT],
    };

    fn req(addr: u64, len: u64, origin: Origin) -> Request {
        Request::builder(addr, len, AccessKind::WRITE)
            .origin(origin)
            .build()
            .unwrap()
    }

    #[test]
    fn user_limit_is_on_the_last_byte() {
        assert_eq!(
            X86_4LEVEL.check(&req(0x7FFF_FFFF_EFF8, 8, Origin::User)),
            Ok(())
        );
        assert!(
            X86_4LEVEL
                .check(&req(0x7FFF_FFFF_EFF9, 8, Origin::User))
                .is_err()
        );
        assert_eq!(
            X86_4LEVEL.check(&req(0x7FFF_FFFF_F000, 1, Origin::Kernel)),
            Ok(())
        );
    }

    #[test]
    fn forbidden_regions_bind_the_kernel_too() {
        let err = X86_4LEVEL.check(&req(0xFFFF_FE00_0000_0FFC, 8, Origin::Kernel));
        assert_eq!(
            err,
            Err(RequestError::ForbiddenRange {
                addr: 0xFFFF_FE00_0000_0FFC,
                len: 8,
                region: "interrupt descriptor table"
            })
        );
    }
}
