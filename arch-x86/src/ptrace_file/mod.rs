//! A ptrace-compatible virtual debug-register file for one x86-64 task (`no_std`).
//!
//! A kernel that adopts hwbkpt no longer lets ptrace poke the debug registers: a debugger's
//! `PTRACE_POKEUSER` of `u_debugreg[n]` lands in an [`X86PtraceFile`], which validates the
//! write, turns it into HAL [`Request`]s and applies them through the
//! [`Dispatcher`] (policy, plan, reservation, encode) — or refuses it with the error number
//! Linux returns, leaving the previous state exactly as it was. `PTRACE_PEEKUSER` answers
//! what Linux answers, and hits on the task's slots come back from
//! [`Dispatcher::handle_exception`](hwbkpt_hal::Dispatcher::handle_exception) as events,
//! which [`X86PtraceFile::debug_exception`] turns into the virtual DR6 and the stop.
//!
//! ```
//! use hwbkpt_hal::{CpuId, Dispatcher, MemoryRead, MemoryReadError, TaskId, ptrace::Errno};
//! use hwbkpt_x86::ptrace_file::X86PtraceFile;
//! use hwbkpt_x86::{X86Cpu, X86Profile};
//!
//! struct NoMemory;
//! impl MemoryRead for NoMemory {
//!     fn read_memory(&mut self, addr: u64, _: &mut [u8]) -> Result<(), MemoryReadError> {
//!         Err(MemoryReadError::Unmapped { addr })
//!     }
//! }
//!
//! let mut dispatcher = Dispatcher::<X86Cpu>::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
//! let mut file = X86PtraceFile::new(TaskId(7));
//! let mem = &mut NoMemory;
//!
//! file.poke(0, 0x7000_1000, &mut dispatcher, mem)?;        // DR0: an address
//! file.poke(7, 0x000d_0001, &mut dispatcher, mem)?;        // DR7: L0, write, 4 bytes
//! assert_eq!(file.peek(7), Ok(0x000d_0001));
//! assert!(file.request_id(0).is_some());                   // now a HAL request
//!
//! // Misaligned for 4 bytes: refused, nothing changes.
//! assert_eq!(file.poke(0, 0x7000_1002, &mut dispatcher, mem), Err(Errno::EINVAL));
//! assert_eq!(file.peek(0), Ok(0x7000_1000));
//! // A kernel address: refused.
//! assert_eq!(file.poke(1, 0xffff_8000_0000_0000, &mut dispatcher, mem), Err(Errno::EINVAL));
//! // DR4/DR5 do not exist.
//! assert_eq!(file.poke(4, 0, &mut dispatcher, mem), Err(Errno::EIO));
//! assert_eq!(file.peek(5), Ok(0));
//! # Ok::<(), Errno>(())
//! ```
//!
//! ## Linux's rules, as this file implements them
//!
//! Read from `arch/x86/kernel/ptrace.c` (`ptrace_set_debugreg`, `ptrace_set_breakpoint_addr`,
//! `ptrace_write_dr7`, `ptrace_get_debugreg`, `ptrace_triggered`),
//! `arch/x86/kernel/hw_breakpoint.c` (`arch_bp_generic_fields`, `arch_build_bp_info`,
//! `hw_breakpoint_arch_parse`, `arch_check_bp_in_kernelspace`) and
//! `kernel/events/hw_breakpoint.c` (`register_perf_hw_breakpoint`,
//! `modify_user_hw_breakpoint`), and checked write by write against the running kernel by
//! `tests/ptrace_virtual_x86.rs`:
//!
//! 1. **Slots exist or not.** Each of DR0–DR3 is backed by a breakpoint
//!    ([`PtraceBreakpoint`]) that is created by the first address write (disabled, write,
//!    one byte, at that address) or by the first DR7 write that *enables* the slot (at
//!    address 0), and lives until exec or exit ([`X86PtraceFile::flush`]).
//! 2. **An address write** to a slot without a breakpoint is checked as a one-byte
//!    address (any alignment; every byte below the user limit). To a slot with one, it is
//!    checked against that breakpoint's **current** type and length — even while the slot
//!    is disabled: a disabled slot whose DR7 fields say "8 bytes" refuses a misaligned
//!    address with `EINVAL`.
//! 3. **A DR7 write** ignores bits 10–15 and 32–63 for decoding (but DR7 reads back the
//!    whole value written: reserved bits, GD, LE/GE and all). It then goes slot by slot,
//!    0 to 3: a slot with no breakpoint that stays disabled is skipped (its fields are not
//!    checked at all); otherwise the fields are checked (`EINVAL` for R/W = 10, for an
//!    execute field with LEN ≠ 00) and so is the slot's address against them, enabled or
//!    not. At the first failing slot, the kernel **re-applies the previous state** with a
//!    second pass and returns the first error; DR7 keeps reading its previous value.
//! 4. **That second pass has an effect of its own.** It is driven by the DR7 the kernel
//!    rebuilds from its breakpoints, which has no fields for disabled slots: every slot
//!    that has a breakpoint but was disabled becomes a disabled *execute* breakpoint, and a
//!    slot the failed write created stays created (disabled, address 0). From then on an
//!    address write to such a slot accepts any alignment. This file does the same.
//! 5. **Reads.** DR0–DR3: the breakpoint's address, 0 without one. DR4/DR5: 0. DR6: the
//!    virtual DR6 in the architectural polarity — a write stores the value XOR
//!    `0xFFFF0FF0` and a read XORs it back, so any value written reads back unchanged; at
//!    each debug exception the kernel starts it at BS (if the hardware had it) and sets
//!    B*n* for each *ptrace slot n* whose breakpoint fired. DR7: the last value written
//!    successfully, verbatim; 0 for a new task.
//! 6. **Writes to DR4/DR5** fail with `EIO`; so do register numbers above 7.
//! 7. **Stops.** A hit delivers `SIGTRAP` with `si_code` `TRAP_HWBKPT`, or `TRAP_TRACE`
//!    when the virtual DR6 has BS, and `si_addr` = RIP (after the access for data
//!    breakpoints, at the instruction for execute breakpoints).
//!
//! ## Checked against the real kernel
//!
//! `tests/ptrace_virtual_x86.rs` applies random sequences of writes (addresses aligned,
//! misaligned, zero, at the top of user space, kernel, non-canonical, vsyscall; DR7 with
//! reserved bits, GD, LE/GE, I/O fields, execute fields with a length, disabled slots with
//! odd fields; DR6; DR4/DR5) to a real traced child and to this file, and compares the
//! errno and the readback of DR0–DR7 after every write. On Linux 6.18: 10,000 sequences
//! (99,921 writes) and once 50,000 (500,460 writes), no difference. Breaking rule 3 (either half) or rule 4 on purpose makes
//! it fail within the first cases. The same file compares rule 7 (a hit on each ptrace
//! slot: signal, `si_code`, `si_addr`, DR6); `tests/real_hw_x86.rs` checks `TRAP_TRACE`
//! with BS against the kernel.
//!
//! ## Deliberate deviations
//!
//! - **`ENOSPC` comes at the enabling DR7 write, not at the first address write.** Linux's
//!   disabled placeholder of rule 1 holds one of the four debug registers (perf reserves a
//!   slot for a disabled event too). The HAL's [`Dispatcher`] has no "reserved but not
//!   armed" request, so a disabled slot is kept only here and reserves nothing; its
//!   request is registered when DR7 enables it, and that is where a lack of slots shows.
//!   The errno is the same; only the write that gets it differs, and only when something
//!   other than this task's ptrace slots holds debug registers (with ptrace alone, four
//!   slots always fit). The same reason makes Linux prefer `ENOSPC` over `EINVAL` when a
//!   first address write is both out of slots and invalid; here it is `EINVAL`.
//! - **No `EPERM`/`ESRCH`.** Whether the caller may trace the task, and whether it is
//!   stopped, is the embedding kernel's business before it calls into this file.
//! - **Kernel-forbidden regions** ([`Dispatcher::forbid`]) are checked only when a slot is
//!   enabled (the dispatcher checks them at registration); Linux checks its blacklisted
//!   regions (the CPU entry area) for every breakpoint, but they are kernel addresses,
//!   which the user-address rule already refuses for ptrace.

