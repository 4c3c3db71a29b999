//! The owner: ptrace requests for one stopped, traced thread (powerpc64 Linux only).

use hwbkpt_hal::{PoolKind, RegisterAccess, SlotId};

use super::translate::{TranslateError, hw_breakpoint};
use super::uapi::{
    PPC_PTRACE_DELHWDEBUG, PPC_PTRACE_GETHWDBGINFO, PPC_PTRACE_SETHWDEBUG, PTRACE_GET_DEBUGREG,
    PTRACE_SET_DEBUGREG, PpcDebugInfo, PpcHwBreakpoint,
};
use crate::{PowerStatus, SlotImage, StepRequest};

/// Most data breakpoints Linux offers through ptrace (POWER10's DAWR0 and DAWR1).
const MAX_DATA: usize = 2;

/// Why the kernel refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// `EINVAL`: bad trigger, mode or condition, a range over 512 bytes (8 on DABR), a DAWR
    /// range crossing 512 bytes before POWER10, or an unknown handle.
    Invalid,
    /// `EIO`: an address at or above `TASK_SIZE`, or (old interface) BT not set.
    NotUserAddress,
    /// `ENOSPC`: every data slot of the thread is taken.
    NoSpace,
    /// `ENODEV`: no usable breakpoint (POWER9 with the DAWR disabled).
    NoDevice,
    /// `ENOTSUPP` (524): a structure version other than 1.
    Version,
    /// `ESRCH`: not traced by the caller, or not stopped.
    NotStopped,
    /// `EPERM`.
    Permission,
    /// Anything else.
    Other,
}

impl Refusal {
    /// The reason behind `errno`.
    #[must_use]
    pub const fn from_errno(errno: i32) -> Self {
        match errno {
            libc::EINVAL => Self::Invalid,
            libc::EIO => Self::NotUserAddress,
            libc::ENOSPC => Self::NoSpace,
            libc::ENODEV => Self::NoDevice,
            // The kernel-internal ENOTSUPP, which leaks to user space here.
            524 => Self::Version,
            libc::ESRCH => Self::NotStopped,
            libc::EPERM => Self::Permission,
            _ => Self::Other,
        }
    }
}

/// Why the ptrace owner could not complete an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PtraceError {
    /// The program cannot be expressed through ptrace; nothing was changed.
    Translate(TranslateError),
    /// Not a data slot ptrace offers; nothing was changed.
    NoSuchSlot(SlotId),
    /// A request failed; the thread's breakpoints are as before the operation.
    Request {
        /// The ptrace request.
        request: u32,
        /// Why.
        refusal: Refusal,
        /// The raw errno.
        errno: i32,
    },
    /// A request failed and restoring the previous breakpoint failed too: the slot is
    /// empty.
    Inconsistent {
        /// The slot.
        slot: SlotId,
        /// Why the first request failed.
        refusal: Refusal,
    },
    /// No stop was recorded (`read_status` before [`TracedThread::record_stop`]).
    NoStatus,
}

impl core::fmt::Display for PtraceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Translate(e) => e.fmt(f),
            Self::NoSuchSlot(slot) => write!(f, "{slot:?} is not a ptrace data slot"),
            Self::Request {
                request,
                refusal,
                errno,
            } => write!(
                f,
                "ptrace request {request:#x} refused: {refusal:?} (errno {errno})"
            ),
            Self::Inconsistent { slot, refusal } => write!(
                f,
                "{slot:?}: {refusal:?}, and restoring the previous breakpoint failed; the slot is empty"
            ),
            Self::NoStatus => f.write_str("no stop recorded"),
        }
    }
}

impl core::error::Error for PtraceError {}

impl From<TranslateError> for PtraceError {
    fn from(e: TranslateError) -> Self {
        Self::Translate(e)
    }
}

