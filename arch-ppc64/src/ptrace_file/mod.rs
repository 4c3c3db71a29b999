//! A ptrace-compatible virtual debug-register file for one PPC64 task (`no_std`, feature
//! `linux-ptrace`, every host).
//!
//! A kernel that routes PowerPC ptrace through hwbkpt answers `PTRACE_SET_DEBUGREG`,
//! `PPC_PTRACE_GETHWDBGINFO`, `PPC_PTRACE_SETHWDEBUG` and `PPC_PTRACE_DELHWDEBUG` from a
//! [`Ppc64PtraceFile`]: every request is checked in Linux's order, becomes a HAL
//! [`Request`] (policy, plan, reservation, encode through the [`Dispatcher`]), or is refused
//! with the error number Linux returns and no change. The answers come from the CPU
//! profile ([`PowerCpu`]), so POWER7's DABR, POWER8's DAWR, POWER9's disabled DAWR and
//! POWER10's two DAWRs each answer as Linux does on them.
//!
//! ```
//! use hwbkpt_hal::{Dispatcher, MemoryRead, MemoryReadError, TaskId, ptrace::Errno};
//! use hwbkpt_ppc64::linux_ptrace::{PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE, PpcHwBreakpoint};
//! use hwbkpt_ppc64::ptrace_file::Ppc64PtraceFile;
//! use hwbkpt_ppc64::{PowerCpu, PowerProfile};
//!
//! struct NoMemory;
//! impl MemoryRead for NoMemory {
//!     fn read_memory(&mut self, addr: u64, _: &mut [u8]) -> Result<(), MemoryReadError> {
//!         Err(MemoryReadError::Unmapped { addr })
//!     }
//! }
//!
//! let mut d = Dispatcher::<PowerCpu>::new(PowerCpu::new(PowerProfile::Power10));
//! let mut file = Ppc64PtraceFile::new(TaskId(9));
//! let info = file.debug_info(d.arch());
//! assert_eq!(info.num_data_bps, 2);
//!
//! let watch = PpcHwBreakpoint {
//!     version: 1,
//!     trigger_type: 0x4, // WRITE
//!     addr_mode: PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE,
//!     addr: 0x1000_0000,
//!     addr2: 0x1000_0010,
//!     ..PpcHwBreakpoint::default()
//! };
//! assert_eq!(file.set_hwdebug(&watch, &mut d, &mut NoMemory), Ok(1));
//! assert_eq!(file.set_hwdebug(&watch, &mut d, &mut NoMemory), Ok(2));
//! assert_eq!(file.set_hwdebug(&watch, &mut d, &mut NoMemory), Err(Errno::ENOSPC));
//! assert_eq!(file.del_hwdebug(1, &mut d), Ok(()));
//! assert_eq!(file.del_hwdebug(1, &mut d), Err(Errno::ENOENT));
//! assert_eq!(file.del_hwdebug(3, &mut d), Err(Errno::EINVAL));
//!
//! // POWER9 without the dangerous DAWR switch: no data breakpoint at all.
//! let mut p9 = Dispatcher::<PowerCpu>::new(PowerCpu::new(PowerProfile::Power9));
//! assert_eq!(file.debug_info(p9.arch()).num_data_bps, 0);
//! let mut other = Ppc64PtraceFile::new(TaskId(10));
//! assert_eq!(other.set_hwdebug(&watch, &mut p9, &mut NoMemory), Err(Errno::ENODEV));
//! ```
//!
//! ## Linux's answers, as this file gives them
//!
//! Read from `arch/powerpc/kernel/ptrace/ptrace-noadv.c` (`ppc_gethwdinfo`,
//! `ptrace_set_debugreg`, `ptrace_get_debugreg`, `ppc_set_hwdebug`, `ppc_del_hwdebug`),
//! `arch/powerpc/kernel/hw_breakpoint.c` (`hw_breakpoint_arch_parse`,
//! `hw_breakpoint_validate_len`, `ptrace_triggered`) and `arch/powerpc/kernel/dawr.c`;
//! the table tests in this module encode them request by request.
//!
//! - **Slots.** A task has `nr_wp_slots()` ptrace slots: one on POWER7–9, two on POWER10
//!   (POWER9 keeps its one slot even with the DAWR disabled; every attempt to fill it
//!   fails). `SETHWDEBUG` handle *i*+1 is slot *i*; `PTRACE_SET_DEBUGREG` is slot 0 (the
//!   same slot as handle 1).
//! - **`PPC_PTRACE_GETHWDBGINFO`**: version 1, no instruction breakpoints, no condition
//!   registers, `data_bp_alignment` 8, `num_data_bps` = the slots if a data breakpoint is
//!   available (the DAWR is enabled, or the CPU has a DABR) and 0 otherwise (POWER9 without
//!   the switch); features `DATA_BP_RANGE`, plus `DATA_BP_DAWR` when the DAWR is enabled,
//!   plus `DATA_BP_ARCH_31` on ISA v3.1 (POWER10).
//! - **`PTRACE_SET_DEBUGREG`** (`addr`, DABR-style `data`): `addr` ≠ 0 → `EINVAL`; the
//!   address (`data & !7`) at or above the user limit → `EIO`; a non-zero value without the
//!   translation bit (BT, 4) → `EIO`; a value with neither DR (1) nor DW (2) clears slot 0
//!   and succeeds; otherwise slot 0 watches the doubleword for the reads/writes asked,
//!   matching **every privilege** (user, kernel, hypervisor: a `getcwd` writing into the
//!   watched buffer stops the tracee), created or modified in place.
//! - **`PTRACE_GET_DEBUGREG`**: `addr` ≠ 0 → `EINVAL`; otherwise the DABR value of the
//!   last `SET_DEBUGREG` that set a watch (clearing does not update it — Linux's
//!   `thread.hw_brk[0]` is not touched then).
//! - **`PPC_PTRACE_SETHWDEBUG`**, checked in this order: `version` ≠ 1 → `ENOTSUPP`
//!   (524); a trigger that is not read, write or both (execute included), or a condition
//!   other than none → `EINVAL`; `addr` at or above the user limit → `EIO`; `addr_mode`
//!   EXACT is 1 byte, RANGE_INCLUSIVE is `addr2 - addr` bytes, others → `EINVAL`; no empty
//!   slot → `ENOSPC`; length 0 → `EINVAL`; no data breakpoint available (POWER9 without the
//!   switch) → `ENODEV`; the doubleword-rounded range longer than one slot (8 bytes on a
//!   DABR, 512 on a DAWR) or crossing a 512-byte boundary before POWER10 → `EINVAL`;
//!   the hardware slots taken by others → `ENOSPC`. Success returns handle *i*+1.
//! - **`PPC_PTRACE_DELHWDEBUG`**: a handle outside 1..=`nr_wp_slots()` → `EINVAL`; an
//!   empty slot → `ENOENT`.
//! - **Stops** (`ptrace_triggered`): a data breakpoint stops the tracee *before* the access
//!   with `SIGTRAP`, `TRAP_HWBKPT` and `si_addr` = DAR, and is then disabled (one-shot)
//!   until the tracer sets it again. The HAL requests are `Delivery::Before`, so the
//!   dispatcher stops before the access and leaves the request disarmed; a perf-style
//!   `After` request on the same address still gets its hit after the step.
//!
//! ## Deliberate deviations
//!
//! - **A range reaching past the user limit is refused (`EINVAL`).** Linux checks only the
//!   start address against `TASK_SIZE`; the HAL's address-space policy never lets a
//!   user-origin request watch a byte at or above the user limit.
//! - **Lengths are exact.** Linux computes the RANGE_INCLUSIVE length as a C `int` and
//!   keeps it in a 16-bit field (`arch_hw_breakpoint.len`), so an `addr2` below `addr` or a
//!   length over 64 KiB can wrap into an accepted watch there; here such a range is what
//!   it says (`EINVAL`, longer than a slot).
//! - **Validity before room.** Linux reserves the slot before parsing the request, so a
//!   request that is both invalid and out of room gets `ENOSPC` there; here the request is
//!   validated first (`EINVAL`), then reserved.
//! - **Re-arming after a stop** is `PTRACE_SET_DEBUGREG` (as in Linux, it re-enables slot
//!   0) or deleting and setting the slot again; a disarmed `SETHWDEBUG` slot stays
//!   occupied, as in Linux.

