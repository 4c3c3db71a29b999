//! DR0–DR3, DR6 and DR7 from their raw images, decoded with this crate's own reading of the
//! Intel SDM vol. 3 §18.2 ("Debug Registers"), never with `hwbkpt-x86`.

/// DR6 and DR7 bit positions (SDM vol. 3 §18.2.3, §18.2.4).
pub mod bits {
    /// DR6 B0–B3: breakpoint conditions detected.
    pub const DR6_B: u64 = 0xF;
    /// DR6 BLD (bit 11), active-low: 0 means a bus-lock #DB.
    pub const DR6_BLD: u64 = 1 << 11;
    /// DR6 BD (bit 13): a debug-register access faulted under GD.
    pub const DR6_BD: u64 = 1 << 13;
    /// DR6 BS (bit 14): single-step.
    pub const DR6_BS: u64 = 1 << 14;
    /// DR6 BT (bit 15): task switch.
    pub const DR6_BT: u64 = 1 << 15;
    /// DR6 RTM (bit 16), active-low.
    pub const DR6_RTM: u64 = 1 << 16;
    /// DR6 bits that always read 1: 4–10 and 17–31 (bit 12 reads 0).
    pub const DR6_FIXED_ONES: u64 = 0xFFFE_07F0;
    /// DR6 bits software can write: B0–B3, BLD, BD, BS, BT, RTM.
    pub const DR6_WRITABLE: u64 = DR6_B | DR6_BLD | DR6_BD | DR6_BS | DR6_BT | DR6_RTM;
    /// What a handler writes back to DR6 (and its reset value): no condition, active-low
    /// bits at 1.
    pub const DR6_QUIET: u64 = 0xFFFF_0FF0;
    /// DR7 GD (bit 13): general detect.
    pub const DR7_GD: u64 = 1 << 13;
    /// DR7 bit 10 always reads 1 (reset value 0x400).
    pub const DR7_FIXED_ONES: u64 = 1 << 10;
    /// DR7 bits that hold state: L0–G3, LE, GE (0–9), RTM (11), GD (13), R/W and LEN (16–31).
    /// Bits 12, 14 and 15 read 0.
    pub const DR7_WRITABLE: u64 = 0xFFFF_2BFF;
    /// Bits that must be 0 in a MOV to DR6 or DR7 (#GP otherwise).
    pub const UPPER_HALF: u64 = 0xFFFF_FFFF_0000_0000;
}

use bits::*;

/// Why a debug-register access did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DrAccessError {
    /// DR7.GD was set: the access raised a #DB fault with DR6.BD (GD is now clear).
    GeneralDetect,
    /// A 1 in bits 63:32 of DR6 or DR7: #GP, nothing written.
    GeneralProtection,
    /// No such debug register (#UD).
    InvalidRegister,
}

impl core::fmt::Display for DrAccessError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::GeneralDetect => "debug-register access with DR7.GD set (#DB, BD)",
            Self::GeneralProtection => "bits 63:32 of DR6/DR7 must be zero (#GP)",
            Self::InvalidRegister => "no such debug register (#UD)",
        })
    }
}

impl std::error::Error for DrAccessError {}

/// What a breakpoint slot's R/W field asks for (SDM vol. 3 §18.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    /// 00: instruction execution.
    Execute,
    /// 01: data writes.
    Write,
    /// 10: I/O reads or writes (needs CR4.DE; the model has no I/O, so it never matches).
    Io,
    /// 11: data reads or writes, not instruction fetches.
    ReadWrite,
}

/// One slot, decoded from DRn and DR7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot {
    /// L or G set.
    pub enabled: bool,
    /// R/W field.
    pub condition: Condition,
    /// First byte watched: DRn with the bits below LEN ignored (SDM §18.2.5: "the low-order
    /// bits of the address are ignored", so an unaligned DRn watches the aligned range).
    pub start: u64,
    /// Bytes watched: LEN 00 = 1, 01 = 2, 11 = 4, 10 = 8 (Intel 64 and AMD64).
    pub len: u64,
}

