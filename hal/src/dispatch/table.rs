//! The dispatcher's tables: registered requests, the reservation engine that gives them
//! slots, what each CPU has loaded, and pending steps.

use crate::{
    AddressRange, CpuId, DebugArchitecture, FixedReservations, ForbiddenRanges, ForbiddenRegion,
    Forbids, MemoryRead, Plan, RegisterAccess, RegistryError, Request, ReservationId,
    ReservationStatus, SlotGroupId, SlotId, SlotSet, TaskId,
};

use super::event::{Event, MAX_VALUE_BYTES, RequestId};
use super::interlock::PendingStep;
use super::strings::StringWindows;
use super::{DispatchError, SwitchError};

/// Counters a kernel can export (e.g. in debugfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Statistics {
    /// Hardware matches no request wanted (never delivered).
    pub stray_hits: u64,
    /// Events delivered as hits.
    pub delivered_hits: u64,
    /// Interlock steps started (single step or emulation).
    pub steps: u64,
    /// Pending steps cancelled because the PC changed, or because a request was enabled
    /// while they were pending (their instruction then runs again).
    pub cancelled_steps: u64,
    /// Requests disabled with a [`DisableReason`](super::DisableReason).
    pub disabled: u64,
    /// Events of a #DB the CPU held across a kernel entry, kept for the task's return to
    /// user mode ([`Dispatcher::handle_held_exception`]).
    pub held_events: u64,
}

/// Most events held for return to user mode at once (all tasks).
pub(super) const MAX_HELD: usize = 8;

/// The bytes of a request last observed by the layer (x86 old values).
#[derive(Debug, Clone, Copy)]
pub(super) struct Snapshot {
    pub(super) bytes: [u8; MAX_VALUE_BYTES],
    pub(super) valid: bool,
}

/// One registered consumer. Its slots belong to its reservation's slot group, which it may
/// share with other consumers of the identical hardware program.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) reservation: ReservationId,
    pub(super) request: Request,
    pub(super) enabled: bool,
    /// [`Dispatcher::enablings`] when it last became enabled.
    pub(super) enabled_since: u64,
    pub(super) snapshot: Snapshot,
}

/// What the dispatcher keeps per slot group (by record index) for the exception path.
#[derive(Debug, Clone, Copy)]
pub(super) struct GroupState {
    /// The group's generation: a reused record starts over.
    generation: u32,
    /// Consumers whose request is enabled (the slots match only while this is not 0).
    pub(super) enabled: u16,
    /// Consumers in all.
    consumers: u16,
    /// The consumer, when there is exactly one and it is known — the common case, in which
    /// delivering needs no walk of the engine's sharer list.
    sole: Option<u16>,
}

impl GroupState {
    const UNUSED: Self = Self {
        generation: u32::MAX,
        enabled: 0,
        consumers: 0,
        sole: None,
    };
}

/// A slot group loaded in some slot, as the exception path needs it.
#[derive(Debug, Clone, Copy)]
pub(super) struct LoadedGroup {
    pub(super) id: SlotGroupId,
    /// Its only consumer, when there is exactly one and it is known.
    pub(super) sole: Option<usize>,
}

/// What one slot of a CPU runs since the last switch-in there: the slot group, the program
/// and its encoded image.
pub(super) type LoadedProgram<A> = (
    SlotGroupId,
    <A as DebugArchitecture>::Program,
    <A as DebugArchitecture>::SlotImage,
);

/// What a CPU has loaded: for which task, and each slot's program (by [`SlotId`] ordinal).
pub(super) struct CpuSlots<A: DebugArchitecture> {
    pub(super) task: Option<TaskId>,
    pub(super) slots: [Option<LoadedProgram<A>>; SlotId::ORDINALS],
    /// The slots holding a program: the exception path walks these, not every ordinal.
    pub(super) occupied: SlotSet,
    /// The occupied slots whose group holds no other slot of this CPU: disarming or
    /// re-arming such a group is that one slot, with no walk for the rest of it.
    pub(super) alone: SlotSet,
    /// Which switch-in loaded this (unique across CPUs: [`Dispatcher::loads`]).
    pub(super) load: u64,
}

