//! A breakpoint request, built through validation.

use crate::{
    AccessKind, AddressRange, Delivery, Origin, Pinning, PrivilegeFilter, RequestError, Scope,
    Sharing,
};

/// A breakpoint or watchpoint request that passed the architecture-neutral checks.
///
/// It says *what* to watch; whether the target CPU can do it is decided by
/// [`DebugArchitecture::plan`](crate::DebugArchitecture::plan), and whether the requester may
/// watch those addresses by [`AddressSpacePolicy::check`](crate::AddressSpacePolicy::check).
///
/// ```
/// use hwbkpt_hal::{AccessKind, Request, Scope, TaskId};
///
/// let watch = Request::builder(0x7000_1000, 4, AccessKind::WRITE)
///     .scope(Scope::Task(TaskId(42)))
///     .build()
///     .unwrap();
/// assert_eq!(watch.range().last(), 0x7000_1003);
///
/// let err = Request::builder(0x1000, 1, AccessKind::READ | AccessKind::EXECUTE).build();
/// assert!(err.is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Request {
    range: AddressRange,
    access: AccessKind,
    scope: Scope,
    privilege: PrivilegeFilter,
    origin: Origin,
    delivery: Delivery,
    pinning: Pinning,
    sharing: Sharing,
}

impl Request {
    /// Start describing a request for `len` bytes at `addr`.
    ///
    /// Defaults: scope [`Scope::AllCpus`], privilege [`PrivilegeFilter::USER`], origin
    /// [`Origin::User`], delivery [`Delivery::After`] for data and [`Delivery::Native`] for
    /// execute, [`Pinning::Pinned`], [`Sharing::Shared`].
    pub const fn builder(addr: u64, len: u64, access: AccessKind) -> RequestBuilder {
        RequestBuilder {
            addr,
            len,
            access,
            scope: Scope::AllCpus,
            privilege: PrivilegeFilter::USER,
            origin: Origin::User,
            delivery: None,
            pinning: Pinning::Pinned,
            sharing: Sharing::Shared,
        }
    }

    /// Watched bytes.
    #[must_use]
    pub const fn range(&self) -> AddressRange {
        self.range
    }
    /// Watched access kinds (never empty; execute never mixed with data).
    #[must_use]
    pub const fn access(&self) -> AccessKind {
        self.access
    }
    /// Whether this is an instruction breakpoint.
    #[must_use]
    pub const fn is_execute(&self) -> bool {
        self.access.contains(AccessKind::EXECUTE)
    }
    /// Which tasks and CPUs it watches.
    #[must_use]
    pub const fn scope(&self) -> Scope {
        self.scope
    }
    /// Whose accesses match.
    #[must_use]
    pub const fn privilege(&self) -> PrivilegeFilter {
        self.privilege
    }
    /// Who asked.
    #[must_use]
    pub const fn origin(&self) -> Origin {
        self.origin
    }
    /// When the consumer hears of a hit.
    #[must_use]
    pub const fn delivery(&self) -> Delivery {
        self.delivery
    }
    /// Reservation class.
    #[must_use]
    pub const fn pinning(&self) -> Pinning {
        self.pinning
    }
    /// Slot-sharing preference.
    #[must_use]
    pub const fn sharing(&self) -> Sharing {
        self.sharing
    }
}

/// Collects the fields of a [`Request`]; [`build`](Self::build) validates them.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct RequestBuilder {
    addr: u64,
    len: u64,
    access: AccessKind,
    scope: Scope,
    privilege: PrivilegeFilter,
    origin: Origin,
    delivery: Option<Delivery>,
    pinning: Pinning,
    sharing: Sharing,
}

impl RequestBuilder {
    /// Which tasks and CPUs the request watches.
    pub const fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }
    /// Whose accesses match.
    pub const fn privilege(mut self, privilege: PrivilegeFilter) -> Self {
        self.privilege = privilege;
        self
    }
    /// Who asks (decides which addresses may be watched).
    pub const fn origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }
    /// When to deliver hits.
    pub const fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = Some(delivery);
        self
    }
    /// Reservation class.
    pub const fn pinning(mut self, pinning: Pinning) -> Self {
        self.pinning = pinning;
        self
    }
    /// Slot-sharing preference.
    pub const fn sharing(mut self, sharing: Sharing) -> Self {
        self.sharing = sharing;
        self
    }

    /// Check the architecture-neutral rules and produce the request.
    ///
    /// # Errors
    /// [`RequestError::EmptyRange`], [`RequestError::RangeWraps`],
    /// [`RequestError::NoAccessKind`], [`RequestError::ExecuteWithData`],
    /// [`RequestError::NoPrivilege`].
    pub const fn build(self) -> Result<Request, RequestError> {
        let range = match AddressRange::new(self.addr, self.len) {
            Ok(range) => range,
            Err(e) => return Err(e),
        };
        if self.access.is_empty() {
            return Err(RequestError::NoAccessKind);
        }
        if self.access.contains(AccessKind::EXECUTE) && self.access.is_data() {
            return Err(RequestError::ExecuteWithData {
                access: self.access,
            });
        }
        if self.privilege.is_empty() {
            return Err(RequestError::NoPrivilege);
        }
        let delivery = match self.delivery {
            Some(d) => d,
            None if self.access.contains(AccessKind::EXECUTE) => Delivery::Native,
            None => Delivery::After,
        };
        Ok(Request {
            range,
            access: self.access,
            scope: self.scope,
            privilege: self.privilege,
            origin: self.origin,
            delivery,
            pinning: self.pinning,
            sharing: self.sharing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_generic_error() {
        let b = |addr, len, access| Request::builder(addr, len, access);
        assert_eq!(
            b(8, 0, AccessKind::READ).build(),
            Err(RequestError::EmptyRange { addr: 8 })
        );
        assert_eq!(
            b(u64::MAX, 8, AccessKind::READ).build(),
            Err(RequestError::RangeWraps {
                addr: u64::MAX,
                len: 8
            })
        );
        assert_eq!(
            b(8, 1, AccessKind::empty()).build(),
            Err(RequestError::NoAccessKind)
        );
        assert_eq!(
            b(8, 1, AccessKind::WRITE | AccessKind::EXECUTE).build(),
            Err(RequestError::ExecuteWithData {
                access: AccessKind::WRITE | AccessKind::EXECUTE
            })
        );
        assert_eq!(
            b(8, 1, AccessKind::WRITE)
                .privilege(PrivilegeFilter::empty())
                .build(),
            Err(RequestError::NoPrivilege)
        );
    }

    #[test]
    fn delivery_defaults_follow_the_kind() {
        let data = Request::builder(8, 1, AccessKind::WRITE).build().unwrap();
        let exec = Request::builder(8, 1, AccessKind::EXECUTE).build().unwrap();
        assert_eq!(data.delivery(), Delivery::After);
        assert_eq!(exec.delivery(), Delivery::Native);
    }

    proptest! {
        #[test]
        fn build_never_panics(addr: u64, len: u64, access in 0u8..8, privilege in 0u8..8) {
            let r = Request::builder(addr, len, AccessKind::from_bits_truncate(access))
                .privilege(PrivilegeFilter::from_bits_truncate(privilege))
                .build();
            if let Ok(r) = r {
                prop_assert_eq!(r.range().start(), addr);
                prop_assert_eq!(r.range().len(), len);
            }
        }
    }
}