impl Slot {
    /// Decode slot `n` (0–3) from DRn and DR7.
    #[must_use]
    pub const fn decode(n: usize, addr: u64, dr7: u64) -> Self {
        let enabled = (dr7 >> (2 * n)) & 0b11 != 0;
        let condition = match (dr7 >> (16 + 4 * n)) & 0b11 {
            0b00 => Condition::Execute,
            0b01 => Condition::Write,
            0b10 => Condition::Io,
            _ => Condition::ReadWrite,
        };
        let len = match (dr7 >> (18 + 4 * n)) & 0b11 {
            0b00 => 1,
            0b01 => 2,
            0b10 => 8,
            _ => 4,
        };
        Self {
            enabled,
            condition,
            start: addr & !(len - 1),
            len,
        }
    }

    /// Whether `[addr, addr + size)` overlaps the watched bytes (no wrap-around at 2^64:
    /// the arithmetic is done in 128 bits).
    #[must_use]
    pub const fn overlaps(&self, addr: u64, size: u64) -> bool {
        let (a, s) = (addr as u128, self.start as u128);
        a < s + self.len as u128 && s < a + size as u128
    }

    /// Whether a data access (`write` for stores and read-modify-writes) matches.
    #[must_use]
    pub const fn matches_data(&self, addr: u64, size: u64, write: bool) -> bool {
        let kind = match self.condition {
            Condition::Write => write,
            Condition::ReadWrite => true,
            Condition::Execute | Condition::Io => false,
        };
        kind && self.overlaps(addr, size)
    }

    /// Whether an instruction starting at `rip` matches. LEN should be 00 for execute
    /// breakpoints (other values are undefined, SDM §18.2.4); the model applies the same
    /// LEN mask as for data, so it matches any instruction starting in the masked range.
    #[must_use]
    pub const fn matches_execute(&self, rip: u64) -> bool {
        matches!(self.condition, Condition::Execute) && self.overlaps(rip, 1)
    }
}

/// Slots hit by one instruction: the enabled ones trap; the disabled ones only show in DR6
/// on CPUs that report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hits {
    /// B bits of matching enabled slots.
    pub enabled: u64,
    /// B bits of matching disabled slots.
    pub disabled: u64,
}

impl Hits {
    /// Merge `other` into `self`.
    pub const fn add(&mut self, other: Self) {
        self.enabled |= other.enabled;
        self.disabled |= other.disabled;
    }
}

/// DR0–DR3, DR6, DR7 as stored by the hardware, with DR7 decoded once per write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugRegisters {
    addr: [u64; 4],
    dr6: u64,
    dr7: u64,
    slots: [Slot; 4],
    /// Slots that can report: enabled, or programmed with a non-zero address.
    reportable: u8,
    /// Whether any reportable slot watches data / execution (skip matching otherwise).
    any_data: bool,
    any_execute: bool,
}

impl Default for DebugRegisters {
    /// Power-on values: DR0–DR3 = 0, DR6 = 0xFFFF0FF0, DR7 = 0x400.
    fn default() -> Self {
        let mut d = Self {
            addr: [0; 4],
            dr6: DR6_QUIET,
            dr7: DR7_FIXED_ONES,
            slots: [Slot::decode(0, 0, 0); 4],
            reportable: 0,
            any_data: false,
            any_execute: false,
        };
        d.redecode();
        d
    }
}

impl DebugRegisters {
    /// DRn for n = 0–3.
    #[must_use]
    pub fn address(&self, n: usize) -> u64 {
        self.addr[n % 4]
    }

    /// DR6 as software reads it.
    #[must_use]
    pub const fn dr6(&self) -> u64 {
        self.dr6
    }

    /// DR7 as software reads it.
    #[must_use]
    pub const fn dr7(&self) -> u64 {
        self.dr7
    }

    /// Slot `n` (0–3) decoded.
    #[must_use]
    pub fn slot(&self, n: usize) -> Slot {
        self.slots[n % 4]
    }

    /// `MOV reg, DRn`. DR4 and DR5 alias DR6 and DR7 (CR4.DE = 0 in this model).
    ///
    /// # Errors
    /// [`DrAccessError::InvalidRegister`] for n > 7.
    pub fn read(&self, n: u8) -> Result<u64, DrAccessError> {
        match n {
            0..=3 => Ok(self.addr[n as usize]),
            4 | 6 => Ok(self.dr6),
            5 | 7 => Ok(self.dr7),
            _ => Err(DrAccessError::InvalidRegister),
        }
    }

