//! The two-bit LEN field of DR7: how many bytes a slot watches.

/// The LEN*n* field of DR7 (bits `18 + 4n` and `19 + 4n`), Intel SDM Vol. 3B §18.2.4
/// "Debug Control Register (DR7)". The encoding is not monotonic: 8 bytes is `10`, 4 bytes `11`.
///
/// A slot watches the `bytes()` bytes starting at its address with the low
/// `log2(bytes())` bits cleared (SDM §18.2.5 "Breakpoint Field Recognition"); an address
/// that is not so aligned "does not yield valid results", so this crate never builds one.
///
/// `10` means 8 bytes on Intel 64 and AMD64 processors and is undefined on older IA-32
/// processors; whether a CPU profile may use it is data of the profile
/// ([`X86Profile::has_eight_byte_length`](crate::X86Profile::has_eight_byte_length)).
///
/// ```
/// use hwbkpt_x86::BreakpointLength;
///
/// assert_eq!(BreakpointLength::from_bytes(8), Some(BreakpointLength::Eight));
/// assert_eq!(BreakpointLength::Eight.bits(), 0b10);
/// assert_eq!(BreakpointLength::from_bytes(3), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum BreakpointLength {
    /// `00`: one byte (the only length an execute breakpoint may use).
    One = 0b00,
    /// `01`: two bytes, word aligned.
    Two = 0b01,
    /// `11`: four bytes, doubleword aligned.
    Four = 0b11,
    /// `10`: eight bytes, quadword aligned (Intel 64 / AMD64 only).
    Eight = 0b10,
}

impl BreakpointLength {
    /// Width of the field in DR7.
    pub const FIELD_BITS: u32 = 2;

    /// The encoding for `bytes` bytes, or `None` unless `bytes` is 1, 2, 4 or 8.
    #[must_use]
    pub const fn from_bytes(bytes: u64) -> Option<Self> {
        match bytes {
            1 => Some(Self::One),
            2 => Some(Self::Two),
            4 => Some(Self::Four),
            8 => Some(Self::Eight),
            _ => None,
        }
    }

    /// The length encoded by the low two bits of `bits`; `None` if any higher bit is set.
    #[must_use]
    pub const fn from_bits(bits: u64) -> Option<Self> {
        match bits {
            0b00 => Some(Self::One),
            0b01 => Some(Self::Two),
            0b11 => Some(Self::Four),
            0b10 => Some(Self::Eight),
            _ => None,
        }
    }

    /// The two-bit encoding.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self as u64
    }

    /// Number of bytes watched.
    #[must_use]
    pub const fn bytes(self) -> u64 {
        match self {
            Self::One => 1,
            Self::Two => 2,
            Self::Four => 4,
            Self::Eight => 8,
        }
    }

    /// Whether `address` is aligned as this length requires.
    #[must_use]
    pub const fn is_aligned(self, address: u64) -> bool {
        address & (self.bytes() - 1) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodings_from_the_sdm() {
        assert_eq!(BreakpointLength::One.bits(), 0b00);
        assert_eq!(BreakpointLength::Two.bits(), 0b01);
        assert_eq!(BreakpointLength::Four.bits(), 0b11);
        assert_eq!(BreakpointLength::Eight.bits(), 0b10);
    }

    #[test]
    fn alignment() {
        assert!(BreakpointLength::Eight.is_aligned(0x1000));
        assert!(!BreakpointLength::Eight.is_aligned(0x1004));
        assert!(BreakpointLength::Four.is_aligned(0x1004));
        assert!(BreakpointLength::One.is_aligned(0x1003));
    }

    proptest! {
        #[test]
        fn from_bytes_accepts_exactly_the_four_lengths(bytes: u64) {
            match BreakpointLength::from_bytes(bytes) {
                Some(len) => prop_assert_eq!(len.bytes(), bytes),
                None => prop_assert!(![1, 2, 4, 8].contains(&bytes)),
            }
        }

        #[test]
        fn from_bits_is_total_on_two_bits_and_round_trips(bits: u64) {
            match BreakpointLength::from_bits(bits) {
                Some(len) => prop_assert_eq!(len.bits(), bits),
                None => prop_assert!(bits > 0b11),
            }
        }
    }
}
