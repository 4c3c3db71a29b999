//! One access sequence, two encodings: real x86-64 machine code for the child process, and
//! the simulator's own instruction set.
//!
//! The routines are hand-encoded x86-64 (each form below names its bytes), not `asm!`
//! blocks: an execute breakpoint must name one instruction of one scenario, so every
//! scenario gets its own straight-line copy at its own addresses, which `asm!` in the test
//! binary cannot give. The simulator gets the same instructions in the same order, so "the
//! n-th instruction of the body" names the same thing on both machines.
//!
//! Memory operands are `[rbx + disp32]` (ModRM mod = 10, rm = 011). Values come from RAX
//! (stores, the compare value of `cmpxchg`), RDX (the addend and the `cmpxchg` source),
//! and vector register 0 (16/32/64-byte accesses).

use hwbkpt_sim::x86::{Asm, Mem, Reg, StringWidth, VecWidth, Width};

/// A general register the body may load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum R {
    Rax,
    Rcx,
    Rdx,
    Rsi,
    Rdi,
}

impl R {
    /// The register number in the x86 encoding.
    const fn number(self) -> u8 {
        match self {
            Self::Rax => 0,
            Self::Rcx => 1,
            Self::Rdx => 2,
            Self::Rsi => 6,
            Self::Rdi => 7,
        }
    }

    const fn sim(self) -> Reg {
        match self {
            Self::Rax => Reg::Rax,
            Self::Rcx => Reg::Rcx,
            Self::Rdx => Reg::Rdx,
            Self::Rsi => Reg::Rsi,
            Self::Rdi => Reg::Rdi,
        }
    }
}

/// One instruction of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `mov r64, imm64`.
    MovImm(R, u64),
    /// `mov r64, data + off` (an address in the data area, for `rep` strings).
    DataAddr(R, i32),
    /// A load of `size` bytes at `[rbx + off]`: 1/2 `movzx eax`, 4 `mov eax`, 8 `mov rax`,
    /// 16 `movdqu xmm0`, 32 `vmovdqu ymm0`, 64 `vmovdqu64 zmm0`.
    Load { size: u32, off: i32 },
    /// A store of `size` bytes at `[rbx + off]` from RAX or vector register 0.
    Store { size: u32, off: i32 },
    /// `add [rbx + off], rdx` (1–8 bytes): one read-modify-write access.
    Add { size: u32, off: i32 },
    /// `lock cmpxchg [rbx + off], rdx` (1–8 bytes), comparing with RAX.
    Cmpxchg { size: u32, off: i32 },
    /// `mov ss, word [rbx + off]`: loads SS and holds debug exceptions until after the next
    /// instruction (the memory must hold a valid user data selector, 0x2B on Linux).
    MovSs { off: i32 },
    /// `rep stosb` (RDI, RCX, AL).
    RepStosb,
    /// `rep movsb` (RSI, RDI, RCX).
    RepMovsb,
    /// `nop`.
    Nop,
}

impl Step {
    /// The bytes `[rbx + off]` this step writes, if it writes memory at a fixed place.
    pub const fn written(&self) -> Option<(i32, u32)> {
        match *self {
            Self::Store { size, off } | Self::Add { size, off } | Self::Cmpxchg { size, off } => {
                Some((off, size))
            }
            _ => None,
        }
    }
}

fn modrm(reg: u8) -> u8 {
    0x80 | (reg << 3) | 3
}

fn mem(out: &mut Vec<u8>, reg: u8, off: i32) {
    out.push(modrm(reg));
    out.extend_from_slice(&off.to_le_bytes());
}

/// Real machine code of one step, with the data area at `data`.
fn encode(step: Step, data: u64, out: &mut Vec<u8>) {
    match step {
        Step::DataAddr(r, off) => encode(
            Step::MovImm(r, data.wrapping_add_signed(i64::from(off))),
            data,
            out,
        ),
        Step::MovImm(r, imm) => {
            out.extend_from_slice(&[0x48, 0xB8 + r.number()]);
            out.extend_from_slice(&imm.to_le_bytes());
        }
        Step::Load { size, off } => {
            match size {
                1 => out.extend_from_slice(&[0x0F, 0xB6]), // movzx eax, byte
                2 => out.extend_from_slice(&[0x0F, 0xB7]), // movzx eax, word
                4 => out.push(0x8B),                       // mov eax
                8 => out.extend_from_slice(&[0x48, 0x8B]), // mov rax
                16 => out.extend_from_slice(&[0xF3, 0x0F, 0x6F]), // movdqu xmm0
                32 => out.extend_from_slice(&[0xC5, 0xFE, 0x6F]), // vmovdqu ymm0 (VEX.256.F3.0F)
                // vmovdqu64 zmm0 (EVEX.512.F3.0F.W1; disp32 is never scaled)
                64 => out.extend_from_slice(&[0x62, 0xF1, 0xFE, 0x48, 0x6F]),
                _ => unreachable!("load size {size}"),
            }
            mem(out, 0, off);
        }
        Step::Store { size, off } => {
            match size {
                1 => out.push(0x88),                       // mov byte [m], al
                2 => out.extend_from_slice(&[0x66, 0x89]), // mov word [m], ax
                4 => out.push(0x89),                       // mov dword [m], eax
                8 => out.extend_from_slice(&[0x48, 0x89]), // mov qword [m], rax
                16 => out.extend_from_slice(&[0xF3, 0x0F, 0x7F]),
                32 => out.extend_from_slice(&[0xC5, 0xFE, 0x7F]),
                64 => out.extend_from_slice(&[0x62, 0xF1, 0xFE, 0x48, 0x7F]),
                _ => unreachable!("store size {size}"),
            }
            mem(out, 0, off);
        }
        Step::Add { size, off } => {
            match size {
                1 => out.push(0x00),
                2 => out.extend_from_slice(&[0x66, 0x01]),
                4 => out.push(0x01),
                8 => out.extend_from_slice(&[0x48, 0x01]),
                _ => unreachable!("add size {size}"),
            }
            mem(out, R::Rdx.number(), off);
        }
        Step::Cmpxchg { size, off } => {
            match size {
                1 => out.extend_from_slice(&[0xF0, 0x0F, 0xB0]),
                2 => out.extend_from_slice(&[0xF0, 0x66, 0x0F, 0xB1]),
                4 => out.extend_from_slice(&[0xF0, 0x0F, 0xB1]),
                8 => out.extend_from_slice(&[0xF0, 0x48, 0x0F, 0xB1]),
                _ => unreachable!("cmpxchg size {size}"),
            }
            mem(out, R::Rdx.number(), off);
        }
        Step::MovSs { off } => {
            out.push(0x8E); // mov Sreg, r/m16 with reg = 2 (SS)
            mem(out, 2, off);
        }
        Step::RepStosb => out.extend_from_slice(&[0xF3, 0xAA]),
        Step::RepMovsb => out.extend_from_slice(&[0xF3, 0xA4]),
        Step::Nop => out.push(0x90),
    }
}