    /// `MOV DRn, reg` (no GD check).
    ///
    /// # Errors
    /// [`DrAccessError::GeneralProtection`] for bits 63:32 of DR6/DR7 (SDM vol. 2 "MOV—Move
    /// to/from Debug Registers": #GP(0) "if an attempt is made to write a 1 to any of bits
    /// 63:32 in DR6 or DR7"); [`DrAccessError::InvalidRegister`] for n > 7.
    pub fn write(&mut self, n: u8, value: u64) -> Result<(), DrAccessError> {
        match n {
            0..=3 => self.addr[n as usize] = value,
            4..=7 if value & UPPER_HALF != 0 => {
                return Err(DrAccessError::GeneralProtection);
            }
            4 | 6 => self.dr6 = (value & DR6_WRITABLE) | DR6_FIXED_ONES,
            5 | 7 => self.dr7 = (value & DR7_WRITABLE) | DR7_FIXED_ONES,
            _ => return Err(DrAccessError::InvalidRegister),
        }
        self.redecode();
        Ok(())
    }

    /// The GD check of a debug-register access: with GD set, the access raises #DB with BD,
    /// and the processor clears GD on entry to the handler (SDM §18.2.4) so the handler can
    /// use the registers.
    ///
    /// # Errors
    /// [`DrAccessError::GeneralDetect`] when GD was set.
    pub fn general_detect(&mut self) -> Result<(), DrAccessError> {
        if self.dr7 & DR7_GD == 0 {
            return Ok(());
        }
        self.dr6 |= DR6_BD;
        self.dr7 &= !DR7_GD;
        Err(DrAccessError::GeneralDetect)
    }

    /// The hardware reports a #DB: B bits and BS/BD are set, never cleared (SDM §18.2.3).
    pub(crate) const fn report(&mut self, dr6_bits: u64) {
        self.dr6 |= dr6_bits & DR6_WRITABLE;
    }

    /// Slots matched by a data access.
    #[must_use]
    pub fn data_hits(&self, addr: u64, size: u64, write: bool) -> Hits {
        if !self.any_data {
            return Hits::default();
        }
        self.hits(|slot| slot.matches_data(addr, size, write))
    }

    /// Slots matched by executing the instruction at `rip`.
    #[must_use]
    pub fn execute_hits(&self, rip: u64) -> Hits {
        if !self.any_execute {
            return Hits::default();
        }
        self.hits(|slot| slot.matches_execute(rip))
    }

    fn hits(&self, matches: impl Fn(&Slot) -> bool) -> Hits {
        let mut hits = Hits::default();
        for (n, slot) in self.slots.iter().enumerate() {
            if self.reportable & (1 << n) != 0 && matches(slot) {
                if slot.enabled {
                    hits.enabled |= 1 << n;
                } else {
                    hits.disabled |= 1 << n;
                }
            }
        }
        hits
    }

