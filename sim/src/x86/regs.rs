//! The registers of one x86-64 hardware thread, as a task's saved context.

use super::debug::{DebugRegisters, DrAccessError};

/// A general-purpose register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs, reason = "the architectural register names")]
pub enum Reg {
    Rax,
    Rcx,
    Rdx,
    Rbx,
    Rsp,
    Rbp,
    Rsi,
    Rdi,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
}

impl Reg {
    /// Every register, in encoding order.
    pub const ALL: [Self; 16] = [
        Self::Rax,
        Self::Rcx,
        Self::Rdx,
        Self::Rbx,
        Self::Rsp,
        Self::Rbp,
        Self::Rsi,
        Self::Rdi,
        Self::R8,
        Self::R9,
        Self::R10,
        Self::R11,
        Self::R12,
        Self::R13,
        Self::R14,
        Self::R15,
    ];

    /// The register numbered `n` (low 4 bits) in the encoding.
    #[must_use]
    pub const fn from_number(n: u8) -> Self {
        Self::ALL[(n & 15) as usize]
    }

    /// Its number in the encoding.
    #[must_use]
    pub const fn number(self) -> u8 {
        self as u8
    }
}

/// Number of vector registers modelled (XMM/YMM/ZMM 0–7).
pub const VECTOR_REGS: usize = 8;

/// RFLAGS bits the model uses (SDM vol. 1 §3.4.3, vol. 3 §2.3).
pub mod rflags {
    /// Zero flag.
    pub const ZF: u64 = 1 << 6;
    /// Trap flag: single-step.
    pub const TF: u64 = 1 << 8;
    /// Interrupt enable.
    pub const IF: u64 = 1 << 9;
    /// Direction flag: string instructions count down.
    pub const DF: u64 = 1 << 10;
    /// Resume flag: ignore instruction breakpoints for one instruction.
    pub const RF: u64 = 1 << 16;
    /// Bit 1 always reads 1.
    pub const FIXED: u64 = 1 << 1;
    /// Flags POPF may change at CPL 3 with IOPL 0: CF PF AF ZF SF TF DF OF NT AC ID (never IF,
    /// IOPL, RF, VM).
    pub const POPF_USER: u64 = 0x0025_4DD5;
    /// At CPL 0 POPF may also change IF and IOPL.
    pub const POPF_KERNEL: u64 = POPF_USER | IF | (3 << 12);
    /// SYSRET loads RFLAGS from R11 masked with 0x3C7FD7, then sets bit 1 (SDM vol. 2
    /// "SYSRET"): RF and VM end up clear.
    pub const SYSRET_MASK: u64 = 0x003C_7FD7;
    /// The IA32_FMASK value Linux programs: SYSCALL clears TF, DF, IF, IOPL, AC and NT.
    pub const LINUX_FMASK: u64 = TF | DF | IF | (3 << 12) | (1 << 18) | (1 << 14);
}

/// The MOV SS / POP SS interrupt shadow: the next instruction runs with debug exceptions and
/// interrupts held, and whatever #DB conditions the shadowing instruction and it detected are
/// delivered together after it (SDM vol. 3 §6.8.3; CVE-2018-8897).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Shadow {
    /// The next instruction executes in the shadow.
    pub(crate) active: bool,
    /// DR6 bits held back from the shadowing instruction.
    pub(crate) held_dr6: u64,
}

/// Every register of one x86-64 hardware thread that the model uses. Saved and restored whole
/// on a context switch, debug registers included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X86Context {
    gpr: [u64; 16],
    rip: u64,
    rflags: u64,
    cpl: u8,
    ss: u16,
    vectors: [[u8; 64]; VECTOR_REGS],
    debug: DebugRegisters,
    pub(crate) shadow: Shadow,
    /// Bytes a `rep` string instruction in progress has done (for the fast-strings profile).
    pub(crate) string_progress: u64,
}

impl X86Context {
    /// A user-mode (CPL 3) context about to execute at `rip`, interrupts on, debug registers
    /// at their reset values.
    #[must_use]
    pub fn user(rip: u64) -> Self {
        Self {
            gpr: [0; 16],
            rip,
            rflags: rflags::FIXED | rflags::IF,
            cpl: 3,
            ss: 0x2b,
            vectors: [[0; 64]; VECTOR_REGS],
            debug: DebugRegisters::default(),
            shadow: Shadow::default(),
            string_progress: 0,
        }
    }

    /// A kernel-mode (CPL 0) context about to execute at `rip`.
    #[must_use]
    pub fn kernel(rip: u64) -> Self {
        Self {
            cpl: 0,
            ss: 0x18,
            ..Self::user(rip)
        }
    }