/// Where each body instruction starts, and where the body ends, on one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Start address of body instruction `i`.
    pub starts: Vec<u64>,
    /// The address after the last body instruction.
    pub end: u64,
}

impl Layout {
    /// Which body instruction starts at `pc` (`starts.len()` for the end).
    pub fn index_of(&self, pc: u64) -> Option<usize> {
        if pc == self.end {
            return Some(self.starts.len());
        }
        self.starts.iter().position(|&s| s == pc)
    }
}

/// The child's routine: `push rbx; mov rbx, data; mov rax/rcx/rdx/rsi/rdi, 0; <body>;
/// pop rbx; ret`, to be placed at `code`.
pub fn real_code(code: u64, data: u64, body: &[Step]) -> (Vec<u8>, Layout) {
    let mut out = vec![0x53]; // push rbx
    out.extend_from_slice(&[0x48, 0xBB]); // mov rbx, imm64
    out.extend_from_slice(&data.to_le_bytes());
    // The simulated task starts with every other register zero: so does the body here.
    for r in [R::Rax, R::Rcx, R::Rdx, R::Rsi, R::Rdi] {
        encode(Step::MovImm(r, 0), data, &mut out);
    }
    let mut starts = Vec::with_capacity(body.len());
    for &step in body {
        starts.push(code + out.len() as u64);
        encode(step, data, &mut out);
    }
    let end = code + out.len() as u64;
    out.extend_from_slice(&[0x5B, 0xC3]); // pop rbx; ret
    (out, Layout { starts, end })
}

fn width(size: u32) -> Width {
    Width::from_bytes(size).unwrap_or_else(|| unreachable!("integer size {size}"))
}

fn vec_width(size: u32) -> VecWidth {
    match size {
        16 => VecWidth::Sse,
        32 => VecWidth::Avx,
        64 => VecWidth::Avx512,
        _ => unreachable!("vector size {size}"),
    }
}

/// The same body for the simulator, with the data area at `data` (RBX must hold it). Ends
/// with the model's `hlt` (the task exits).
pub fn sim_code(asm: &mut Asm, data: u64, body: &[Step]) -> Layout {
    let mut starts = Vec::with_capacity(body.len());
    for &step in body {
        starts.push(asm.here());
        match step {
            Step::MovImm(r, imm) => {
                asm.mov_imm(r.sim(), imm);
            }
            Step::DataAddr(r, off) => {
                asm.mov_imm(r.sim(), data.wrapping_add_signed(i64::from(off)));
            }
            Step::Load { size, off } if size <= 8 => {
                asm.load(width(size), Reg::Rax, Mem::base(Reg::Rbx, off));
            }
            Step::Load { size, off } => {
                asm.vec_load(vec_width(size), 0, Mem::base(Reg::Rbx, off));
            }
            Step::Store { size, off } if size <= 8 => {
                asm.store(width(size), Reg::Rax, Mem::base(Reg::Rbx, off));
            }
            Step::Store { size, off } => {
                asm.vec_store(vec_width(size), 0, Mem::base(Reg::Rbx, off));
            }
            Step::Add { size, off } => {
                asm.add_mem(width(size), Reg::Rdx, Mem::base(Reg::Rbx, off));
            }
            Step::Cmpxchg { size, off } => {
                asm.lock_cmpxchg(width(size), Reg::Rdx, Mem::base(Reg::Rbx, off));
            }
            Step::MovSs { off } => {
                asm.emit(hwbkpt_sim::x86::Insn::MovSsMem(Mem::base(Reg::Rbx, off)));
            }
            Step::RepStosb => {
                asm.rep_stos(StringWidth::Byte);
            }
            Step::RepMovsb => {
                asm.rep_movs(StringWidth::Byte);
            }
            Step::Nop => {
                asm.emit(hwbkpt_sim::x86::Insn::Nop);
            }
        }
    }
    let end = asm.here();
    asm.end();
    Layout { starts, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        let mut out = Vec::new();
        encode(Step::Store { size: 8, off: 0x10 }, 0, &mut out);
        assert_eq!(out, [0x48, 0x89, 0x83, 0x10, 0, 0, 0]);
        out.clear();
        encode(Step::Cmpxchg { size: 4, off: -1 }, 0, &mut out);
        assert_eq!(out, [0xF0, 0x0F, 0xB1, 0x93, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
}