    fn redecode(&mut self) {
        self.reportable = 0;
        for n in 0..4 {
            self.slots[n] = Slot::decode(n, self.addr[n], self.dr7);
            // A disabled slot still matters on CPUs that report B bits for disabled matches,
            // unless it was never programmed: address 0 and not enabled (the reset state, in
            // which every slot would otherwise "match" an instruction at address 0).
            if self.slots[n].enabled || self.addr[n] != 0 {
                self.reportable |= 1 << n;
            }
        }
        let any = |want: fn(Condition) -> bool| {
            (0..4).any(|n| self.reportable & (1 << n) != 0 && want(self.slots[n].condition))
        };
        self.any_data = any(|c| matches!(c, Condition::Write | Condition::ReadWrite));
        self.any_execute = any(|c| matches!(c, Condition::Execute));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SDM vol. 3 §18.2.3: DR6 bits 4–10 and 17–31 read 1, bit 12 reads 0; BLD (11) and RTM
    /// (16) are active-low, so writing 0 makes them report events. Writing 0xFFFF0FF0 back is
    /// the quiet value (Linux `DR6_RESERVED`).
    #[test]
    fn dr6_fixed_and_active_low_bits() {
        let mut d = DebugRegisters::default();
        assert_eq!(d.dr6(), 0xFFFF_0FF0);
        d.write(6, 0).unwrap();
        assert_eq!(d.dr6(), 0xFFFE_07F0);
        assert_eq!(d.dr6() & (DR6_BLD | DR6_RTM), 0);
        d.write(6, 0xFFFF_FFFF).unwrap();
        assert_eq!(d.dr6(), 0xFFFF_EFFF);
        d.write(6, DR6_QUIET).unwrap();
        assert_eq!(d.dr6(), DR6_QUIET);
    }

    /// SDM vol. 2 MOV to DR: #GP(0) on a 1 in bits 63:32 of DR6/DR7; nothing changes.
    /// DR7 bit 10 reads 1, bits 12, 14, 15 read 0; DR4/DR5 alias DR6/DR7 with CR4.DE = 0.
    #[test]
    fn dr7_write_rules() {
        let mut d = DebugRegisters::default();
        assert_eq!(d.write(7, 1 << 32), Err(DrAccessError::GeneralProtection));
        assert_eq!(d.write(6, 1 << 63), Err(DrAccessError::GeneralProtection));
        assert_eq!(d.dr7(), 0x400);
        d.write(5, 0xFFFF_FFFF).unwrap();
        assert_eq!(d.read(7).unwrap(), 0xFFFF_2FFF);
        assert_eq!(d.read(8), Err(DrAccessError::InvalidRegister));
        d.write(0, u64::MAX).unwrap();
        assert_eq!(d.read(0).unwrap(), u64::MAX);
    }

    /// SDM §18.2.4/§18.2.5: LEN 00/01/11/10 = 1/2/4/8 bytes; the low address bits are ignored;
    /// a data breakpoint matches when any accessed byte is in range and R/W allows the kind.
    #[test]
    fn len_masks_the_address_and_any_overlap_matches() {
        // Slot 1: DR1 = 0x1003, write, LEN 10 (8 bytes) -> watches 0x1000..0x1008.
        let s = Slot::decode(1, 0x1003, (0b1001 << 20) | (1 << 2));
        assert_eq!((s.start, s.len, s.enabled), (0x1000, 8, true));
        assert!(s.matches_data(0x0FFF, 2, true));
        assert!(s.matches_data(0x1007, 1, true));
        assert!(!s.matches_data(0x1008, 8, true));
        assert!(!s.matches_data(0x0FF8, 8, true));
        assert!(!s.matches_data(0x1000, 8, false), "R/W 01 ignores reads");
        // LEN 11 = 4 bytes, LEN 01 = 2 bytes.
        assert_eq!(Slot::decode(0, 0x1007, 0b1111 << 16).start, 0x1004);
        assert_eq!(Slot::decode(0, 0x1007, 0b0111 << 16).len, 2);
        // No wrap-around at the top of the address space.
        let top = Slot::decode(0, u64::MAX, 0b1011 << 16);
        assert!(top.matches_data(u64::MAX, 1, false));
        assert!(!top.matches_data(0, 1, false));
    }

    /// The documented choice for the QEMU profile's disabled matches: a slot that was never
    /// programmed (address 0, not enabled) does not report; one with an address does.
    #[test]
    fn unprogrammed_slots_never_report() {
        let mut d = DebugRegisters::default();
        assert_eq!(d.execute_hits(0), Hits::default());
        d.write(2, 0x1000).unwrap();
        assert_eq!(d.execute_hits(0), Hits::default());
        assert_eq!(
            d.execute_hits(0x1000),
            Hits {
                enabled: 0,
                disabled: 0b100
            }
        );
        d.write(7, 0x401).unwrap();
        assert_eq!(
            d.execute_hits(0),
            Hits {
                enabled: 0b1,
                disabled: 0
            }
        );
    }

    #[test]
    fn gd_faults_once_and_sets_bd() {
        let mut d = DebugRegisters::default();
        d.write(7, DR7_GD | 0x400).unwrap();
        assert_eq!(d.general_detect(), Err(DrAccessError::GeneralDetect));
        assert_ne!(d.dr6() & DR6_BD, 0);
        assert_eq!(d.general_detect(), Ok(()));
    }
}
