//! Address ranges that cannot overflow.

use core::fmt;

use crate::error::RequestError;

/// A non-empty byte range `[start, start + len)` in a virtual address space.
///
/// Construction rejects empty ranges and ranges whose end would wrap past `u64::MAX`,
/// so every method here is free of overflow.
///
/// ```
/// use hwbkpt_hal::AddressRange;
///
/// let r = AddressRange::new(0x1000, 4).unwrap();
/// assert_eq!(r.last(), 0x1003);
/// assert!(AddressRange::new(u64::MAX, 2).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddressRange {
    start: u64,
    len: u64,
}

impl AddressRange {
    /// A range of `len` bytes starting at `start`.
    ///
    /// # Errors
    /// [`RequestError::EmptyRange`] when `len` is zero, [`RequestError::RangeWraps`] when
    /// `start + len` does not fit in 64 bits.
    pub const fn new(start: u64, len: u64) -> Result<Self, RequestError> {
        if len == 0 {
            return Err(RequestError::EmptyRange { addr: start });
        }
        if start.checked_add(len).is_none() {
            return Err(RequestError::RangeWraps { addr: start, len });
        }
        Ok(Self { start, len })
    }

    /// The range from `first` to `last`, both included.
    ///
    /// # Errors
    /// [`RequestError::EmptyRange`] when `last < first`, [`RequestError::RangeWraps`] when
    /// `last` is `u64::MAX` (the exclusive end would not fit).
    pub const fn from_inclusive(first: u64, last: u64) -> Result<Self, RequestError> {
        if last < first {
            return Err(RequestError::EmptyRange { addr: first });
        }
        match (last - first).checked_add(1) {
            Some(len) => Self::new(first, len),
            // Every address: 2^64 bytes, one more than a length can say.
            None => Err(RequestError::RangeWraps {
                addr: first,
                len: u64::MAX,
            }),
        }
    }

    /// First byte.
    #[must_use]
    pub const fn start(&self) -> u64 {
        self.start
    }

    /// Number of bytes (never zero).
    #[must_use]
    pub const fn len(&self) -> u64 {
        self.len
    }

    /// Always `false`: ranges are non-empty by construction. Present for API symmetry.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// One past the last byte (cannot overflow, see [`AddressRange::new`]).
    #[must_use]
    pub const fn end(&self) -> u64 {
        self.start + self.len
    }

    /// Last byte, included.
    #[must_use]
    pub const fn last(&self) -> u64 {
        self.start + (self.len - 1)
    }

    /// Whether `addr` lies inside the range.
    #[must_use]
    pub const fn contains(&self, addr: u64) -> bool {
        addr >= self.start && addr < self.end()
    }

    /// Whether every byte of `other` lies inside `self`.
    #[must_use]
    pub const fn covers(&self, other: &Self) -> bool {
        other.start >= self.start && other.end() <= self.end()
    }

    /// Whether the two ranges share at least one byte.
    #[must_use]
    pub const fn overlaps(&self, other: &Self) -> bool {
        self.start < other.end() && other.start < self.end()
    }

    /// The bytes the two ranges share, if any.
    #[must_use]
    pub const fn intersection(&self, other: &Self) -> Option<Self> {
        if !self.overlaps(other) {
            return None;
        }
        let start = if self.start > other.start {
            self.start
        } else {
            other.start
        };
        let end = if self.end() < other.end() {
            self.end()
        } else {
            other.end()
        };
        Some(Self {
            start,
            len: end - start,
        })
    }

    /// The smallest range of whole `granule`-byte blocks (aligned to `granule`) that covers
    /// `self`; `None` when `granule` is not a power of two or rounding up would pass `u64::MAX`.
    #[must_use]
    pub const fn rounded_out(&self, granule: u64) -> Option<Self> {
        if !granule.is_power_of_two() {
            return None;
        }
        let start = self.start & !(granule - 1);
        let Some(end) = self.end().checked_add(granule - 1) else {
            return None;
        };
        let end = end & !(granule - 1);
        if end <= start {
            return None;
        }
        Some(Self {
            start,
            len: end - start,
        })
    }
}

