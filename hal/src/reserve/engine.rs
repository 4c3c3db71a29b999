//! The reservation engine: reserve, modify, release, and the queries consumers make.

use crate::{
    Capabilities, CpuId, DebugArchitecture, Pinning, Plan, PoolKind, Request, Scope, Sharing,
    SlotId, SlotProgram, TaskId,
};

use super::error::ReserveError;
use super::id::{ReservationId, SlotGroupId};
use super::ledger::{Overflow, PoolLedger};
use super::list;
use super::record::{
    AnchorLists, Consumer, Group, ListEnds, POOLS, TaskState, pool_index, weights_of,
};
use super::slab::Slab;
use super::status::{PoolUsage, ReservationStatus};
use super::storage::Storage;
use super::switch_in::LoadedSlots;
use super::task_table::TaskTable;

/// The slot reservation and scheduling engine of one machine (all CPUs of one CPU profile):
/// who may use which debug-register slots, on which CPU, when — checked at reservation time,
/// O(1) in the number of tasks.
///
/// # The rule
/// Slots come in pools ([`PoolKind`](crate::PoolKind): x86 has one shared pool of 4; PPC64 a
/// data pool of 1–2 and an instruction pool of 1), accounted separately. A request whose
/// plan needs `w` slots of a pool is bound to CPUs ([`Scope::Cpu`](crate::Scope::Cpu),
/// [`Scope::AllCpus`](crate::Scope::AllCpus)) or to a task ([`Scope::Task`](crate::Scope::Task)
/// on every CPU, [`Scope::TaskOnCpu`](crate::Scope::TaskOnCpu) on one). A **pinned** request
/// fits iff on every CPU `c` it can run on
///
/// ```text
/// cpu_pinned[c] + task_term(c) + w ≤ slots
/// ```
///
/// where `cpu_pinned[c]` counts pinned CPU-bound slots on `c`, and `task_term(c)` is the
/// largest per-task count on `c` for a CPU-bound request, or the owning task's own count on
/// `c` for a task-bound one (the rule of Linux's `kernel/events/hw_breakpoint.c`). Because
/// every pinned request was checked this way, whatever task runs on whatever CPU, its pinned
/// slots and the CPU's fit at once: **pinned requests are armed whenever their scope runs**.
/// A pinned request that does not fit is refused with [`ReserveError::CpuFull`], naming the
/// first full CPU and its numbers.
///
/// A **flexible** request is always accepted (unless it needs more slots than the CPU has,
/// [`ReserveError::NeverFits`]). It is armed at switch-in when room is left after the pinned
/// ones, in rotation: least recently armed first. [`Reservations::status`] says whether it is
/// armed and how many windows (switch-ins covering it) it missed, so no consumer loses hits
/// silently.
///
/// **Shared** requests with the same scope, pinning and plan (identical hardware programs)
/// share one *slot group*, reference counted: the slots are counted and loaded once, and
/// every sharer keeps its own [`ReservationId`] ([`Reservations::sharers`] lists them for
/// event delivery). **Exclusive** requests always get a group of their own. (Sharing is by
/// whole plan: two plans that overlap in some programs but not all do not share.)
///
/// # Cost
/// Per pool and CPU the engine keeps the pinned CPU-bound count and a histogram of per-task
/// counts; tasks bound to every CPU are one global histogram; two histograms over CPUs
/// answer "does it fit on every CPU?" (see `hal/src/reserve/ledger.rs`). Reserve, modify and release cost
/// O(slots + the owning task's own groups + the groups of the request's scope), never a walk
/// over tasks and, on success, not over CPUs; only a refusal scans CPUs to name the full one.
/// Switch-in walks the running task's, the CPU's and the all-CPU groups.
///
/// # Atomicity
/// A refused [`reserve`](Reservations::reserve) or [`modify`](Reservations::modify) changes
/// nothing: the fit rule and every store's room are checked before the first write, and
/// `modify` checks the new form as if the old one were gone, then puts the old one back
/// exactly (same group, same list place, same counters) when the new one is refused.
///
/// # The "try" path and what "lockless" means here
/// The HAL is `no_std` and has no `unsafe`, so the engine has no lock of its own: every
/// operation takes `&mut self`, and exclusion between CPUs is the embedding kernel's lock.
/// The engine itself never waits, never spins and holds nothing across calls, so an update
/// is never "in progress" from its point of view. What a debugger running in exception
/// context (kgdb-like) must avoid is (1) waiting for the lock an interrupted context holds
/// and (2) allocating. For (1) it takes the kernel's lock with a *try*-lock and gives up
/// when that fails — the same choice Linux made for `dbg_reserve_bp_slot`, which fails when
/// the constraints lock is taken. For (2) it calls [`Reservations::try_reserve`], which never
/// allocates (it refuses with [`ReserveError::WouldAllocate`] instead) and does bounded work.
/// With `std`, for example:
///
/// ```
/// use std::sync::Mutex;
/// use hwbkpt_hal::{FixedReservations, ReserveError};
/// # use hwbkpt_hal::{AccessKind, Request, AddressRange, Capabilities, Plan, PoolKind, PrivilegeFilter};
/// # use hwbkpt_hal::{SlotPool, SlotProgram, Timing};
/// # #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// # struct Program(u64);
/// # impl SlotProgram for Program {
/// #     fn pool(&self) -> PoolKind { PoolKind::Shared }
/// #     fn hardware_range(&self) -> AddressRange { AddressRange::new(self.0, 8).unwrap() }
/// #     fn hardware_access(&self) -> AccessKind { AccessKind::WRITE }
/// # }
/// # fn plan_at(addr: u64) -> Plan<Program> {
/// #     let mut plan = Plan::new();
/// #     plan.push(Program(addr)).unwrap();
/// #     plan
/// # }
/// # static POOLS: [SlotPool; 1] =
/// #     [SlotPool { kind: PoolKind::Shared, count: 4, serves: AccessKind::all(), register: "DR0-DR3" }];
/// # static X86_CAPS: Capabilities = Capabilities {
/// #     arch: "x86-64", profile: "example", pools: &POOLS, data_len_pow2_mask: 0b1111,
/// #     max_data_len: 8, granularity: 1, data_boundary: None, data_timing: Timing::After,
/// #     execute_timing: Timing::Before, hardware_privileges: PrivilegeFilter::all(),
/// #     read_only_data: false,
/// # };
///
/// let engine: Mutex<FixedReservations<Program, 4, 16, 16>> =
///     Mutex::new(FixedReservations::new(&X86_CAPS, 4).unwrap());
/// let request = Request::builder(0x1000, 8, AccessKind::WRITE).build().unwrap();
///
/// // In exception context: never wait, never allocate.
/// let taken = match engine.try_lock() {
///     Ok(mut engine) => engine.try_reserve(request, plan_at(0x1000)),
///     Err(_) => Err(ReserveError::Busy), // an update is in progress: give up, never wait
/// };
/// assert!(taken.is_ok());
/// ```
///
/// # Driving it
/// ```
/// use hwbkpt_hal::{AccessKind, CpuId, FixedReservations, Pinning, Request, Scope, TaskId};
/// # use hwbkpt_hal::{AddressRange, Capabilities, Plan, PoolKind, PrivilegeFilter};
/// # use hwbkpt_hal::{SlotPool, SlotProgram, Timing};
/// # #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// # struct Program(u64);
/// # impl SlotProgram for Program {
/// #     fn pool(&self) -> PoolKind { PoolKind::Shared }
/// #     fn hardware_range(&self) -> AddressRange { AddressRange::new(self.0, 8).unwrap() }
/// #     fn hardware_access(&self) -> AccessKind { AccessKind::WRITE }
/// # }
/// # fn plan_at(addr: u64) -> Plan<Program> {
/// #     let mut plan = Plan::new();
/// #     plan.push(Program(addr)).unwrap();
/// #     plan
/// # }
/// # static POOLS: [SlotPool; 1] =
/// #     [SlotPool { kind: PoolKind::Shared, count: 4, serves: AccessKind::all(), register: "DR0-DR3" }];
/// # static X86_CAPS: Capabilities = Capabilities {
/// #     arch: "x86-64", profile: "example", pools: &POOLS, data_len_pow2_mask: 0b1111,
/// #     max_data_len: 8, granularity: 1, data_boundary: None, data_timing: Timing::After,
/// #     execute_timing: Timing::Before, hardware_privileges: PrivilegeFilter::all(),
/// #     read_only_data: false,
/// # };
///
/// // 4 CPUs, up to 32 reservations, a task table of 16 places, x86's pool of 4 slots.
/// let mut engine: FixedReservations<Program, 4, 32, 16> =
///     FixedReservations::new(&X86_CAPS, 4).unwrap();
///
/// let watch = |addr, scope| Request::builder(addr, 8, AccessKind::WRITE).scope(scope).build().unwrap();
/// // Task 7 fills all four slots on every CPU…
/// for i in 0..4 {
///     engine.reserve(watch(0x1000 + 8 * i, Scope::Task(TaskId(7))), plan_at(0x1000 + 8 * i))?;
/// }
/// // …so no pinned per-CPU breakpoint fits any more, and the error says why.
/// let refused = engine.reserve(watch(0x2000, Scope::Cpu(CpuId(1))), plan_at(0x2000));
/// assert_eq!(
///     refused.unwrap_err().to_string(),
///     "CPU 1 is full in the shared pool: 0 slot(s) pinned by CPU-bound requests + \
///      4 held by the busiest task + 1 requested > 4 slot(s)"
/// );
/// // A flexible one is accepted, and simply not armed while task 7 runs.
/// let flexible = Request::builder(0x2000, 8, AccessKind::WRITE)
///     .scope(Scope::Cpu(CpuId(1)))
///     .pinning(Pinning::Flexible)
///     .build()
///     .unwrap();
/// let id = engine.reserve(flexible, plan_at(0x2000))?;
/// let loaded = engine.switch_in(TaskId(7), CpuId(1))?;
/// assert_eq!(loaded.iter().count(), 4);
/// assert_eq!(engine.status(id).unwrap().missed_windows, 1);
/// // Another task on CPU 1 leaves room: the flexible one is armed in a concrete slot.
/// let loaded = engine.switch_in(TaskId(8), CpuId(1))?;
/// assert_eq!(loaded.iter().count(), 1);
/// assert!(engine.status(id).unwrap().armed);
/// # Ok::<(), hwbkpt_hal::ReserveError>(())
/// ```
///
/// # Wiring into a dispatcher
/// - Register: `let plan = arch.prepare(&request)?;` then [`reserve`](Self::reserve) (or
///   [`reserve_planned`](Self::reserve_planned)); keep per-consumer state (value snapshots,
///   one-shot flags) keyed by the [`ReservationId`].
/// - Context switch or migration of task `t` onto CPU `c`: [`switch_in`](Self::switch_in)
///   gives a [`SlotAssignment`](crate::SlotAssignment);
///   [`SlotAssignment::install`](crate::SlotAssignment::install) encodes and installs the
///   assigned slots and uninstalls every other slot of the profile (a dispatcher that caches
///   images can instead walk [`SlotAssignment::iter`](crate::SlotAssignment::iter)).
/// - Debug exception on CPU `c` in slot `s`: [`loaded`](Self::loaded)`(c)` names the group
///   in `s`; [`sharers`](Self::sharers) lists the consumers, each of which gets its own event.
/// - Release: [`release`](Self::release); the next switch-in on each CPU drops its slots.
///
/// # Parameters
/// `P` is the architecture's slot program, `S` the [`Storage`] (fixed or heap), `CPUS` the
/// most CPUs it can account for. Every operation takes `&mut self` and never blocks; a
/// refused operation changes nothing.
pub struct Reservations<P: SlotProgram, S: Storage, const CPUS: usize> {
    pub(super) online: u32,
    pub(super) slots: [u8; 3],
    pub(super) accounting: bool,
    pub(super) ledgers: [PoolLedger<CPUS>; 3],
    pub(super) groups: S::Records<Group<P>>,
    pub(super) consumers: S::Records<Consumer>,
    pub(super) tasks: S::Tasks<TaskState>,
    pub(super) all_cpus: AnchorLists,
    pub(super) per_cpu: [AnchorLists; CPUS],
    pub(super) loaded: [LoadedSlots; CPUS],
    pub(super) next_ticket: u64,
}

