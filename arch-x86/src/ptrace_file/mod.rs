//! A ptrace-compatible virtual debug-register file for one x86-64 task (`no_std`).
//!
//! A kernel that adopts hwbkpt no longer lets ptrace poke the debug registers: a debugger's
//! `PTRACE_POKEUSER` of `u_debugreg[n]` lands in an [`X86PtraceFile`], which validates the
//! write, turns it into HAL [`Request`](hwbkpt_hal::Request)s and applies them through the
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
//! 1. **Slots exist or not, and an existing slot holds a debug register.** Each of DR0–DR3
//!    is backed by a breakpoint ([`PtraceBreakpoint`]) that is created by the first address
//!    write (disabled, write, one byte, at that address) or by the first DR7 write that
//!    *enables* the slot (at address 0), and lives until exec or exit
//!    ([`X86PtraceFile::flush`]). Creating it reserves one of the debug registers ptrace
//!    shares with every other user of the [`Dispatcher`] — disabled or not, as a disabled
//!    perf breakpoint does — so **`ENOSPC` comes at the creating write**: the first address
//!    write, or the DR7 write that enables a slot with no breakpoint. Here the breakpoint is
//!    a HAL request registered at that write and [`Dispatcher::disable`]d while DR7 leaves
//!    it off ([`X86PtraceFile::held_request`]); DR7 writes [`Dispatcher::rearm`],
//!    [`Dispatcher::disable`] or [`Dispatcher::modify`] it in place, so enabling a slot
//!    that exists never runs out of room. Linux reserves before it checks the address, so
//!    a first address write that is both out of room and invalid gets `ENOSPC`.
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
//! (99,921 writes) and once 50,000 (500,460 writes), no difference. Breaking rule 3 (either
//! half) or rule 4 on purpose makes it fail within the first cases. For rule 1 the same
//! sequences run with one to three of the child's registers held by pinned perf
//! breakpoints (and as many task-bound requests on the dispatcher), so where `ENOSPC` comes
//! is compared too: 10,000 sequences (100,192 writes, 29,062 of them refused with
//! `ENOSPC`), no difference; letting `EINVAL` win over `ENOSPC` at a first address write on purpose fails
//! the first case. The same file compares rule 7 (a hit on each ptrace slot: signal,
//! `si_code`, `si_addr`, DR6); `tests/real_hw_x86.rs` checks `TRAP_TRACE` with BS against
//! the kernel.
//!
//! ## Deliberate deviations
//!
//! - **No `EPERM`/`ESRCH`.** Whether the caller may trace the task, and whether it is
//!   stopped, is the embedding kernel's business before it calls into this file.
//! - **A region forbidden after a slot exists** ([`Dispatcher::forbid`]) is applied to
//!   that slot at its next write, not at once: the dispatcher checks its forbidden regions
//!   for every breakpoint it is given, enabled or not (as Linux checks its blacklisted
//!   regions, which are kernel addresses the user-address rule refuses first anyway), but
//!   does not revisit requests it already holds.

mod breakpoint;
#[cfg(test)]
mod tests;

pub use breakpoint::{PtraceBreakpoint, SlotKind};

