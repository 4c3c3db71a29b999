//! A small assembler for tests: emit instructions at real addresses, with labels for jumps.

use super::{Insn, Mem, Reg, StringWidth, VecWidth, Width};
use crate::{Memory, MemoryFault};

/// A jump target, bound to an address with [`Asm::bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Label(usize);

/// Assembly failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsmError {
    /// A jump names a label that was never bound.
    UnboundLabel,
    /// A jump target is more than 2 GiB away.
    OutOfRange,
}

impl core::fmt::Display for AsmError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::UnboundLabel => "a jump names an unbound label",
            Self::OutOfRange => "a jump target is out of rel32 range",
        })
    }
}

impl std::error::Error for AsmError {}

/// An assembled program: bytes to load at `base`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Address of the first byte.
    pub base: u64,
    /// The encoded instructions.
    pub bytes: Vec<u8>,
    /// Address of every instruction, in order.
    pub starts: Vec<u64>,
}

impl Program {
    /// Copy the program into `memory` (which must be mapped there).
    ///
    /// # Errors
    /// [`MemoryFault`] when the range is not mapped.
    pub fn load(&self, memory: &mut Memory) -> Result<(), MemoryFault> {
        memory.write(self.base, &self.bytes)
    }

    /// The address just past the last instruction.
    #[must_use]
    pub fn end(&self) -> u64 {
        self.base + self.bytes.len() as u64
    }
}

/// Builds a [`Program`] instruction by instruction.
#[derive(Debug, Clone)]
pub struct Asm {
    base: u64,
    bytes: Vec<u8>,
    starts: Vec<u64>,
    labels: Vec<Option<u64>>,
    /// (offset of a rel32 field, address of the next instruction, label).
    fixups: Vec<(usize, u64, Label)>,
}

impl Asm {
    /// An empty program starting at `base`.
    #[must_use]
    pub const fn new(base: u64) -> Self {
        Self {
            base,
            bytes: Vec::new(),
            starts: Vec::new(),
            labels: Vec::new(),
            fixups: Vec::new(),
        }
    }

    /// Address of the next instruction.
    #[must_use]
    pub fn here(&self) -> u64 {
        self.base + self.bytes.len() as u64
    }

    /// A new, unbound label.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Bind `label` to the next instruction's address.
    pub fn bind(&mut self, label: Label) -> &mut Self {
        let here = self.here();
        if let Some(slot) = self.labels.get_mut(label.0) {
            *slot = Some(here);
        }
        self
    }

    /// Append one instruction.
    pub fn emit(&mut self, insn: Insn) -> &mut Self {
        self.starts.push(self.here());
        self.bytes.extend_from_slice(&insn.encode());
        self
    }

    fn branch(&mut self, make: fn(i32) -> Insn, label: Label) -> &mut Self {
        self.emit(make(0));
        let end = self.here();
        self.fixups.push((self.bytes.len() - 4, end, label));
        self
    }

    /// `jmp label`.
    pub fn jmp(&mut self, label: Label) -> &mut Self {
        self.branch(Insn::Jmp, label)
    }

    /// `jnz label`.
    pub fn jnz(&mut self, label: Label) -> &mut Self {
        self.branch(Insn::Jnz, label)
    }

    /// `jz label`.
    pub fn jz(&mut self, label: Label) -> &mut Self {
        self.branch(Insn::Jz, label)
    }

    /// `call label`.
    pub fn call(&mut self, label: Label) -> &mut Self {
        self.branch(Insn::Call, label)
    }

    /// `mov reg, imm64`.
    pub fn mov_imm(&mut self, dst: Reg, imm: u64) -> &mut Self {
        self.emit(Insn::MovImm { dst, imm })
    }

