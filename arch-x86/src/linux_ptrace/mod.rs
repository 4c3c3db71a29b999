//! The debug registers of a stopped thread of another process, owned through Linux ptrace.
//!
//! A tracer writes a tracee's debug registers with `PTRACE_POKEUSER` at
//! `offsetof(struct user, u_debugreg[n])` and reads them with `PTRACE_PEEKUSER`. The kernel
//! does not write the hardware directly: each ptrace slot becomes a perf breakpoint of the
//! thread (`register_user_hw_breakpoint`), installed in whatever physical register is free
//! when the thread runs. What the tracer sees is therefore the kernel's view:
//!
//! - **DR0–DR3** read back the addresses written; **DR7** reads back the last value
//!   accepted, verbatim (so read-modify-write works).
//! - **DR6 is virtual.** At each #DB the kernel starts it empty, adds BS if the real DR6 had
//!   it, and sets B*n* for each *ptrace slot n* whose perf breakpoint fired — numbered by
//!   the tracer's slot, not the physical register, and never for slots that matched without
//!   being enabled. PEEKUSER returns it in the architectural polarity (`| 0xFFFF0FF0`);
//!   POKEUSER of [`Dr6::RESET`] empties it.
//! - **DR4/DR5** do not exist: writes fail with `EIO` (reads give 0).
//! - A fresh thread's DR7 reads **0**, not the hardware's reset value 0x400.
//! - A slot is **reserved at its first address write** (the disabled placeholder counts
//!   against the four registers perf and ptrace share), so `ENOSPC` comes there, not at the
//!   enable.
//! - After an **execute** breakpoint stop the kernel itself sets RF in the saved RFLAGS, so
//!   `PTRACE_CONT` runs the instruction without faulting again.
//!
//! ## Linux's write-order rules, and how this owner keeps a consistent state
//!
//! 1. An **address write** to a slot that has never been used registers a disabled
//!    one-byte placeholder; to a used slot it is checked against the slot's **current**
//!    R/W and LEN, even while the slot is disabled (`EINVAL` if misaligned for them). A slot
//!    whose fields are cleared (R/W = 00, LEN = 00: execute, one byte) accepts any address.
//! 2. A **DR7 write** is all or nothing: the kernel applies it slot by slot and, if one
//!    fails, re-applies the previous DR7 before returning the error. It checks the fields of
//!    every slot it holds, enabled or not (an I/O or a long execute field fails even in a
//!    disabled slot), and the alignment of each enabled slot's address.
//! 3. Therefore the address goes in **before** the enable, and a slot is **disarmed with its
//!    fields cleared** before its address changes. [`install_writes`] gives exactly that
//!    order (its disarm clears the fields); this owner adds one step for a slot that is
//!    disabled but still carries fields someone else left (it clears them first).
//! 4. On a failed write the owner **rolls back** what it had written — the old address, then
//!    the old DR7 — so an error means the registers hold what they held before
//!    ([`PtraceError::Write`]). If the rollback fails too, it says so
//!    ([`PtraceError::Inconsistent`]).
//! 5. **A new thread inherits a stale DR7.** Linux copies the DR7 value a tracer last wrote
//!    (`thread.ptrace_dr7`) into a thread created by `clone`, but none of the breakpoints:
//!    the new thread's DR7 reads back the creator's value while its DR0–DR3 read 0 and
//!    nothing is armed (observed on 6.18 by `tests/real_hw_x86.rs`). Writing that DR7 back
//!    would arm real breakpoints at address 0, so this owner reads DR7 through
//!    [`TracedThread::live_control`], which drops the fields of every slot whose address
//!    register reads 0. `execve` clears both.
//!
//! **Single-step** is a resume mode for ptrace (`PTRACE_SINGLESTEP`), not a register:
//! [`set_single_step`](RegisterAccess::set_single_step) records the request and
//! [`TracedThread::resume`] applies it.

mod error;

pub use error::{PtraceError, Refusal};

use hwbkpt_hal::{RegisterAccess, SlotId};