/// Which lists a group lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    AllCpus,
    Cpu(u32),
    Task(TaskId),
}

impl Anchor {
    pub(super) const fn of(scope: Scope) -> Self {
        match scope {
            Scope::AllCpus => Self::AllCpus,
            Scope::Cpu(c) => Self::Cpu(c.0),
            Scope::Task(t) | Scope::TaskOnCpu(t, _) => Self::Task(t),
        }
    }
}

/// Which store ran out, for the error.
const RESERVATIONS: &str = "reservations";
const GROUPS: &str = "slot groups";
const TASKS: &str = "tasks";

impl<P: SlotProgram, S: Storage, const CPUS: usize> Reservations<P, S, CPUS> {
    /// An engine for `online` CPUs (numbered `0..online`) of the profile `capabilities`
    /// describes, with nothing reserved.
    ///
    /// # Errors
    /// [`ReserveError::TooManyCpus`] when `online > CPUS`.
    pub fn new(capabilities: &Capabilities, online: u32) -> Result<Self, ReserveError> {
        Self::build(capabilities, online, true)
    }

    /// An engine that skips the fit rule and its bookkeeping: every request is accepted and
    /// switch-in loads pinned groups first come, first served (it still never loads more
    /// slots than exist). Only for measuring what the accounting costs; never drive
    /// hardware with it.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    #[doc(hidden)]
    pub fn without_accounting(
        capabilities: &Capabilities,
        online: u32,
    ) -> Result<Self, ReserveError> {
        Self::build(capabilities, online, false)
    }