impl fmt::Debug for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}+{}", self.start, self.len)
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}+{}", self.start, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_inclusive_range_holds_both_ends() {
        let range = AddressRange::from_inclusive(0x10, 0x17).unwrap();
        assert_eq!((range.start(), range.len()), (0x10, 8));
        assert!(!range.is_empty(), "a validated range holds a byte at least");
        assert_eq!(AddressRange::from_inclusive(5, 5).map(|r| r.len()), Ok(1));
        assert_eq!(
            AddressRange::from_inclusive(6, 5),
            Err(RequestError::EmptyRange { addr: 6 })
        );
        // The last address never fits: the exclusive end would be 2^64.
        for first in [0, 5, u64::MAX] {
            assert!(
                matches!(
                    AddressRange::from_inclusive(first, u64::MAX),
                    Err(RequestError::RangeWraps { addr, .. }) if addr == first
                ),
                "{first:#x}"
            );
        }
    }

    #[test]
    fn adjacent_ranges_share_no_byte() {
        let (low, high) = (
            AddressRange::new(0x10, 8).unwrap(),
            AddressRange::new(0x18, 8).unwrap(),
        );
        assert!(!low.overlaps(&high) && !high.overlaps(&low));
        assert_eq!(low.intersection(&high), None);
        assert!(AddressRange::new(0x17, 2).unwrap().overlaps(&high));
        assert!(low.contains(0x17) && !low.contains(0x18) && !high.contains(0x17));
    }

    #[test]
    fn ranges_print_as_start_plus_length() {
        extern crate std;
        let range = AddressRange::new(0x1000, 8).unwrap();
        assert_eq!(std::format!("{range:?} {range}"), "0x1000+8 0x1000+8");
    }

    #[test]
    fn rejects_empty_and_wrapping() {
        assert_eq!(
            AddressRange::new(5, 0),
            Err(RequestError::EmptyRange { addr: 5 })
        );
        assert_eq!(
            AddressRange::new(u64::MAX, 1),
            Err(RequestError::RangeWraps {
                addr: u64::MAX,
                len: 1
            })
        );
        assert!(AddressRange::new(u64::MAX - 1, 1).is_ok());
    }

    #[test]
    fn rounding_to_doublewords() {
        let r = AddressRange::new(0x1003, 6).unwrap();
        assert_eq!(
            r.rounded_out(8),
            Some(AddressRange::new(0x1000, 16).unwrap())
        );
        assert_eq!(r.rounded_out(3), None);
        let top = AddressRange::new(u64::MAX - 3, 2).unwrap();
        assert_eq!(top.rounded_out(8), None);
    }

    proptest! {
        #[test]
        fn construction_never_panics(start: u64, len: u64) {
            if let Ok(r) = AddressRange::new(start, len) {
                prop_assert_eq!(r.last() - r.start() + 1, len);
                prop_assert!(r.contains(start) && r.contains(r.last()));
            }
        }

        #[test]
        fn intersection_is_what_both_contain(a in 0u64..256, al in 1u64..64, b in 0u64..256, bl in 1u64..64, probe in 0u64..400) {
            let (x, y) = (AddressRange::new(a, al).unwrap(), AddressRange::new(b, bl).unwrap());
            let both = x.contains(probe) && y.contains(probe);
            let inter = x.intersection(&y).is_some_and(|i| i.contains(probe));
            prop_assert_eq!(both, inter);
            // Overlap means a shared byte, so adjacent ranges do not overlap.
            let shared = (x.start()..x.end()).any(|byte| y.contains(byte));
            prop_assert_eq!(x.overlaps(&y), shared);
            let first_shared = (x.start()..x.end()).find(|byte| y.contains(*byte));
            let last_shared = (x.start()..x.end()).rev().find(|byte| y.contains(*byte));
            let exact = first_shared
                .zip(last_shared)
                .map(|(first, last)| AddressRange::from_inclusive(first, last).unwrap());
            prop_assert_eq!(x.intersection(&y), exact);
            prop_assert_eq!(x.covers(&y), (y.start()..y.end()).all(|byte| x.contains(byte)));
        }

        #[test]
        fn rounded_out_covers_and_is_aligned(start in 0u64..u64::MAX / 2, len in 1u64..4096, shift in 0u32..10) {
            let granule = 1u64 << shift;
            let r = AddressRange::new(start, len).unwrap();
            let rounded = r.rounded_out(granule).unwrap();
            prop_assert!(rounded.covers(&r));
            prop_assert_eq!(rounded.start() % granule, 0);
            prop_assert_eq!(rounded.len() % granule, 0);
            prop_assert!(rounded.len() < r.len() + 2 * granule);
            // The smallest such range: no whole granule to spare at either end.
            prop_assert!(rounded.start() + granule > r.start());
            prop_assert!(rounded.end() - granule < r.end());
        }
    }
}
