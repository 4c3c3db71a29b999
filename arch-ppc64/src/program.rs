//! One slot's hardware program, in the Power ISA's own terms.

use hwbkpt_hal::{AccessKind, AddressRange, PoolKind, PrivilegeFilter, RequestError, SlotProgram};

use crate::profile::{DAWR_MAX_LEN, DOUBLEWORD};
use crate::registers::{CiabrPrivilege, DoublewordAddress, WordAddress};

/// Which translation mode a data slot matches in: the WT/WTI bits of DAWRX, the BT bit of
/// DABR and the BTI bit of DABRX (the slot compares MSR\[DR\] with WT/BT unless WTI/BTI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Translation {
    /// Match only with data translation on (MSR\[DR\] = 1): DAWRX\[WT\] / DABR\[BT\]. What
    /// Linux sets for every normal request and what plans use; without it a watchpoint
    /// never fires for ordinary user or kernel code.
    #[default]
    On,
    /// Match only in real mode (MSR\[DR\] = 0): WT/BT clear.
    Off,
    /// Match in either mode: DAWRX\[WTI\] / DABRX\[BTI\].
    Ignore,
}

/// A data watch: a doubleword-aligned range of 8 to 512 bytes, the accesses and privilege
/// states that match, and the translation mode.
///
/// Whether one slot of a given CPU can hold it (DABR: exactly 8 bytes; DAWR before POWER10:
/// no 512-byte boundary inside) is checked when it is planned or encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataWatch {
    range: AddressRange,
    access: AccessKind,
    privilege: PrivilegeFilter,
    translation: Translation,
}

/// Register family named in errors about a generic data-watch program.
const DATA_REGISTER: &str = "DABR/DAWR";

impl DataWatch {
    /// A watch of `range` for `access` by `privilege`, matching in `translation` mode.
    ///
    /// # Errors
    /// [`RequestError::NoAccessKind`] for an empty access set,
    /// [`RequestError::ExecuteWithData`] when it includes execute,
    /// [`RequestError::NoPrivilege`] for an empty filter,
    /// [`RequestError::Misaligned`] when the range does not start on a doubleword,
    /// [`RequestError::UnsupportedLength`] when its length is not a multiple of 8,
    /// [`RequestError::RangeTooLong`] beyond 512 bytes.
    pub const fn new(
        range: AddressRange,
        access: AccessKind,
        privilege: PrivilegeFilter,
        translation: Translation,
    ) -> Result<Self, RequestError> {
        if access.is_empty() {
            return Err(RequestError::NoAccessKind);
        }
        if access.contains(AccessKind::EXECUTE) {
            return Err(RequestError::ExecuteWithData { access });
        }
        if privilege.is_empty() {
            return Err(RequestError::NoPrivilege);
        }
        if !range.start().is_multiple_of(DOUBLEWORD) {
            return Err(RequestError::Misaligned {
                register: DATA_REGISTER,
                addr: range.start(),
                align: DOUBLEWORD,
            });
        }
        if !range.len().is_multiple_of(DOUBLEWORD) {
            return Err(RequestError::UnsupportedLength {
                register: DATA_REGISTER,
                len: range.len(),
            });
        }
        if range.len() > DAWR_MAX_LEN {
            return Err(RequestError::RangeTooLong {
                register: "DAWR",
                addr: range.start(),
                len: range.len(),
                max: DAWR_MAX_LEN,
            });
        }
        Ok(Self {
            range,
            access,
            privilege,
            translation,
        })
    }

    /// The watched bytes (doubleword aligned, a multiple of 8 long).
    #[must_use]
    pub const fn range(&self) -> AddressRange {
        self.range
    }

    /// The first watched doubleword.
    #[must_use]
    pub const fn address(&self) -> DoublewordAddress {
        DoublewordAddress::containing(self.range.start())
    }

    /// Matching access kinds (read, write or both).
    #[must_use]
    pub const fn access(&self) -> AccessKind {
        self.access
    }

    /// Matching privilege states.
    #[must_use]
    pub const fn privilege(&self) -> PrivilegeFilter {
        self.privilege
    }

    /// Matching translation mode.
    #[must_use]
    pub const fn translation(&self) -> Translation {
        self.translation
    }

    /// The same watch in another translation mode.
    #[must_use]
    pub const fn with_translation(mut self, translation: Translation) -> Self {
        self.translation = translation;
        self
    }
}

/// An instruction breakpoint: one word-aligned instruction address and the single privilege
/// state CIABR matches in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstructionBreak {
    /// The instruction's four bytes.
    word: AddressRange,
    privilege: CiabrPrivilege,
}

impl InstructionBreak {
    /// Bytes of one instruction.
    pub const WORD: u64 = 4;

    /// A breakpoint on the instruction at `addr`, matching in `privilege`.
    ///
    /// # Errors
    /// [`RequestError::Misaligned`] unless `addr` is word aligned,
    /// [`RequestError::RangeWraps`] for the last word of the address space (its end does
    /// not fit in 64 bits), [`RequestError::NoPrivilege`] for an empty filter,
    /// [`RequestError::PrivilegeUnsupported`] unless the filter names exactly one state.
    pub const fn new(addr: u64, privilege: PrivilegeFilter) -> Result<Self, RequestError> {
        if WordAddress::new(addr).is_none() {
            return Err(RequestError::Misaligned {
                register: "CIABR",
                addr,
                align: Self::WORD,
            });
        }
        let word = match AddressRange::new(addr, Self::WORD) {
            Ok(word) => word,
            Err(e) => return Err(e),
        };
        if privilege.is_empty() {
            return Err(RequestError::NoPrivilege);
        }
        let Some(privilege) = CiabrPrivilege::from_filter(privilege) else {
            return Err(RequestError::PrivilegeUnsupported {
                privilege,
                register: "CIABR",
            });
        };
        Ok(Self { word, privilege })
    }

    /// The instruction address.
    #[must_use]
    pub const fn address(&self) -> WordAddress {
        WordAddress::containing(self.word.start())
    }

    /// The CIABR privilege setting (never [`CiabrPrivilege::OFF`]).
    #[must_use]
    pub const fn privilege(&self) -> CiabrPrivilege {
        self.privilege
    }
}

/// What one PPC64 slot is programmed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowerProgram {
    /// A DABR or DAWR watch.
    Data(DataWatch),
    /// A CIABR breakpoint.
    Instruction(InstructionBreak),
}

impl PowerProgram {
    /// The same program in another translation mode (instruction breakpoints have none:
    /// CIABR matches on the effective address in every mode).
    #[must_use]
    pub const fn with_translation(self, translation: Translation) -> Self {
        match self {
            Self::Data(d) => Self::Data(d.with_translation(translation)),
            Self::Instruction(i) => Self::Instruction(i),
        }
    }
}

impl SlotProgram for PowerProgram {
    fn pool(&self) -> PoolKind {
        match self {
            Self::Data(_) => PoolKind::Data,
            Self::Instruction(_) => PoolKind::Instruction,
        }
    }

    fn hardware_range(&self) -> AddressRange {
        match self {
            Self::Data(d) => d.range,
            Self::Instruction(i) => i.word,
        }
    }

    fn hardware_access(&self) -> AccessKind {
        match self {
            Self::Data(d) => d.access,
            Self::Instruction(_) => AccessKind::EXECUTE,
        }
    }
}
