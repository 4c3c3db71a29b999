//! Register images: the exact SPR values that program one slot, and the order to write them.

use crate::encode::{decode_ciabr, decode_dabr, decode_dawr};
use crate::program::PowerProgram;
use crate::registers::{Ciabr, Dabr, Dabrx, Dawr, Dawrx, Spr};

/// Which DAWR/DAWRX pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DawrIndex {
    /// DAWR0/DAWRX0 (POWER8 and later).
    Dawr0,
    /// DAWR1/DAWRX1 (POWER10).
    Dawr1,
}

impl DawrIndex {
    /// The pair for data slot `index`, if one exists in the architecture (0 or 1).
    #[must_use]
    pub const fn new(index: u8) -> Option<Self> {
        match index {
            0 => Some(Self::Dawr0),
            1 => Some(Self::Dawr1),
            _ => None,
        }
    }

    /// The slot index.
    #[must_use]
    pub const fn index(self) -> u8 {
        match self {
            Self::Dawr0 => 0,
            Self::Dawr1 => 1,
        }
    }

    /// The DAWR of the pair.
    #[must_use]
    pub const fn dawr(self) -> Spr {
        match self {
            Self::Dawr0 => Spr::Dawr0,
            Self::Dawr1 => Spr::Dawr1,
        }
    }

    /// The DAWRX of the pair.
    #[must_use]
    pub const fn dawrx(self) -> Spr {
        match self {
            Self::Dawr0 => Spr::Dawrx0,
            Self::Dawr1 => Spr::Dawrx1,
        }
    }
}

/// The registers behind one slot of a given profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotRegisters {
    /// DABR + DABRX (POWER7's only data slot).
    Dabr,
    /// DAWRn + DAWRXn.
    Dawr(DawrIndex),
    /// CIABR.
    Ciabr,
}

/// One `mtspr` of an install or disarm sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SprWrite {
    /// The register.
    pub spr: Spr,
    /// The value.
    pub value: u64,
}

/// Up to three `mtspr`s, in the order they must be executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WriteSequence {
    writes: [Option<SprWrite>; 3],
}

impl WriteSequence {
    const fn one(spr: Spr, value: u64) -> Self {
        Self {
            writes: [Some(SprWrite { spr, value }), None, None],
        }
    }

    const fn three(a: SprWrite, b: SprWrite, c: SprWrite) -> Self {
        Self {
            writes: [Some(a), Some(b), Some(c)],
        }
    }

    /// The writes in order.
    pub fn iter(&self) -> impl Iterator<Item = SprWrite> + '_ {
        self.writes.iter().flatten().copied()
    }
}

impl SlotRegisters {
    /// The writes that disarm the slot: the field that enables matching is cleared and
    /// everything else left alone (DABR: DR = DW = 0 by writing 0; DAWRX: 0, so no access,
    /// privilege or length remains; CIABR: PRIV = 0 by writing 0).
    #[must_use]
    pub const fn disarm(self) -> WriteSequence {
        match self {
            Self::Dabr => WriteSequence::one(Spr::Dabr, 0),
            Self::Dawr(i) => WriteSequence::one(i.dawrx(), 0),
            Self::Ciabr => WriteSequence::one(Spr::Ciabr, 0),
        }
    }
}

/// The register image that programs one PPC64 slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotImage {
    /// POWER7's data slot.
    Dabr {
        /// Address, BT, DW, DR.
        dabr: Dabr,
        /// BTI and privilege bits.
        dabrx: Dabrx,
    },
    /// A DAWR data slot (POWER8 and later).
    Dawr {
        /// Which pair.
        index: DawrIndex,
        /// Start address.
        dawr: Dawr,
        /// Length, access, translation and privilege.
        dawrx: Dawrx,
    },
    /// The instruction slot.
    Ciabr(Ciabr),
}

impl SlotImage {
    /// The registers this image programs.
    #[must_use]
    pub const fn registers(&self) -> SlotRegisters {
        match self {
            Self::Dabr { .. } => SlotRegisters::Dabr,
            Self::Dawr { index, .. } => SlotRegisters::Dawr(*index),
            Self::Ciabr(_) => SlotRegisters::Ciabr,
        }
    }

    /// The program this image runs, or `None` when it can match nothing (no access, no
    /// privilege, or PRIV = 0).
    #[must_use]
    pub fn decode(&self) -> Option<PowerProgram> {
        match *self {
            Self::Dabr { dabr, dabrx } => decode_dabr(dabr, dabrx),
            Self::Dawr { dawr, dawrx, .. } => decode_dawr(dawr, dawrx),
            Self::Ciabr(ciabr) => decode_ciabr(ciabr),
        }
    }

