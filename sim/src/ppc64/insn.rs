//! The PPC64 model's instruction set: fixed 4-byte words at word-aligned addresses, stored
//! big-endian, encoded and decoded here.
//!
//! The encoding is our own (not real Power opcodes) but keeps the properties that matter to
//! debug hardware: every instruction is one 4-byte word, the effective address of a memory
//! access is computed from registers and an immediate the way Power's D-form (`RA|0 + D`) and
//! X-form (`RA|0 + RB`) do, and the same decoder serves execution and the HAL's
//! `analyse_instr`-like decode hook.
//!
//! Layout (bit 31 = most significant): opcode 31:26, then
//! - D-form: RT 25:21, RA 20:16, D 15:0 (signed, except `ori`'s unsigned immediate);
//! - X-form: RT 25:21, RA 20:16, RB 15:11, XO 10:0 (the access size code, or 0);
//! - I-form: LI 25:0 (signed word offset).
//!
//! The all-zero word is illegal, as on real Power processors, so running into zeroed memory
//! raises a program interrupt instead of executing.

/// A general-purpose (or, for vector instructions, vector) register number, 0–31.
pub type Reg = u8;

/// Access sizes of the scalar loads and stores, read-modify-write and reservation
/// instructions: 1, 2, 4 or 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    /// 1 byte.
    B1,
    /// 2 bytes.
    B2,
    /// 4 bytes.
    B4,
    /// 8 bytes.
    B8,
}

impl Size {
    /// All sizes.
    pub const ALL: [Self; 4] = [Self::B1, Self::B2, Self::B4, Self::B8];

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

    const fn code(self) -> u32 {
        match self {
            Self::B1 => 0,
            Self::B2 => 1,
            Self::B4 => 2,
            Self::B8 => 3,
        }
    }

    const fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Self::B1),
            1 => Some(Self::B2),
            2 => Some(Self::B4),
            3 => Some(Self::B8),
            _ => None,
        }
    }
}

/// Branch conditions on CR0 (set by `cmpd`, `cmpxchg` and `stcx.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cond {
    /// `CR0[EQ]` set.
    Eq,
    /// `CR0[EQ]` clear.
    Ne,
    /// `CR0[LT]` set.
    Lt,
    /// `CR0[LT]` clear.
    Ge,
    /// `CR0[GT]` set.
    Gt,
    /// `CR0[GT]` clear.
    Le,
}

impl Cond {
    /// All conditions.
    pub const ALL: [Self; 6] = [Self::Eq, Self::Ne, Self::Lt, Self::Ge, Self::Gt, Self::Le];

    const fn code(self) -> u32 {
        match self {
            Self::Eq => 0,
            Self::Ne => 1,
            Self::Lt => 2,
            Self::Ge => 3,
            Self::Gt => 4,
            Self::Le => 5,
        }
    }

    const fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Self::Eq),
            1 => Some(Self::Ne),
            2 => Some(Self::Lt),
            3 => Some(Self::Ge),
            4 => Some(Self::Gt),
            5 => Some(Self::Le),
            _ => None,
        }
    }
}