    /// A general-purpose register.
    #[must_use]
    pub const fn gpr(&self, reg: Reg) -> u64 {
        self.gpr[reg as usize]
    }

    /// Set a general-purpose register.
    pub const fn set_gpr(&mut self, reg: Reg, value: u64) {
        self.gpr[reg as usize] = value;
    }

    /// The instruction pointer.
    #[must_use]
    pub const fn rip(&self) -> u64 {
        self.rip
    }

    /// Set the instruction pointer.
    pub const fn set_rip(&mut self, rip: u64) {
        self.rip = rip;
    }

    /// RFLAGS.
    #[must_use]
    pub const fn rflags(&self) -> u64 {
        self.rflags
    }

    /// Set RFLAGS (bit 1 always reads 1).
    pub const fn set_rflags(&mut self, value: u64) {
        self.rflags = value | rflags::FIXED;
    }

    /// Current privilege level: 0 (kernel) or 3 (user).
    #[must_use]
    pub const fn cpl(&self) -> u8 {
        self.cpl
    }

    /// Set the privilege level (0 or 3; anything else counts as 3).
    pub const fn set_cpl(&mut self, cpl: u8) {
        self.cpl = if cpl == 0 { 0 } else { 3 };
    }

    /// The SS selector (only MOV SS / POP SS touch it).
    #[must_use]
    pub const fn ss(&self) -> u16 {
        self.ss
    }

    pub(crate) const fn set_ss(&mut self, ss: u16) {
        self.ss = ss;
    }

    /// Vector register `n` (0–7) as 64 bytes, little-endian lanes; `None` when out of range.
    #[must_use]
    pub fn vector(&self, n: usize) -> Option<&[u8; 64]> {
        self.vectors.get(n)
    }

    /// Set vector register `n` (0–7); ignored when out of range.
    pub fn set_vector(&mut self, n: usize, value: [u8; 64]) {
        if let Some(v) = self.vectors.get_mut(n) {
            *v = value;
        }
    }

    pub(crate) fn vector_mut(&mut self, n: usize) -> &mut [u8; 64] {
        &mut self.vectors[n % VECTOR_REGS]
    }

    /// The debug registers, for reading.
    #[must_use]
    pub const fn debug(&self) -> &DebugRegisters {
        &self.debug
    }

    pub(crate) const fn debug_mut(&mut self) -> &mut DebugRegisters {
        &mut self.debug
    }

    /// `MOV reg, DRn` as ring-0 code executes it, without the GD check (which belongs to the
    /// instruction; see [`X86Context::kernel_read_dr`]).
    ///
    /// # Errors
    /// [`DrAccessError::InvalidRegister`] for n > 7 (#UD).
    pub fn read_dr(&self, n: u8) -> Result<u64, DrAccessError> {
        self.debug.read(n)
    }

    /// `MOV DRn, reg` as ring-0 code executes it, without the GD check: the value is stored
    /// the way the hardware stores it (fixed bits forced, reserved bits dropped).
    ///
    /// # Errors
    /// [`DrAccessError::GeneralProtection`] for a 1 in bits 63:32 of DR6 or DR7 (#GP; nothing
    /// changes), [`DrAccessError::InvalidRegister`] for n > 7.
    pub fn write_dr(&mut self, n: u8, value: u64) -> Result<(), DrAccessError> {
        self.debug.write(n, value)
    }

    /// A debug-register read by kernel code outside the #DB handler: with DR7.GD set the access
    /// faults with a #DB (DR6.BD set, GD cleared as the handler is entered) and reads nothing.
    ///
    /// # Errors
    /// [`DrAccessError::GeneralDetect`], or as [`X86Context::read_dr`].
    pub fn kernel_read_dr(&mut self, n: u8) -> Result<u64, DrAccessError> {
        self.debug.general_detect()?;
        self.debug.read(n)
    }

    /// A debug-register write by kernel code outside the #DB handler (see
    /// [`X86Context::kernel_read_dr`] for GD).
    ///
    /// # Errors
    /// [`DrAccessError::GeneralDetect`], or as [`X86Context::write_dr`].
    pub fn kernel_write_dr(&mut self, n: u8, value: u64) -> Result<(), DrAccessError> {
        self.debug.general_detect()?;
        self.debug.write(n, value)
    }

    /// Whether the next instruction runs in a MOV SS / POP SS shadow.
    #[must_use]
    pub const fn in_interrupt_shadow(&self) -> bool {
        self.shadow.active
    }
}
