//! DSISR bits the model sets on a data storage interrupt.
//!
//! Facts (Power ISA Book III "Data Storage Interrupt"; Linux `reg.h` `DSISR_*`): bit 33 "no
//! translation" (0x4000_0000), bit 38 "store" (0x0200_0000), bit 41 "DABR/DAWR match"
//! (0x0040_0000). The model sets only these.

use super::bits::ibm_bit;

/// The access found no translation (the sim: unmapped memory).
pub const DSISR_NOHPTE: u64 = ibm_bit(33);
/// The access was a store (or the store part of a read-modify-write, or `dcbz`).
pub const DSISR_ISSTORE: u64 = ibm_bit(38);
/// A DABR or DAWR matched (Linux `DSISR_DABRMATCH`).
pub const DSISR_DABRMATCH: u64 = ibm_bit(41);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsisr_bits_match_linux_reg_h() {
        // reg.h: DSISR_NOHPTE 0x40000000, DSISR_ISSTORE 0x02000000, DSISR_DABRMATCH 0x00400000.
        assert_eq!(DSISR_NOHPTE, 0x4000_0000);
        assert_eq!(DSISR_ISSTORE, 0x0200_0000);
        assert_eq!(DSISR_DABRMATCH, 0x0040_0000);
    }
}