use crate::{
    DebugSlot, Dr6, Dr7, RegisterWrite, SingleStep, SlotError, WriteSequence, X86SlotImage,
    install_writes, uninstall_writes,
};

/// `offsetof(struct user, u_debugreg)` on x86-64 (`sys/user.h`: 27 general registers, the
/// FXSAVE area and the a.out fields come first).
pub const U_DEBUGREG_OFFSET: usize = core::mem::offset_of!(libc::user, u_debugreg);
const _: () = assert!(U_DEBUGREG_OFFSET == 848);

/// The `PTRACE_PEEKUSER`/`POKEUSER` offset of debug register `n`.
#[must_use]
pub const fn debugreg_offset(n: u8) -> usize {
    U_DEBUGREG_OFFSET + 8 * n as usize
}

/// The debug registers of one stopped thread traced by the calling thread.
///
/// Every method issues ptrace requests for `tid`; the kernel refuses them (with
/// [`Refusal::NotStopped`]) unless the calling thread is `tid`'s tracer and `tid` is in a
/// ptrace stop. Linux keeps debug registers per thread: a new thread starts with none, and
/// `execve` clears them.
///
/// ```no_run
/// use hwbkpt_hal::{AccessKind, DebugArchitecture, RegisterAccess, Request};
/// use hwbkpt_x86::{DebugSlot, TracedThread, X86Cpu, X86Profile};
///
/// # fn demo(tid: i32) -> Result<(), Box<dyn std::error::Error>> {
/// let cpu = X86Cpu::new(X86Profile::GENERIC_X86_64);
/// let plan = cpu.prepare(&Request::builder(0x7fff_0000_1000, 4, AccessKind::WRITE).build()?)?;
/// let mut thread = TracedThread::new(tid);
/// for (slot, program) in DebugSlot::ALL.into_iter().zip(&plan) {
///     thread.install(slot.slot_id(), cpu.encode(slot.slot_id(), program)?)?;
/// }
/// thread.resume(0)?; // PTRACE_CONT; the next stop is the hit (SIGTRAP, TRAP_HWBKPT)
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TracedThread {
    tid: libc::pid_t,
    single_step: SingleStep,
}

impl TracedThread {
    /// The debug registers of thread `tid`.
    #[must_use]
    pub const fn new(tid: libc::pid_t) -> Self {
        Self {
            tid,
            single_step: SingleStep::Unchanged,
        }
    }

    /// The thread.
    #[must_use]
    pub const fn tid(&self) -> libc::pid_t {
        self.tid
    }

    /// Read debug register `n` (`PTRACE_PEEKUSER`).
    ///
    /// # Errors
    /// [`PtraceError::Read`] with the kernel's reason.
    pub fn peek(&self, n: u8) -> Result<u64, PtraceError> {
        raw_peek(self.tid, debugreg_offset(n)).map_err(|errno| PtraceError::Read {
            register: n,
            refusal: Refusal::classify(errno, n, 0, [0; 4], Dr7::RESET),
            errno,
        })
    }

    /// Write `value` to debug register `n` (`PTRACE_POKEUSER`), nothing else: no ordering, no
    /// rollback. [`RegisterAccess::install`] is the safe way to arm a slot.
    ///
    /// # Errors
    /// [`PtraceError::Write`] with the kernel's reason.
    pub fn poke(&mut self, n: u8, value: u64) -> Result<(), PtraceError> {
        raw_poke(self.tid, debugreg_offset(n), value).map_err(|errno| {
            // A refused write changed nothing, so the registers read now are the ones the
            // kernel checked the value against.
            let addresses = self.addresses().unwrap_or([0; 4]);
            let dr7 = self.control().unwrap_or(Dr7::RESET);
            PtraceError::Write {
                register: n,
                value,
                refusal: Refusal::classify(errno, n, value, addresses, dr7),
                errno,
            }
        })
    }

    /// DR7 as the kernel holds it for the thread.
    ///
    /// # Errors
    /// [`PtraceError::Read`].
    pub fn control(&self) -> Result<Dr7, PtraceError> {
        self.peek(7).map(Dr7::from_bits_retain)
    }

