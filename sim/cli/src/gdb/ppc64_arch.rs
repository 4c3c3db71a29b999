//! 64-bit big-endian PowerPC for `gdbstub`: our own [`Arch`], because `gdbstub_arch` only has
//! 32-bit PowerPC.
//!
//! The target description names the architecture (`powerpc:common64`) and the registers of
//! gdb's `org.gnu.gdb.power.core` feature with gdb's usual PowerPC register numbers (r0–r31
//! are 0–31, `pc` 64, `msr` 65, `cr` 66, `lr` 67, `ctr` 68, `xer` 69). The simulated CPU has
//! no floating-point unit, so the description has no `org.gnu.gdb.power.fpu` feature and
//! numbers 32–63 are unused; gdb then treats the target as soft-float. Register values travel
//! in the target's byte order, big-endian. The byte order itself is not part of a target
//! description: gdb-multiarch needs `set endian big` before `target remote`.

use core::num::NonZeroUsize;
use std::sync::OnceLock;

use gdbstub::arch::{Arch, RegId, Registers};

/// 64-bit PowerPC (`powerpc:common64`), big-endian, core registers only.
#[derive(Debug)]
pub enum Ppc64Arch {}

/// gdb's register number of `pc`; `msr`, `cr`, `lr`, `ctr`, `xer` follow.
const PC_REGNUM: usize = 64;

/// The core registers gdb's PowerPC support requires, in gdb's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ppc64Regs {
    /// r0–r31.
    pub gpr: [u64; 32],
    /// The next instruction address (NIP).
    pub pc: u64,
    /// Machine State Register.
    pub msr: u64,
    /// Condition register (eight 4-bit fields, CR0 in the top bits).
    pub cr: u32,
    /// Link register.
    pub lr: u64,
    /// Count register.
    pub ctr: u64,
    /// Fixed-point exception register.
    pub xer: u32,
}

/// Bytes of the `g` packet: 32 GPRs, pc, msr, lr and ctr of 8 bytes, cr and xer of 4.
const G_PACKET_LEN: usize = 32 * 8 + 4 * 8 + 2 * 4;

fn take<const N: usize>(bytes: &mut &[u8]) -> Result<[u8; N], ()> {
    let (head, rest) = bytes.split_first_chunk::<N>().ok_or(())?;
    *bytes = rest;
    Ok(*head)
}

impl Registers for Ppc64Regs {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        self.pc
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        let mut put = |bytes: &[u8]| bytes.iter().for_each(|b| write_byte(Some(*b)));
        for r in &self.gpr {
            put(&r.to_be_bytes());
        }
        put(&self.pc.to_be_bytes());
        put(&self.msr.to_be_bytes());
        put(&self.cr.to_be_bytes());
        put(&self.lr.to_be_bytes());
        put(&self.ctr.to_be_bytes());
        put(&self.xer.to_be_bytes());
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() != G_PACKET_LEN {
            return Err(());
        }
        let mut rest = bytes;
        for r in &mut self.gpr {
            *r = u64::from_be_bytes(take(&mut rest)?);
        }
        self.pc = u64::from_be_bytes(take(&mut rest)?);
        self.msr = u64::from_be_bytes(take(&mut rest)?);
        self.cr = u32::from_be_bytes(take(&mut rest)?);
        self.lr = u64::from_be_bytes(take(&mut rest)?);
        self.ctr = u64::from_be_bytes(take(&mut rest)?);
        self.xer = u32::from_be_bytes(take(&mut rest)?);
        Ok(())
    }
}

/// One register, as `p`/`P` packets name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ppc64RegId {
    /// r0–r31.
    Gpr(u8),
    /// `pc`.
    Pc,
    /// `msr`.
    Msr,
    /// `cr` (4 bytes).
    Cr,
    /// `lr`.
    Lr,
    /// `ctr`.
    Ctr,
    /// `xer` (4 bytes).
    Xer,
}