#[cfg(test)]
mod tests;

use hwbkpt_hal::{
    AccessKind, Delivery, Dispatcher, Event, EventKind, MemoryRead, Origin, PrivilegeFilter,
    Request, RequestId, Scope, Sharing, SignalRecord, TaskId, ptrace::Errno,
};

use crate::linux_ptrace::{
    DABR_BT, DABR_DR, DABR_DW, PPC_BREAKPOINT_CONDITION_NONE, PPC_BREAKPOINT_MODE_EXACT,
    PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE, PPC_BREAKPOINT_TRIGGER_READ, PPC_BREAKPOINT_TRIGGER_RW,
    PPC_BREAKPOINT_TRIGGER_WRITE, PPC_DEBUG_CURRENT_VERSION, PPC_DEBUG_FEATURE_DATA_BP_ARCH_31,
    PPC_DEBUG_FEATURE_DATA_BP_DAWR, PPC_DEBUG_FEATURE_DATA_BP_RANGE, PpcDebugInfo, PpcHwBreakpoint,
};
use crate::{DOUBLEWORD, DataRegister, PowerCpu, PowerProfile};

static_assertions::assert_impl_all!(Ppc64PtraceFile: Send, Sync, Clone);

/// Most ptrace slots any profile has (POWER10's two DAWRs).
pub const MAX_PTRACE_SLOTS: usize = 2;

