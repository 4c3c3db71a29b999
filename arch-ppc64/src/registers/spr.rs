//! The special-purpose registers this crate reads or writes, by number.

/// A special-purpose register of the debug facility, with its `mfspr`/`mtspr` number.
///
/// Numbers from Linux `arch/powerpc/include/asm/reg.h` (`SPRN_*`), which follows the SPR
/// table of the Power ISA (Book III, "Special Purpose Registers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Spr {
    /// Data Storage Interrupt Status Register (`SPRN_DSISR` 0x012).
    Dsisr,
    /// Data Address Register (`SPRN_DAR` 0x013).
    Dar,
    /// Data Address Watchpoint Register 0 (`SPRN_DAWR0` 0xB4).
    Dawr0,
    /// Data Address Watchpoint Register 1, POWER10 (`SPRN_DAWR1` 0xB5).
    Dawr1,
    /// Completed Instruction Address Breakpoint Register (`SPRN_CIABR` 0xBB).
    Ciabr,
    /// DAWR0 extension (`SPRN_DAWRX0` 0xBC).
    Dawrx0,
    /// DAWR1 extension, POWER10 (`SPRN_DAWRX1` 0xBD).
    Dawrx1,
    /// Data Address Breakpoint Register (`SPRN_DABR` 0x3F5).
    Dabr,
    /// DABR extension (`SPRN_DABRX` 0x3F7).
    Dabrx,
}

impl Spr {
    /// `SPRN_DSISR`.
    pub const DSISR: u16 = 18;
    /// `SPRN_DAR`.
    pub const DAR: u16 = 19;
    /// `SPRN_DAWR0`.
    pub const DAWR0: u16 = 180;
    /// `SPRN_DAWR1`.
    pub const DAWR1: u16 = 181;
    /// `SPRN_CIABR`.
    pub const CIABR: u16 = 187;
    /// `SPRN_DAWRX0`.
    pub const DAWRX0: u16 = 188;
    /// `SPRN_DAWRX1`.
    pub const DAWRX1: u16 = 189;
    /// `SPRN_DABR`.
    pub const DABR: u16 = 1013;
    /// `SPRN_DABRX`.
    pub const DABRX: u16 = 1015;

    /// Every SPR of the debug facility.
    pub const ALL: [Self; 9] = [
        Self::Dsisr,
        Self::Dar,
        Self::Dawr0,
        Self::Dawr1,
        Self::Ciabr,
        Self::Dawrx0,
        Self::Dawrx1,
        Self::Dabr,
        Self::Dabrx,
    ];

    /// The SPR number `mfspr`/`mtspr` encode.
    #[must_use]
    pub const fn number(self) -> u16 {
        match self {
            Self::Dsisr => Self::DSISR,
            Self::Dar => Self::DAR,
            Self::Dawr0 => Self::DAWR0,
            Self::Dawr1 => Self::DAWR1,
            Self::Ciabr => Self::CIABR,
            Self::Dawrx0 => Self::DAWRX0,
            Self::Dawrx1 => Self::DAWRX1,
            Self::Dabr => Self::DABR,
            Self::Dabrx => Self::DABRX,
        }
    }

    /// The register's name as the ISA and Linux spell it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Dsisr => "DSISR",
            Self::Dar => "DAR",
            Self::Dawr0 => "DAWR0",
            Self::Dawr1 => "DAWR1",
            Self::Ciabr => "CIABR",
            Self::Dawrx0 => "DAWRX0",
            Self::Dawrx1 => "DAWRX1",
            Self::Dabr => "DABR",
            Self::Dabrx => "DABRX",
        }
    }
}

// SPR numbers are 10-bit fields of the mfspr/mtspr encoding.
const _: () = {
    let mut i = 0;
    while i < Spr::ALL.len() {
        assert!(Spr::ALL[i].number() < 1024);
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_linux_reg_h_hex() {
        let expected = [
            (Spr::Dsisr, 0x012),
            (Spr::Dar, 0x013),
            (Spr::Dawr0, 0xB4),
            (Spr::Dawr1, 0xB5),
            (Spr::Ciabr, 0xBB),
            (Spr::Dawrx0, 0xBC),
            (Spr::Dawrx1, 0xBD),
            (Spr::Dabr, 0x3F5),
            (Spr::Dabrx, 0x3F7),
        ];
        for (spr, n) in expected {
            assert_eq!(spr.number(), n, "{}", spr.name());
        }
        let names: std::vec::Vec<&str> = expected.iter().map(|(spr, _)| spr.name()).collect();
        assert_eq!(
            names,
            [
                "DSISR", "DAR", "DAWR0", "DAWR1", "CIABR", "DAWRX0", "DAWRX1", "DABR", "DABRX"
            ]
        );
    }
}