mod breakpoint;
#[cfg(test)]
mod tests;

pub use breakpoint::{PtraceBreakpoint, SlotKind};

use hwbkpt_hal::{
    Dispatcher, Event, EventKind, MemoryRead, Request, RequestId, SignalRecord, TaskId,
    ptrace::{Errno, TRAP_TRACE},
};

use crate::{DebugSlot, Dr6, Dr6Flags, Dr7, X86Cpu};

static_assertions::assert_impl_all!(X86PtraceFile: Send, Sync, Clone);

/// The DR7 bits Linux ignores when it decodes a written value (its `DR_CONTROL_RESERVED`
/// on x86-64: bits 10–15 — including GD — and 32–63). They still read back.
pub const DR7_IGNORED_BITS: u64 = 0xFFFF_FFFF_0000_FC00;

/// The positive-polarity mask Linux XORs the virtual DR6 with at every read and write
/// (`DR6_RESERVED`): [`Dr6::RESET`].
const DR6_POLARITY: u64 = Dr6::RESET.bits();

/// One ptrace slot: the kernel-side breakpoint, and the HAL request armed for it.
#[derive(Debug, Clone, Copy, Default)]
struct VirtualSlot {
    breakpoint: Option<PtraceBreakpoint>,
    request: Option<RequestId>,
}

