//! One ptrace slot as the kernel holds it: its address, what it watches, whether it is on.

use hwbkpt_hal::{
    AccessKind, DebugArchitecture, Origin, PrivilegeFilter, Request, Scope, Sharing, TaskId,
    ptrace::Errno,
};

use crate::{BreakpointLength, Condition, X86Cpu};

/// What a ptrace slot watches: the type and length of the breakpoint the kernel keeps for
/// it (Linux: the slot's perf event's `bp_type` and `bp_len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotKind {
    /// An instruction breakpoint (R/W = 00, LEN = 00): one byte, any alignment.
    Execute,
    /// Data writes (R/W = 01) of the given length.
    Write(BreakpointLength),
    /// Data reads or writes (R/W = 11) of the given length.
    ReadWrite(BreakpointLength),
}

impl SlotKind {
    /// The kind a DR7 slot field pair asks for, as Linux accepts them: `EINVAL` for
    /// R/W = 10 (I/O: ptrace has no I/O breakpoints), for an execute field with a LEN other
    /// than 00, and for a LEN the CPU profile cannot encode (LEN = 10 on IA-32).
    ///
    /// # Errors
    /// [`Errno::EINVAL`].
    ///
    /// ```
    /// use hwbkpt_hal::ptrace::Errno;
    /// use hwbkpt_x86::ptrace_file::SlotKind;
    /// use hwbkpt_x86::{BreakpointLength, Condition, X86Profile};
    ///
    /// let p = X86Profile::GENERIC_X86_64;
    /// let four = BreakpointLength::Four;
    /// assert_eq!(SlotKind::from_fields(Condition::Write, four, &p), Ok(SlotKind::Write(four)));
    /// assert_eq!(SlotKind::from_fields(Condition::Io, four, &p), Err(Errno::EINVAL));
    /// assert_eq!(SlotKind::from_fields(Condition::Execute, four, &p), Err(Errno::EINVAL));
    /// ```
    pub const fn from_fields(
        condition: Condition,
        len: BreakpointLength,
        profile: &crate::X86Profile,
    ) -> Result<Self, Errno> {
        match condition {
            Condition::Execute => match len {
                BreakpointLength::One => Ok(Self::Execute),
                _ => Err(Errno::EINVAL),
            },
            Condition::Io => Err(Errno::EINVAL),
            Condition::Write | Condition::ReadWrite if !profile.supports_length(len.bytes()) => {
                Err(Errno::EINVAL)
            }
            Condition::Write => Ok(Self::Write(len)),
            Condition::ReadWrite => Ok(Self::ReadWrite(len)),
        }
    }

    /// Bytes watched (an instruction breakpoint watches one).
    #[must_use]
    pub const fn bytes(self) -> u64 {
        match self {
            Self::Execute => 1,
            Self::Write(len) | Self::ReadWrite(len) => len.bytes(),
        }
    }

    /// The HAL access kinds.
    #[must_use]
    pub const fn access(self) -> AccessKind {
        match self {
            Self::Execute => AccessKind::EXECUTE,
            Self::Write(_) => AccessKind::WRITE,
            Self::ReadWrite(_) => AccessKind::READ_WRITE,
        }
    }

    /// The DR7 R/W field.
    #[must_use]
    pub const fn condition(self) -> Condition {
        match self {
            Self::Execute => Condition::Execute,
            Self::Write(_) => Condition::Write,
            Self::ReadWrite(_) => Condition::ReadWrite,
        }
    }

    /// The DR7 LEN field.
    #[must_use]
    pub const fn length(self) -> BreakpointLength {
        match self {
            Self::Execute => BreakpointLength::One,
            Self::Write(len) | Self::ReadWrite(len) => len,
        }
    }
}

/// A ptrace slot that exists: Linux creates it at the first address write (disabled, one
/// byte, write) or at the first DR7 write that enables the slot, and keeps it until the
/// task execs or exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PtraceBreakpoint {
    /// What DR*n* reads back.
    pub address: u64,
    /// Type and length.
    pub kind: SlotKind,
    /// Whether DR7 enables it (L*n* or G*n*).
    pub enabled: bool,
}

impl PtraceBreakpoint {
    /// The HAL request this breakpoint stands for, for `task`: user-origin, matching user
    /// accesses only (Linux sets `exclude_kernel` on ptrace breakpoints), one exclusive slot
    /// (Linux gives every ptrace slot its own debug register).
    ///
    /// # Errors
    /// [`Errno::EINVAL`] if the request is not well formed.
    pub fn request(&self, task: TaskId) -> Result<Request, Errno> {
        Request::builder(self.address, self.kind.bytes(), self.kind.access())
            .scope(Scope::Task(task))
            .privilege(PrivilegeFilter::USER)
            .origin(Origin::User)
            .sharing(Sharing::Exclusive)
            .build()
            .map_err(|e| Errno::from_request(&e))
    }

    /// Linux's checks of a breakpoint, whether enabled or not (`hw_breakpoint_arch_parse`
    /// and `arch_check_bp_in_kernelspace`): the address aligned to the length, every byte
    /// below the user limit. The second is the HAL's own address-space policy and plan.
    ///
    /// # Errors
    /// [`Errno::EINVAL`].
    pub fn validate(&self, cpu: &X86Cpu, task: TaskId) -> Result<(), Errno> {
        if !self.kind.length().is_aligned(self.address) && self.kind != SlotKind::Execute {
            return Err(Errno::EINVAL);
        }
        let request = self.request(task)?;
        let plan = cpu.prepare(&request).map_err(|_| Errno::EINVAL)?;
        // An aligned piece is one slot; anything else would not be what DR7 says.
        if plan.len() == 1 {
            Ok(())
        } else {
            Err(Errno::EINVAL)
        }
    }
}
