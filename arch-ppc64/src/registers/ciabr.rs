//! CIABR, the Completed Instruction Address Breakpoint Register (SPR 187; POWER8 and later).
//!
//! Layout (Power ISA v3.1 Book III §9.3 "Completed Instruction Address Breakpoint"; Linux
//! `arch/powerpc/include/asm/reg.h` `CIABR_PRIV*`):
//!
//! | IBM bits | LSB mask | field                                                 |
//! |----------|----------|-------------------------------------------------------|
//! | 0:61     | `!0x3`   | instruction (word) address                            |
//! | 62:63    | `0x3`    | PRIV: 0 off, 1 problem state, 2 privileged non-hypervisor, 3 hypervisor |
//!
//! A match is reported by a trace interrupt *after* the instruction completes (SRR0/NIP is
//! the next instruction to run); see [`Srr1`](crate::Srr1).

use hwbkpt_hal::PrivilegeFilter;

use super::WordAddress;
use crate::registers::Spr;

/// The PRIV field of CIABR: the one privilege state whose instructions match.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(transparent)]
pub struct CiabrPrivilege(u8);

impl CiabrPrivilege {
    /// 0: the breakpoint is disabled.
    pub const OFF: Self = Self(0);
    /// 1: match in problem state (`CIABR_PRIV_USER`).
    pub const USER: Self = Self(1);
    /// 2: match in privileged non-hypervisor state (`CIABR_PRIV_SUPER`).
    pub const KERNEL: Self = Self(2);
    /// 3: match in hypervisor state (`CIABR_PRIV_HYPER`).
    pub const HYPERVISOR: Self = Self(3);
    /// LSB mask of the field (IBM bits 62:63).
    pub const MASK: u64 = 0x3;

    /// PRIV `value` if it fits the 2-bit field.
    #[must_use]
    pub const fn new(value: u8) -> Option<Self> {
        if value as u64 <= Self::MASK {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The field of a raw CIABR value.
    #[must_use]
    pub const fn from_register(bits: u64) -> Self {
        // Two bits: at most 3.
        Self((bits & Self::MASK) as u8)
    }

    /// The field value.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The CIABR setting for a privilege filter, when CIABR can express it: exactly one of
    /// user, kernel, hypervisor.
    #[must_use]
    pub const fn from_filter(filter: PrivilegeFilter) -> Option<Self> {
        if filter.bits() == PrivilegeFilter::USER.bits() {
            Some(Self::USER)
        } else if filter.bits() == PrivilegeFilter::KERNEL.bits() {
            Some(Self::KERNEL)
        } else if filter.bits() == PrivilegeFilter::HYPERVISOR.bits() {
            Some(Self::HYPERVISOR)
        } else {
            None
        }
    }

    /// The privilege filter this setting applies (empty for [`OFF`](Self::OFF)).
    #[must_use]
    pub const fn to_filter(self) -> PrivilegeFilter {
        match self.0 {
            1 => PrivilegeFilter::USER,
            2 => PrivilegeFilter::KERNEL,
            3 => PrivilegeFilter::HYPERVISOR,
            _ => PrivilegeFilter::empty(),
        }
    }
}

impl core::fmt::Debug for CiabrPrivilege {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self.0 {
            0 => "OFF",
            1 => "USER",
            2 => "KERNEL",
            _ => "HYPERVISOR",
        })
    }
}

/// The CIABR value: a word address and a [`CiabrPrivilege`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Ciabr(u64);

impl Ciabr {
    /// The SPR number (`SPRN_CIABR` 0xBB).
    pub const SPR: u16 = Spr::CIABR;

    /// A CIABR matching the instruction at `address` in `privilege`.
    #[must_use]
    pub const fn new(address: WordAddress, privilege: CiabrPrivilege) -> Self {
        Self(address.get() | privilege.get() as u64)
    }

    /// The register exactly as read.
    #[must_use]
    pub const fn from_bits(bits: u64) -> Self {
        Self(bits)
    }

    /// The raw value to write.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The instruction address.
    #[must_use]
    pub const fn address(self) -> WordAddress {
        WordAddress::containing(self.0)
    }