    fn build(
        capabilities: &Capabilities,
        online: u32,
        accounting: bool,
    ) -> Result<Self, ReserveError> {
        if usize::try_from(online).map_or(true, |n| n > CPUS) {
            return Err(ReserveError::TooManyCpus {
                online,
                capacity: CPUS,
            });
        }
        Ok(Self::build_checked(capabilities, online, accounting))
    }

    /// An engine for all `CPUS` CPUs (at most `u32::MAX`): cannot fail.
    pub(crate) fn for_every_cpu(capabilities: &Capabilities) -> Self {
        let online = u32::try_from(CPUS).unwrap_or(u32::MAX);
        Self::build_checked(capabilities, online, true)
    }

    /// `online ≤ CPUS` has been checked.
    fn build_checked(capabilities: &Capabilities, online: u32, accounting: bool) -> Self {
        let mut slots = [0u8; 3];
        for pool in capabilities.pools {
            if let Some(count) = slots.get_mut(pool_index(pool.kind)) {
                *count = pool.count.min(SlotId::MAX_PER_POOL);
            }
        }
        Self {
            online,
            slots,
            accounting,
            ledgers: slots.map(|count| PoolLedger::new(count, online)),
            groups: Slab::empty(),
            consumers: Slab::empty(),
            tasks: TaskTable::empty(),
            all_cpus: AnchorLists::default(),
            per_cpu: [AnchorLists::default(); CPUS],
            loaded: [LoadedSlots::EMPTY; CPUS],
            next_ticket: 0,
        }
    }

    /// CPUs `0..online` exist.
    #[must_use]
    pub const fn online_cpus(&self) -> u32 {
        self.online
    }

    /// Slots `pool` has on each CPU (0 when the profile lacks it).
    #[must_use]
    pub fn slots(&self, pool: PoolKind) -> u8 {
        self.slots.get(pool_index(pool)).copied().unwrap_or(0)
    }

    /// Reserve slots for `request`, which `plan` covers (from
    /// [`DebugArchitecture::prepare`]). Pinned requests are checked against the fit rule;
    /// flexible ones are always accepted (if the hardware could ever hold them). A shared
    /// request with the same scope, pinning and plan as a live shared group joins it and
    /// takes no slot of its own.
    ///
    /// May grow heap storage; see [`try_reserve`](Self::try_reserve) for the path that never
    /// allocates.
    ///
    /// # Errors
    /// [`ReserveError::CpuFull`] (pinned, does not fit), [`ReserveError::NeverFits`],
    /// [`ReserveError::EmptyPlan`], [`ReserveError::UnknownCpu`],
    /// [`ReserveError::CapacityExhausted`].
    pub fn reserve(
        &mut self,
        request: Request,
        plan: Plan<P>,
    ) -> Result<ReservationId, ReserveError> {
        self.reserve_with(request, plan, true)
    }

    /// [`reserve`](Self::reserve) for exception context (a kgdb-like debugger): it never
    /// allocates and never waits. It is refused with [`ReserveError::WouldAllocate`] where
    /// `reserve` would have grown storage. Its work is bounded by the slot count, the
    /// caller's own task's groups and the groups of its scope — never by the number of tasks
    /// or, on success, of CPUs. See the module documentation for what "lockless" means here.
    ///
    /// # Errors
    /// As [`reserve`](Self::reserve), plus [`ReserveError::WouldAllocate`].
    pub fn try_reserve(
        &mut self,
        request: Request,
        plan: Plan<P>,
    ) -> Result<ReservationId, ReserveError> {
        self.reserve_with(request, plan, false)
    }