    /// `add reg, imm32`.
    pub fn add_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.emit(Insn::AddImm { dst, imm })
    }

    /// `mov reg, [mem]`.
    pub fn load(&mut self, width: Width, dst: Reg, mem: Mem) -> &mut Self {
        self.emit(Insn::Load { width, dst, mem })
    }

    /// `mov [mem], reg`.
    pub fn store(&mut self, width: Width, src: Reg, mem: Mem) -> &mut Self {
        self.emit(Insn::Store { width, src, mem })
    }

    /// Vector load.
    pub fn vec_load(&mut self, width: VecWidth, dst: u8, mem: Mem) -> &mut Self {
        self.emit(Insn::VecLoad { width, dst, mem })
    }

    /// Vector store.
    pub fn vec_store(&mut self, width: VecWidth, src: u8, mem: Mem) -> &mut Self {
        self.emit(Insn::VecStore { width, src, mem })
    }

    /// `add [mem], reg`.
    pub fn add_mem(&mut self, width: Width, src: Reg, mem: Mem) -> &mut Self {
        self.emit(Insn::AddMem { width, src, mem })
    }

    /// `lock cmpxchg [mem], reg`.
    pub fn lock_cmpxchg(&mut self, width: Width, src: Reg, mem: Mem) -> &mut Self {
        self.emit(Insn::LockCmpxchg { width, src, mem })
    }

    /// `rep movs`.
    pub fn rep_movs(&mut self, width: StringWidth) -> &mut Self {
        self.emit(Insn::RepMovs(width))
    }

    /// `rep stos`.
    pub fn rep_stos(&mut self, width: StringWidth) -> &mut Self {
        self.emit(Insn::RepStos(width))
    }

    /// `syscall`.
    pub fn syscall(&mut self) -> &mut Self {
        self.emit(Insn::Syscall)
    }

    /// `hlt`, the end of the task.
    pub fn end(&mut self) -> &mut Self {
        self.emit(Insn::End)
    }

    /// Resolve the labels.
    ///
    /// # Errors
    /// [`AsmError`] for unbound labels or jumps out of range.
    pub fn finish(&self) -> Result<Program, AsmError> {
        let mut bytes = self.bytes.clone();
        for &(at, next, label) in &self.fixups {
            let target = self
                .labels
                .get(label.0)
                .copied()
                .flatten()
                .ok_or(AsmError::UnboundLabel)?;
            let rel = i32::try_from(target.wrapping_sub(next).cast_signed())
                .map_err(|_| AsmError::OutOfRange)?;
            bytes[at..at + 4].copy_from_slice(&rel.to_le_bytes());
        }
        Ok(Program {
            base: self.base,
            bytes,
            starts: self.starts.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instruction_decodes_to_itself_with_its_length() {
        let m = Mem::base(Reg::R13, -0x1234_5678);
        let short = Mem::absolute(0x7f);
        let all = [
            Insn::Nop,
            Insn::MovImm {
                dst: Reg::R15,
                imm: u64::MAX,
            },
            Insn::MovReg {
                dst: Reg::R9,
                src: Reg::Rax,
            },
            Insn::AddImm {
                dst: Reg::Rcx,
                imm: -1,
            },
            Insn::Load {
                width: Width::B2,
                dst: Reg::R8,
                mem: m,
            },
            Insn::Store {
                width: Width::B8,
                src: Reg::Rdi,
                mem: short,
            },
            Insn::VecLoad {
                width: VecWidth::Avx512,
                dst: 7,
                mem: m,
            },
            Insn::VecStore {
                width: VecWidth::Sse,
                src: 0,
                mem: short,
            },
            Insn::AddMem {
                width: Width::B4,
                src: Reg::Rbx,
                mem: m,
            },
            Insn::LockCmpxchg {
                width: Width::B1,
                src: Reg::R12,
                mem: m,
            },
            Insn::RepMovs(StringWidth::Byte),
            Insn::RepMovs(StringWidth::Qword),
            Insn::RepStos(StringWidth::Byte),
            Insn::RepStos(StringWidth::Qword),
            Insn::MovSsReg(Reg::R11),
            Insn::MovSsMem(m),
            Insn::PopSs,
            Insn::Pushf,
            Insn::Popf,
            Insn::Push(Reg::Rbp),
            Insn::Push(Reg::R14),
            Insn::Pop(Reg::Rsi),
            Insn::Pop(Reg::R8),
            Insn::Syscall,
            Insn::Sysret,
            Insn::Jmp(-5),
            Insn::Jnz(100),
            Insn::Jz(0),
            Insn::Call(i32::MIN),
            Insn::Ret,
            Insn::MovToDr {
                dr: 7,
                src: Reg::Rax,
            },
            Insn::MovFromDr {
                dst: Reg::R10,
                dr: 6,
            },
            Insn::End,
        ];
        let mut lengths = std::collections::BTreeSet::new();
        for insn in all {
            let bytes = insn.encode();
            assert!(bytes.len() <= super::super::insn::MAX_INSN_LEN);
            let mut padded = bytes.clone();
            padded.extend_from_slice(&[0xCC; 16]);
            assert_eq!(Insn::decode(&padded), Some((insn, bytes.len())), "{insn:?}");
            assert_eq!(
                Insn::decode(&bytes[..bytes.len() - 1]),
                None,
                "{insn:?} cut short"
            );
            lengths.insert(bytes.len());
        }
        // Realistic variety: 1, 2, 3, 4, 5, 6, 7, 8, 10 bytes.
        assert!(lengths.len() >= 8, "{lengths:?}");
    }

    #[test]
    fn labels_resolve_forward_and_backward() {
        let mut a = Asm::new(0x1000);
        let top = a.label();
        let out = a.label();
        a.bind(top)
            .add_imm(Reg::Rcx, -1)
            .jz(out)
            .jmp(top)
            .bind(out)
            .end();
        let p = a.finish().unwrap();
        assert_eq!(p.starts, [0x1000, 0x1006, 0x100c, 0x1011]);
        let (jz, _) = Insn::decode(&p.bytes[6..]).unwrap();
        assert_eq!(jz, Insn::Jz(0x1011 - 0x100c));
        let (jmp, _) = Insn::decode(&p.bytes[12..]).unwrap();
        assert_eq!(jmp, Insn::Jmp(0x1000 - 0x1011));
        let mut b = Asm::new(0);
        let nowhere = b.label();
        b.jmp(nowhere);
        assert_eq!(b.finish(), Err(AsmError::UnboundLabel));
    }
}