    /// The same register with `address`.
    #[must_use]
    pub const fn with_address(self, address: WordAddress) -> Self {
        Self((self.0 & CiabrPrivilege::MASK) | address.get())
    }

    /// The privilege field.
    #[must_use]
    pub const fn privilege(self) -> CiabrPrivilege {
        CiabrPrivilege::from_register(self.0)
    }

    /// The same register with `privilege`.
    #[must_use]
    pub const fn with_privilege(self, privilege: CiabrPrivilege) -> Self {
        Self((self.0 & WordAddress::MASK) | privilege.get() as u64)
    }

    /// Whether the breakpoint can match (PRIV ≠ 0).
    #[must_use]
    pub const fn is_armed(self) -> bool {
        self.privilege().get() != CiabrPrivilege::OFF.get()
    }
}

const _: () = assert!(CiabrPrivilege::MASK == crate::ibm_field(62, 63));

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn privilege_values_match_linux() {
        assert_eq!(CiabrPrivilege::USER.get(), 1);
        assert_eq!(CiabrPrivilege::KERNEL.get(), 2);
        assert_eq!(CiabrPrivilege::HYPERVISOR.get(), 3);
        assert_eq!(CiabrPrivilege::new(4), None);
        assert_eq!(Ciabr::SPR, 187);
    }

    #[test]
    fn filters() {
        for p in [
            CiabrPrivilege::USER,
            CiabrPrivilege::KERNEL,
            CiabrPrivilege::HYPERVISOR,
        ] {
            assert_eq!(CiabrPrivilege::from_filter(p.to_filter()), Some(p));
        }
        assert_eq!(CiabrPrivilege::from_filter(PrivilegeFilter::all()), None);
        assert_eq!(CiabrPrivilege::from_filter(PrivilegeFilter::empty()), None);
        assert_eq!(CiabrPrivilege::OFF.to_filter(), PrivilegeFilter::empty());
        assert!(!Ciabr::new(WordAddress::containing(0x1000), CiabrPrivilege::OFF).is_armed());
        assert!(Ciabr::new(WordAddress::containing(0x1000), CiabrPrivilege::USER).is_armed());
    }

    #[test]
    fn a_new_address_keeps_the_privilege() {
        let (from, to) = (
            WordAddress::containing(0x1000),
            WordAddress::containing(0x2004),
        );
        for privilege in [
            CiabrPrivilege::OFF,
            CiabrPrivilege::USER,
            CiabrPrivilege::KERNEL,
        ] {
            let moved = Ciabr::new(from, privilege).with_address(to);
            assert_eq!(moved, Ciabr::new(to, privilege), "{privilege:?}");
        }
    }

    #[test]
    fn privileges_print_by_name() {
        let names = [
            (CiabrPrivilege::OFF, "OFF"),
            (CiabrPrivilege::USER, "USER"),
            (CiabrPrivilege::KERNEL, "KERNEL"),
            (CiabrPrivilege::HYPERVISOR, "HYPERVISOR"),
        ];
        for (privilege, name) in names {
            assert_eq!(format!("{privilege:?}"), name);
        }
    }

    proptest! {
        #[test]
        fn encode_decode_is_identity(addr: u64, privilege in 0u8..4) {
            let a = WordAddress::containing(addr);
            let p = CiabrPrivilege::new(privilege).unwrap();
            let c = Ciabr::new(a, p);
            prop_assert_eq!(c.address(), a);
            prop_assert_eq!(c.privilege(), p);
        }

        #[test]
        fn decode_encode_is_identity(raw: u64) {
            let c = Ciabr::from_bits(raw);
            prop_assert_eq!(Ciabr::new(c.address(), c.privilege()).bits(), raw);
            prop_assert_eq!(c.with_address(c.address()).with_privilege(c.privilege()), c);
        }

        #[test]
        fn privilege_new_never_panics(v: u8) {
            prop_assert_eq!(CiabrPrivilege::new(v).is_some(), v < 4);
        }
    }
}