impl<A: DebugArchitecture> CpuSlots<A> {
    const fn empty() -> Self {
        Self {
            task: None,
            slots: [None; SlotId::ORDINALS],
            occupied: SlotSet::EMPTY,
            alone: SlotSet::EMPTY,
            load: 0,
        }
    }

    /// The occupied slots whose group holds no other slot here.
    fn slots_alone_in_group(&self) -> SlotSet {
        let group_at = |slot: SlotId| {
            self.slots
                .get(slot.ordinal())
                .and_then(Option::as_ref)
                .map(|(group, _, _)| *group)
        };
        self.occupied
            .iter()
            .filter(|&slot| {
                let group = group_at(slot);
                self.occupied
                    .iter()
                    .all(|other| other == slot || group_at(other) != group)
            })
            .fold(SlotSet::EMPTY, SlotSet::with)
    }
}

/// The exception pipeline's state for one machine: registered requests, the reservation
/// engine that schedules their slots, what each CPU has loaded, and the per-task
/// single-step interlock.
///
/// Fixed capacity, no allocation, never panics: `REQUESTS` registered requests, `TASKS`
/// tasks (the reservation engine's task table, of which 7/8 of the places are usable, and as
/// many tasks with a step pending at once), `CPUS` CPUs.
///
/// Slots come from [`Reservations`](crate::Reservations): requests with the identical
/// hardware program share one slot (each still gets its own events) unless one of them is
/// [`Sharing::Exclusive`](crate::Sharing::Exclusive); a pinned request is refused when some
/// CPU it may run on has no room for it; a flexible one is accepted and armed in rotation
/// when room exists ([`Dispatcher::status`] says whether it is armed and how many windows it
/// missed).
pub struct Dispatcher<
    A: DebugArchitecture,
    const REQUESTS: usize = 16,
    const TASKS: usize = 16,
    const CPUS: usize = 8,
> {
    pub(super) arch: A,
    pub(super) reservations: FixedReservations<A::Program, CPUS, REQUESTS, TASKS>,
    /// Per-consumer state, at the index of its reservation.
    pub(super) entries: [Option<Entry>; REQUESTS],
    pub(super) generations: [u16; REQUESTS],
    /// Per slot group record (a group has at least one consumer, so there are at most
    /// `REQUESTS`): what the exception path needs in O(1), without walking sharers.
    pub(super) groups: [GroupState; REQUESTS],
    pub(super) loaded: [CpuSlots<A>; CPUS],
    pub(super) pending: [Option<PendingStep>; TASKS],
    pub(super) stats: Statistics,
    /// Regions the embedding kernel forbids (checked before anything else at registration).
    pub(super) forbidden: ForbiddenRanges,
    /// How many entries of `pending` are in use.
    pub(super) stepping_tasks: usize,
    /// Counts the times a request became enabled (registered, modified, re-armed); each
    /// entry keeps the count of its own last time, and each pending step the count when it
    /// began.
    pub(super) enablings: u64,
    /// Counts switch-ins; each CPU's loaded state keeps the count of its own last one.
    pub(super) loads: u64,
    /// Events waiting for their task's return to user mode, in arrival order.
    pub(super) held: [Option<Event>; MAX_HELD],
    /// Per task, the last `rep` position a data trap interrupted (x86 fast strings).
    pub(super) strings: StringWindows<TASKS>,
}