impl Ppc64RegId {
    /// The register's size in bytes.
    #[must_use]
    pub const fn size(self) -> usize {
        match self {
            Self::Cr | Self::Xer => 4,
            _ => 8,
        }
    }
}

impl RegId for Ppc64RegId {
    fn from_raw_id(id: usize) -> Option<(Self, Option<NonZeroUsize>)> {
        let reg = match id {
            0..=31 => Self::Gpr(u8::try_from(id).ok()?),
            PC_REGNUM => Self::Pc,
            65 => Self::Msr,
            66 => Self::Cr,
            67 => Self::Lr,
            68 => Self::Ctr,
            69 => Self::Xer,
            // 32–63 (floating point) and everything else: not on this CPU.
            _ => return None,
        };
        Some((reg, NonZeroUsize::new(reg.size())))
    }
}

/// The target description, built once.
fn target_xml() -> &'static str {
    static XML: OnceLock<String> = OnceLock::new();
    XML.get_or_init(|| {
        let mut xml = String::from(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n\
             <target version=\"1.0\">\n  <architecture>powerpc:common64</architecture>\n  \
             <feature name=\"org.gnu.gdb.power.core\">\n",
        );
        for n in 0..32 {
            xml.push_str(&format!(
                "    <reg name=\"r{n}\" bitsize=\"64\" type=\"uint64\" regnum=\"{n}\"/>\n"
            ));
        }
        xml.push_str(&format!(
            "    <reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"{PC_REGNUM}\"/>\n\
             \x20   <reg name=\"msr\" bitsize=\"64\" type=\"uint64\"/>\n\
             \x20   <reg name=\"cr\" bitsize=\"32\" type=\"uint32\"/>\n\
             \x20   <reg name=\"lr\" bitsize=\"64\" type=\"code_ptr\"/>\n\
             \x20   <reg name=\"ctr\" bitsize=\"64\" type=\"uint64\"/>\n\
             \x20   <reg name=\"xer\" bitsize=\"32\" type=\"uint32\"/>\n  </feature>\n</target>\n"
        ));
        xml
    })
}

impl Arch for Ppc64Arch {
    type Usize = u64;
    type Registers = Ppc64Regs;
    type BreakpointKind = usize;
    type RegId = Ppc64RegId;

    fn target_description_xml() -> Option<&'static str> {
        Some(target_xml())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_packet_round_trips_big_endian() {
        let mut regs = Ppc64Regs {
            pc: 0x1000_0010,
            cr: 0x2000_0000,
            xer: 7,
            ..Ppc64Regs::default()
        };
        regs.gpr[3] = 0x2000_0000;
        let mut bytes = Vec::new();
        regs.gdb_serialize(|b| bytes.push(b.unwrap_or(0)));
        assert_eq!(bytes.len(), G_PACKET_LEN);
        // r3 is the fourth doubleword, most significant byte first.
        assert_eq!(bytes[24..32], [0, 0, 0, 0, 0x20, 0, 0, 0]);
        assert_eq!(bytes[256..264], 0x1000_0010_u64.to_be_bytes());
        let mut back = Ppc64Regs::default();
        back.gdb_deserialize(&bytes).unwrap();
        assert_eq!(back, regs);
        assert!(back.gdb_deserialize(&bytes[1..]).is_err());
    }

    #[test]
    fn register_numbers_are_gdbs() {
        assert_eq!(
            Ppc64RegId::from_raw_id(64).map(|r| r.0),
            Some(Ppc64RegId::Pc)
        );
        assert_eq!(
            Ppc64RegId::from_raw_id(66)
                .and_then(|r| r.1)
                .map(NonZeroUsize::get),
            Some(4)
        );
        assert!(Ppc64RegId::from_raw_id(32).is_none());
        let xml = target_xml();
        assert!(xml.contains("<architecture>powerpc:common64</architecture>"));
        assert!(xml.contains("name=\"r31\""));
        assert!(!xml.contains("power.fpu"));
    }
}