/// What one occupied ptrace slot watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PpcWatch {
    /// First watched byte, as the tracer gave it.
    pub addr: u64,
    /// Bytes watched (before the hardware's doubleword rounding).
    pub len: u64,
    /// Reads, writes or both.
    pub access: AccessKind,
}

impl PpcWatch {
    /// The HAL request: the task's accesses at every privilege (Linux's PPC64 ptrace
    /// breakpoints exclude nothing), user-origin addresses, a one-shot stop before the
    /// access, one exclusive slot.
    fn request(&self, task: TaskId) -> Result<Request, Errno> {
        Request::builder(self.addr, self.len, self.access)
            .scope(Scope::Task(task))
            .privilege(PrivilegeFilter::all())
            .origin(Origin::User)
            .delivery(Delivery::Before)
            .sharing(Sharing::Exclusive)
            .build()
            .map_err(|e| Errno::from_request(&e))
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    watch: PpcWatch,
    request: RequestId,
}

/// The PowerPC debug registers one task's tracer sees through Linux's ptrace requests,
/// backed by HAL requests. See the [module documentation](self) for the rules.
#[derive(Debug, Clone)]
pub struct Ppc64PtraceFile {
    task: TaskId,
    slots: [Option<Slot>; MAX_PTRACE_SLOTS],
    /// `PTRACE_GET_DEBUGREG`'s answer.
    dabr: u64,
}

/// Linux's `nr_wp_slots()`: the hardware's data slots, usable or not.
const fn nr_wp_slots(cpu: &PowerCpu) -> usize {
    let n = cpu.profile().limits().data_slots as usize;
    if n > MAX_PTRACE_SLOTS {
        MAX_PTRACE_SLOTS
    } else {
        n
    }
}

/// Linux's `dawr_enabled()`.
const fn dawr_enabled(cpu: &PowerCpu) -> bool {
    matches!(cpu.profile().limits().data_register, DataRegister::Dawr) && cpu.data_slots() > 0
}

/// Linux's `ppc_breakpoint_available()`: the DAWR is enabled, or the CPU predates ISA
/// v2.07 and has a DABR.
const fn breakpoint_available(cpu: &PowerCpu) -> bool {
    dawr_enabled(cpu) || matches!(cpu.profile().limits().data_register, DataRegister::Dabr)
}

impl Ppc64PtraceFile {
    /// The file of `task`: every slot empty.
    #[must_use]
    pub const fn new(task: TaskId) -> Self {
        Self {
            task,
            slots: [None; MAX_PTRACE_SLOTS],
            dabr: 0,
        }
    }

    /// The task.
    #[must_use]
    pub const fn task(&self) -> TaskId {
        self.task
    }

    /// `PPC_PTRACE_GETHWDBGINFO` on `cpu`.
    #[must_use]
    pub const fn debug_info(&self, cpu: &PowerCpu) -> PpcDebugInfo {
        let mut features = PPC_DEBUG_FEATURE_DATA_BP_RANGE;
        if dawr_enabled(cpu) {
            features |= PPC_DEBUG_FEATURE_DATA_BP_DAWR;
        }
        if matches!(cpu.profile(), PowerProfile::Power10) {
            features |= PPC_DEBUG_FEATURE_DATA_BP_ARCH_31;
        }
        PpcDebugInfo {
            version: PPC_DEBUG_CURRENT_VERSION,
            num_instruction_bps: 0,
            num_data_bps: if breakpoint_available(cpu) {
                nr_wp_slots(cpu) as u32
            } else {
                0
            },
            num_condition_regs: 0,
            data_bp_alignment: DOUBLEWORD as u32,
            sizeof_condition: 0,
            features,
        }
    }