    /// Plan `request` on `arch` (policy and hardware checks), then [`reserve`](Self::reserve).
    ///
    /// # Errors
    /// [`ReserveError::Request`] when the architecture refuses the request, else as
    /// [`reserve`](Self::reserve).
    pub fn reserve_planned<A: DebugArchitecture<Program = P>>(
        &mut self,
        arch: &A,
        request: Request,
    ) -> Result<ReservationId, ReserveError> {
        let plan = arch.prepare(&request)?;
        self.reserve(request, plan)
    }

    /// Replace the request and plan behind `id`, atomically: if the new form is refused, the
    /// old reservation stays exactly as it was (same slots, same sharing, same rotation
    /// place). Modifying to the same scope, pinning, sharing and plan keeps the group and
    /// only updates the request's other fields.
    ///
    /// # Errors
    /// [`ReserveError::UnknownReservation`], else as [`reserve`](Self::reserve).
    pub fn modify(
        &mut self,
        id: ReservationId,
        request: Request,
        plan: Plan<P>,
    ) -> Result<(), ReserveError> {
        let consumer = *self.consumer(id).ok_or(ReserveError::UnknownReservation)?;
        let weights = self.validate(&request, &plan)?;
        let old_index = consumer.group;
        let Some(old) = self.groups.get(old_index) else {
            return Err(ReserveError::UnknownReservation);
        };
        let same_group = old.scope == request.scope()
            && old.pinning == request.pinning()
            && old.exclusive == (request.sharing() == Sharing::Exclusive)
            && old.plan == plan;
        if same_group {
            if let Some(c) = self.consumers.get_mut(id.index) {
                c.request = request;
            }
            return Ok(());
        }
        let old_scope = old.scope;
        let old_pinned = old.pinning == Pinning::Pinned;
        let leaving_frees = old.sharers <= 1;
        let joinable = self.find_joinable(&request, &plan, self.lists(Anchor::of(request.scope())));

        if joinable.is_none() && request.pinning() == Pinning::Pinned {
            // Check as if the old group were gone (when this consumer is its last holder),
            // then put it back exactly where it was: the ledger steps are exact inverses.
            let lifted = if leaving_frees && old_pinned {
                let prev = self.unlink_group(old_index);
                self.account(old_index, false);
                Some(prev)
            } else {
                None
            };
            let task = self.task_state(request.scope());
            let verdict = self.check_fit(request.scope(), weights, task.as_ref());
            if let Some(prev) = lifted {
                self.account(old_index, true);
                self.relink_group(old_index, prev);
            }
            verdict?;
        }

        // Capacity, counting what leaving the old group frees.
        if joinable.is_none() && !leaving_frees {
            let room = self.groups.can_insert(1, true);
            self.need(room, room, GROUPS)?;
        }
        if let Anchor::Task(task) = Anchor::of(request.scope()) {
            let frees_old_task = leaving_frees
                && Anchor::of(old_scope) != Anchor::Task(task)
                && matches!(Anchor::of(old_scope), Anchor::Task(t) if self.tasks.get(t).is_some_and(|s| s.groups <= 1));
            if self.tasks.get(task).is_none() && !frees_old_task {
                let room = self.tasks.can_insert(true);
                self.need(room, room, TASKS)?;
            }
        }

        self.leave_group(id.index, old_index);
        let group = match joinable {
            Some(g) => g,
            None => match self.create_group(&request, plan, weights, true) {
                Ok(g) => g,
                Err(e) => {
                    // Unreachable after the checks above; never leave a consumer groupless.
                    self.consumers.remove(id.index);
                    return Err(e);
                }
            },
        };
        if let Some(c) = self.consumers.get_mut(id.index) {
            c.request = request;
            c.group = group;
        }
        self.join_group(id.index, group);
        Ok(())
    }

    /// Give the reservation back; returns its request. Its slots are free for others at
    /// once (the next switch-in of each CPU stops loading them).
    ///
    /// # Errors
    /// [`ReserveError::UnknownReservation`].
    pub fn release(&mut self, id: ReservationId) -> Result<Request, ReserveError> {
        let consumer = *self.consumer(id).ok_or(ReserveError::UnknownReservation)?;
        self.leave_group(id.index, consumer.group);
        self.consumers.remove(id.index);
        Ok(consumer.request)
    }

    /// The request behind `id`.
    #[must_use]
    pub fn request(&self, id: ReservationId) -> Option<&Request> {
        self.consumer(id).map(|c| &c.request)
    }

    /// The plan behind `id`.
    #[must_use]
    pub fn plan(&self, id: ReservationId) -> Option<&Plan<P>> {
        let consumer = self.consumer(id)?;
        self.groups.get(consumer.group).map(|g| &g.plan)
    }

    /// The slot group `id` uses (shared with others or its own).
    #[must_use]
    pub fn group(&self, id: ReservationId) -> Option<SlotGroupId> {
        let consumer = self.consumer(id)?;
        self.group_id(consumer.group)
    }

    /// The plan a slot group loads.
    #[must_use]
    pub fn group_plan(&self, group: SlotGroupId) -> Option<&Plan<P>> {
        self.live_group(group).map(|g| &g.plan)
    }