impl<A: DebugArchitecture, const REQUESTS: usize, const TASKS: usize, const CPUS: usize>
    Dispatcher<A, REQUESTS, TASKS, CPUS>
{
    /// A dispatcher for `CPUS` online CPUs of the CPU `arch` describes, with no request.
    pub fn new(arch: A) -> Self {
        let reservations = FixedReservations::for_every_cpu(arch.capabilities());
        Self::with_reservations(arch, reservations)
    }

    /// A dispatcher for CPUs `0..online` (pinned all-CPU requests must fit on each of them).
    ///
    /// # Errors
    /// [`DispatchError::Reserve`] with [`ReserveError::TooManyCpus`](crate::ReserveError::TooManyCpus)
    /// when `online > CPUS`.
    pub fn with_online_cpus(arch: A, online: u32) -> Result<Self, DispatchError> {
        let reservations = FixedReservations::new(arch.capabilities(), online)?;
        Ok(Self::with_reservations(arch, reservations))
    }

    fn with_reservations(
        arch: A,
        reservations: FixedReservations<A::Program, CPUS, REQUESTS, TASKS>,
    ) -> Self {
        Self {
            arch,
            reservations,
            entries: [None; REQUESTS],
            generations: [0; REQUESTS],
            groups: [GroupState::UNUSED; REQUESTS],
            loaded: core::array::from_fn(|_| CpuSlots::empty()),
            pending: [None; TASKS],
            stats: Statistics::default(),
            stepping_tasks: 0,
            enablings: 0,
            loads: 0,
            forbidden: ForbiddenRanges::new(),
            held: [None; MAX_HELD],
            strings: StringWindows::new(),
        }
    }

    /// The architecture description.
    pub const fn arch(&self) -> &A {
        &self.arch
    }

    /// Counters.
    pub const fn statistics(&self) -> Statistics {
        self.stats
    }

    /// Check the kernel's forbidden regions, validate and plan the request, reserve its slots
    /// (sharing a slot group with identical programs unless exclusive), and remember the
    /// value of the watched bytes as the first "last observed" value. Nothing is installed
    /// until the next [`switch_in`](Self::switch_in) of a task the request covers.
    ///
    /// # Errors
    /// [`DispatchError::Request`] for invalid, forbidden or impossible requests;
    /// [`DispatchError::Reserve`] when a pinned request does not fit (the error names the
    /// full CPU) or the tables are full. Nothing changes when it is refused.
    pub fn register(
        &mut self,
        request: Request,
        memory: &mut impl MemoryRead,
    ) -> Result<RequestId, DispatchError> {
        self.forbidden.check(&request)?;
        let plan = self.arch.prepare(&request)?;
        let reservation = self.reservations.reserve(request, plan)?;
        let index = reservation.slot_index();
        let (Some(place), Some(generation)) =
            (self.entries.get_mut(index), self.generations.get_mut(index))
        else {
            // The engine's records and ours have the same capacity: unreachable, but give
            // the slots back rather than keep a reservation nobody can name.
            let _released = self.reservations.release(reservation);
            return Err(DispatchError::UnknownRequest);
        };
        *generation = generation.wrapping_add(1);
        let generation = *generation;
        *place = Some(Entry {
            reservation,
            request,
            enabled: true,
            enabled_since: 0,
            snapshot: snapshot_of(&request, memory),
        });
        self.join(index, reservation, true);
        self.stamp_enabled(index);
        Ok(RequestId {
            index: u16::try_from(index).unwrap_or(u16::MAX),
            generation,
        })
    }

    /// Replace the request behind `id`, atomically: the new form goes through the same
    /// checks as [`register`](Self::register), and if any refuses it, the old request stays
    /// exactly as it was (its slots, its sharing, its enabled state, its register images).
    /// A modified request is enabled, and its "last observed" value is read again.
    ///
    /// This is the shape of a debugger moving a watchpoint: a refused move (say, to a kernel
    /// address) must leave the previous, valid watch armed — not nothing, and not the new
    /// address.
    ///
    /// # Errors
    /// [`DispatchError::UnknownRequest`], else as [`register`](Self::register).
    pub fn modify(
        &mut self,
        id: RequestId,
        request: Request,
        memory: &mut impl MemoryRead,
    ) -> Result<(), DispatchError> {
        let reservation = self
            .entry(id)
            .ok_or(DispatchError::UnknownRequest)?
            .reservation;
        self.forbidden.check(&request)?;
        let plan = self.arch.prepare(&request)?;
        let was_enabled = self.is_enabled(id);
        // Counted again below, in whichever group the new form lands.
        self.leave(reservation, was_enabled);
        if let Err(refused) = self.reservations.modify(reservation, request, plan) {
            self.join(id.index(), reservation, was_enabled);
            return Err(refused.into());
        }
        if let Some(entry) = self.entry_mut(id.index()) {
            entry.request = request;
            entry.enabled = true;
            entry.snapshot = snapshot_of(&request, memory);
        }
        self.join(id.index(), reservation, true);
        self.stamp_enabled(id.index());
        Ok(())
    }

    /// Refuse, from now on, every request that overlaps `region` (or, for
    /// [`Forbids::Execution`], every execute breakpoint in it). Requests already registered
    /// are not affected: register the kernel's regions at boot, before any request.
    ///
    /// # Errors
    /// [`RegistryError::Full`].
    pub fn forbid(
        &mut self,
        region: ForbiddenRegion,
        forbids: Forbids,
    ) -> Result<(), RegistryError> {
        self.forbidden.forbid(region, forbids)
    }

    /// Forget a request. Its reservation is released; the next
    /// [`switch_in`](Self::switch_in) on each CPU uninstalls its slots (unless other
    /// consumers share them). A step pending for it completes without delivering.
    ///
    /// # Errors
    /// [`DispatchError::UnknownRequest`] for a stale or unknown id.
    pub fn release(&mut self, id: RequestId) -> Result<Request, DispatchError> {
        let entry = self.entry(id).ok_or(DispatchError::UnknownRequest)?;
        let (request, reservation, enabled) = (entry.request, entry.reservation, entry.enabled);
        self.leave(reservation, enabled);
        self.reservations.release(reservation)?;
        if let Some(place) = self.entries.get_mut(id.index()) {
            *place = None;
        }
        Ok(request)
    }

    /// Enable again a request that fired as a one-shot `before` stop or was disabled. Like
    /// every registration change, it takes effect at the next [`switch_in`](Self::switch_in)
    /// of the tasks it covers.
    ///
    /// # Errors
    /// [`DispatchError::UnknownRequest`] for a stale or unknown id.
    pub fn rearm(&mut self, id: RequestId) -> Result<(), DispatchError> {
        self.entry(id).ok_or(DispatchError::UnknownRequest)?;
        self.set_enabled(id.index(), true);
        Ok(())
    }

    /// Disable a request without giving its slots back: its slots stop matching at the next
    /// [`switch_in`](Self::switch_in) (unless other consumers share them), and
    /// [`rearm`](Self::rearm) enables it again with no new reservation — so it cannot fail
    /// for lack of room. This is a ptrace placeholder: a slot whose address is written but
    /// not yet enabled in DR7.
    ///
    /// # Errors
    /// [`DispatchError::UnknownRequest`] for a stale or unknown id.
    pub fn disable(&mut self, id: RequestId) -> Result<(), DispatchError> {
        self.entry(id).ok_or(DispatchError::UnknownRequest)?;
        self.set_enabled(id.index(), false);
        Ok(())
    }

    /// Read the watched bytes again as the request's "last observed" value (the old value
    /// of its next x86 hit). A debugger that changed watched memory while the task was
    /// stopped calls this, so the next hit does not report the debugger's own write.
    ///
    /// # Errors
    /// [`DispatchError::UnknownRequest`] for a stale or unknown id.
    pub fn observe(
        &mut self,
        id: RequestId,
        memory: &mut impl MemoryRead,
    ) -> Result<(), DispatchError> {
        let request = self.entry(id).ok_or(DispatchError::UnknownRequest)?.request;
        if let Some(entry) = self.entry_mut(id.index()) {
            entry.snapshot = snapshot_of(&request, memory);
        }
        Ok(())
    }

    /// The request behind an id, if it is registered.
    #[must_use]
    pub fn request(&self, id: RequestId) -> Option<&Request> {
        self.entry(id).map(|e| &e.request)
    }

    /// The plan chosen for a request.
    #[must_use]
    pub fn plan(&self, id: RequestId) -> Option<&Plan<A::Program>> {
        self.reservations.plan(self.entry(id)?.reservation)
    }

    /// Whether the request is enabled (not fired as one-shot, not disabled).
    #[must_use]
    pub fn is_enabled(&self, id: RequestId) -> bool {
        self.entry(id).is_some_and(|e| e.enabled)
    }

    /// Whether the request's slots are armed (always, for a pinned request whose scope
    /// runs; for a flexible one, whether the most recent switch-in that covered it found
    /// room) and how many scheduling windows it missed: hits in a missed window were not
    /// seen, and this is how the consumer is told.
    #[must_use]
    pub fn status(&self, id: RequestId) -> Option<ReservationStatus> {
        self.reservations.status(self.entry(id)?.reservation)
    }

    /// The reservation engine (read-only): usage per CPU and pool, sharers, groups.
    #[must_use]
    pub const fn reservations(&self) -> &FixedReservations<A::Program, CPUS, REQUESTS, TASKS> {
        &self.reservations
    }

    /// Program the registers for `task` starting to run on `cpu` (context switch, migration,
    /// return after a registration change): ask the reservation engine which slot groups to
    /// load there, install their slots (except groups the task's own pending step disarmed,
    /// and groups whose every consumer is disabled), and uninstall every other slot.
    ///
    /// A step pending for `task` is cancelled here (as by [`cancel_step`](Self::cancel_step))
    /// when a request covering `task` on `cpu` became enabled since the step began —
    /// registered, modified or re-armed: the instruction has not run yet, and stepped with
    /// its slots disarmed (which the request may share), it would make an access that
    /// request misses. It runs again instead, with every armed slot installed.
    ///
    /// # Errors
    /// [`SwitchError::UnknownCpu`] (nothing written), or the register backend's error (slots
    /// before the failing one are already written).
    pub fn switch_in<R>(
        &mut self,
        task: TaskId,
        cpu: CpuId,
        regs: &mut R,
    ) -> Result<(), SwitchError<R::Error>>
    where
        R: RegisterAccess<Image = A::SlotImage, Status = A::Status>,
    {
        let online = self.reservations.online_cpus();
        let unknown = || SwitchError::UnknownCpu { cpu, online };
        let assignment = self
            .reservations
            .switch_in(task, cpu)
            .map_err(|_| unknown())?;
        let Some(state) = usize::try_from(cpu.0)
            .ok()
            .and_then(|c| self.loaded.get_mut(c))
        else {
            return Err(unknown());
        };
        let previous = core::mem::replace(&mut state.slots, [None; SlotId::ORDINALS]);
        state.occupied = SlotSet::EMPTY;
        state.task = Some(task);
        for loaded in assignment.iter() {
            let ordinal = loaded.slot.ordinal();
            // A group that keeps its slot keeps its image: no need to encode it again.
            let kept = previous
                .get(ordinal)
                .copied()
                .flatten()
                .filter(|(group, program, _)| *group == loaded.group && *program == loaded.program);
            let image = match kept {
                Some((_, _, image)) => Some(image),
                // `prepare` accepted this program for this pool, so encoding cannot fail;
                // if it ever did, the slot stays empty rather than half programmed.
                None => self.arch.encode(loaded.slot, &loaded.program).ok(),
            };
            if let (Some(image), Some(place)) = (image, state.slots.get_mut(ordinal)) {
                *place = Some((loaded.group, loaded.program, image));
                state.occupied = state.occupied.with(loaded.slot);
            }
        }
        state.alone = state.slots_alone_in_group();
        self.loads += 1;
        state.load = self.loads;
        if self.step_outdated(task, cpu)
            && let Some(step) = self.void_step(task)
        {
            // The instruction runs again with every armed slot installed (below), and each
            // consumer, old or new, sees its access once.
            if !step.debugger_stepping {
                regs.set_single_step(false).map_err(SwitchError::Register)?;
            }
        }
        for pool in self.arch.capabilities().pools {
            for index in 0..pool.count {
                let Some(slot) = SlotId::new(pool.kind, index) else {
                    continue;
                };
                let image = self
                    .loaded_at(cpu, slot)
                    .filter(|_| self.is_armed(slot, task, cpu))
                    .map(|(_, _, image)| *image);
                match image {
                    Some(image) => regs.install(slot, image),
                    None => regs.uninstall(slot),
                }
                .map_err(SwitchError::Register)?;
            }
        }
        Ok(())
    }

    /// The slots that are armed while `task` runs on `cpu` (as of the last
    /// [`switch_in`](Self::switch_in) there; empty if another task was switched in last).
    #[must_use]
    pub fn armed_slots(&self, task: TaskId, cpu: CpuId) -> SlotSet {
        self.loaded_slots(cpu)
            .filter(|(slot, _)| self.is_armed(*slot, task, cpu))
            .fold(SlotSet::EMPTY, |set, (slot, _)| set.with(slot))
    }

    pub(super) fn entry(&self, id: RequestId) -> Option<&Entry> {
        if self.generations.get(id.index()) != Some(&id.generation) {
            return None;
        }
        self.entries.get(id.index())?.as_ref()
    }

    pub(super) fn id_of(&self, index: usize) -> RequestId {
        RequestId {
            index: u16::try_from(index).unwrap_or(u16::MAX),
            generation: self.generations.get(index).copied().unwrap_or(0),
        }
    }

    /// The entry at a table index, if one is registered there. (Indexing goes through
    /// `get` everywhere in dispatch, so a kernel embedding it links no panic path.)
    pub(super) fn entry_at(&self, index: usize) -> Option<&Entry> {
        self.entries.get(index)?.as_ref()
    }

    /// The entry at a table index, mutably.
    pub(super) fn entry_mut(&mut self, index: usize) -> Option<&mut Entry> {
        self.entries.get_mut(index)?.as_mut()
    }

    /// The consumers (entry indices) sharing `group`, in reservation order.
    pub(super) fn consumers_of(&self, group: SlotGroupId) -> impl Iterator<Item = usize> + '_ {
        self.reservations
            .sharers(group)
            .map(ReservationId::slot_index)
            .filter(|&index| self.entry_at(index).is_some())
    }

    pub(super) fn cpu_slots(&self, cpu: CpuId) -> Option<&CpuSlots<A>> {
        self.loaded.get(usize::try_from(cpu.0).ok()?)
    }

    /// What `slot` of `cpu` runs since the last switch-in there.
    pub(super) fn loaded_at(&self, cpu: CpuId, slot: SlotId) -> Option<&LoadedProgram<A>> {
        self.cpu_slots(cpu)?.slots.get(slot.ordinal())?.as_ref()
    }

    /// The slots `cpu` has loaded a program in, with the program, in slot order.
    pub(super) fn loaded_slots(
        &self,
        cpu: CpuId,
    ) -> impl Iterator<Item = (SlotId, &LoadedProgram<A>)> + '_ {
        let state = self.cpu_slots(cpu);
        let occupied = state.map_or(SlotSet::EMPTY, |s| s.occupied);
        occupied.iter().filter_map(move |slot| {
            let loaded = state?.slots.get(slot.ordinal())?.as_ref()?;
            Some((slot, loaded))
        })
    }

    /// The slot group `slot` of `cpu` runs.
    pub(super) fn group_at(&self, cpu: CpuId, slot: SlotId) -> Option<SlotGroupId> {
        let (group, _, _) = self.cpu_slots(cpu)?.slots.get(slot.ordinal())?.as_ref()?;
        Some(*group)
    }

    pub(super) fn program_of(&self, cpu: CpuId, slot: SlotId) -> Option<A::Program> {
        self.loaded_at(cpu, slot).map(|(_, program, _)| *program)
    }

    /// Every slot of `cpu` holding `group`.
    pub(super) fn slots_of_group(&self, cpu: CpuId, group: SlotGroupId) -> SlotSet {
        self.loaded_slots(cpu)
            .filter(|(_, (g, _, _))| *g == group)
            .fold(SlotSet::EMPTY, |set, (slot, _)| set.with(slot))
    }

    /// Whether some consumer of `group` is enabled (a group whose every consumer fired as a
    /// one-shot stop or was disabled must not match: its instruction would fault forever).
    pub(super) fn group_enabled(&self, group: SlotGroupId) -> bool {
        self.group_state(group).is_some_and(|g| g.enabled > 0)
    }

    /// The group `slot` of `cpu` runs, with its sole consumer when the dispatcher knows it
    /// without a walk (one lookup of the group's state for both).
    #[inline]
    pub(super) fn loaded_group(&self, cpu: CpuId, slot: SlotId) -> Option<LoadedGroup> {
        let id = self.group_at(cpu, slot)?;
        Some(LoadedGroup {
            id,
            sole: self
                .group_state(id)
                .and_then(|state| self.known_sole(state)),
        })
    }

    /// [`loaded_group`](Self::loaded_group), when `slot` is armed while `task` runs on `cpu`
    /// (see [`is_armed`](Self::is_armed)).
    #[inline]
    pub(super) fn armed_group(
        &self,
        slot: SlotId,
        task: TaskId,
        cpu: CpuId,
    ) -> Option<LoadedGroup> {
        let loaded = self.cpu_slots(cpu)?;
        if loaded.task != Some(task) {
            return None;
        }
        let (id, _, _) = loaded.slots.get(slot.ordinal())?.as_ref()?;
        let state = self.group_state(*id).filter(|state| state.enabled > 0)?;
        if self.stepping_tasks > 0 && self.pending_for(task).is_some_and(|p| p.disarms(*id)) {
            return None;
        }
        Some(LoadedGroup {
            id: *id,
            sole: self.known_sole(state),
        })
    }

    pub(super) fn known_sole(&self, state: &GroupState) -> Option<usize> {
        let sole = usize::from(state.sole?);
        self.entry_at(sole).map(|_| sole)
    }

    pub(super) fn group_state(&self, group: SlotGroupId) -> Option<&GroupState> {
        let (index, generation) = group.parts();
        self.groups
            .get(index)
            .filter(|g| g.generation == generation)
    }

    /// Enable or disable the consumer at `index`, keeping its group's count.
    pub(super) fn set_enabled(&mut self, index: usize, enabled: bool) {
        let Some(entry) = self.entry_mut(index) else {
            return;
        };
        if entry.enabled == enabled {
            return;
        }
        entry.enabled = enabled;
        let reservation = entry.reservation;
        self.count_enabled(reservation, enabled);
        if enabled {
            self.stamp_enabled(index);
        }
    }

    /// The request at `index` has just become enabled.
    fn stamp_enabled(&mut self, index: usize) {
        self.enablings += 1;
        let now = self.enablings;
        if let Some(entry) = self.entry_mut(index) {
            entry.enabled_since = now;
        }
    }

    /// The state of the group `reservation` belongs to now, started over if its record was
    /// reused by a new group.
    fn state_of(&mut self, reservation: ReservationId) -> Option<&mut GroupState> {
        let (index, generation) = self.reservations.group(reservation)?.parts();
        let state = self.groups.get_mut(index)?;
        if state.generation != generation {
            *state = GroupState {
                generation,
                ..GroupState::UNUSED
            };
        }
        Some(state)
    }

    /// The consumer at `index` now belongs to the group of `reservation`.
    fn join(&mut self, index: usize, reservation: ReservationId, enabled: bool) {
        if let Some(state) = self.state_of(reservation) {
            state.consumers = state.consumers.saturating_add(1);
            state.sole = u16::try_from(index).ok().filter(|_| state.consumers == 1);
            state.enabled = state.enabled.saturating_add(u16::from(enabled));
        }
    }

    /// The consumer of `reservation` leaves its group (before a release or a modify).
    fn leave(&mut self, reservation: ReservationId, enabled: bool) {
        if let Some(state) = self.state_of(reservation) {
            state.consumers = state.consumers.saturating_sub(1);
            // Who remains is the engine's to say (a walk), not worth tracking here.
            state.sole = None;
            state.enabled = state.enabled.saturating_sub(u16::from(enabled));
        }
    }

    /// One more (or one fewer) enabled consumer in the group `reservation` belongs to.
    fn count_enabled(&mut self, reservation: ReservationId, more: bool) {
        if let Some(state) = self.state_of(reservation) {
            state.enabled = if more {
                state.enabled.saturating_add(1)
            } else {
                state.enabled.saturating_sub(1)
            };
        }
    }

    /// Whether `slot` is armed while `task` runs on `cpu`: it was loaded by the switch-in of
    /// that task there, its group still lives with an enabled consumer, and the task's own
    /// pending step has not disarmed it.
    pub(super) fn is_armed(&self, slot: SlotId, task: TaskId, cpu: CpuId) -> bool {
        self.armed_group(slot, task, cpu).is_some()
    }
}

/// The first "last observed" value of a data request.
fn snapshot_of(request: &Request, memory: &mut impl MemoryRead) -> Snapshot {
    let mut snapshot = Snapshot {
        bytes: [0; MAX_VALUE_BYTES],
        valid: false,
    };
    if request.access().is_data() {
        snapshot.valid = read_prefix(memory, request.range(), &mut snapshot.bytes);
    }
    snapshot
}

/// Read up to [`MAX_VALUE_BYTES`] bytes from the start of `range` into `buf`; `false` if the
/// memory could not be read.
pub(super) fn read_prefix(
    memory: &mut impl MemoryRead,
    range: AddressRange,
    buf: &mut [u8; MAX_VALUE_BYTES],
) -> bool {
    let len = usize::try_from(range.len()).map_or(MAX_VALUE_BYTES, |l| l.min(MAX_VALUE_BYTES));
    buf.get_mut(..len)
        .is_some_and(|prefix| memory.read_memory(range.start(), prefix).is_ok())
}