    /// The writes that install the image without a window in which a half-written slot
    /// could match: disarm first, write the address, enable last.
    ///
    /// - DABR: DABR ← 0 (DR = DW = 0), DABRX ← privilege, DABR ← address | BT | DW | DR.
    /// - DAWR: DAWRX ← 0, DAWR ← address, DAWRX ← MRD | flags (the order of Linux's
    ///   `set_dawr`, with the disarm in front).
    /// - CIABR: one write; address and PRIV change together.
    #[must_use]
    pub const fn install(&self) -> WriteSequence {
        match *self {
            Self::Dabr { dabr, dabrx } => WriteSequence::three(
                SprWrite {
                    spr: Spr::Dabr,
                    value: 0,
                },
                SprWrite {
                    spr: Spr::Dabrx,
                    value: dabrx.bits(),
                },
                SprWrite {
                    spr: Spr::Dabr,
                    value: dabr.bits(),
                },
            ),
            Self::Dawr { index, dawr, dawrx } => WriteSequence::three(
                SprWrite {
                    spr: index.dawrx(),
                    value: 0,
                },
                SprWrite {
                    spr: index.dawr(),
                    value: dawr.bits(),
                },
                SprWrite {
                    spr: index.dawrx(),
                    value: dawrx.bits(),
                },
            ),
            Self::Ciabr(ciabr) => WriteSequence::one(Spr::Ciabr, ciabr.bits()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registers::{CiabrPrivilege, DawrxFlags, DoublewordAddress, Mrd, WordAddress};

    #[test]
    fn dawr_pairs() {
        assert_eq!(DawrIndex::new(0), Some(DawrIndex::Dawr0));
        assert_eq!(DawrIndex::new(1).map(DawrIndex::index), Some(1));
        assert_eq!(DawrIndex::new(2), None);
        assert_eq!(DawrIndex::Dawr1.dawr().number(), 181);
        assert_eq!(DawrIndex::Dawr1.dawrx().number(), 189);
    }

    #[test]
    fn dawr_install_enables_last() {
        let image = SlotImage::Dawr {
            index: DawrIndex::Dawr1,
            dawr: Dawr::new(DoublewordAddress::containing(0x1000)),
            dawrx: Dawrx::new(Mrd::MAX, DawrxFlags::DW | DawrxFlags::WT | DawrxFlags::PR),
        };
        let writes: [Option<SprWrite>; 3] = image.install().writes;
        assert_eq!(
            writes,
            [
                Some(SprWrite {
                    spr: Spr::Dawrx1,
                    value: 0
                }),
                Some(SprWrite {
                    spr: Spr::Dawr1,
                    value: 0x1000
                }),
                Some(SprWrite {
                    spr: Spr::Dawrx1,
                    value: 0xFC51
                }),
            ]
        );
        assert_eq!(
            image.registers().disarm().iter().collect::<Vec<_>>(),
            [SprWrite {
                spr: Spr::Dawrx1,
                value: 0
            }]
        );
    }

    #[test]
    fn dabr_install_enables_last() {
        let image = SlotImage::Dabr {
            dabr: Dabr::from_bits(0x1000_0007),
            dabrx: Dabrx::PR,
        };
        let writes: Vec<_> = image.install().iter().collect();
        assert_eq!(writes.len(), 3);
        assert_eq!(
            writes[0],
            SprWrite {
                spr: Spr::Dabr,
                value: 0
            }
        );
        assert_eq!(
            writes[1],
            SprWrite {
                spr: Spr::Dabrx,
                value: 1
            }
        );
        assert_eq!(
            writes[2],
            SprWrite {
                spr: Spr::Dabr,
                value: 0x1000_0007
            }
        );
        assert_eq!(SlotRegisters::Dabr.disarm().iter().count(), 1);
    }

    #[test]
    fn ciabr_is_one_write() {
        let c = Ciabr::new(WordAddress::containing(0x4000), CiabrPrivilege::KERNEL);
        let writes: Vec<_> = SlotImage::Ciabr(c).install().iter().collect();
        assert_eq!(
            writes,
            [SprWrite {
                spr: Spr::Ciabr,
                value: 0x4002
            }]
        );
        assert_eq!(
            SlotRegisters::Ciabr.disarm().iter().collect::<Vec<_>>(),
            [SprWrite {
                spr: Spr::Ciabr,
                value: 0
            }]
        );
    }
}
