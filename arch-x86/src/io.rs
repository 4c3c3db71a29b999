//! I/O breakpoints: watching port accesses (`in`, `out`, `ins`, `outs`).
//!
//! With CR4.DE set, R/W = 10 makes a slot break on I/O reads or writes to the ports its
//! address and LEN name (Intel SDM Vol. 3B §18.2.4, and §18.2.5 for how I/O ranges are
//! recognised). With CR4.DE clear that encoding is undefined, and this crate cannot read CR4,
//! so every entry point takes the caller's statement about it. I/O breakpoints are not
//! [`Request`](hwbkpt_hal::Request)s: they watch a different address space, which the HAL's
//! requests do not describe.

use hwbkpt_hal::{AddressRange, Plan, RequestError};

use crate::cover::AlignedCover;
use crate::program::IO_PORT_SPACE;
use crate::{BreakpointLength, X86Cpu, X86Program};

impl X86Cpu {
    /// Watch reads and writes of the ports `port .. port + len`, covered exactly by the
    /// fewest aligned 1-, 2- and 4-port pieces (the same greedy cover as memory, without the
    /// 8-byte length, which the SDM defines for memory only).
    ///
    /// ```
    /// use hwbkpt_hal::RequestError;
    /// use hwbkpt_x86::{Condition, X86Cpu};
    ///
    /// let cpu = X86Cpu::default();
    /// // COM1's eight registers, 0x3F8..0x400: two 4-port slots.
    /// let plan = cpu.plan_io(0x3F8, 8, true)?;
    /// assert_eq!(plan.len(), 2);
    /// assert!(plan.iter().all(|p| p.condition() == Condition::Io));
    /// assert_eq!(cpu.plan_io(0x3F8, 8, false), Err(RequestError::IoRequiresDebugExtensions));
    /// # Ok::<(), RequestError>(())
    /// ```
    ///
    /// # Errors
    /// - [`RequestError::IoRequiresDebugExtensions`] unless `cr4_de_set` (checked first);
    /// - [`RequestError::EmptyRange`] for `len == 0`;
    /// - [`RequestError::RangeWraps`] when the ports run past 0xFFFF, the end of the I/O
    ///   address space;
    /// - [`RequestError::TooManySlots`] when the cover needs more slots than the CPU has.
    pub fn plan_io(
        &self,
        port: u16,
        len: u64,
        cr4_de_set: bool,
    ) -> Result<Plan<X86Program>, RequestError> {
        if !cr4_de_set {
            return Err(RequestError::IoRequiresDebugExtensions);
        }
        let range = AddressRange::new(u64::from(port), len)?;
        if range.end() > IO_PORT_SPACE {
            return Err(RequestError::RangeWraps {
                addr: u64::from(port),
                len,
            });
        }
        let cover = AlignedCover::new(range, BreakpointLength::Four);
        self.check_slot_count(cover.piece_count())?;
        Self::plan_cover(cover, |address, length| {
            // The range ends at or below 0x10000, so every piece's port fits in 16 bits.
            let port = u16::try_from(address).map_err(|_| RequestError::RangeWraps {
                addr: address,
                len: length.bytes(),
            })?;
            X86Program::io_port(port, length, cr4_de_set)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwbkpt_hal::{AccessKind, DebugArchitecture, SlotProgram};
    use proptest::prelude::*;

    use crate::{Condition, DebugSlot};

    #[test]
    fn single_port() {
        let plan = X86Cpu::default().plan_io(0x60, 1, true).unwrap();
        let program = plan.iter().next().unwrap();
        assert_eq!(program.address(), 0x60);
        assert_eq!(program.length(), BreakpointLength::One);
        assert_eq!(program.condition(), Condition::Io);
        assert_eq!(program.hardware_access(), AccessKind::READ_WRITE);
        let image = X86Cpu::default()
            .encode(DebugSlot::Dr3.slot_id(), program)
            .unwrap();
        // R/W3 = 10, LEN3 = 00, G3, GE.
        assert_eq!(image.dr7_bits(), 0b10 << 28 | 1 << 7 | 0x200);
    }

    #[test]
    fn unaligned_ports_are_split() {
        let plan = X86Cpu::default().plan_io(0x3F9, 3, true).unwrap();
        let pieces: Vec<_> = plan
            .iter()
            .map(|p| (p.address(), p.length().bytes()))
            .collect();
        assert_eq!(pieces, [(0x3F9, 1), (0x3FA, 2)]);
    }

    #[test]
    fn errors() {
        let cpu = X86Cpu::default();
        assert_eq!(
            cpu.plan_io(0x60, 0, false),
            Err(RequestError::IoRequiresDebugExtensions)
        );
        assert_eq!(
            cpu.plan_io(0x60, 0, true),
            Err(RequestError::EmptyRange { addr: 0x60 })
        );
        assert_eq!(
            cpu.plan_io(0xFFFE, 4, true),
            Err(RequestError::RangeWraps {
                addr: 0xFFFE,
                len: 4
            })
        );
        assert_eq!(
            cpu.plan_io(0x3F9, 16, true),
            Err(RequestError::TooManySlots {
                needed: 6,
                available: 4
            })
        );
        assert!(cpu.plan_io(0xFFFC, 4, true).is_ok());
    }

    proptest! {
        #[test]
        fn plan_io_never_panics_and_is_exact(port: u16, len in prop_oneof![0u64..40, any::<u64>()], de: bool) {
            let Ok(plan) = X86Cpu::default().plan_io(port, len, de) else { return Ok(()) };
            prop_assert!(de);
            let mut at = u64::from(port);
            for program in &plan {
                prop_assert_eq!(program.address(), at);
                prop_assert!(program.length().bytes() <= 4);
                prop_assert!(program.is_io());
                at += program.length().bytes();
            }
            prop_assert_eq!(at, u64::from(port) + len);
            prop_assert!(at <= 0x1_0000);
        }
    }
}
