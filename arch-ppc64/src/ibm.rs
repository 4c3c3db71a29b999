//! IBM bit numbering, explained once.
//!
//! The Power ISA numbers the bits of a 64-bit register from the *most* significant end:
//! bit 0 is the sign bit (`1 << 63`) and bit 63 is the least significant bit (`1 << 0`).
//! So IBM bit `n` is the mask `1 << (63 - n)`, and a field "bits 48:53" is the six bits
//! whose LSB-numbered positions are 15 down to 10 (mask `0xFC00`, shift 10).
//! 32-bit registers such as the DSISR keep the numbering of the low word of a 64-bit
//! register (bits 32:63), so DSISR bit 41 is `1 << 22`.
//!
//! Everywhere else in this crate masks are written as ordinary LSB masks (`0x0040_0000`,
//! `0xFC00`) because that is how a kernel developer reads them in a register dump and how
//! Linux's `arch/powerpc/include/asm/reg.h` spells them. Each such constant is checked
//! against its IBM position at compile time with [`ibm_bit`] or [`ibm_field`], so the two
//! notations cannot drift apart.
//!
//! ```
//! use hwbkpt_ppc64::{ibm_bit, ibm_field};
//!
//! assert_eq!(ibm_bit(63), 0x1);
//! assert_eq!(ibm_bit(41), 0x0040_0000); // DSISR "DABR match"
//! assert_eq!(ibm_field(48, 53), 0xFC00); // DAWRX MRD
//! assert_eq!(ibm_bit(64), 0); // there is no bit 64
//! ```

/// The LSB mask of IBM bit `n` of a 64-bit register: `1 << (63 - n)`.
///
/// Bits outside `0..=63` do not exist; their mask is `0`.
#[must_use]
pub const fn ibm_bit(n: u32) -> u64 {
    if n < 64 { 1 << (63 - n) } else { 0 }
}

/// The LSB mask of the IBM field `first:last` (both included) of a 64-bit register.
///
/// Empty (`0`) when `first > last`; bits past 63 are dropped.
#[must_use]
pub const fn ibm_field(first: u32, last: u32) -> u64 {
    let mut mask = 0;
    let mut n = first;
    while n <= last && n < 64 {
        mask |= ibm_bit(n);
        n += 1;
    }
    mask
}

/// The LSB shift of the IBM field that ends at bit `last`: `63 - last` (`0` past bit 63).
#[must_use]
pub const fn ibm_shift(last: u32) -> u32 {
    if last < 64 { 63 - last } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ends_of_the_register() {
        assert_eq!(ibm_bit(0), 1 << 63);
        assert_eq!(ibm_bit(63), 1);
        assert_eq!(ibm_field(0, 63), u64::MAX);
        assert_eq!(ibm_field(62, 63), 0x3);
        assert_eq!(ibm_field(0, 60), !0x7);
        assert_eq!(ibm_field(5, 4), 0);
        assert_eq!(ibm_shift(53), 10);
    }

    proptest! {
        #[test]
        fn bit_is_lsb_mirror(n in 0u32..64) {
            prop_assert_eq!(ibm_bit(n).trailing_zeros(), 63 - n);
            prop_assert_eq!(ibm_bit(n).count_ones(), 1);
        }

        #[test]
        fn never_panics(a: u32, b: u32) {
            let _ = ibm_bit(a);
            let _ = ibm_shift(b);
            // Bound the loop: fields longer than 64 bits behave like 0..=63.
            let f = ibm_field(a % 80, b % 80);
            prop_assert_eq!(f.count_ones(), if a % 80 <= b % 80 && a % 80 < 64 { (b % 80).min(63) - a % 80 + 1 } else { 0 });
        }

        #[test]
        fn field_is_contiguous(first in 0u32..64, width in 1u32..64) {
            let last = (first + width - 1).min(63);
            let f = ibm_field(first, last);
            // width < 64, so the shift below cannot overflow.
            prop_assert_eq!(f >> ibm_shift(last), (1u64 << (last - first + 1)) - 1);
        }
    }
}