    /// DR7 without the slots Linux reports but does not hold: the fields of every slot
    /// whose address register reads 0 are cleared (a new thread inherits its creator's DR7
    /// value but none of its breakpoints; see the module documentation). The value every
    /// read-modify-write of this owner starts from.
    ///
    /// # Errors
    /// [`PtraceError::Read`].
    pub fn live_control(&self) -> Result<Dr7, PtraceError> {
        let mut dr7 = self.control()?;
        let addresses = self.addresses()?;
        for slot in DebugSlot::ALL {
            if addresses[usize::from(slot.index())] == 0 {
                dr7.disable_slot(slot);
            }
        }
        Ok(dr7)
    }

    /// DR0–DR3.
    ///
    /// # Errors
    /// [`PtraceError::Read`].
    pub fn addresses(&self) -> Result<[u64; 4], PtraceError> {
        Ok([self.peek(0)?, self.peek(1)?, self.peek(2)?, self.peek(3)?])
    }

    /// The pending single-step request, leaving [`SingleStep::Unchanged`] behind.
    pub fn take_single_step(&mut self) -> SingleStep {
        core::mem::take(&mut self.single_step)
    }

    /// Resume the thread, delivering `signal` (0 for none): `PTRACE_SINGLESTEP` if a single
    /// step was requested through [`RegisterAccess::set_single_step`], `PTRACE_CONT`
    /// otherwise. The request is consumed.
    ///
    /// # Errors
    /// [`PtraceError::Write`] (register 0xFF) with the kernel's reason.
    pub fn resume(&mut self, signal: i32) -> Result<(), PtraceError> {
        let request = match self.take_single_step() {
            SingleStep::Enable => libc::PTRACE_SINGLESTEP,
            SingleStep::Unchanged | SingleStep::Disable => libc::PTRACE_CONT,
        };
        // SAFETY: PTRACE_CONT/SINGLESTEP take a signal number in `data` and touch no memory
        // of this process.
        let rc = unsafe { libc::ptrace(request, self.tid, 0usize, signal as usize) };
        if rc == -1 {
            let errno = errno();
            return Err(PtraceError::Write {
                register: RESUME,
                value: signal as u64,
                refusal: Refusal::classify(errno, RESUME, 0, [0; 4], Dr7::RESET),
                errno,
            });
        }
        Ok(())
    }

    /// Perform `writes` in order; on a failure, restore `addresses[slot]` and `dr7` (the
    /// state before the sequence) and report the failure.
    fn perform(
        &mut self,
        writes: impl Iterator<Item = RegisterWrite>,
        slot: DebugSlot,
        address: u64,
        dr7: Dr7,
    ) -> Result<(), PtraceError> {
        let mut touched_address = false;
        for write in writes {
            let (register, value) = match write {
                RegisterWrite::Address { slot, address } => (slot.index(), address),
                RegisterWrite::Control(dr7) => (7, dr7.bits()),
                RegisterWrite::Status(dr6) => (6, dr6.bits()),
            };
            if let Err(error) = self.poke(register, value) {
                return match self.roll_back(touched_address, slot, address, dr7) {
                    Ok(()) => Err(error),
                    Err(_) => Err(PtraceError::Inconsistent {
                        register,
                        refusal: error.refusal().unwrap_or(Refusal::Other),
                    }),
                };
            }
            touched_address |= register == slot.index();
        }
        Ok(())
    }

    /// Put back the slot's old address (through a field-cleared DR7, so any address is
    /// accepted) and the old DR7.
    fn roll_back(
        &mut self,
        touched_address: bool,
        slot: DebugSlot,
        address: u64,
        dr7: Dr7,
    ) -> Result<(), PtraceError> {
        if touched_address {
            let mut cleared = self.live_control()?;
            cleared.disable_slot(slot);
            self.poke(7, cleared.bits())?;
            self.poke(slot.index(), address)?;
        }
        if self.live_control()? != dr7 {
            self.poke(7, dr7.bits())?;
        }
        Ok(())
    }
}