use hwbkpt_hal::{
    Dispatcher, Event, EventKind, MemoryRead, MemoryReadError, RequestId, SignalRecord, TaskId,
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

/// One ptrace slot: the kernel-side breakpoint, and the HAL request that holds its
/// reservation (enabled while the breakpoint is, a disabled placeholder otherwise).
#[derive(Debug, Clone, Copy, Default)]
struct VirtualSlot {
    breakpoint: Option<PtraceBreakpoint>,
    /// `Some` exactly while `breakpoint` is.
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
    /// `memory` reads the task's memory for the HAL's "last observed" values. A DR7 write
    /// that leaves a slot enabled also re-arms its request if the dispatcher disabled it
    /// meanwhile (after an [`EventKind::Disabled`] event), as a tracer rewriting DR7 expects.
    ///
    /// # Errors
    /// [`Errno::EIO`] (DR4, DR5, `n > 7`), [`Errno::EINVAL`] (misaligned, kernel or
    /// non-canonical address, I/O or long execute fields), [`Errno::ENOSPC`] (no free slot
    /// for a slot's first address write, or for a DR7 write that enables a slot with no
    /// breakpoint), or what else the dispatcher's refusal means ([`Errno::from_dispatch`]).
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
    /// (A disabled slot's request is [`held_request`](Self::held_request).)
    #[must_use]
    pub fn request_id(&self, n: u8) -> Option<RequestId> {
        let slot = self.slots.get(usize::from(n))?;
        slot.request
            .filter(|_| slot.breakpoint.is_some_and(|b| b.enabled))
    }

    /// The HAL request that holds slot `n`'s reservation: `Some` exactly while the slot
    /// exists ([`breakpoint`](Self::breakpoint)), enabled in the dispatcher while the
    /// breakpoint is and disabled otherwise (Linux's disabled placeholder, which still
    /// holds a debug register).
    ///
    /// ```
    /// # use hwbkpt_hal::{Dispatcher, MemoryRead, MemoryReadError, TaskId};
    /// # use hwbkpt_x86::{X86Cpu, X86Profile, ptrace_file::X86PtraceFile};
    /// # struct NoMemory;
    /// # impl MemoryRead for NoMemory {
    /// #     fn read_memory(&mut self, addr: u64, _: &mut [u8]) -> Result<(), MemoryReadError> {
    /// #         Err(MemoryReadError::Unmapped { addr })
    /// #     }
    /// # }
    /// let mut d = Dispatcher::<X86Cpu>::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
    /// let mut file = X86PtraceFile::new(TaskId(7));
    /// file.poke(2, 0x7000_1000, &mut d, &mut NoMemory).unwrap();
    /// let placeholder = file.held_request(2).unwrap();      // reserved at the address write
    /// assert!(!d.is_enabled(placeholder) && file.request_id(2).is_none());
    /// file.poke(7, 0x10, &mut d, &mut NoMemory).unwrap();  // L2, write, 1 byte
    /// assert_eq!(file.request_id(2), Some(placeholder));   // the same reservation, armed
    /// assert!(d.is_enabled(placeholder));
    /// ```
    #[must_use]
    pub fn held_request(&self, n: u8) -> Option<RequestId> {
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

    /// The task executed a new program or exited: every slot is released (placeholders
    /// too), DR7 reads 0 and the virtual DR6 is cleared (Linux's
    /// `flush_ptrace_hw_breakpoint`).
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
            // Linux's placeholder: disabled, write, one byte.
            None => PtraceBreakpoint {
                address,
                kind: SlotKind::Write(crate::BreakpointLength::One),
                enabled: false,
            },
            Some(old) => PtraceBreakpoint { address, ..old },
        };
        if let Err(invalid) = new.validate(dispatcher.arch(), task) {
            // Linux reserves the placeholder's slot before it checks the address: a first
            // write that is both out of room and invalid is refused for the room.
            return Err(if slot.breakpoint.is_none() {
                room_for_placeholder(task, dispatcher)
                    .err()
                    .unwrap_or(invalid)
            } else {
                invalid
            });
        }
        hold(slot, new, task, dispatcher, memory)
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
        let mut failure = None;
        for slot in DebugSlot::ALL {
            if let Err(e) = self.control_slot(slot, decoded, dispatcher, memory) {
                failure = Some(e);
                break;
            }
        }
        let Some(error) = failure else {
            self.dr7 = value;
            return Ok(());
        };
        // Linux's second pass: every existing breakpoint (those this write created too)
        // takes its previous enabled kind, or becomes a disabled execute breakpoint (the
        // rebuilt DR7 has no fields for it). Each keeps the one slot it holds, so none of
        // these changes needs room.
        let task = self.task;
        for (slot, kind) in self.slots.iter_mut().zip(previous) {
            if let Some(old) = slot.breakpoint {
                let restored = PtraceBreakpoint {
                    enabled: kind.is_some(),
                    kind: kind.unwrap_or(SlotKind::Execute),
                    ..old
                };
                restore(slot, restored, task, dispatcher, memory);
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
        hold(state, new, task, dispatcher, memory)
    }
}

/// Make `slot` hold `new`: the first time, register its request (the slot's reservation;
/// the only step that can run out of room) and disable it unless `new` is enabled; after
/// that, change the held request in place — an atomic [`Dispatcher::modify`] when the
/// request changes, [`Dispatcher::rearm`] or [`Dispatcher::disable`] when only the enabled
/// state does — which keeps the reservation and never needs a new slot. On a refusal the
/// slot and the dispatcher are as they were.
fn hold<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
    slot: &mut VirtualSlot,
    new: PtraceBreakpoint,
    task: TaskId,
    dispatcher: &mut Dispatcher<X86Cpu, REQUESTS, TASKS, CPUS>,
    memory: &mut impl MemoryRead,
) -> Result<(), Errno> {
    let want = new.request(task)?;
    let held = slot.request.filter(|id| dispatcher.request(*id).is_some());
    let id = match held {
        None => {
            let id = dispatcher
                .register(want, memory)
                .map_err(|e| Errno::from_dispatch(&e))?;
            slot.request = Some(id);
            id
        }
        Some(id) if dispatcher.request(id) != Some(&want) => {
            dispatcher
                .modify(id, want, memory)
                .map_err(|e| Errno::from_dispatch(&e))?;
            id
        }
        Some(id) => {
            if new.enabled && !dispatcher.is_enabled(id) {
                // Enabled again after a while: what the task's memory holds now is the
                // "last observed" value, not what it held when the slot was disabled.
                let _ = dispatcher.observe(id, memory);
            }
            id
        }
    };
    // `id` is registered (just checked or just made): these cannot fail.
    let _ = if new.enabled {
        dispatcher.rearm(id)
    } else {
        dispatcher.disable(id)
    };
    slot.breakpoint = Some(new);
    Ok(())
}

/// The restore pass of a refused DR7 write: [`hold`], which cannot run out of room here
/// (every change keeps the slot's one reservation). Should the dispatcher still refuse the
/// change (a region [`Dispatcher::forbid`] added since the slot was written), the slot's
/// request is left disabled rather than armed in a form the tracer did not ask for.
fn restore<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
    slot: &mut VirtualSlot,
    restored: PtraceBreakpoint,
    task: TaskId,
    dispatcher: &mut Dispatcher<X86Cpu, REQUESTS, TASKS, CPUS>,
    memory: &mut impl MemoryRead,
) {
    if hold(slot, restored, task, dispatcher, memory).is_err() {
        if let Some(id) = slot.request {
            let _ = dispatcher.disable(id);
        }
        slot.breakpoint = Some(PtraceBreakpoint {
            enabled: false,
            ..restored
        });
    }
}

