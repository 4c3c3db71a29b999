//! The x86 model's instruction set and its variable-length encoding.
//!
//! The encoding is the model's own, not Intel's, but shaped like it: an optional prefix
//! (`F3` rep, `F0 0F` lock, `41` for the high registers of push/pop, `48` for 64-bit string and
//! `sysret` forms), an opcode, a register byte and a memory operand whose displacement is one
//! or four bytes. Instructions are 1 to 11 bytes long, so "RIP past the instruction" and
//! execute breakpoints at instruction starts mean what they mean on hardware.

use super::Reg;

/// A memory operand: `[base + disp]`, or `[disp]` without a base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mem {
    /// Base register.
    pub base: Option<Reg>,
    /// Signed displacement.
    pub disp: i32,
}

impl Mem {
    /// `[base + disp]`.
    #[must_use]
    pub const fn base(base: Reg, disp: i32) -> Self {
        Self {
            base: Some(base),
            disp,
        }
    }

    /// `[disp]` (an absolute address below 2 GiB, sign-extended).
    #[must_use]
    pub const fn absolute(disp: i32) -> Self {
        Self { base: None, disp }
    }
}

/// Operand size of an integer access: 1, 2, 4 or 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Width {
    /// 1 byte.
    B1,
    /// 2 bytes.
    B2,
    /// 4 bytes.
    B4,
    /// 8 bytes.
    B8,
}

impl Width {
    /// The width of `bytes` bytes, if it is 1, 2, 4 or 8.
    #[must_use]
    pub const fn from_bytes(bytes: u32) -> Option<Self> {
        match bytes {
            1 => Some(Self::B1),
            2 => Some(Self::B2),
            4 => Some(Self::B4),
            8 => Some(Self::B8),
            _ => None,
        }
    }

    /// Bytes.
    #[must_use]
    pub const fn bytes(self) -> u32 {
        match self {
            Self::B1 => 1,
            Self::B2 => 2,
            Self::B4 => 4,
            Self::B8 => 8,
        }
    }

    const fn code(self) -> u8 {
        self as u8
    }

    const fn from_code(c: u8) -> Self {
        match c & 3 {
            0 => Self::B1,
            1 => Self::B2,
            2 => Self::B4,
            _ => Self::B8,
        }
    }
}

/// Vector access size: SSE 16, AVX 32, AVX-512 64 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VecWidth {
    /// 16 bytes (SSE `movdqu`).
    Sse,
    /// 32 bytes (AVX `vmovdqu`).
    Avx,
    /// 64 bytes (AVX-512 `vmovdqu64`).
    Avx512,
}

impl VecWidth {
    /// Bytes.
    #[must_use]
    pub const fn bytes(self) -> u32 {
        match self {
            Self::Sse => 16,
            Self::Avx => 32,
            Self::Avx512 => 64,
        }
    }

    const fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(Self::Sse),
            1 => Some(Self::Avx),
            2 => Some(Self::Avx512),
            _ => None,
        }
    }

    const fn code(self) -> u8 {
        self as u8
    }
}

/// Element size of a `rep` string instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringWidth {
    /// `movsb` / `stosb`.
    Byte,
    /// `movsq` / `stosq`.
    Qword,
}

impl StringWidth {
    /// Bytes per iteration.
    #[must_use]
    pub const fn bytes(self) -> u64 {
        match self {
            Self::Byte => 1,
            Self::Qword => 8,
        }
    }
}