/// Pseudo register number naming the resume request in errors.
const RESUME: u8 = 0xFF;

impl RegisterAccess for TracedThread {
    type Image = X86SlotImage;
    type Status = Dr6;
    type Error = PtraceError;

    /// Reads DR7 ([`TracedThread::live_control`]) and the slot's address, then writes
    /// [`install_writes`] (preceded by a
    /// field-clearing DR7 write when the slot is disabled but has R/W or LEN bits, which
    /// Linux would check the new address against). Rolls back on failure.
    fn install(&mut self, slot: SlotId, image: X86SlotImage) -> Result<(), PtraceError> {
        let slot = image.target(slot)?;
        let dr7 = self.live_control()?;
        let address = self.peek(slot.index())?;
        let stale_fields = !dr7.is_enabled(slot) && dr7.bits() & Dr7::slot_mask(slot) != 0;
        let mut current = dr7;
        let clear = if stale_fields {
            current.disable_slot(slot);
            Some(RegisterWrite::Control(current))
        } else {
            None
        };
        let writes = clear.into_iter().chain(install_writes(current, &image));
        self.perform(writes, slot, address, dr7)
    }

    /// One DR7 write ([`uninstall_writes`]); the kernel applies it whole or not at all.
    fn uninstall(&mut self, slot: SlotId) -> Result<(), PtraceError> {
        let slot = SlotError::debug_slot(slot)?;
        let dr7 = self.live_control()?;
        if dr7.bits() & Dr7::slot_mask(slot) == 0 {
            return Ok(());
        }
        let address = self.peek(slot.index())?;
        self.perform(uninstall_writes(dr7, slot), slot, address, dr7)
    }

    /// The kernel's virtual DR6 of the last stop (see the module documentation).
    fn read_status(&mut self) -> Result<Dr6, PtraceError> {
        self.peek(6).map(Dr6::from_bits_retain)
    }

    /// Writes [`Dr6::RESET`], which empties the kernel's virtual DR6.
    fn reset_status(&mut self) -> Result<(), PtraceError> {
        let write = WriteSequence::from(RegisterWrite::RESET_STATUS);
        for step in write {
            if let RegisterWrite::Status(dr6) = step {
                self.poke(6, dr6.bits())?;
            }
        }
        Ok(())
    }

    /// Records the request for [`TracedThread::resume`].
    fn set_single_step(&mut self, enabled: bool) -> Result<(), PtraceError> {
        self.single_step = SingleStep::from_enabled(enabled);
        Ok(())
    }
}

/// The calling thread's errno.
fn errno() -> i32 {
    // SAFETY: `__errno_location` returns the calling thread's errno slot, always valid.
    unsafe { *libc::__errno_location() }
}

/// `PTRACE_PEEKUSER` at `offset`: the word, or the errno.
fn raw_peek(tid: libc::pid_t, offset: usize) -> Result<u64, i32> {
    // SAFETY: writing the calling thread's errno slot, always valid.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: PEEKUSER reads a word of the tracee's user area; the C library returns it
    // (it passes its own result slot as `data`); no memory of ours is named.
    let word = unsafe { libc::ptrace(libc::PTRACE_PEEKUSER, tid, offset, 0usize) };
    match errno() {
        0 => Ok(word as u64),
        errno => Err(errno),
    }
}

/// `PTRACE_POKEUSER` of `value` at `offset`.
fn raw_poke(tid: libc::pid_t, offset: usize, value: u64) -> Result<(), i32> {
    // SAFETY: POKEUSER takes the word by value in `data`; no memory of ours is named.
    let rc = unsafe { libc::ptrace(libc::PTRACE_POKEUSER, tid, offset, value as usize) };
    if rc == -1 { Err(errno()) } else { Ok(()) }
}

static_assertions::assert_impl_all!(TracedThread: RegisterAccess<Image = X86SlotImage, Status = Dr6>, Send);