    /// `PTRACE_GET_DEBUGREG` with ptrace's `addr` argument.
    ///
    /// # Errors
    /// [`Errno::EINVAL`] when `addr` is not 0.
    pub const fn get_debugreg(&self, addr: u64) -> Result<u64, Errno> {
        if addr != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(self.dabr)
    }

    /// `PTRACE_SET_DEBUGREG` with ptrace's `addr` and `data` arguments.
    ///
    /// # Errors
    /// [`Errno::EINVAL`], [`Errno::EIO`], [`Errno::ENODEV`], [`Errno::ENOSPC`], as the
    /// module documentation lists them; the file is unchanged then.
    pub fn set_debugreg<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        addr: u64,
        data: u64,
        dispatcher: &mut Dispatcher<PowerCpu, REQUESTS, TASKS, CPUS>,
        memory: &mut impl MemoryRead,
    ) -> Result<(), Errno> {
        if addr != 0 {
            return Err(Errno::EINVAL);
        }
        let flags = DABR_BT | DABR_DW | DABR_DR;
        let address = data & !flags;
        if address >= user_limit(dispatcher.arch()) {
            return Err(Errno::EIO);
        }
        if data != 0 && data & DABR_BT == 0 {
            return Err(Errno::EIO);
        }
        let mut access = AccessKind::empty();
        if data & DABR_DR != 0 {
            access |= AccessKind::READ;
        }
        if data & DABR_DW != 0 {
            access |= AccessKind::WRITE;
        }
        if access.is_empty() {
            if let Some(slot) = self.slots.first_mut().and_then(Option::take) {
                let _ = dispatcher.release(slot.request);
            }
            return Ok(());
        }
        let watch = PpcWatch {
            addr: address,
            len: DOUBLEWORD,
            access,
        };
        self.put(0, watch, dispatcher, memory)?;
        self.dabr = data;
        Ok(())
    }