/// One instruction of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Insn {
    /// `nop`.
    Nop,
    /// `mov reg, imm64`.
    MovImm {
        /// Destination.
        dst: Reg,
        /// Value.
        imm: u64,
    },
    /// `mov dst, src`.
    MovReg {
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
    },
    /// `add reg, imm32` (sign-extended); sets ZF.
    AddImm {
        /// Register.
        dst: Reg,
        /// Addend.
        imm: i32,
    },
    /// `mov reg, [mem]` zero-extending.
    Load {
        /// Size.
        width: Width,
        /// Destination.
        dst: Reg,
        /// Source.
        mem: Mem,
    },
    /// `mov [mem], reg` (low bytes).
    Store {
        /// Size.
        width: Width,
        /// Source.
        src: Reg,
        /// Destination.
        mem: Mem,
    },
    /// `movdqu`/`vmovdqu`/`vmovdqu64 vreg, [mem]`.
    VecLoad {
        /// Size.
        width: VecWidth,
        /// Vector register 0–7.
        dst: u8,
        /// Source.
        mem: Mem,
    },
    /// `movdqu`/`vmovdqu`/`vmovdqu64 [mem], vreg`.
    VecStore {
        /// Size.
        width: VecWidth,
        /// Vector register 0–7.
        src: u8,
        /// Destination.
        mem: Mem,
    },
    /// `add [mem], reg`: one read-modify-write access; sets ZF.
    AddMem {
        /// Size.
        width: Width,
        /// Addend.
        src: Reg,
        /// Location.
        mem: Mem,
    },
    /// `lock cmpxchg [mem], reg`: if `[mem] == rax` store `reg` and set ZF, else load
    /// `[mem]` into `rax`, clear ZF and write the old value back (the locked cycle writes
    /// either way, SDM vol. 2 "CMPXCHG").
    LockCmpxchg {
        /// Size.
        width: Width,
        /// Value stored on success.
        src: Reg,
        /// Location.
        mem: Mem,
    },
    /// `rep movs`: copy RCX elements from `[RSI]` to `[RDI]`.
    RepMovs(StringWidth),
    /// `rep stos`: store AL/RAX into RCX elements at `[RDI]`.
    RepStos(StringWidth),
    /// `mov ss, reg`.
    MovSsReg(Reg),
    /// `mov ss, [mem]` (2-byte load).
    MovSsMem(Mem),
    /// `pop ss` (8-byte stack load; real CPUs only allow it outside 64-bit mode).
    PopSs,
    /// `pushf`.
    Pushf,
    /// `popf`.
    Popf,
    /// `push reg`.
    Push(Reg),
    /// `pop reg`.
    Pop(Reg),
    /// `syscall`: enter the kernel at the model's LSTAR.
    Syscall,
    /// `sysret` (64-bit): return to user mode at RCX with RFLAGS from R11.
    Sysret,
    /// `jmp rel32`.
    Jmp(i32),
    /// `jnz rel32`.
    Jnz(i32),
    /// `jz rel32`.
    Jz(i32),
    /// `call rel32`.
    Call(i32),
    /// `ret`.
    Ret,
    /// `mov drN, reg` (CPL 0).
    MovToDr {
        /// Debug register number.
        dr: u8,
        /// Source.
        src: Reg,
    },
    /// `mov reg, drN` (CPL 0).
    MovFromDr {
        /// Destination.
        dst: Reg,
        /// Debug register number.
        dr: u8,
    },
    /// `hlt`: the task ends.
    End,
}

/// Longest encoding, in bytes.
pub const MAX_INSN_LEN: usize = 11;

fn push_mem(out: &mut Vec<u8>, mem: Mem) {
    let short = i8::try_from(mem.disp).ok();
    let base = mem.base.map_or(0, |r| 0x80 | r.number());
    match short {
        Some(d) => {
            out.push(base);
            out.push(d.to_le_bytes()[0]);
        }
        None => {
            out.push(base | 0x40);
            out.extend_from_slice(&mem.disp.to_le_bytes());
        }
    }
}