/// Whether a new placeholder of `task` would find a free slot: `Err` with the refusal's
/// errno ([`Errno::ENOSPC`], or [`Errno::ENOMEM`] for full tables) if not. Probes with a
/// disabled execute placeholder at address 0 (no memory read), released at once.
fn room_for_placeholder<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
    task: TaskId,
    dispatcher: &mut Dispatcher<X86Cpu, REQUESTS, TASKS, CPUS>,
) -> Result<(), Errno> {
    let probe = PtraceBreakpoint {
        address: 0,
        kind: SlotKind::Execute,
        enabled: false,
    }
    .request(task)?;
    match dispatcher.register(probe, &mut NoRead) {
        Ok(id) => {
            let _ = dispatcher.release(id);
            Ok(())
        }
        Err(e) if e.is_out_of_slots() => Err(Errno::ENOSPC),
        Err(e) => match Errno::from_dispatch(&e) {
            Errno::ENOMEM => Err(Errno::ENOMEM),
            _ => Ok(()),
        },
    }
}

/// Memory for a request whose value is never read (an execute breakpoint).
struct NoRead;

impl MemoryRead for NoRead {
    fn read_memory(&mut self, addr: u64, _: &mut [u8]) -> Result<(), MemoryReadError> {
        Err(MemoryReadError::Unmapped { addr })
    }
}