    /// Every reservation sharing `group`: each gets its own events for a hit in its slots.
    pub fn sharers(&self, group: SlotGroupId) -> impl Iterator<Item = ReservationId> + '_ {
        let mut cursor = self.live_group(group).and_then(|g| g.first_sharer);
        core::iter::from_fn(move || {
            let index = cursor?;
            cursor = self.consumers.get(index)?.next_sharer;
            Some(ReservationId {
                index,
                generation: self.consumers.generation(index)?,
            })
        })
    }

    /// Whether `id` is armed and how many windows it missed. Pinned reservations are armed
    /// whenever their scope runs; a flexible one reports the outcome of the most recent
    /// switch-in that considered it.
    #[must_use]
    pub fn status(&self, id: ReservationId) -> Option<ReservationStatus> {
        let consumer = self.consumer(id)?;
        let group = self.groups.get(consumer.group)?;
        let pinned = group.pinning == Pinning::Pinned;
        Some(ReservationStatus {
            pinning: group.pinning,
            armed: pinned || group.armed,
            missed_windows: consumer.missed,
            sharers: group.sharers,
        })
    }

    /// The numbers of the fit rule for `pool` on `cpu`.
    #[must_use]
    pub fn usage(&self, pool: PoolKind, cpu: CpuId) -> Option<PoolUsage> {
        if cpu.0 >= self.online {
            return None;
        }
        let ledger = self.ledgers.get(pool_index(pool))?;
        Some(PoolUsage {
            cpu_pinned: ledger.cpu_pinned(cpu.0),
            busiest_task: ledger.max_task_count(cpu.0),
            slots: ledger.slots(),
        })
    }

    /// Pinned slots `task` holds on `cpu` in `pool` (its own task term).
    #[must_use]
    pub fn task_usage(&self, pool: PoolKind, task: TaskId, cpu: CpuId) -> u8 {
        let p = pool_index(pool);
        let Some(state) = self.tasks.get(task) else {
            return 0;
        };
        let everywhere = state.everywhere.get(p).copied().unwrap_or(0);
        let extra = extra_on(&self.groups, state, cpu.0);
        everywhere.saturating_add(extra.get(p).copied().unwrap_or(0))
    }

    /// Live reservations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.consumers.len()
    }

    /// Whether nothing is reserved.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.consumers.is_empty()
    }

    /// Live slot groups (each holds slots once, however many share it).
    #[must_use]
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Tasks holding at least one group.
    #[must_use]
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Whether every counter is back to zero (true after everything is released).
    #[must_use]
    pub fn accounting_is_empty(&self) -> bool {
        self.ledgers.iter().all(PoolLedger::is_empty)
            && self.groups.is_empty()
            && self.tasks.is_empty()
    }

    // ---- internals ----

    fn reserve_with(
        &mut self,
        request: Request,
        plan: Plan<P>,
        may_grow: bool,
    ) -> Result<ReservationId, ReserveError> {
        let weights = self.validate(&request, &plan)?;
        // The owning task's record, looked up once for the sharing search and the fit rule.
        let task = self.task_state(request.scope());
        let lists = match Anchor::of(request.scope()) {
            Anchor::Task(_) => task.map(|t| t.lists).unwrap_or_default(),
            anchor => self.lists(anchor),
        };
        let joinable = self.find_joinable(&request, &plan, lists);
        if joinable.is_none() && request.pinning() == Pinning::Pinned {
            self.check_fit(request.scope(), weights, task.as_ref())?;
        }
        // Every store that will be written must have room before anything changes.
        self.need(
            self.consumers.can_insert(1, true),
            self.consumers.can_insert(1, may_grow),
            RESERVATIONS,
        )?;
        if joinable.is_none() {
            self.need(
                self.groups.can_insert(1, true),
                self.groups.can_insert(1, may_grow),
                GROUPS,
            )?;
            if let Anchor::Task(_) = Anchor::of(request.scope())
                && task.is_none()
            {
                self.need(
                    self.tasks.can_insert(true),
                    self.tasks.can_insert(may_grow),
                    TASKS,
                )?;
            }
        }
        let group = match joinable {
            Some(g) => g,
            None => self.create_group(&request, plan, weights, may_grow)?,
        };
        let consumer = Consumer {
            request,
            group,
            next_sharer: None,
            missed: 0,
        };
        match self.consumers.insert(consumer, may_grow) {
            Ok((index, generation)) => {
                self.join_group(index, group);
                Ok(ReservationId { index, generation })
            }
            Err(_) => {
                // Unreachable after the capacity check; undo the group so nothing leaks.
                if joinable.is_none() {
                    self.destroy_group(group);
                }
                Err(ReserveError::CapacityExhausted { what: RESERVATIONS })
            }
        }
    }

    /// Turn "fits with growth / fits without" into the right error.
    fn need(
        &self,
        with_growth: bool,
        allowed: bool,
        what: &'static str,
    ) -> Result<(), ReserveError> {
        match (allowed, with_growth) {
            (true, _) => Ok(()),
            (false, true) => Err(ReserveError::WouldAllocate { what }),
            (false, false) => Err(ReserveError::CapacityExhausted { what }),
        }
    }

    fn validate(&self, request: &Request, plan: &Plan<P>) -> Result<[u8; 3], ReserveError> {
        if plan.is_empty() {
            return Err(ReserveError::EmptyPlan);
        }
        if let Some(cpu) = request.scope().cpu()
            && cpu.0 >= self.online
        {
            return Err(ReserveError::UnknownCpu {
                cpu,
                online: self.online,
            });
        }
        let weights = weights_of(plan);
        for (pool, (&weight, &slots)) in POOLS.iter().zip(weights.iter().zip(self.slots.iter())) {
            if weight > slots {
                return Err(ReserveError::NeverFits {
                    pool: *pool,
                    weight,
                    slots,
                });
            }
        }
        Ok(weights)
    }

    pub(super) fn consumer(&self, id: ReservationId) -> Option<&Consumer> {
        if self.consumers.generation(id.index)? != id.generation {
            return None;
        }
        self.consumers.get(id.index)
    }

    pub(super) fn group_id(&self, index: u32) -> Option<SlotGroupId> {
        Some(SlotGroupId {
            index,
            generation: self.groups.generation(index)?,
        })
    }

    fn live_group(&self, id: SlotGroupId) -> Option<&Group<P>> {
        if self.groups.generation(id.index)? != id.generation {
            return None;
        }
        self.groups.get(id.index)
    }

    pub(super) fn lists(&self, anchor: Anchor) -> AnchorLists {
        match anchor {
            Anchor::AllCpus => self.all_cpus,
            Anchor::Cpu(c) => usize::try_from(c)
                .ok()
                .and_then(|c| self.per_cpu.get(c))
                .copied()
                .unwrap_or_default(),
            Anchor::Task(t) => self.tasks.get(t).map(|s| s.lists).unwrap_or_default(),
        }
    }

    pub(super) fn lists_mut(&mut self, anchor: Anchor) -> Option<&mut AnchorLists> {
        match anchor {
            Anchor::AllCpus => Some(&mut self.all_cpus),
            Anchor::Cpu(c) => self.per_cpu.get_mut(usize::try_from(c).ok()?),
            Anchor::Task(t) => self.tasks.get_mut(t).map(|s| &mut s.lists),
        }
    }

    /// A copy of the owning task's record, for task-bound scopes.
    fn task_state(&self, scope: Scope) -> Option<TaskState> {
        scope.task().and_then(|t| self.tasks.get(t).copied())
    }

    /// A live shared group this request may join.
    fn find_joinable(&self, request: &Request, plan: &Plan<P>, lists: AnchorLists) -> Option<u32> {
        if request.sharing() == Sharing::Exclusive {
            return None;
        }
        let ends = lists.of(request.pinning());
        list::iter(&self.groups, ends)
            .find(|(_, g)| g.joinable_by(request, plan))
            .map(|(index, _)| index)
    }

    /// The fit rule for a new pinned group of `weights` in `scope`, pool by pool.
    fn check_fit(
        &self,
        scope: Scope,
        weights: [u8; 3],
        task: Option<&TaskState>,
    ) -> Result<(), ReserveError> {
        if !self.accounting {
            return Ok(());
        }
        let state = task.copied().unwrap_or_default();
        for (p, pool) in POOLS.iter().enumerate() {
            let (Some(&weight), Some(ledger)) = (weights.get(p), self.ledgers.get(p)) else {
                continue;
            };
            if weight == 0 {
                continue;
            }
            let full = |o: Overflow, task: Option<TaskId>| ReserveError::CpuFull {
                pool: *pool,
                cpu: CpuId(o.cpu),
                cpu_pinned: o.cpu_pinned,
                task_term: o.task_term,
                task,
                weight,
                slots: ledger.slots(),
            };
            match scope {
                Scope::AllCpus => ledger.check_every_cpu(weight).map_err(|o| full(o, None))?,
                Scope::Cpu(c) => ledger.check_cpu(c.0, weight).map_err(|o| full(o, None))?,
                Scope::TaskOnCpu(t, c) => {
                    let own = own_count(&self.groups, &state, p, c.0);
                    ledger
                        .check_with_task_term(c.0, own, weight)
                        .map_err(|o| full(o, Some(t)))?;
                }
                Scope::Task(t) => {
                    let everywhere = state.everywhere.get(p).copied().unwrap_or(0);
                    let mut worst_extra = 0u8;
                    each_extra(&self.groups, &state, |cpu, extra| {
                        let e = extra.get(p).copied().unwrap_or(0);
                        if e > 0 {
                            worst_extra =
                                worst_extra.max(ledger.pinned_local(cpu).saturating_add(e));
                        }
                    });
                    if !ledger.task_everywhere_fits(everywhere, worst_extra, weight) {
                        // Refused: name the first full CPU (rare path, O(CPUs × own groups)).
                        for cpu in 0..self.online {
                            let own = own_count(&self.groups, &state, p, cpu);
                            ledger
                                .check_with_task_term(cpu, own, weight)
                                .map_err(|o| full(o, Some(t)))?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Add (or take back) a pinned group's slots to the ledgers. Called while the group is
    /// *not* linked into its task's list, so the task's per-CPU extras exclude it.
    fn account(&mut self, index: u32, add: bool) {
        if !self.accounting {
            return;
        }
        let Some(group) = self.groups.get(index) else {
            return;
        };
        if group.pinning != Pinning::Pinned {
            return;
        }
        let (scope, weights) = (group.scope, group.weights);
        for (p, &weight) in weights.iter().enumerate() {
            if weight == 0 {
                continue;
            }
            match scope {
                Scope::AllCpus => {
                    if let Some(l) = self.ledgers.get_mut(p) {
                        l.change_all(add, weight);
                    }
                }
                Scope::Cpu(c) => {
                    if let Some(l) = self.ledgers.get_mut(p) {
                        l.change_local(c.0, add, weight);
                    }
                }
                Scope::Task(t) | Scope::TaskOnCpu(t, _) => {
                    if let Some(state) = self.tasks.get_mut(t) {
                        account_task(&mut self.ledgers, &self.groups, state, scope, weights, add);
                    }
                    // `account_task` did every pool at once.
                    return;
                }
            }
        }
    }

    /// Create, account and link a new group for `request`. Room was checked by the caller.
    fn create_group(
        &mut self,
        request: &Request,
        plan: Plan<P>,
        weights: [u8; 3],
        may_grow: bool,
    ) -> Result<u32, ReserveError> {
        let anchor = Anchor::of(request.scope());
        if let Anchor::Task(task) = anchor
            && self.tasks.get(task).is_none()
            && self
                .tasks
                .insert(task, TaskState::default(), may_grow)
                .is_err()
        {
            return Err(ReserveError::CapacityExhausted { what: TASKS });
        }
        let ticket = self.take_ticket();
        let group = Group {
            plan,
            scope: request.scope(),
            pinning: request.pinning(),
            exclusive: request.sharing() == Sharing::Exclusive,
            weights,
            sharers: 0,
            first_sharer: None,
            prev: None,
            next: None,
            ticket,
            created: ticket,
            armed: false,
        };
        let Ok((index, _)) = self.groups.insert(group, may_grow) else {
            self.drop_task_if_idle(anchor);
            return Err(ReserveError::CapacityExhausted { what: GROUPS });
        };
        let (scope, pinning) = (request.scope(), request.pinning());
        if let Anchor::Task(t) = anchor {
            // One lookup of the task for counting, accounting and linking.
            let Some(state) = self.tasks.get_mut(t) else {
                return Ok(index);
            };
            state.groups = state.groups.saturating_add(1);
            if is_cpu_bound_pinned(scope, pinning) {
                state.cpu_bound = state.cpu_bound.saturating_add(1);
            }
            if self.accounting && pinning == Pinning::Pinned {
                account_task(&mut self.ledgers, &self.groups, state, scope, weights, true);
            }
            let mut ends = state.lists.of(pinning);
            let after = insertion_point(&self.groups, ends, scope, pinning);
            list::link_after(&mut self.groups, &mut ends, after, index);
            *state.lists.of_mut(pinning) = ends;
        } else {
            self.account(index, true);
            let ends = self.lists(anchor).of(pinning);
            let after = insertion_point(&self.groups, ends, scope, pinning);
            self.link(anchor, pinning, after, index);
        }
        Ok(index)
    }

    /// Unlink, unaccount and free a group that lost its last sharer.
    fn destroy_group(&mut self, index: u32) {
        let Some(group) = self.groups.get(index) else {
            return;
        };
        let (scope, pinning, weights) = (group.scope, group.pinning, group.weights);
        let anchor = Anchor::of(scope);
        if let Anchor::Task(t) = anchor {
            // One lookup of the task for unlinking, accounting and counting.
            let Some(state) = self.tasks.get_mut(t) else {
                self.groups.remove(index);
                return;
            };
            let mut ends = state.lists.of(pinning);
            list::unlink(&mut self.groups, &mut ends, index);
            *state.lists.of_mut(pinning) = ends;
            if self.accounting && pinning == Pinning::Pinned {
                account_task(
                    &mut self.ledgers,
                    &self.groups,
                    state,
                    scope,
                    weights,
                    false,
                );
            }
            state.groups = state.groups.saturating_sub(1);
            if is_cpu_bound_pinned(scope, pinning) {
                state.cpu_bound = state.cpu_bound.saturating_sub(1);
            }
            let idle = state.groups == 0;
            self.groups.remove(index);
            if idle {
                self.tasks.remove(t);
            }
        } else {
            self.unlink_group(index);
            self.account(index, false);
            self.groups.remove(index);
        }
    }

    fn drop_task_if_idle(&mut self, anchor: Anchor) {
        if let Anchor::Task(t) = anchor
            && self.tasks.get(t).is_some_and(|s| s.groups == 0)
        {
            self.tasks.remove(t);
        }
    }

    fn link(&mut self, anchor: Anchor, pinning: Pinning, after: Option<u32>, index: u32) {
        let Some(lists) = self.lists_mut(anchor) else {
            return;
        };
        let mut ends: ListEnds = lists.of(pinning);
        list::link_after(&mut self.groups, &mut ends, after, index);
        if let Some(lists) = self.lists_mut(anchor) {
            *lists.of_mut(pinning) = ends;
        }
    }

    /// Take a group out of its list; returns its predecessor for [`relink_group`].
    pub(super) fn unlink_group(&mut self, index: u32) -> Option<u32> {
        let group = self.groups.get(index)?;
        let (anchor, pinning) = (Anchor::of(group.scope), group.pinning);
        let mut ends = self.lists(anchor).of(pinning);
        let prev = list::unlink(&mut self.groups, &mut ends, index);
        if let Some(lists) = self.lists_mut(anchor) {
            *lists.of_mut(pinning) = ends;
        }
        prev
    }

    fn relink_group(&mut self, index: u32, prev: Option<u32>) {
        let Some(group) = self.groups.get(index) else {
            return;
        };
        let (anchor, pinning) = (Anchor::of(group.scope), group.pinning);
        self.link(anchor, pinning, prev, index);
    }

    /// Move a group to the back of its list (it was just armed: its rotation turn is over).
    pub(super) fn move_to_back(&mut self, index: u32) {
        let Some(group) = self.groups.get(index) else {
            return;
        };
        let (anchor, pinning) = (Anchor::of(group.scope), group.pinning);
        self.unlink_group(index);
        let tail = self.lists(anchor).of(pinning).tail;
        self.link(anchor, pinning, tail, index);
    }

    pub(super) fn take_ticket(&mut self) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket = self.next_ticket.wrapping_add(1);
        ticket
    }

    fn join_group(&mut self, consumer: u32, group: u32) {
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        let first = g.first_sharer.replace(consumer);
        g.sharers = g.sharers.saturating_add(1);
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.next_sharer = first;
            c.group = group;
        }
    }

    /// Take `consumer` off `group`'s sharers; the group goes when it has none left.
    fn leave_group(&mut self, consumer: u32, group: u32) {
        let next = self.consumers.get(consumer).and_then(|c| c.next_sharer);
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        g.sharers = g.sharers.saturating_sub(1);
        let last = g.sharers == 0;
        if g.first_sharer == Some(consumer) {
            g.first_sharer = next;
        } else {
            let mut cursor = g.first_sharer;
            while let Some(index) = cursor {
                let Some(c) = self.consumers.get_mut(index) else {
                    break;
                };
                if c.next_sharer == Some(consumer) {
                    c.next_sharer = next;
                    break;
                }
                cursor = c.next_sharer;
            }
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.next_sharer = None;
        }
        if last {
            self.destroy_group(group);
        }
    }
}

/// Where a new group goes in its list: flexible groups at the back (rotation order);
/// a task's pinned group bound to CPU `c` right after the last one bound to `c`, so runs
/// per CPU stay contiguous; other pinned groups at the front.
fn insertion_point<P, R: Slab<Group<P>>>(
    groups: &R,
    ends: ListEnds,
    scope: Scope,
    pinning: Pinning,
) -> Option<u32> {
    match (pinning, scope) {
        (Pinning::Flexible, _) => ends.tail,
        (Pinning::Pinned, Scope::TaskOnCpu(_, cpu)) => list::iter(groups, ends)
            .filter(|(_, g)| g.scope.cpu() == Some(cpu))
            .last()
            .map(|(i, _)| i)
            .or(ends.tail),
        (Pinning::Pinned, _) => None,
    }
}

/// A task's own count in pool `p` on `cpu`: its slots on every CPU plus those bound to `cpu`.
fn own_count<P, R: Slab<Group<P>>>(groups: &R, task: &TaskState, p: usize, cpu: u32) -> u8 {
    let everywhere = task.everywhere.get(p).copied().unwrap_or(0);
    let extra = extra_on(groups, task, cpu).get(p).copied().unwrap_or(0);
    everywhere.saturating_add(extra)
}

/// Add (or take back) a pinned task-bound group's slots, every pool at once. The group must
/// not be linked into the task's list (so the task's per-CPU extras exclude it).
fn account_task<P, R: Slab<Group<P>>, const CPUS: usize>(
    ledgers: &mut [PoolLedger<CPUS>; 3],
    groups: &R,
    state: &mut TaskState,
    scope: Scope,
    weights: [u8; 3],
    add: bool,
) {
    for (p, (&weight, ledger)) in weights.iter().zip(ledgers.iter_mut()).enumerate() {
        if weight == 0 {
            continue;
        }
        let Some(everywhere) = state.everywhere.get_mut(p) else {
            continue;
        };
        match scope {
            Scope::Task(_) => {
                let before = *everywhere;
                let after = if add {
                    before.saturating_add(weight)
                } else {
                    before.saturating_sub(weight)
                };
                *everywhere = after;
                ledger.change_task_all(before, after);
                // The task's full count moves on each CPU where it has extra slots.
                each_extra(groups, state, |cpu, extra| {
                    let e = extra.get(p).copied().unwrap_or(0);
                    if e > 0 {
                        ledger.change_task_local(
                            cpu,
                            Some(before.saturating_add(e)),
                            Some(after.saturating_add(e)),
                        );
                    }
                });
            }
            Scope::TaskOnCpu(_, c) => {
                let everywhere = *everywhere;
                let others = extra_on(groups, state, c.0).get(p).copied().unwrap_or(0);
                let with = others.saturating_add(weight);
                let (before, after) = if add { (others, with) } else { (with, others) };
                let tracked = |e: u8| (e > 0).then(|| everywhere.saturating_add(e));
                ledger.change_task_local(c.0, tracked(before), tracked(after));
            }
            Scope::AllCpus | Scope::Cpu(_) => {}
        }
    }
}

/// Whether a group counts in its task's per-CPU extras.
const fn is_cpu_bound_pinned(scope: Scope, pinning: Pinning) -> bool {
    matches!((scope, pinning), (Scope::TaskOnCpu(..), Pinning::Pinned))
}

/// Visit each CPU on which a task's pinned list holds CPU-bound groups, with the slots per
/// pool they add there. Relies on same-CPU groups being contiguous (see `insertion_point`).
pub(super) fn each_extra<P, R: Slab<Group<P>>>(
    groups: &R,
    task: &TaskState,
    mut visit: impl FnMut(u32, [u8; 3]),
) {
    if task.cpu_bound == 0 {
        return;
    }
    let mut run: Option<(u32, [u8; 3])> = None;
    for (_, group) in list::iter(groups, task.lists.pinned) {
        let Scope::TaskOnCpu(_, cpu) = group.scope else {
            continue;
        };
        match &mut run {
            Some((c, sum)) if *c == cpu.0 => {
                for (s, w) in sum.iter_mut().zip(group.weights) {
                    *s = s.saturating_add(w);
                }
            }
            _ => {
                if let Some((c, sum)) = run.take() {
                    visit(c, sum);
                }
                run = Some((cpu.0, group.weights));
            }
        }
    }
    if let Some((c, sum)) = run {
        visit(c, sum);
    }
}

/// Slots per pool a task's pinned groups bound to `cpu` hold.
pub(super) fn extra_on<P, R: Slab<Group<P>>>(groups: &R, task: &TaskState, cpu: u32) -> [u8; 3] {
    let mut sum = [0u8; 3];
    if task.cpu_bound == 0 {
        return sum;
    }
    for (_, group) in list::iter(groups, task.lists.pinned) {
        if matches!(group.scope, Scope::TaskOnCpu(_, c) if c.0 == cpu) {
            for (s, w) in sum.iter_mut().zip(group.weights) {
                *s = s.saturating_add(w);
            }
        }
    }
    sum
}

#[cfg(test)]
impl<P: SlotProgram, S: Storage, const CPUS: usize> Reservations<P, S, CPUS> {
    /// Everything a refused operation must leave untouched, in comparable form.
    pub(super) fn snapshot(&self) -> impl PartialEq + core::fmt::Debug + use<P, S, CPUS> {
        (
            self.ledgers.clone(),
            self.all_cpus,
            self.per_cpu,
            (
                self.len(),
                self.group_count(),
                self.task_count(),
                self.next_ticket,
            ),
        )
    }
}