/// One instruction. Effective addresses use `RA|0`: register 0 as a base reads as zero, as
/// on Power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Insn {
    /// Stop this task (the simulator's end-of-program marker).
    Halt,
    /// Do nothing.
    Nop,
    /// `rt = (ra|0) + d`.
    Addi {
        /// Target.
        rt: Reg,
        /// Base (0 reads as zero).
        ra: Reg,
        /// Signed immediate.
        d: i16,
    },
    /// `rt = (ra|0) + (d << 16)`.
    Addis {
        /// Target.
        rt: Reg,
        /// Base (0 reads as zero).
        ra: Reg,
        /// Signed immediate, shifted left 16.
        d: i16,
    },
    /// `rt = ra | imm` (RA is a register here, even when 0).
    Ori {
        /// Target.
        rt: Reg,
        /// Source.
        ra: Reg,
        /// Unsigned immediate.
        imm: u16,
    },
    /// `rt = ra << sh`.
    Sldi {
        /// Target.
        rt: Reg,
        /// Source.
        ra: Reg,
        /// Shift, 0–63.
        sh: u8,
    },
    /// `rt = ra + rb`.
    Add {
        /// Target.
        rt: Reg,
        /// First operand.
        ra: Reg,
        /// Second operand.
        rb: Reg,
    },
    /// Signed compare of `ra` with `rb` into CR0.
    Cmpd {
        /// First operand.
        ra: Reg,
        /// Second operand.
        rb: Reg,
    },
    /// Load `size` bytes at `(ra|0) + d`, zero-extended (`lbz`/`lhz`/`lwz`/`ld`).
    Load {
        /// Bytes.
        size: Size,
        /// Target.
        rt: Reg,
        /// Base.
        ra: Reg,
        /// Displacement (any value: unaligned accesses are allowed).
        d: i16,
    },
    /// Store the low `size` bytes of `rs` at `(ra|0) + d` (`stb`/`sth`/`stw`/`std`).
    Store {
        /// Bytes.
        size: Size,
        /// Source.
        rs: Reg,
        /// Base.
        ra: Reg,
        /// Displacement.
        d: i16,
    },
    /// Load quadword into the even/odd GPR pair `rtp`, `rtp+1` (`lq`); `rtp` gets the
    /// doubleword at the lower address.
    Lq {
        /// Even target register.
        rtp: Reg,
        /// Base.
        ra: Reg,
        /// Displacement.
        d: i16,
    },
    /// Store quadword from the GPR pair `rsp`, `rsp+1` (`stq`).
    Stq {
        /// Even source register.
        rsp: Reg,
        /// Base.
        ra: Reg,
        /// Displacement.
        d: i16,
    },
    /// Load 16 bytes into vector register `vt` (`lxv`).
    Lxv {
        /// Target vector register.
        vt: Reg,
        /// Base.
        ra: Reg,
        /// Displacement.
        d: i16,
    },
    /// Store vector register `vs` (`stxv`).
    Stxv {
        /// Source vector register.
        vs: Reg,
        /// Base.
        ra: Reg,
        /// Displacement.
        d: i16,
    },
    /// Load 32 bytes into the vector pair `vtp`, `vtp+1` (POWER10 `lxvp`).
    Lxvp {
        /// Even target vector register.
        vtp: Reg,
        /// Base.
        ra: Reg,
        /// Displacement.
        d: i16,
    },
    /// Store the vector pair `vsp`, `vsp+1` (POWER10 `stxvp`).
    Stxvp {
        /// Even source vector register.
        vsp: Reg,
        /// Base.
        ra: Reg,
        /// Displacement.
        d: i16,
    },
    /// Atomic fetch-and-add at `(ra|0)`: `rt = mem; mem = mem + rb` (a read-modify-write,
    /// like Power ISA 3.0's `ldat`/`lwat` fetch-and-add).
    FetchAdd {
        /// Bytes.
        size: Size,
        /// Receives the old value.
        rt: Reg,
        /// Address register.
        ra: Reg,
        /// Addend.
        rb: Reg,
    },
    /// Atomic compare-and-exchange at `(ra|0)`: if `mem == rt` then `mem = rb`; `rt` receives
    /// the old value and `CR0[EQ]` success. It always writes (the old value back on failure),
    /// so it is a read-modify-write whatever the outcome.
    CmpXchg {
        /// Bytes.
        size: Size,
        /// Expected value in, old value out.
        rt: Reg,
        /// Address register.
        ra: Reg,
        /// New value.
        rb: Reg,
    },
    /// Load and reserve at `(ra|0) + rb` (`lbarx`/`lharx`/`lwarx`/`ldarx`).
    Larx {
        /// Bytes.
        size: Size,
        /// Target.
        rt: Reg,
        /// Base.
        ra: Reg,
        /// Index.
        rb: Reg,
    },
    /// Store conditional at `(ra|0) + rb` (`stbcx.`…`stdcx.`): stores only if the
    /// reservation still holds; `CR0[EQ]` tells.
    Stcx {
        /// Bytes.
        size: Size,
        /// Source.
        rs: Reg,
        /// Base.
        ra: Reg,
        /// Index.
        rb: Reg,
    },
    /// Zero the 128-byte cache block containing `(ra|0) + rb`.
    Dcbz {
        /// Base.
        ra: Reg,
        /// Index.
        rb: Reg,
    },
    /// System call: a system call interrupt after completion (SRR0 = next instruction).
    Sc,
    /// Return from interrupt: NIP = SRR0, MSR = SRR1 (privileged).
    Rfid,
    /// Branch by `offset` words relative to this instruction.
    B {
        /// Signed word offset (26 bits).
        offset: i32,
    },
    /// Branch and link: LR = next instruction.
    Bl {
        /// Signed word offset (26 bits).
        offset: i32,
    },
    /// Branch to LR.
    Blr,
    /// Branch by `offset` words if `cond` holds on CR0.
    Bc {
        /// The condition.
        cond: Cond,
        /// Signed word offset.
        offset: i16,
    },
    /// LR = `rs`.
    Mtlr {
        /// Source.
        rs: Reg,
    },
    /// `rt` = LR.
    Mflr {
        /// Target.
        rt: Reg,
    },
}