    /// `PPC_PTRACE_SETHWDEBUG`: the handle (slot + 1).
    ///
    /// # Errors
    /// [`Errno::ENOTSUPP`], [`Errno::EINVAL`], [`Errno::EIO`], [`Errno::ENOSPC`],
    /// [`Errno::ENODEV`], as the module documentation lists them; the file is unchanged
    /// then.
    pub fn set_hwdebug<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        bp: &PpcHwBreakpoint,
        dispatcher: &mut Dispatcher<PowerCpu, REQUESTS, TASKS, CPUS>,
        memory: &mut impl MemoryRead,
    ) -> Result<u32, Errno> {
        if bp.version != PPC_DEBUG_CURRENT_VERSION {
            return Err(Errno::ENOTSUPP);
        }
        if bp.trigger_type & PPC_BREAKPOINT_TRIGGER_RW == 0
            || bp.trigger_type & !PPC_BREAKPOINT_TRIGGER_RW != 0
            || bp.condition_mode != PPC_BREAKPOINT_CONDITION_NONE
        {
            return Err(Errno::EINVAL);
        }
        if bp.addr >= user_limit(dispatcher.arch()) {
            return Err(Errno::EIO);
        }
        let len = match bp.addr_mode {
            PPC_BREAKPOINT_MODE_EXACT => 1,
            PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE => bp.addr2.wrapping_sub(bp.addr),
            _ => return Err(Errno::EINVAL),
        };
        let index = self
            .slots
            .iter()
            .take(nr_wp_slots(dispatcher.arch()))
            .position(Option::is_none)
            .ok_or(Errno::ENOSPC)?;
        let mut access = AccessKind::empty();
        if bp.trigger_type & PPC_BREAKPOINT_TRIGGER_READ != 0 {
            access |= AccessKind::READ;
        }
        if bp.trigger_type & PPC_BREAKPOINT_TRIGGER_WRITE != 0 {
            access |= AccessKind::WRITE;
        }
        let watch = PpcWatch {
            addr: bp.addr,
            len,
            access,
        };
        self.put(index, watch, dispatcher, memory)?;
        u32::try_from(index + 1).map_err(|_| Errno::EINVAL)
    }

    /// `PPC_PTRACE_DELHWDEBUG` of `handle`.
    ///
    /// # Errors
    /// [`Errno::EINVAL`] for a handle outside 1..=slots, [`Errno::ENOENT`] for an empty
    /// slot.
    pub fn del_hwdebug<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        handle: i64,
        dispatcher: &mut Dispatcher<PowerCpu, REQUESTS, TASKS, CPUS>,
    ) -> Result<(), Errno> {
        let slots = nr_wp_slots(dispatcher.arch());
        let index = handle
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|i| *i < slots)
            .ok_or(Errno::EINVAL)?;
        let slot = self
            .slots
            .get_mut(index)
            .and_then(Option::take)
            .ok_or(Errno::ENOENT)?;
        let _ = dispatcher.release(slot.request);
        Ok(())
    }

    /// What slot `index` (handle − 1) watches, if it is occupied.
    #[must_use]
    pub fn watch(&self, index: usize) -> Option<PpcWatch> {
        Some(self.slots.get(index)?.as_ref()?.watch)
    }

    /// The HAL request behind slot `index`.
    #[must_use]
    pub fn request_id(&self, index: usize) -> Option<RequestId> {
        Some(self.slots.get(index)?.as_ref()?.request)
    }

    /// The slot index of a HAL request, if it is one of this file's.
    #[must_use]
    pub fn slot_of(&self, id: RequestId) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.is_some_and(|s| s.request == id))
    }

    /// The stop a debug exception of this task produced for the tracer, from the events
    /// [`Dispatcher::handle_exception`](hwbkpt_hal::Dispatcher::handle_exception) delivered:
    /// `SIGTRAP`, `TRAP_HWBKPT`, `si_addr` = the DAR of the first hit on one of this file's
    /// slots. The slot is disarmed (one-shot) until set again.
    pub fn debug_exception<'a>(
        &self,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Option<SignalRecord> {
        events
            .into_iter()
            .filter(|e| e.task == self.task && matches!(e.kind, EventKind::Hit(_)))
            .find(|e| self.slot_of(e.request).is_some())
            .and_then(Event::signal_record)
    }

    /// The task executed a new program or exited: every slot is released.
    pub fn flush<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        dispatcher: &mut Dispatcher<PowerCpu, REQUESTS, TASKS, CPUS>,
    ) {
        for slot in self.slots.iter_mut().filter_map(Option::take) {
            let _ = dispatcher.release(slot.request);
        }
        self.dabr = 0;
    }

    /// Make slot `index` watch `watch`: Linux's `hw_breakpoint_arch_parse` checks, then the
    /// dispatcher. On a refusal the slot keeps what it had.
    fn put<const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        index: usize,
        watch: PpcWatch,
        dispatcher: &mut Dispatcher<PowerCpu, REQUESTS, TASKS, CPUS>,
        memory: &mut impl MemoryRead,
    ) -> Result<(), Errno> {
        if watch.len == 0 {
            return Err(Errno::EINVAL);
        }
        let cpu = *dispatcher.arch();
        if !breakpoint_available(&cpu) {
            return Err(Errno::ENODEV);
        }
        let request = watch.request(self.task)?;
        let plan =
            hwbkpt_hal::DebugArchitecture::prepare(&cpu, &request).map_err(|_| Errno::EINVAL)?;
        // Linux gives a ptrace watch exactly one hardware slot.
        if plan.len() != 1 {
            return Err(Errno::EINVAL);
        }
        let place = self.slots.get_mut(index).ok_or(Errno::EINVAL)?;
        match place {
            // Atomic: a refused modification leaves the old watch as it was.
            Some(slot) => {
                dispatcher
                    .modify(slot.request, request, memory)
                    .map_err(|e| Errno::from_dispatch(&e))?;
                slot.watch = watch;
            }
            None => {
                let id = dispatcher
                    .register(request, memory)
                    .map_err(|e| Errno::from_dispatch(&e))?;
                *place = Some(Slot { watch, request: id });
            }
        }
        Ok(())
    }
}

/// First address a user watch may not start at.
const fn user_limit(cpu: &PowerCpu) -> u64 {
    cpu.profile().limits().user_limit
}
