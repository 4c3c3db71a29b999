//! The two-bit R/W field of DR7: what kind of access a slot breaks on.

use hwbkpt_hal::AccessKind;

/// The R/W*n* field of DR7 (bits `16 + 4n` and `17 + 4n`), Intel SDM Vol. 3B §18.2.4
/// "Debug Control Register (DR7)".
///
/// Every two-bit value has a meaning, so decoding a field never fails. Note what is missing:
/// there is no "reads only" condition; a read watch must use [`ReadWrite`](Self::ReadWrite).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Condition {
    /// `00`: break on instruction execution only (a fault, before the instruction runs).
    /// The slot's LEN field must then be `00` (1 byte).
    Execute = 0b00,
    /// `01`: break on data writes only.
    Write = 0b01,
    /// `10`: break on I/O reads or writes. Defined only while CR4.DE (bit 3) is set; with
    /// CR4.DE clear the encoding is undefined (SDM §18.2.4), so this crate builds it only
    /// when the caller states CR4.DE is set.
    Io = 0b10,
    /// `11`: break on data reads or writes, but not instruction fetches.
    ReadWrite = 0b11,
}

impl Condition {
    /// Width of the field in DR7.
    pub const FIELD_BITS: u32 = 2;

    /// The condition encoded by the low two bits of `bits`; `None` if any higher bit is set.
    #[must_use]
    pub const fn from_bits(bits: u64) -> Option<Self> {
        match bits {
            0b00 => Some(Self::Execute),
            0b01 => Some(Self::Write),
            0b10 => Some(Self::Io),
            0b11 => Some(Self::ReadWrite),
            _ => None,
        }
    }

    /// The two-bit encoding.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self as u64
    }

    /// The access kinds a slot with this condition matches. I/O breakpoints match port
    /// reads and writes, which the HAL's access kinds describe as read and write.
    #[must_use]
    pub const fn access(self) -> AccessKind {
        match self {
            Self::Execute => AccessKind::EXECUTE,
            Self::Write => AccessKind::WRITE,
            Self::Io | Self::ReadWrite => AccessKind::READ_WRITE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodings_from_the_sdm() {
        assert_eq!(Condition::Execute.bits(), 0b00);
        assert_eq!(Condition::Write.bits(), 0b01);
        assert_eq!(Condition::Io.bits(), 0b10);
        assert_eq!(Condition::ReadWrite.bits(), 0b11);
    }

    #[test]
    fn access_kinds() {
        assert_eq!(Condition::Execute.access(), AccessKind::EXECUTE);
        assert_eq!(Condition::Write.access(), AccessKind::WRITE);
        assert_eq!(
            Condition::ReadWrite.access(),
            AccessKind::READ | AccessKind::WRITE
        );
    }

    proptest! {
        #[test]
        fn from_bits_is_total_on_two_bits_and_round_trips(bits: u64) {
            match Condition::from_bits(bits) {
                Some(c) => prop_assert_eq!(c.bits(), bits),
                None => prop_assert!(bits > 0b11),
            }
        }
    }
}