/// I-form offsets are 26-bit signed word counts.
pub const BRANCH_OFFSET_MIN: i32 = -(1 << 25);
/// Largest I-form word offset.
pub const BRANCH_OFFSET_MAX: i32 = (1 << 25) - 1;

mod op {
    pub(super) const HALT: u32 = 1;
    pub(super) const NOP: u32 = 2;
    pub(super) const ADDI: u32 = 3;
    pub(super) const ADDIS: u32 = 4;
    pub(super) const ORI: u32 = 5;
    pub(super) const SLDI: u32 = 6;
    pub(super) const ADD: u32 = 7;
    pub(super) const CMPD: u32 = 8;
    pub(super) const LOAD_B1: u32 = 10; // 10..=13 loads by size code
    pub(super) const STORE_B1: u32 = 14; // 14..=17 stores by size code
    pub(super) const LQ: u32 = 18;
    pub(super) const STQ: u32 = 19;
    pub(super) const LXV: u32 = 20;
    pub(super) const STXV: u32 = 21;
    pub(super) const LXVP: u32 = 22;
    pub(super) const STXVP: u32 = 23;
    pub(super) const FETCH_ADD: u32 = 24;
    pub(super) const CMPXCHG: u32 = 25;
    pub(super) const LARX: u32 = 26;
    pub(super) const STCX: u32 = 27;
    pub(super) const DCBZ: u32 = 28;
    pub(super) const SC: u32 = 29;
    pub(super) const RFID: u32 = 30;
    pub(super) const B: u32 = 31;
    pub(super) const BL: u32 = 32;
    pub(super) const BLR: u32 = 33;
    pub(super) const BC: u32 = 34;
    pub(super) const MTLR: u32 = 35;
    pub(super) const MFLR: u32 = 36;
}

const fn d_form(opcode: u32, rt: Reg, ra: Reg, d: u16) -> u32 {
    opcode << 26 | (rt as u32 & 31) << 21 | (ra as u32 & 31) << 16 | d as u32
}

const fn x_form(opcode: u32, rt: Reg, ra: Reg, rb: Reg, xo: u32) -> u32 {
    opcode << 26 | (rt as u32 & 31) << 21 | (ra as u32 & 31) << 16 | (rb as u32 & 31) << 11 | xo
}

const fn i_form(opcode: u32, offset: i32) -> u32 {
    opcode << 26 | (offset as u32 & 0x03FF_FFFF)
}

