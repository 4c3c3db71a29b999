//! A tiny assembler for the model's instruction set: tests, benchmarks and proptest
//! generators build programs with it.

use crate::{Memory, MemoryFault};

use super::insn::{Cond, Insn, Reg};

/// A program under construction at a fixed base address.
#[derive(Debug, Clone, Default)]
pub struct Asm {
    base: u64,
    words: Vec<u32>,
}

impl Asm {
    /// An empty program starting at `base` (word-aligned).
    #[must_use]
    pub const fn new(base: u64) -> Self {
        Self {
            base: base & !3,
            words: Vec::new(),
        }
    }

    /// Start address.
    #[must_use]
    pub const fn base(&self) -> u64 {
        self.base
    }

    /// The address the next instruction goes to.
    #[must_use]
    pub fn here(&self) -> u64 {
        self.base + 4 * self.words.len() as u64
    }

    /// Number of instructions so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether no instruction was emitted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Append one instruction.
    pub fn emit(&mut self, insn: Insn) -> &mut Self {
        self.words.push(insn.encode());
        self
    }

    /// Append a raw word (an illegal one, for tests).
    pub fn word(&mut self, word: u32) -> &mut Self {
        self.words.push(word);
        self
    }

    /// Load a 64-bit constant into `rt` (one `addi` when it fits 16 signed bits, else
    /// `addi`/`ori`/`sldi` in 16-bit chunks).
    pub fn li(&mut self, rt: Reg, value: u64) -> &mut Self {
        if let Ok(d) = i16::try_from(value as i64) {
            return self.emit(Insn::Addi { rt, ra: 0, d });
        }
        self.emit(Insn::Addi { rt, ra: 0, d: 0 });
        let mut started = false;
        for shift in [48u32, 32, 16, 0] {
            let chunk = (value >> shift) as u16;
            if started {
                self.emit(Insn::Sldi { rt, ra: rt, sh: 16 });
            }
            if chunk != 0 {
                self.emit(Insn::Ori {
                    rt,
                    ra: rt,
                    imm: chunk,
                });
            }
            started |= chunk != 0;
        }
        self
    }

    /// Word offset from the next instruction's address to `target`.
    fn offset_to(&self, target: u64) -> i64 {
        (target.wrapping_sub(self.here()) as i64) >> 2
    }

    /// Branch to `target`.
    pub fn b(&mut self, target: u64) -> &mut Self {
        let offset = self.offset_to(target) as i32;
        self.emit(Insn::B { offset })
    }

    /// Branch and link to `target`.
    pub fn bl(&mut self, target: u64) -> &mut Self {
        let offset = self.offset_to(target) as i32;
        self.emit(Insn::Bl { offset })
    }

    /// Branch to `target` if `cond` holds on CR0.
    pub fn bc(&mut self, cond: Cond, target: u64) -> &mut Self {
        let offset = self.offset_to(target) as i16;
        self.emit(Insn::Bc { cond, offset })
    }

    /// End the task.
    pub fn halt(&mut self) -> &mut Self {
        self.emit(Insn::Halt)
    }

    /// The program's bytes (big-endian words).
    #[must_use]
    pub fn bytes(&self) -> Vec<u8> {
        self.words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    /// Write the program into memory at its base.
    ///
    /// # Errors
    /// [`MemoryFault`] when the memory is not mapped there.
    pub fn load_into(&self, memory: &mut Memory) -> Result<(), MemoryFault> {
        memory.write(self.base, &self.bytes())
    }
}
