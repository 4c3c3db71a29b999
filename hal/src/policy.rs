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

/// Most regions a [`ForbiddenRanges`] registry holds.
pub const MAX_FORBIDDEN_REGIONS: usize = 16;

/// What a registered region refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forbids {
    /// Every request touching it: data watches and execute breakpoints (descriptor tables,
    /// TSS, entry trampolines, exception stacks, the debug handler's own data).
    Everything,
    /// Execute breakpoints only: code the kernel marks non-probeable (the debug exception
    /// path itself; a breakpoint there recurses).
    Execution,
}

/// Why a region could not be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry already holds [`MAX_FORBIDDEN_REGIONS`] regions.
    Full,
}

impl core::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Full => write!(
                f,
                "the forbidden-range registry is full ({MAX_FORBIDDEN_REGIONS} regions)"
            ),
        }
    }
}

impl core::error::Error for RegistryError {}

/// The regions the embedding kernel forbids at run time (their addresses are known only once
/// it has booted: the IDT, the GDT, each CPU's TSS and entry stacks, …). Fixed capacity, no
/// allocation; every request is checked against it before anything else touches hardware.
///
/// ```
/// use hwbkpt_hal::{AccessKind, AddressRange, ForbiddenRanges, ForbiddenRegion, Forbids, Origin, Request};
///
/// let mut registry = ForbiddenRanges::new();
/// let idt = AddressRange::new(0xffff_fe00_0000_0000, 4096)?;
/// registry.forbid(ForbiddenRegion { range: idt, what: "IDT" }, Forbids::Everything).unwrap();
/// let watch = Request::builder(0xffff_fe00_0000_0010, 8, AccessKind::WRITE)
///     .origin(Origin::Kernel)
///     .build()?;
/// assert!(registry.check(&watch).is_err());
/// # Ok::<(), hwbkpt_hal::RequestError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForbiddenRanges {
    regions: [Option<(ForbiddenRegion, Forbids)>; MAX_FORBIDDEN_REGIONS],
}

impl ForbiddenRanges {
    /// An empty registry.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            regions: [None; MAX_FORBIDDEN_REGIONS],
        }
    }

    /// Forbid `region` for the requests `forbids` names.
    ///
    /// # Errors
    /// [`RegistryError::Full`]; the registry is unchanged then.
    pub fn forbid(
        &mut self,
        region: ForbiddenRegion,
        forbids: Forbids,
    ) -> Result<(), RegistryError> {
        let free = self
            .regions
            .iter_mut()
            .find(|r| r.is_none())
            .ok_or(RegistryError::Full)?;
        *free = Some((region, forbids));
        Ok(())
    }

    /// Check a request against every registered region.
    ///
    /// # Errors
    /// [`RequestError::ForbiddenRange`] naming the first region the request overlaps.
    pub fn check(&self, request: &Request) -> Result<(), RequestError> {
        let range = request.range();
        let hit = self.regions.iter().flatten().find(|(region, forbids)| {
            region.range.overlaps(&range)
                && (*forbids == Forbids::Everything || request.is_execute())
        });
        match hit {
            Some((region, _)) => Err(RequestError::ForbiddenRange {
                addr: range.start(),
                len: range.len(),
                region: region.what,
            }),
            None => Ok(()),
        }
    }
}

impl Default for ForbiddenRanges {
    fn default() -> Self {
        Self::new()
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
    fn non_probeable_code_refuses_execute_breakpoints_only() {
        let mut registry = ForbiddenRanges::new();
        let handler = ForbiddenRegion {
            range: AddressRange::new(0xFFFF_FFFF_8100_0000, 0x1000).unwrap(),
            what: "#DB handler",
        };
        registry.forbid(handler, Forbids::Execution).unwrap();
        let exec = Request::builder(0xFFFF_FFFF_8100_0010, 1, AccessKind::EXECUTE)
            .origin(Origin::Kernel)
            .build()
            .unwrap();
        assert!(matches!(
            registry.check(&exec),
            Err(RequestError::ForbiddenRange {
                region: "#DB handler",
                ..
            })
        ));
        assert_eq!(
            registry.check(&req(0xFFFF_FFFF_8100_0010, 8, Origin::Kernel)),
            Ok(())
        );
    }

    #[test]
    fn a_full_registry_refuses_and_stays_unchanged() {
        let mut registry = ForbiddenRanges::new();
        let region = ForbiddenRegion {
            range: AddressRange::new(0x1000, 8).unwrap(),
            what: "x",
        };
        for _ in 0..MAX_FORBIDDEN_REGIONS {
            registry.forbid(region, Forbids::Everything).unwrap();
        }
        let before = registry;
        assert_eq!(
            registry.forbid(region, Forbids::Execution),
            Err(RegistryError::Full)
        );
        assert_eq!(registry, before);
        extern crate std;
        assert_eq!(
            std::string::ToString::to_string(&RegistryError::Full),
            "the forbidden-range registry is full (16 regions)"
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