impl Insn {
    /// The instruction word. Register numbers are taken modulo 32 and branch offsets modulo
    /// 2^26 words; [`Insn::is_encodable`] tells whether the word decodes back to `self`.
    #[must_use]
    pub const fn encode(self) -> u32 {
        match self {
            Self::Halt => op::HALT << 26,
            Self::Nop => op::NOP << 26,
            Self::Addi { rt, ra, d } => d_form(op::ADDI, rt, ra, d as u16),
            Self::Addis { rt, ra, d } => d_form(op::ADDIS, rt, ra, d as u16),
            Self::Ori { rt, ra, imm } => d_form(op::ORI, rt, ra, imm),
            Self::Sldi { rt, ra, sh } => d_form(op::SLDI, rt, ra, sh as u16),
            Self::Add { rt, ra, rb } => x_form(op::ADD, rt, ra, rb, 0),
            Self::Cmpd { ra, rb } => x_form(op::CMPD, 0, ra, rb, 0),
            Self::Load { size, rt, ra, d } => d_form(op::LOAD_B1 + size.code(), rt, ra, d as u16),
            Self::Store { size, rs, ra, d } => d_form(op::STORE_B1 + size.code(), rs, ra, d as u16),
            Self::Lq { rtp, ra, d } => d_form(op::LQ, rtp, ra, d as u16),
            Self::Stq { rsp, ra, d } => d_form(op::STQ, rsp, ra, d as u16),
            Self::Lxv { vt, ra, d } => d_form(op::LXV, vt, ra, d as u16),
            Self::Stxv { vs, ra, d } => d_form(op::STXV, vs, ra, d as u16),
            Self::Lxvp { vtp, ra, d } => d_form(op::LXVP, vtp, ra, d as u16),
            Self::Stxvp { vsp, ra, d } => d_form(op::STXVP, vsp, ra, d as u16),
            Self::FetchAdd { size, rt, ra, rb } => x_form(op::FETCH_ADD, rt, ra, rb, size.code()),
            Self::CmpXchg { size, rt, ra, rb } => x_form(op::CMPXCHG, rt, ra, rb, size.code()),
            Self::Larx { size, rt, ra, rb } => x_form(op::LARX, rt, ra, rb, size.code()),
            Self::Stcx { size, rs, ra, rb } => x_form(op::STCX, rs, ra, rb, size.code()),
            Self::Dcbz { ra, rb } => x_form(op::DCBZ, 0, ra, rb, 0),
            Self::Sc => op::SC << 26,
            Self::Rfid => op::RFID << 26,
            Self::B { offset } => i_form(op::B, offset),
            Self::Bl { offset } => i_form(op::BL, offset),
            Self::Blr => op::BLR << 26,
            Self::Bc { cond, offset } => d_form(op::BC, cond.code() as u8, 0, offset as u16),
            Self::Mtlr { rs } => x_form(op::MTLR, rs, 0, 0, 0),
            Self::Mflr { rt } => x_form(op::MFLR, rt, 0, 0, 0),
        }
    }

    /// Whether [`Insn::encode`] represents `self` exactly: registers below 32, register pairs
    /// even, shifts below 64, branch offsets within 26 bits.
    #[must_use]
    pub fn is_encodable(&self) -> bool {
        Self::decode(self.encode()) == Some(*self)
    }