/// The debug registers one task's tracer sees, as Linux's `PTRACE_PEEKUSER`/`POKEUSER` of
/// `u_debugreg[0..8]` present them, backed by HAL requests. See the [module
/// documentation](self) for the rules.
#[derive(Debug, Clone)]
pub struct X86PtraceFile {
    task: TaskId,
    slots: [VirtualSlot; DebugSlot::COUNT as usize],
    /// DR7 as last written successfully.
    dr7: u64,
    /// The virtual DR6, positive polarity (a hit sets B*n*; BS is `0x4000`).
    dr6: u64,
}

/// Restores the dispatcher after a failed multi-slot write: for each changed slot, the
/// request it had before (in change order).
struct UndoLog {
    entries: [Option<(usize, Option<Request>)>; DebugSlot::COUNT as usize],
    len: usize,
}

impl UndoLog {
    const fn new() -> Self {
        Self {
            entries: [None; DebugSlot::COUNT as usize],
            len: 0,
        }
    }

    fn push(&mut self, index: usize, previous: Option<Request>) {
        if let Some(place) = self.entries.get_mut(self.len) {
            *place = Some((index, previous));
            self.len += 1;
        }
    }
}

impl X86PtraceFile {
    /// The file of `task`: no breakpoint, DR7 reads 0, DR6 reads `0xFFFF0FF0`.
    #[must_use]
    pub const fn new(task: TaskId) -> Self {
        Self {
            task,
            slots: [VirtualSlot {
                breakpoint: None,
                request: None,
            }; DebugSlot::COUNT as usize],
            dr7: 0,
            dr6: 0,
        }
    }

    /// The task.
    #[must_use]
    pub const fn task(&self) -> TaskId {
        self.task
    }

    /// `PTRACE_PEEKUSER` of `u_debugreg[n]`.
    ///
    /// # Errors
    /// [`Errno::EIO`] for `n > 7` (no such debug register).
    pub fn peek(&self, n: u8) -> Result<u64, Errno> {
        match n {
            0..=3 => Ok(self
                .slots
                .get(usize::from(n))
                .and_then(|s| s.breakpoint)
                .map_or(0, |b| b.address)),
            4 | 5 => Ok(0),
            6 => Ok(self.dr6 ^ DR6_POLARITY),
            7 => Ok(self.dr7),
            _ => Err(Errno::EIO),
        }
    }

    /// All eight registers as [`peek`](Self::peek) reads them.
    #[must_use]
    pub fn readback(&self) -> [u64; 8] {
        let mut regs = [0; 8];
        for (n, reg) in (0u8..).zip(regs.iter_mut()) {
            *reg = self.peek(n).unwrap_or(0);
        }
        regs
    }

