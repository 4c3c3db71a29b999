//! What the exception pipeline may ask of its environment — no more than a kernel has at the
//! exception (DESIGN §1, "What dispatch may see").

use crate::AccessKind;

/// Reading memory failed (unmapped, or the hook refuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoryReadError {
    /// No readable memory at this address.
    Unmapped {
        /// The first unreadable address.
        addr: u64,
    },
}

impl core::fmt::Display for MemoryReadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unmapped { addr } => write!(f, "no readable memory at {addr:#x}"),
        }
    }
}

impl core::error::Error for MemoryReadError {}

/// Reads memory of the interrupted context (old/new values of a watched location).
pub trait MemoryRead {
    /// Fill `buf` with the bytes at `addr`.
    ///
    /// # Errors
    /// [`MemoryReadError`] when some byte cannot be read; `buf` is then unspecified.
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError>;
}

/// How an instruction's access interacts with the single-step interlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessClass {
    /// A plain load or store.
    Plain,
    /// Load-and-reserve (`lwarx`/`ldarx`…): stepping it is harmless, but the matching
    /// store-conditional will lose the reservation if stepped.
    LoadReserve,
    /// Store-conditional (`stwcx.`/`stdcx.`…): cannot be single-stepped without losing the
    /// reservation.
    StoreConditional,
    /// A cache-block operation (`dcbz`) that writes a whole block.
    CacheBlock,
}

/// The memory access an instruction will make, as an instruction decoder sees it
/// (Linux does this with `analyse_instr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecodedAccess {
    /// Effective address of the first byte.
    pub addr: u64,
    /// Bytes accessed.
    pub size: u32,
    /// Read, write, or both (read-modify-write).
    pub kind: AccessKind,
    /// Interaction with stepping.
    pub class: AccessClass,
}

/// Why an instruction could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The instruction could not be fetched.
    Fetch(MemoryReadError),
    /// The decoder does not know this instruction.
    Unknown {
        /// The instruction address.
        pc: u64,
    },
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Fetch(e) => write!(f, "cannot fetch instruction: {e}"),
            Self::Unknown { pc } => write!(f, "unknown instruction at {pc:#x}"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Decodes the instruction at a PC into the memory access it makes (PPC64 needs this:
/// DAR is not trustworthy for every access size on POWER8/9).
pub trait InstructionDecode {
    /// The access the instruction at `pc` makes with the current registers, or `None` when it
    /// makes no memory access.
    ///
    /// # Errors
    /// [`DecodeError`] when the instruction cannot be fetched or is unknown.
    fn decode_access(&mut self, pc: u64) -> Result<Option<DecodedAccess>, DecodeError>;

    /// x86: the instruction at `pc` is a `rep movs`/`rep stos` that the exception interrupted
    /// with iterations left, and this is its count register now; `None` otherwise, and by
    /// default (PPC64, and kernels that do not look).
    ///
    /// A data breakpoint traps after the iteration that hit (after the group of iterations,
    /// with fast strings): while iterations remain, RIP still points at the instruction,
    /// RCX/RSI/RDI are updated, and RFLAGS.RF is set in the trap frame (SDM vol. 3 §18.3.1.1).
    /// An implementation checks the frame's RF (after a completed instruction it is clear, so
    /// a trap after an instruction that merely precedes a `rep` is not taken for one), decodes
    /// the instruction at `pc` and reads RCX. After the *last* iteration RIP is past the
    /// instruction and nothing says a `rep` just finished: that trap is not mid-rep, `None`.
    /// `hwbkpt_x86::string_progress` does the check from the frame's RIP, RFLAGS and RCX and
    /// the bytes at `pc` (a ptrace tracer reads them with `PTRACE_GETREGS` and
    /// `process_vm_readv`; `tests/real_hw` does exactly that on the real CPU).
    fn string_progress(&mut self, pc: u64) -> Option<StringProgress> {
        let _ = pc;
        None
    }
}

/// Where a `rep movs`/`rep stos` interrupted with iterations left stands
/// ([`InstructionDecode::string_progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StringProgress {
    /// The iterations still to run: RCX in the trap frame (never 0: with none left the
    /// instruction has completed).
    pub remaining: u64,
}

/// Why a kernel-mode instruction could not be emulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmulateError {
    /// The emulator does not handle this instruction.
    Unsupported {
        /// The instruction address.
        pc: u64,
    },
    /// The emulated access faulted.
    Fault {
        /// The faulting address.
        addr: u64,
    },
}

impl core::fmt::Display for EmulateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unsupported { pc } => write!(f, "cannot emulate the instruction at {pc:#x}"),
            Self::Fault { addr } => write!(f, "emulated access faulted at {addr:#x}"),
        }
    }
}

impl core::error::Error for EmulateError {}

/// Executes the instruction at a PC on behalf of the interrupted kernel context and advances
/// its PC, with the layer's breakpoints out of the way. Used instead of single-stepping when a
/// trigger-before hit happens in kernel mode (Linux uses `emulate_step` for this).
pub trait InstructionEmulate {
    /// Emulate the instruction at `pc`.
    ///
    /// # Errors
    /// [`EmulateError`] when the instruction cannot be emulated; nothing was changed then.
    fn emulate(&mut self, pc: u64) -> Result<(), EmulateError>;
}

/// Everything dispatch may ask of the interrupted context (DESIGN §1): memory reads, the
/// decode hook and the kernel-mode emulation hook.
pub trait ExceptionEnvironment: MemoryRead + InstructionDecode + InstructionEmulate {}

impl<T: MemoryRead + InstructionDecode + InstructionEmulate> ExceptionEnvironment for T {}