    /// Decode one instruction word; `None` for an illegal word (a program interrupt when
    /// executed, [`hwbkpt_hal::DecodeError::Unknown`] for the decode hook). Never panics.
    #[must_use]
    pub const fn decode(word: u32) -> Option<Self> {
        let opcode = word >> 26;
        let rt = ((word >> 21) & 31) as Reg;
        let ra = ((word >> 16) & 31) as Reg;
        let rb = ((word >> 11) & 31) as Reg;
        let xo = word & 0x7FF;
        let d = word as u16 as i16;
        let imm = word as u16;
        let li = ((word << 6) as i32) >> 6;
        let low26_zero = word & 0x03FF_FFFF == 0;
        let x_zero = xo == 0;
        let size = Size::from_code(xo);
        let insn = match opcode {
            op::HALT if low26_zero => Self::Halt,
            op::NOP if low26_zero => Self::Nop,
            op::ADDI => Self::Addi { rt, ra, d },
            op::ADDIS => Self::Addis { rt, ra, d },
            op::ORI => Self::Ori { rt, ra, imm },
            op::SLDI if imm < 64 => Self::Sldi {
                rt,
                ra,
                sh: imm as u8,
            },
            op::ADD if x_zero => Self::Add { rt, ra, rb },
            op::CMPD if x_zero && rt == 0 => Self::Cmpd { ra, rb },
            op::LOAD_B1..=13 => match Size::from_code(opcode - op::LOAD_B1) {
                Some(size) => Self::Load { size, rt, ra, d },
                None => return None,
            },
            op::STORE_B1..=17 => match Size::from_code(opcode - op::STORE_B1) {
                Some(size) => Self::Store {
                    size,
                    rs: rt,
                    ra,
                    d,
                },
                None => return None,
            },
            // Register pairs must start even (Power ISA: an odd RTp is an invalid form).
            op::LQ if rt.is_multiple_of(2) => Self::Lq { rtp: rt, ra, d },
            op::STQ if rt.is_multiple_of(2) => Self::Stq { rsp: rt, ra, d },
            op::LXV => Self::Lxv { vt: rt, ra, d },
            op::STXV => Self::Stxv { vs: rt, ra, d },
            op::LXVP if rt.is_multiple_of(2) => Self::Lxvp { vtp: rt, ra, d },
            op::STXVP if rt.is_multiple_of(2) => Self::Stxvp { vsp: rt, ra, d },
            op::FETCH_ADD => match size {
                Some(size) => Self::FetchAdd { size, rt, ra, rb },
                None => return None,
            },
            op::CMPXCHG => match size {
                Some(size) => Self::CmpXchg { size, rt, ra, rb },
                None => return None,
            },
            op::LARX => match size {
                Some(size) => Self::Larx { size, rt, ra, rb },
                None => return None,
            },
            op::STCX => match size {
                Some(size) => Self::Stcx {
                    size,
                    rs: rt,
                    ra,
                    rb,
                },
                None => return None,
            },
            op::DCBZ if x_zero && rt == 0 => Self::Dcbz { ra, rb },
            op::SC if low26_zero => Self::Sc,
            op::RFID if low26_zero => Self::Rfid,
            op::B => Self::B { offset: li },
            op::BL => Self::Bl { offset: li },
            op::BLR if low26_zero => Self::Blr,
            op::BC if ra == 0 => match Cond::from_code(rt as u32) {
                Some(cond) => Self::Bc { cond, offset: d },
                None => return None,
            },
            op::MTLR if ra == 0 && rb == 0 && x_zero => Self::Mtlr { rs: rt },
            op::MFLR if ra == 0 && rb == 0 && x_zero => Self::Mflr { rt },
            _ => return None,
        };
        Some(insn)
    }