    /// `PTRACE_POKEUSER` of `value` into `u_debugreg[n]`: validated, applied to
    /// `dispatcher` (whose architecture decides the address space and lengths), or refused
    /// with the state left exactly as it was — except for the kernel's documented
    /// second-pass effect of a refused DR7 write (rule 4 of the module documentation).
    ///
    /// `memory` reads the task's memory for the HAL's first "last observed" values.
    ///
    /// # Errors
    /// [`Errno::EIO`] (DR4, DR5, `n > 7`), [`Errno::EINVAL`] (misaligned, kernel or
    /// non-canonical address, I/O or long execute fields), [`Errno::ENOSPC`] (no free slot
    /// when a slot is enabled), or what else the dispatcher's refusal means
    /// ([`Errno::from_dispatch`]).
    pub fn poke<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        n: u8,
        value: u64,
        dispatcher: &mut Dispatcher<X86Cpu, REQUESTS, TASKS, CPUS>,
        memory: &mut impl MemoryRead,
    ) -> Result<(), Errno> {
        match n {
            0..=3 => self.write_address(usize::from(n), value, dispatcher, memory),
            6 => {
                self.dr6 = value ^ DR6_POLARITY;
                Ok(())
            }
            7 => self.write_control(value, dispatcher, memory),
            _ => Err(Errno::EIO),
        }
    }

    /// The breakpoint behind slot `n` (0–3), if the slot exists.
    #[must_use]
    pub fn breakpoint(&self, n: u8) -> Option<PtraceBreakpoint> {
        self.slots.get(usize::from(n))?.breakpoint
    }

    /// The HAL request armed for slot `n` (0–3): `Some` exactly while the slot is enabled.
    #[must_use]
    pub fn request_id(&self, n: u8) -> Option<RequestId> {
        self.slots.get(usize::from(n))?.request
    }

    /// The ptrace slot a HAL request belongs to, if it is one of this file's.
    #[must_use]
    pub fn slot_of(&self, id: RequestId) -> Option<DebugSlot> {
        let index = self.slots.iter().position(|s| s.request == Some(id))?;
        DebugSlot::new(u8::try_from(index).ok()?)
    }

    /// A debug exception of this task was handled: `events` are what
    /// [`Dispatcher::handle_exception`](hwbkpt_hal::Dispatcher::handle_exception) delivered,
    /// `single_step` whether the hardware DR6 had BS for a step the tracer asked for, `pc`
    /// the trap frame's RIP. Rebuilds the virtual DR6 as Linux does (BS, then B*n* for each
    /// hit on ptrace slot *n*) and returns the stop the tracer sees, if any.
    ///
    /// ```
    /// # use hwbkpt_hal::TaskId;
    /// # use hwbkpt_x86::ptrace_file::X86PtraceFile;
    /// let mut file = X86PtraceFile::new(TaskId(1));
    /// let stop = file.debug_exception(true, 0x40_1000, []).unwrap();
    /// assert_eq!((stop.signo, stop.code, stop.addr), (5, 2, 0x40_1000)); // TRAP_TRACE
    /// assert_eq!(file.peek(6), Ok(0xFFFF_4FF0));
    /// ```
    pub fn debug_exception<'a>(
        &mut self,
        single_step: bool,
        pc: u64,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Option<SignalRecord> {
        let step = Dr6Flags::BS.bits();
        self.dr6 = if single_step { step } else { 0 };
        for event in events {
            if event.task != self.task || !matches!(event.kind, EventKind::Hit(_)) {
                continue;
            }
            if let Some(slot) = self.slot_of(event.request) {
                self.dr6 |= Dr6Flags::hit(slot).bits();
            }
        }
        let hits = DebugSlot::ALL
            .into_iter()
            .fold(0, |m, s| m | Dr6Flags::hit(s).bits());
        if self.dr6 & (step | hits) == 0 {
            return None;
        }
        Some(SignalRecord {
            signo: SignalRecord::SIGTRAP,
            code: if self.dr6 & step != 0 {
                TRAP_TRACE
            } else {
                SignalRecord::TRAP_HWBKPT
            },
            addr: pc,
        })
    }

    /// The task executed a new program or exited: every slot is released, DR7 reads 0 and
    /// the virtual DR6 is cleared (Linux's `flush_ptrace_hw_breakpoint`).
    pub fn flush<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        dispatcher: &mut Dispatcher<X86Cpu, REQUESTS, TASKS, CPUS>,
    ) {
        for slot in &mut self.slots {
            if let Some(id) = slot.request.take() {
                // An id this file registered; a stale one is already gone.
                let _ = dispatcher.release(id);
            }
            slot.breakpoint = None;
        }
        self.dr7 = 0;
        self.dr6 = 0;
    }

    fn write_address<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        index: usize,
        address: u64,
        dispatcher: &mut Dispatcher<X86Cpu, REQUESTS, TASKS, CPUS>,
        memory: &mut impl MemoryRead,
    ) -> Result<(), Errno> {
        let task = self.task;
        let slot = self.slots.get_mut(index).ok_or(Errno::EIO)?;
        let new = match slot.breakpoint {
            None => PtraceBreakpoint {
                address,
                kind: SlotKind::Write(crate::BreakpointLength::One),
                enabled: false,
            },
            Some(old) => PtraceBreakpoint { address, ..old },
        };
        new.validate(dispatcher.arch(), task)?;
        let want = if new.enabled {
            Some(new.request(task)?)
        } else {
            None
        };
        let mut undo = UndoLog::new();
        sync_slot(index, slot, want, dispatcher, memory, &mut undo)?;
        slot.breakpoint = Some(new);
        Ok(())
    }

    fn write_control<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        value: u64,
        dispatcher: &mut Dispatcher<X86Cpu, REQUESTS, TASKS, CPUS>,
        memory: &mut impl MemoryRead,
    ) -> Result<(), Errno> {
        let decoded = Dr7::from_bits_retain(value & !DR7_IGNORED_BITS);
        // What the kernel's restore pass will re-apply: the kinds of the enabled slots.
        let previous: [Option<SlotKind>; DebugSlot::COUNT as usize] = core::array::from_fn(|i| {
            self.slots
                .get(i)
                .and_then(|s| s.breakpoint)
                .filter(|b| b.enabled)
                .map(|b| b.kind)
        });
        let mut undo = UndoLog::new();
        let mut failure = None;
        for slot in DebugSlot::ALL {
            if let Err(e) = self.control_slot(slot, decoded, dispatcher, memory, &mut undo) {
                failure = Some(e);
                break;
            }
        }
        let Some(error) = failure else {
            self.dr7 = value;
            return Ok(());
        };
        self.roll_back(&mut undo, dispatcher, memory);
        // Linux's second pass: every existing breakpoint takes its previous enabled kind,
        // or becomes a disabled execute breakpoint (the rebuilt DR7 has no fields for it).
        for (slot, kind) in self.slots.iter_mut().zip(previous) {
            if let Some(b) = slot.breakpoint.as_mut() {
                b.enabled = kind.is_some();
                b.kind = kind.unwrap_or(SlotKind::Execute);
            }
        }
        Err(error)
    }

    /// One slot of a DR7 write (the kernel's first pass).
    fn control_slot<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        slot: DebugSlot,
        dr7: Dr7,
        dispatcher: &mut Dispatcher<X86Cpu, REQUESTS, TASKS, CPUS>,
        memory: &mut impl MemoryRead,
        undo: &mut UndoLog,
    ) -> Result<(), Errno> {
        let task = self.task;
        let index = usize::from(slot.index());
        let state = self.slots.get_mut(index).ok_or(Errno::EIO)?;
        let enabled = dr7.is_enabled(slot);
        if state.breakpoint.is_none() && !enabled {
            return Ok(());
        }
        let cpu = *dispatcher.arch();
        let kind = SlotKind::from_fields(dr7.condition(slot), dr7.size(slot), cpu.profile())?;
        let new = PtraceBreakpoint {
            address: state.breakpoint.map_or(0, |b| b.address),
            kind,
            enabled,
        };
        new.validate(&cpu, task)?;
        let want = if enabled {
            Some(new.request(task)?)
        } else {
            None
        };
        sync_slot(index, state, want, dispatcher, memory, undo)?;
        state.breakpoint = Some(new);
        Ok(())
    }

    /// Put back the requests `undo` recorded, newest first.
    fn roll_back<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        undo: &mut UndoLog,
        dispatcher: &mut Dispatcher<X86Cpu, REQUESTS, TASKS, CPUS>,
        memory: &mut impl MemoryRead,
    ) {
        let entries = undo.entries.get(..undo.len).unwrap_or_default();
        for (index, previous) in entries.iter().rev().flatten() {
            let Some(slot) = self.slots.get_mut(*index) else {
                continue;
            };
            // Each step puts back what was there a moment ago, in the room it held then,
            // so none of them can be refused.
            match (slot.request, *previous) {
                (Some(id), Some(request)) => {
                    let _ = dispatcher.modify(id, request, memory);
                }
                (Some(id), None) => {
                    let _ = dispatcher.release(id);
                    slot.request = None;
                }
                (None, Some(request)) => {
                    slot.request = dispatcher.register(request, memory).ok();
                }
                (None, None) => {}
            }
        }
        undo.len = 0;
    }
}