/// The hardware breakpoints of one stopped thread traced by the calling thread, through
/// `PPC_PTRACE_SETHWDEBUG`/`DELHWDEBUG` (one handle per HAL data slot).
///
/// The kernel reports a hit as SIGTRAP with `si_code` TRAP_HWBKPT and `si_addr` the
/// address that matched (the DAR); hand it to [`record_stop`](Self::record_stop), after which
/// [`read_status`](RegisterAccess::read_status) gives the [`PowerStatus`] the dispatch layer
/// expects. Linux's ptrace breakpoints stop *before* the access (the native PPC64 timing).
#[derive(Debug)]
pub struct TracedThread {
    tid: libc::pid_t,
    slots: [Option<(i64, PpcHwBreakpoint)>; MAX_DATA],
    status: Option<PowerStatus>,
    step: StepRequest,
}

impl TracedThread {
    /// The breakpoints of thread `tid`.
    #[must_use]
    pub const fn new(tid: libc::pid_t) -> Self {
        Self {
            tid,
            slots: [None; MAX_DATA],
            status: None,
            step: StepRequest::new(),
        }
    }

    /// `PPC_PTRACE_GETHWDBGINFO`.
    ///
    /// # Errors
    /// [`PtraceError::Request`].
    pub fn debug_info(&self) -> Result<PpcDebugInfo, PtraceError> {
        let mut info = PpcDebugInfo::default();
        // SAFETY: the kernel writes one `struct ppc_debug_info` at `data`, which points to a
        // live value of exactly that layout (asserted in `uapi`).
        self.request(PPC_PTRACE_GETHWDBGINFO, 0, (&raw mut info) as usize)?;
        Ok(info)
    }

    /// `PPC_PTRACE_SETHWDEBUG`: the handle of the new breakpoint.
    ///
    /// # Errors
    /// [`PtraceError::Request`].
    pub fn set_hwdebug(&mut self, bp: &PpcHwBreakpoint) -> Result<i64, PtraceError> {
        let mut copy = *bp;
        // SAFETY: the kernel reads one `struct ppc_hw_breakpoint` at `data` (layout asserted
        // in `uapi`); the value lives across the call.
        self.request(PPC_PTRACE_SETHWDEBUG, 0, (&raw mut copy) as usize)
    }

    /// `PPC_PTRACE_DELHWDEBUG` of `handle`.
    ///
    /// # Errors
    /// [`PtraceError::Request`].
    pub fn del_hwdebug(&mut self, handle: i64) -> Result<(), PtraceError> {
        // SAFETY: the handle is passed by value; no memory is named.
        self.request(PPC_PTRACE_DELHWDEBUG, 0, handle as usize)
            .map(|_| ())
    }

    /// `PTRACE_GET_DEBUGREG`: the old interface's DABR-style word.
    ///
    /// # Errors
    /// [`PtraceError::Request`].
    pub fn get_debugreg(&self) -> Result<u64, PtraceError> {
        let mut word: u64 = 0;
        // SAFETY: the kernel stores one `unsigned long` at `data`, a live u64.
        self.request(PTRACE_GET_DEBUGREG, 0, (&raw mut word) as usize)?;
        Ok(word)
    }

    /// `PTRACE_SET_DEBUGREG` of `word` (see [`dabr_word`](super::dabr_word)); 0 clears it.
    ///
    /// # Errors
    /// [`PtraceError::Request`].
    pub fn set_debugreg(&mut self, word: u64) -> Result<(), PtraceError> {
        // SAFETY: the word is passed by value; no memory is named.
        self.request(PTRACE_SET_DEBUGREG, 0, word as usize)
            .map(|_| ())
    }

    /// Record the stop the tracer saw: a SIGTRAP with TRAP_HWBKPT at `si_addr` is a
    /// watchpoint DSI at that DAR; a TRAP_TRACE stop is a single-step trace interrupt.
    pub fn record_stop(&mut self, si_code: i32, si_addr: u64) {
        self.status = Some(match si_code {
            // TRAP_TRACE
            2 => PowerStatus::single_step(),
            _ => PowerStatus::watchpoint(si_addr),
        });
    }