impl Insn {
    /// The instruction's bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Vec::with_capacity(MAX_INSN_LEN);
        let rr = |hi: u8, lo: u8| (hi << 4) | (lo & 15);
        match *self {
            Self::Nop => o.push(0x90),
            Self::MovImm { dst, imm } => {
                o.extend_from_slice(&[0xB8, dst.number()]);
                o.extend_from_slice(&imm.to_le_bytes());
            }
            Self::MovReg { dst, src } => {
                o.extend_from_slice(&[0x89, rr(dst.number(), src.number())])
            }
            Self::AddImm { dst, imm } => {
                o.extend_from_slice(&[0x81, dst.number()]);
                o.extend_from_slice(&imm.to_le_bytes());
            }
            Self::Load { width, dst, mem } => {
                o.extend_from_slice(&[0x8B, rr(width.code(), dst.number())]);
                push_mem(&mut o, mem);
            }
            Self::Store { width, src, mem } => {
                o.extend_from_slice(&[0x88, rr(width.code(), src.number())]);
                push_mem(&mut o, mem);
            }
            Self::VecLoad { width, dst, mem } => {
                o.extend_from_slice(&[0x0F, 0x10, rr(width.code(), dst)]);
                push_mem(&mut o, mem);
            }
            Self::VecStore { width, src, mem } => {
                o.extend_from_slice(&[0x0F, 0x11, rr(width.code(), src)]);
                push_mem(&mut o, mem);
            }
            Self::AddMem { width, src, mem } => {
                o.extend_from_slice(&[0x01, rr(width.code(), src.number())]);
                push_mem(&mut o, mem);
            }
            Self::LockCmpxchg { width, src, mem } => {
                o.extend_from_slice(&[0xF0, 0x0F, 0xB1, rr(width.code(), src.number())]);
                push_mem(&mut o, mem);
            }
            Self::RepMovs(StringWidth::Byte) => o.extend_from_slice(&[0xF3, 0xA4]),
            Self::RepMovs(StringWidth::Qword) => o.extend_from_slice(&[0xF3, 0x48, 0xA5]),
            Self::RepStos(StringWidth::Byte) => o.extend_from_slice(&[0xF3, 0xAA]),
            Self::RepStos(StringWidth::Qword) => o.extend_from_slice(&[0xF3, 0x48, 0xAB]),
            Self::MovSsReg(r) => o.extend_from_slice(&[0x8E, 0xD0 | r.number()]),
            Self::MovSsMem(mem) => {
                o.extend_from_slice(&[0x8E, 0x10]);
                push_mem(&mut o, mem);
            }
            Self::PopSs => o.push(0x17),
            Self::Pushf => o.push(0x9C),
            Self::Popf => o.push(0x9D),
            Self::Push(r) if r.number() < 8 => o.push(0x50 | r.number()),
            Self::Push(r) => o.extend_from_slice(&[0x41, 0x50 | (r.number() & 7)]),
            Self::Pop(r) if r.number() < 8 => o.push(0x58 | r.number()),
            Self::Pop(r) => o.extend_from_slice(&[0x41, 0x58 | (r.number() & 7)]),
            Self::Syscall => o.extend_from_slice(&[0x0F, 0x05]),
            Self::Sysret => o.extend_from_slice(&[0x48, 0x0F, 0x07]),
            Self::Jmp(rel) => {
                o.push(0xE9);
                o.extend_from_slice(&rel.to_le_bytes());
            }
            Self::Jnz(rel) => {
                o.extend_from_slice(&[0x0F, 0x85]);
                o.extend_from_slice(&rel.to_le_bytes());
            }
            Self::Jz(rel) => {
                o.extend_from_slice(&[0x0F, 0x84]);
                o.extend_from_slice(&rel.to_le_bytes());
            }
            Self::Call(rel) => {
                o.push(0xE8);
                o.extend_from_slice(&rel.to_le_bytes());
            }
            Self::Ret => o.push(0xC3),
            Self::MovToDr { dr, src } => o.extend_from_slice(&[0x0F, 0x23, rr(dr, src.number())]),
            Self::MovFromDr { dst, dr } => o.extend_from_slice(&[0x0F, 0x21, rr(dr, dst.number())]),
            Self::End => o.push(0xF4),
        }
        o
    }

    /// Length of the encoding.
    #[must_use]
    pub fn encoded_len(&self) -> u64 {
        self.encode().len() as u64
    }

    /// Decode the instruction at the start of `bytes` (which may run past it): the
    /// instruction and its length, or `None` if the bytes are not one (or are cut short).
    #[must_use]
    pub fn decode(bytes: &[u8]) -> Option<(Self, usize)> {
        let mut c = Cursor { bytes, at: 0 };
        let insn = c.insn()?;
        Some((insn, c.at))
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn i32(&mut self) -> Option<i32> {
        let b = self.bytes.get(self.at..self.at + 4)?;
        self.at += 4;
        Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Option<u64> {
        let b = self.bytes.get(self.at..self.at + 8)?;
        self.at += 8;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }

    fn mem(&mut self) -> Option<Mem> {
        let m = self.u8()?;
        if m & 0x30 != 0 {
            return None;
        }
        let base = (m & 0x80 != 0).then(|| Reg::from_number(m & 15));
        let disp = if m & 0x40 != 0 {
            self.i32()?
        } else {
            i32::from(i8::from_le_bytes([self.u8()?]))
        };
        Some(Mem { base, disp })
    }

    fn split(&mut self) -> Option<(u8, u8)> {
        let b = self.u8()?;
        Some((b >> 4, b & 15))
    }

    fn insn(&mut self) -> Option<Insn> {
        use Insn::*;
        let reg = Reg::from_number;
        Some(match self.u8()? {
            0x90 => Nop,
            0xB8 => {
                let dst = self.u8()?;
                if dst > 15 {
                    return None;
                }
                MovImm {
                    dst: reg(dst),
                    imm: self.u64()?,
                }
            }
            0x89 => {
                let (d, s) = self.split()?;
                MovReg {
                    dst: reg(d),
                    src: reg(s),
                }
            }
            0x81 => {
                let dst = self.u8()?;
                if dst > 15 {
                    return None;
                }
                AddImm {
                    dst: reg(dst),
                    imm: self.i32()?,
                }
            }
            op @ (0x8B | 0x88 | 0x01) => {
                let (w, r) = self.split()?;
                if w > 3 {
                    return None;
                }
                let (width, r, mem) = (Width::from_code(w), reg(r), self.mem()?);
                match op {
                    0x8B => Load { width, dst: r, mem },
                    0x88 => Store { width, src: r, mem },
                    _ => AddMem { width, src: r, mem },
                }
            }
            0x0F => match self.u8()? {
                op @ (0x10 | 0x11) => {
                    let (w, v) = self.split()?;
                    let width = VecWidth::from_code(w)?;
                    if v > 7 {
                        return None;
                    }
                    let mem = self.mem()?;
                    if op == 0x10 {
                        VecLoad { width, dst: v, mem }
                    } else {
                        VecStore { width, src: v, mem }
                    }
                }
                0x05 => Syscall,
                0x85 => Jnz(self.i32()?),
                0x84 => Jz(self.i32()?),
                op @ (0x23 | 0x21) => {
                    let (dr, r) = self.split()?;
                    if op == 0x23 {
                        MovToDr { dr, src: reg(r) }
                    } else {
                        MovFromDr { dst: reg(r), dr }
                    }
                }
                _ => return None,
            },
            0xF0 => {
                if (self.u8()?, self.u8()?) != (0x0F, 0xB1) {
                    return None;
                }
                let (w, r) = self.split()?;
                if w > 3 {
                    return None;
                }
                LockCmpxchg {
                    width: Width::from_code(w),
                    src: reg(r),
                    mem: self.mem()?,
                }
            }
            0xF3 => match self.u8()? {
                0xA4 => RepMovs(StringWidth::Byte),
                0xAA => RepStos(StringWidth::Byte),
                0x48 => match self.u8()? {
                    0xA5 => RepMovs(StringWidth::Qword),
                    0xAB => RepStos(StringWidth::Qword),
                    _ => return None,
                },
                _ => return None,
            },
            0x8E => match self.u8()? {
                0x10 => MovSsMem(self.mem()?),
                b @ 0xD0..=0xDF => MovSsReg(reg(b & 15)),
                _ => return None,
            },
            0x17 => PopSs,
            0x9C => Pushf,
            0x9D => Popf,
            b @ 0x50..=0x57 => Push(reg(b & 7)),
            b @ 0x58..=0x5F => Pop(reg(b & 7)),
            0x41 => match self.u8()? {
                b @ 0x50..=0x57 => Push(reg(8 | (b & 7))),
                b @ 0x58..=0x5F => Pop(reg(8 | (b & 7))),
                _ => return None,
            },
            0x48 => {
                if (self.u8()?, self.u8()?) != (0x0F, 0x07) {
                    return None;
                }
                Sysret
            }
            0xE9 => Jmp(self.i32()?),
            0xE8 => Call(self.i32()?),
            0xC3 => Ret,
            0xF4 => End,
            _ => return None,
        })
    }
}