    /// The instruction's big-endian bytes, as stored in simulated memory.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 4] {
        self.encode().to_be_bytes()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    pub(crate) fn any_insn() -> impl Strategy<Value = Insn> {
        let r = 0u8..32;
        let even = (0u8..16).prop_map(|r| r * 2);
        let size = prop::sample::select(Size::ALL.to_vec());
        let cond = prop::sample::select(Cond::ALL.to_vec());
        prop_oneof![
            Just(Insn::Halt),
            Just(Insn::Nop),
            (r.clone(), r.clone(), any::<i16>()).prop_map(|(rt, ra, d)| Insn::Addi { rt, ra, d }),
            (r.clone(), r.clone(), any::<i16>()).prop_map(|(rt, ra, d)| Insn::Addis { rt, ra, d }),
            (r.clone(), r.clone(), any::<u16>()).prop_map(|(rt, ra, imm)| Insn::Ori {
                rt,
                ra,
                imm
            }),
            (r.clone(), r.clone(), 0u8..64).prop_map(|(rt, ra, sh)| Insn::Sldi { rt, ra, sh }),
            (r.clone(), r.clone(), r.clone()).prop_map(|(rt, ra, rb)| Insn::Add { rt, ra, rb }),
            (r.clone(), r.clone()).prop_map(|(ra, rb)| Insn::Cmpd { ra, rb }),
            (size.clone(), r.clone(), r.clone(), any::<i16>())
                .prop_map(|(size, rt, ra, d)| Insn::Load { size, rt, ra, d }),
            (size.clone(), r.clone(), r.clone(), any::<i16>())
                .prop_map(|(size, rs, ra, d)| Insn::Store { size, rs, ra, d }),
            (even.clone(), r.clone(), any::<i16>()).prop_map(|(rtp, ra, d)| Insn::Lq {
                rtp,
                ra,
                d
            }),
            (even.clone(), r.clone(), any::<i16>()).prop_map(|(rsp, ra, d)| Insn::Stq {
                rsp,
                ra,
                d
            }),
            (r.clone(), r.clone(), any::<i16>()).prop_map(|(vt, ra, d)| Insn::Lxv { vt, ra, d }),
            (r.clone(), r.clone(), any::<i16>()).prop_map(|(vs, ra, d)| Insn::Stxv { vs, ra, d }),
            (even.clone(), r.clone(), any::<i16>()).prop_map(|(vtp, ra, d)| Insn::Lxvp {
                vtp,
                ra,
                d
            }),
            (even, r.clone(), any::<i16>()).prop_map(|(vsp, ra, d)| Insn::Stxvp { vsp, ra, d }),
            (size.clone(), r.clone(), r.clone(), r.clone())
                .prop_map(|(size, rt, ra, rb)| Insn::FetchAdd { size, rt, ra, rb }),
            (size.clone(), r.clone(), r.clone(), r.clone())
                .prop_map(|(size, rt, ra, rb)| Insn::CmpXchg { size, rt, ra, rb }),
            (size.clone(), r.clone(), r.clone(), r.clone())
                .prop_map(|(size, rt, ra, rb)| Insn::Larx { size, rt, ra, rb }),
            (size, r.clone(), r.clone(), r.clone()).prop_map(|(size, rs, ra, rb)| Insn::Stcx {
                size,
                rs,
                ra,
                rb
            }),
            (r.clone(), r.clone()).prop_map(|(ra, rb)| Insn::Dcbz { ra, rb }),
            Just(Insn::Sc),
            Just(Insn::Rfid),
            (BRANCH_OFFSET_MIN..=BRANCH_OFFSET_MAX).prop_map(|offset| Insn::B { offset }),
            (BRANCH_OFFSET_MIN..=BRANCH_OFFSET_MAX).prop_map(|offset| Insn::Bl { offset }),
            Just(Insn::Blr),
            (cond, any::<i16>()).prop_map(|(cond, offset)| Insn::Bc { cond, offset }),
            r.clone().prop_map(|rs| Insn::Mtlr { rs }),
            r.prop_map(|rt| Insn::Mflr { rt }),
        ]
    }

    proptest! {
        /// STYLE §7: decode(encode(x)) == x for every well-formed instruction.
        #[test]
        fn encode_then_decode_round_trips(insn in any_insn()) {
            prop_assert_eq!(Insn::decode(insn.encode()), Some(insn));
            prop_assert!(insn.is_encodable());
        }

        /// Every word either decodes to an instruction that encodes back to the same word, or
        /// is illegal: the decoder is a bijection onto its image and never panics.
        #[test]
        fn every_word_decodes_canonically_or_not_at_all(word in any::<u32>()) {
            if let Some(insn) = Insn::decode(word) {
                prop_assert_eq!(insn.encode(), word);
            }
        }
    }

    #[test]
    fn zero_word_is_illegal_and_pairs_must_be_even() {
        assert_eq!(Insn::decode(0), None);
        assert_eq!(
            Insn::decode(
                Insn::Lq {
                    rtp: 2,
                    ra: 1,
                    d: 0
                }
                .encode()
                    | 1 << 21
            ),
            None
        );
        assert!(
            !Insn::Lxvp {
                vtp: 3,
                ra: 1,
                d: 0
            }
            .is_encodable()
        );
        assert!(
            !Insn::Addi {
                rt: 40,
                ra: 1,
                d: 0
            }
            .is_encodable()
        );
        assert!(!Insn::B { offset: 1 << 25 }.is_encodable());
        assert!(Insn::B { offset: -(1 << 25) }.is_encodable());
    }

    #[test]
    fn words_are_stored_big_endian() {
        let bytes = Insn::Halt.to_bytes();
        assert_eq!(bytes, [0x04, 0, 0, 0]);
    }
}