    /// Resume with `PTRACE_SINGLESTEP` if a step was requested, `PTRACE_CONT` otherwise,
    /// delivering `signal`.
    ///
    /// # Errors
    /// [`PtraceError::Request`].
    pub fn resume(&mut self, signal: i32) -> Result<(), PtraceError> {
        let step = self.step.pending() == Some(true);
        self.step = StepRequest::new();
        let request = if step {
            libc::PTRACE_SINGLESTEP
        } else {
            libc::PTRACE_CONT
        };
        // SAFETY: CONT/SINGLESTEP take a signal number by value.
        self.request(request, 0, signal as usize).map(|_| ())
    }

    fn request(&self, request: u32, addr: usize, data: usize) -> Result<i64, PtraceError> {
        // SAFETY: callers pass `data` either by value or pointing to a live object of the
        // layout the request expects (see each caller).
        let rc = unsafe { libc::ptrace(request, self.tid, addr, data) };
        if rc == -1 {
            // SAFETY: the calling thread's errno slot is always valid.
            let errno = unsafe { *libc::__errno_location() };
            return Err(PtraceError::Request {
                request,
                refusal: Refusal::from_errno(errno),
                errno,
            });
        }
        Ok(rc)
    }

    fn index(slot: SlotId) -> Result<usize, PtraceError> {
        match slot.pool() {
            PoolKind::Data if usize::from(slot.index()) < MAX_DATA => Ok(usize::from(slot.index())),
            _ => Err(PtraceError::NoSuchSlot(slot)),
        }
    }
}

impl RegisterAccess for TracedThread {
    type Image = SlotImage;
    type Status = PowerStatus;
    type Error = PtraceError;

    /// Translates the image's program; deletes the slot's previous breakpoint, sets the new
    /// one, and on failure sets the previous one again.
    fn install(&mut self, slot: SlotId, image: SlotImage) -> Result<(), PtraceError> {
        let index = Self::index(slot)?;
        let Some(program) = image.decode() else {
            return self.uninstall(slot);
        };
        let bp = hw_breakpoint(&program)?;
        let previous = self.slots[index].take();
        if let Some((handle, old)) = previous
            && let Err(e) = self.del_hwdebug(handle)
        {
            self.slots[index] = Some((handle, old));
            return Err(e);
        }
        match self.set_hwdebug(&bp) {
            Ok(handle) => {
                self.slots[index] = Some((handle, bp));
                Ok(())
            }
            Err(error) => {
                let Some((_, old)) = previous else {
                    return Err(error);
                };
                match self.set_hwdebug(&old) {
                    Ok(handle) => {
                        self.slots[index] = Some((handle, old));
                        Err(error)
                    }
                    Err(_) => Err(PtraceError::Inconsistent {
                        slot,
                        refusal: match error {
                            PtraceError::Request { refusal, .. } => refusal,
                            _ => Refusal::Other,
                        },
                    }),
                }
            }
        }
    }

    fn uninstall(&mut self, slot: SlotId) -> Result<(), PtraceError> {
        let index = Self::index(slot)?;
        if let Some((handle, bp)) = self.slots[index].take()
            && let Err(e) = self.del_hwdebug(handle)
        {
            self.slots[index] = Some((handle, bp));
            return Err(e);
        }
        Ok(())
    }

    fn read_status(&mut self) -> Result<PowerStatus, PtraceError> {
        self.status.ok_or(PtraceError::NoStatus)
    }

    fn reset_status(&mut self) -> Result<(), PtraceError> {
        self.status = None;
        Ok(())
    }

    fn set_single_step(&mut self, enabled: bool) -> Result<(), PtraceError> {
        self.step.request(enabled);
        Ok(())
    }
}
