//! One slot's hardware program: address, length and condition, validated.

use hwbkpt_hal::{AccessKind, AddressRange, PoolKind, RequestError, SlotProgram};

use crate::profile::DEBUG_ADDRESS_REGISTERS;
use crate::{BreakpointLength, Condition};

/// Register named in errors about the LEN field.
pub(crate) const LEN_FIELD: &str = "DR7 LEN";
/// Register named in errors about an I/O breakpoint's length.
pub(crate) const IO_LEN_FIELD: &str = "DR7 LEN (I/O)";
/// Size of the x86 I/O address space: 64K 8-bit ports, 0 to 0xFFFF (Intel SDM Vol. 1,
/// chapter "Input/Output", section "I/O Port Addressing").
pub(crate) const IO_PORT_SPACE: u64 = 0x1_0000;

/// What one of DR0–DR3 is programmed to watch: `length` bytes at `address` (aligned to
/// `length`) for accesses of kind `condition`.
///
/// Only valid programs can be built (Intel SDM Vol. 3B §18.2.4 and §18.2.5):
/// the address is aligned to the length, an execute breakpoint has length 1, the watched
/// bytes do not wrap past the top of the address space, and an I/O breakpoint exists only
/// when the caller states CR4.DE is set ([`X86Program::io_port`]).
///
/// ```
/// use hwbkpt_hal::{AccessKind, RequestError, SlotProgram};
/// use hwbkpt_x86::{BreakpointLength, Condition, X86Program};
///
/// let p = X86Program::new(0x1000, BreakpointLength::Four, Condition::Write)?;
/// assert_eq!(p.hardware_access(), AccessKind::WRITE);
/// assert!(X86Program::new(0x1002, BreakpointLength::Four, Condition::Write).is_err());
/// # Ok::<(), RequestError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct X86Program {
    range: AddressRange,
    length: BreakpointLength,
    condition: Condition,
}

impl X86Program {
    /// A memory breakpoint: `length` bytes at `address` for `condition`.
    ///
    /// # Errors
    /// - [`RequestError::IoRequiresDebugExtensions`] for [`Condition::Io`] (use
    ///   [`X86Program::io_port`], which takes the caller's word on CR4.DE);
    /// - [`RequestError::UnsupportedLength`] for an execute breakpoint longer than one byte
    ///   (LEN must be 00 with R/W = 00);
    /// - [`RequestError::Misaligned`] when `address` is not aligned to `length`;
    /// - [`RequestError::RangeWraps`] when the bytes would run past `u64::MAX`.
    pub const fn new(
        address: u64,
        length: BreakpointLength,
        condition: Condition,
    ) -> Result<Self, RequestError> {
        match condition {
            Condition::Io => return Err(RequestError::IoRequiresDebugExtensions),
            Condition::Execute if !matches!(length, BreakpointLength::One) => {
                return Err(RequestError::UnsupportedLength {
                    register: LEN_FIELD,
                    len: length.bytes(),
                });
            }
            Condition::Execute | Condition::Write | Condition::ReadWrite => {}
        }
        Self::checked(address, length, condition)
    }

    /// An execute breakpoint at `address` (one byte, any alignment).
    ///
    /// # Errors
    /// Never in practice; the signature matches [`X86Program::new`].
    pub const fn execute(address: u64) -> Result<Self, RequestError> {
        Self::new(address, BreakpointLength::One, Condition::Execute)
    }

    /// An I/O breakpoint on `length` ports starting at `port`.
    ///
    /// R/W = 10 means "I/O reads or writes" only while CR4.DE is set; with CR4.DE clear the
    /// encoding is undefined (SDM §18.2.4). This crate cannot read CR4, so the caller
    /// states it.
    ///
    /// # Errors
    /// - [`RequestError::IoRequiresDebugExtensions`] unless `cr4_de_set`;
    /// - [`RequestError::UnsupportedLength`] for 8 bytes (I/O accesses are at most 4 bytes
    ///   wide and the SDM defines the 8-byte LEN for memory accesses only);
    /// - [`RequestError::Misaligned`] when `port` is not aligned to `length`.
    pub const fn io_port(
        port: u16,
        length: BreakpointLength,
        cr4_de_set: bool,
    ) -> Result<Self, RequestError> {
        if !cr4_de_set {
            return Err(RequestError::IoRequiresDebugExtensions);
        }
        if matches!(length, BreakpointLength::Eight) {
            return Err(RequestError::UnsupportedLength {
                register: IO_LEN_FIELD,
                len: 8,
            });
        }
        // An aligned port range of at most 4 ports never passes 0xFFFF.
        Self::checked(port as u64, length, Condition::Io)
    }

