//! IBM bit numbering: the Power ISA numbers bits from the most significant end
//! (bit 0 is `1 << 63`), so every mask here is written through [`ibm_bit`] and friends to
//! make it comparable with the manual at a glance.

/// The mask of IBM bit `n` (0 = most significant) of a 64-bit register.
#[must_use]
pub(crate) const fn ibm_bit(n: u32) -> u64 {
    1u64 << (63 - n)
}

/// The mask of IBM bits `first..=last` of a 64-bit register.
#[must_use]
pub(crate) const fn ibm_bits(first: u32, last: u32) -> u64 {
    let width = last - first + 1;
    let ones = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    ones << (63 - last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibm_numbering_matches_the_fact_sheet() {
        // DESIGN §4: DSISR bit 41 is 0x0040_0000 (in the 64-bit image), MSR[SE] bit 53 is 0x400.
        assert_eq!(ibm_bit(41), 0x0040_0000);
        assert_eq!(ibm_bit(53), 0x400);
        // DAWRX MRD is IBM bits 48:53 = LSB mask 0xFC00.
        assert_eq!(ibm_bits(48, 53), 0xFC00);
        // DABR/DAWR address is bits 0:60; CIABR address bits 0:61.
        assert_eq!(ibm_bits(0, 60), !7);
        assert_eq!(ibm_bits(0, 61), !3);
        assert_eq!(ibm_bits(0, 63), u64::MAX);
    }
}