/// Make `slot`'s HAL request `want` (none: not armed), recording the previous one in
/// `undo`. A change of an armed slot is one atomic [`Dispatcher::modify`]; on a refusal the
/// slot keeps its previous request.
fn sync_slot<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
    index: usize,
    slot: &mut VirtualSlot,
    want: Option<Request>,
    dispatcher: &mut Dispatcher<X86Cpu, REQUESTS, TASKS, CPUS>,
    memory: &mut impl MemoryRead,
    undo: &mut UndoLog,
) -> Result<(), Errno> {
    let have = slot.request.and_then(|id| dispatcher.request(id).copied());
    match (slot.request, want) {
        (None, None) => return Ok(()),
        (Some(_), Some(want)) if have == Some(want) => return Ok(()),
        (Some(id), Some(want)) => dispatcher
            .modify(id, want, memory)
            .map_err(|e| Errno::from_dispatch(&e))?,
        (Some(id), None) => {
            // An id this file registered; a stale one is already gone.
            let _ = dispatcher.release(id);
            slot.request = None;
        }
        (None, Some(want)) => {
            let id = dispatcher
                .register(want, memory)
                .map_err(|e| Errno::from_dispatch(&e))?;
            slot.request = Some(id);
        }
    }
    undo.push(index, have);
    Ok(())
}
