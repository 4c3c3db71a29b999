//! The address fields of the breakpoint registers.

use core::fmt;

/// A doubleword-aligned effective address: the address field of DABR and DAWR0/1
/// (IBM bits 0:60, LSB mask `!0x7`; Power ISA v3.1 Book III §9.4, Linux `reg.h`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(transparent)]
pub struct DoublewordAddress(u64);

impl DoublewordAddress {
    /// LSB mask of the address bits (IBM 0:60).
    pub const MASK: u64 = !0x7;

    /// `addr` if it is doubleword aligned.
    #[must_use]
    pub const fn new(addr: u64) -> Option<Self> {
        if addr & !Self::MASK == 0 {
            Some(Self(addr))
        } else {
            None
        }
    }

    /// The doubleword that contains `addr` (its low three bits cleared).
    #[must_use]
    pub const fn containing(addr: u64) -> Self {
        Self(addr & Self::MASK)
    }

    /// The address.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for DoublewordAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A word-aligned instruction address: the address field of CIABR
/// (IBM bits 0:61, LSB mask `!0x3`; Power ISA v3.1 Book III §9.3 CIABR).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(transparent)]
pub struct WordAddress(u64);

impl WordAddress {
    /// LSB mask of the address bits (IBM 0:61).
    pub const MASK: u64 = !0x3;

    /// `addr` if it is word aligned (every PowerPC instruction is).
    #[must_use]
    pub const fn new(addr: u64) -> Option<Self> {
        if addr & !Self::MASK == 0 {
            Some(Self(addr))
        } else {
            None
        }
    }

    /// The word that contains `addr` (its low two bits cleared).
    #[must_use]
    pub const fn containing(addr: u64) -> Self {
        Self(addr & Self::MASK)
    }

    /// The address.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for WordAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

const _: () = assert!(DoublewordAddress::MASK == crate::ibm_field(0, 60));
const _: () = assert!(WordAddress::MASK == crate::ibm_field(0, 61));

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn alignment() {
        assert_eq!(
            DoublewordAddress::new(0x1008).map(DoublewordAddress::get),
            Some(0x1008)
        );
        assert_eq!(DoublewordAddress::new(0x1004), None);
        assert_eq!(DoublewordAddress::containing(0x100f).get(), 0x1008);
        assert_eq!(WordAddress::new(0x1004).map(WordAddress::get), Some(0x1004));
        assert_eq!(WordAddress::new(0x1002), None);
        assert_eq!(WordAddress::containing(0x1007).get(), 0x1004);
        assert_eq!(
            format!(
                "{:?} {:?}",
                DoublewordAddress::containing(0x100f),
                WordAddress::containing(0x1007)
            ),
            "0x1008 0x1004"
        );
    }

    proptest! {
        #[test]
        fn containing_is_aligned_and_close(addr: u64) {
            let d = DoublewordAddress::containing(addr);
            prop_assert_eq!(DoublewordAddress::new(d.get()), Some(d));
            prop_assert!(addr - d.get() < 8);
            let w = WordAddress::containing(addr);
            prop_assert_eq!(WordAddress::new(w.get()), Some(w));
            prop_assert!(addr - w.get() < 4);
        }
    }
}
