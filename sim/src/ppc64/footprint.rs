//! Which bytes a data breakpoint compares an access against: the hardware matches per
//! doubleword, not per byte.
//!
//! Power ISA Book III ("Data Address Watchpoint", "Data Address Breakpoint"): a match occurs
//! when any doubleword the access touches is a watched doubleword. Before POWER10, quadword
//! (16-byte) accesses are compared per 16-byte granule; `dcbz` is compared over the whole
//! cache block it zeroes (Linux `hw_breakpoint.c` aligns the decoded `dcbz` address down to
//! the block for the same reason). Ranges are `u128` so that an access or a watch at the
//! top of the address space never overflows (the model never panics on any image).

use hwbkpt_hal::{AccessClass, DecodedAccess};

use super::CpuProfile;

/// A half-open byte range `[start, end)` in a 65-bit space (no overflow at `u64::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteRange {
    /// First byte.
    pub start: u128,
    /// One past the last byte.
    pub end: u128,
}

impl ByteRange {
    /// `[start, start + len)`.
    #[must_use]
    pub const fn new(start: u64, len: u64) -> Self {
        Self {
            start: start as u128,
            end: start as u128 + len as u128,
        }
    }

    /// The common bytes, if any.
    #[must_use]
    pub fn intersect(self, other: Self) -> Option<Self> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start < end).then_some(Self { start, end })
    }

    /// Widened outwards to multiples of `granule` (a power of two).
    #[must_use]
    pub const fn aligned_out(self, granule: u64) -> Self {
        let g = granule as u128;
        Self {
            start: self.start & !(g - 1),
            end: (self.end + g - 1) & !(g - 1),
        }
    }

    /// Whether the range holds no byte.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.start >= self.end
    }
}

/// The bytes an access really reads or writes.
#[must_use]
pub fn accessed_bytes(access: &DecodedAccess) -> ByteRange {
    ByteRange::new(access.addr, u64::from(access.size))
}

/// The bytes the hardware compares against the watched doublewords: the access widened to
/// doublewords, to 16-byte granules for pre-POWER10 quadword accesses, and to the cache
/// block for `dcbz` (whose decoded access already is the block).
#[must_use]
pub fn match_footprint(access: &DecodedAccess, profile: &CpuProfile) -> ByteRange {
    let granule = match (access.class, access.size) {
        (AccessClass::CacheBlock, _) => 8,
        (_, 16) => profile.quadword_granule(),
        _ => 8,
    };
    accessed_bytes(access).aligned_out(granule)
}

#[cfg(test)]
mod tests {
    use hwbkpt_hal::AccessKind;

    use super::*;

    fn access(addr: u64, size: u32) -> DecodedAccess {
        DecodedAccess {
            addr,
            size,
            kind: AccessKind::READ,
            class: AccessClass::Plain,
        }
    }

    #[test]
    fn byte_accesses_widen_to_their_doubleword() {
        let f = match_footprint(&access(0x1005, 2), &CpuProfile::POWER10);
        assert_eq!(f, ByteRange::new(0x1000, 8));
        // An access straddling a doubleword boundary touches both.
        let f = match_footprint(&access(0x1007, 2), &CpuProfile::POWER10);
        assert_eq!(f, ByteRange::new(0x1000, 16));
    }

    #[test]
    fn quadwords_widen_to_16_bytes_before_power10() {
        // DESIGN §4: 16 bytes for pre-POWER10 quadword accesses.
        let q = access(0x1008, 16);
        assert_eq!(
            match_footprint(&q, &CpuProfile::POWER9_DANGEROUS),
            ByteRange::new(0x1000, 32)
        );
        assert_eq!(
            match_footprint(&q, &CpuProfile::POWER10),
            ByteRange::new(0x1008, 16)
        );
    }

    #[test]
    fn top_of_address_space_does_not_overflow() {
        let f = match_footprint(&access(u64::MAX, 32), &CpuProfile::POWER10);
        assert!(f.end > u128::from(u64::MAX));
        assert!(!f.is_empty());
    }
}
