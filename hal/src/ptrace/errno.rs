//! The error numbers a ptrace debug-register request answers with.

use core::fmt;

use crate::{DispatchError, RequestError, ReserveError};

/// A Linux error number, as ptrace returns it for debug-register requests.
///
/// Only the numbers these requests produce are named; [`Errno::code`] gives the value of
/// the generic Linux `errno.h` (the same on x86-64 and PPC64), [`Errno::name`] its symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Errno {
    /// 1: operation not permitted.
    EPERM,
    /// 2: no such entry (PPC64 `DELHWDEBUG` of an empty handle).
    ENOENT,
    /// 3: no such process (not traced, or not stopped).
    ESRCH,
    /// 5: I/O error (no such register: x86 DR4/DR5; PPC64 addresses at or above the user
    /// limit, a DABR value without the translation bit).
    EIO,
    /// 12: out of memory (a full request table).
    ENOMEM,
    /// 16: busy (another context is updating the reservations and the caller may not
    /// wait).
    EBUSY,
    /// 19: no such device (PPC64: the CPU has no usable data breakpoint).
    ENODEV,
    /// 22: invalid argument.
    EINVAL,
    /// 28: no space left (every debug-register slot is taken).
    ENOSPC,
    /// 524: operation not supported (the kernel-internal `ENOTSUPP` PPC64 returns for an
    /// unknown `ppc_hw_breakpoint` version; not in the uapi headers).
    ENOTSUPP,
}

impl Errno {
    /// Every named error number.
    pub const ALL: [Self; 10] = [
        Self::EPERM,
        Self::ENOENT,
        Self::ESRCH,
        Self::EIO,
        Self::ENOMEM,
        Self::EBUSY,
        Self::ENODEV,
        Self::EINVAL,
        Self::ENOSPC,
        Self::ENOTSUPP,
    ];

    /// The number (positive, as in `errno`).
    #[must_use]
    pub const fn code(self) -> i32 {
        match self {
            Self::EPERM => 1,
            Self::ENOENT => 2,
            Self::ESRCH => 3,
            Self::EIO => 5,
            Self::ENOMEM => 12,
            Self::EBUSY => 16,
            Self::ENODEV => 19,
            Self::EINVAL => 22,
            Self::ENOSPC => 28,
            Self::ENOTSUPP => 524,
        }
    }

    /// The error named by `code`, if it is one of these.
    #[must_use]
    pub const fn from_code(code: i32) -> Option<Self> {
        let mut i = 0;
        while i < Self::ALL.len() {
            if Self::ALL[i].code() == code {
                return Some(Self::ALL[i]);
            }
            i += 1;
        }
        None
    }

    /// The symbol (`"EINVAL"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::EPERM => "EPERM",
            Self::ENOENT => "ENOENT",
            Self::ESRCH => "ESRCH",
            Self::EIO => "EIO",
            Self::ENOMEM => "ENOMEM",
            Self::EBUSY => "EBUSY",
            Self::ENODEV => "ENODEV",
            Self::EINVAL => "EINVAL",
            Self::ENOSPC => "ENOSPC",
            Self::ENOTSUPP => "ENOTSUPP",
        }
    }

    /// The error named `name` (`"EINVAL"`), if it is one of these.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// What a HAL refusal of a ptrace-made request means to the tracer: no free slot
    /// ([`DispatchError::is_out_of_slots`]) is `ENOSPC`, full fixed tables `ENOMEM`, a
    /// reservation update in progress elsewhere `EBUSY`, anything wrong with the request
    /// itself `EINVAL` (Linux's x86 and PPC64 hardware-breakpoint layers answer `EINVAL` for
    /// kernel addresses, misalignment and unsupported fields alike).
    #[must_use]
    pub fn from_dispatch(error: &DispatchError) -> Self {
        if error.is_out_of_slots() {
            return Self::ENOSPC;
        }
        match error {
            DispatchError::Request(e) => Self::from_request(e),
            DispatchError::Reserve(
                ReserveError::CapacityExhausted { .. } | ReserveError::WouldAllocate { .. },
            ) => Self::ENOMEM,
            DispatchError::Reserve(ReserveError::Busy) => Self::EBUSY,
            _ => Self::EINVAL,
        }
    }

    /// [`Errno::from_dispatch`] for a refusal before reservation.
    #[must_use]
    pub const fn from_request(error: &RequestError) -> Self {
        match error {
            RequestError::TooManySlots { .. } | RequestError::NoSlots { .. } => Self::ENOSPC,
            _ => Self::EINVAL,
        }
    }

    const fn description(self) -> &'static str {
        match self {
            Self::EPERM => "operation not permitted",
            Self::ENOENT => "no such entry",
            Self::ESRCH => "no such process",
            Self::EIO => "input/output error",
            Self::ENOMEM => "out of memory",
            Self::EBUSY => "device or resource busy",
            Self::ENODEV => "no such device",
            Self::EINVAL => "invalid argument",
            Self::ENOSPC => "no space left (all debug-register slots are in use)",
            Self::ENOTSUPP => "operation not supported",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.name(),
            self.code(),
            self.description()
        )
    }
}

impl core::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for e in Errno::ALL {
            assert_eq!(Errno::from_code(e.code()), Some(e));
            assert_eq!(Errno::from_name(e.name()), Some(e));
        }
        assert_eq!(Errno::from_code(0), None);
        assert_eq!(Errno::from_name("EAGAIN"), None);
    }

    #[test]
    fn linux_numbers() {
        // include/uapi/asm-generic/errno-base.h; ENOTSUPP from include/linux/errno.h.
        let table = [
            (Errno::EPERM, 1),
            (Errno::ENOENT, 2),
            (Errno::ESRCH, 3),
            (Errno::EIO, 5),
            (Errno::ENOMEM, 12),
            (Errno::EBUSY, 16),
            (Errno::ENODEV, 19),
            (Errno::EINVAL, 22),
            (Errno::ENOSPC, 28),
            (Errno::ENOTSUPP, 524),
        ];
        for (e, code) in table {
            assert_eq!(e.code(), code, "{e:?}");
        }
    }

    #[test]
    fn dispatch_refusals() {
        let misaligned = RequestError::Misaligned {
            register: "DR0-DR3",
            addr: 0x1001,
            align: 8,
        };
        assert_eq!(
            Errno::from_dispatch(&DispatchError::Request(misaligned)),
            Errno::EINVAL
        );
        let full = DispatchError::Reserve(ReserveError::CapacityExhausted { what: "tasks" });
        assert_eq!(Errno::from_dispatch(&full), Errno::ENOMEM);
        assert_eq!(
            Errno::from_dispatch(&DispatchError::Reserve(ReserveError::Busy)),
            Errno::EBUSY
        );
        let none_left = DispatchError::Reserve(ReserveError::NeverFits {
            pool: crate::PoolKind::Data,
            weight: 1,
            slots: 0,
        });
        assert_eq!(Errno::from_dispatch(&none_left), Errno::ENOSPC);
        assert_eq!(
            Errno::from_request(&RequestError::TooManySlots {
                needed: 5,
                available: 4
            }),
            Errno::ENOSPC
        );
    }
}