    /// Alignment and range checks shared by every kind.
    const fn checked(
        address: u64,
        length: BreakpointLength,
        condition: Condition,
    ) -> Result<Self, RequestError> {
        if !length.is_aligned(address) {
            return Err(RequestError::Misaligned {
                register: DEBUG_ADDRESS_REGISTERS,
                addr: address,
                align: length.bytes(),
            });
        }
        match AddressRange::new(address, length.bytes()) {
            Ok(range) => Ok(Self {
                range,
                length,
                condition,
            }),
            Err(e) => Err(e),
        }
    }

    /// The value for DR*n*: the first watched byte (or port).
    #[must_use]
    pub const fn address(&self) -> u64 {
        self.range.start()
    }

    /// The LEN field.
    #[must_use]
    pub const fn length(&self) -> BreakpointLength {
        self.length
    }

    /// The R/W field.
    #[must_use]
    pub const fn condition(&self) -> Condition {
        self.condition
    }

    /// Whether this watches I/O ports rather than memory.
    #[must_use]
    pub const fn is_io(&self) -> bool {
        matches!(self.condition, Condition::Io)
    }
}

impl SlotProgram for X86Program {
    /// Always [`PoolKind::Shared`]: DR0–DR3 serve every kind.
    fn pool(&self) -> PoolKind {
        PoolKind::Shared
    }

    /// The watched bytes, exactly (x86 slots never widen a range). For an I/O breakpoint
    /// these are port numbers in the I/O address space, not memory addresses.
    fn hardware_range(&self) -> AddressRange {
        self.range
    }

    /// Write → write; read/write and I/O → read|write; execute → execute.
    fn hardware_access(&self) -> AccessKind {
        self.condition.access()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn memory_programs() {
        let p = X86Program::new(0x1008, BreakpointLength::Eight, Condition::ReadWrite).unwrap();
        assert_eq!(p.address(), 0x1008);
        assert_eq!(p.pool(), PoolKind::Shared);
        assert_eq!(p.hardware_range(), AddressRange::new(0x1008, 8).unwrap());
        assert_eq!(p.hardware_access(), AccessKind::READ | AccessKind::WRITE);
        assert!(!p.is_io());
        let x = X86Program::execute(0x0040_1123).unwrap();
        assert_eq!(x.hardware_access(), AccessKind::EXECUTE);
        assert_eq!(x.hardware_range().len(), 1);
    }

    #[test]
    fn misaligned_is_refused() {
        assert_eq!(
            X86Program::new(0x1004, BreakpointLength::Eight, Condition::Write),
            Err(RequestError::Misaligned {
                register: "DR0-DR3",
                addr: 0x1004,
                align: 8
            })
        );
        assert_eq!(
            X86Program::io_port(0x3F9, BreakpointLength::Two, true),
            Err(RequestError::Misaligned {
                register: "DR0-DR3",
                addr: 0x3F9,
                align: 2
            })
        );
    }

    #[test]
    fn execute_needs_length_one() {
        assert_eq!(
            X86Program::new(0x1000, BreakpointLength::Four, Condition::Execute),
            Err(RequestError::UnsupportedLength {
                register: "DR7 LEN",
                len: 4
            })
        );
    }

    #[test]
    fn io_needs_cr4_de_and_at_most_four_bytes() {
        assert_eq!(
            X86Program::new(0x3F8, BreakpointLength::One, Condition::Io),
            Err(RequestError::IoRequiresDebugExtensions)
        );
        assert_eq!(
            X86Program::io_port(0x3F8, BreakpointLength::One, false),
            Err(RequestError::IoRequiresDebugExtensions)
        );
        assert_eq!(
            X86Program::io_port(0x3F8, BreakpointLength::Eight, true),
            Err(RequestError::UnsupportedLength {
                register: "DR7 LEN (I/O)",
                len: 8
            })
        );
        let io = X86Program::io_port(0xFFFC, BreakpointLength::Four, true).unwrap();
        assert!(io.is_io());
        assert_eq!(io.hardware_range().last(), 0xFFFF);
        assert_eq!(io.hardware_access(), AccessKind::READ_WRITE);
    }

    #[test]
    fn top_of_the_address_space_is_refused_not_wrapped() {
        assert_eq!(
            X86Program::new(u64::MAX - 7, BreakpointLength::Eight, Condition::Write),
            Err(RequestError::RangeWraps {
                addr: u64::MAX - 7,
                len: 8
            })
        );
    }

    proptest! {
        #[test]
        fn constructors_never_panic(address: u64, len_bits in 0u64..4, cond_bits in 0u64..4, port: u16, de: bool) {
            let length = BreakpointLength::from_bits(len_bits).unwrap();
            let condition = Condition::from_bits(cond_bits).unwrap();
            if let Ok(p) = X86Program::new(address, length, condition) {
                prop_assert!(length.is_aligned(p.address()));
                prop_assert_eq!(p.hardware_range().len(), length.bytes());
                prop_assert!(condition != Condition::Execute || length == BreakpointLength::One);
            }
            if let Ok(p) = X86Program::io_port(port, length, de) {
                prop_assert!(de);
                prop_assert!(p.hardware_range().last() <= 0xFFFF);
            }
        }
    }
}
