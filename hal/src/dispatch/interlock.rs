//! Handling one debug exception: matching hits to requests, dropping strays, and the
//! trigger-before → continuous-trigger interlock (disarm, step or emulate, re-arm, deliver).

use crate::{
    AccessClass, AccessKind, AddressRange, CpuId, DebugArchitecture, DecodedAccess, Delivery,
    ExceptionCause, ExceptionEnvironment, PoolKind, PrivilegeFilter, RegisterAccess, Request,
    SlotGroupId, SlotId, SlotProgram, SlotSet, TaskId, Timing,
};

use super::common_case::CommonCase;
use super::event::{
    DisableReason, Event, EventKind, EventSink, Hit, MAX_VALUE_BYTES, RequestId, StringIterations,
    ValueChange,
};
use super::frame::{ExecutionMode, Resolution, ResumeAction, TrapFrame};
use super::table::{Dispatcher, LoadedGroup, read_prefix};

/// Most `after` consumers one interlock step delivers to. More consumers of one access than
/// this (only possible when many share slots) are disabled with
/// [`DisableReason::InterlockFull`], never dropped silently.
pub(super) const MAX_HITS: usize = 4;

/// Most slot groups one step disarms: one per slot of a pool.
const MAX_DISARMED: usize = SlotId::MAX_PER_POOL as usize;

/// The slot groups a pending step disarmed. Groups, not slots: a task that migrates while
/// its step is pending may find a group in another slot of the new CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DisarmedGroups([Option<SlotGroupId>; MAX_DISARMED]);

impl DisarmedGroups {
    pub(super) const NONE: Self = Self([None; MAX_DISARMED]);

    /// Only `group`.
    #[inline]
    pub(super) const fn one(group: SlotGroupId) -> Self {
        let mut groups = [None; MAX_DISARMED];
        groups[0] = Some(group);
        Self(groups)
    }

    #[inline]
    pub(super) fn with(mut self, group: SlotGroupId) -> Self {
        if !self.contains(group)
            && let Some(free) = self.0.iter_mut().find(|g| g.is_none())
        {
            *free = Some(group);
        }
        self
    }

    #[inline]
    fn contains(&self, group: SlotGroupId) -> bool {
        self.0.contains(&Some(group))
    }

    fn union(self, other: Self) -> Self {
        other.iter().fold(self, Self::with)
    }

    /// The groups of `self` that `other` does not hold.
    fn without(self, other: &Self) -> Self {
        self.iter()
            .filter(|group| !other.contains(*group))
            .fold(Self::NONE, Self::with)
    }

    fn iter(&self) -> impl Iterator<Item = SlotGroupId> + '_ {
        self.0.iter().flatten().copied()
    }
}

/// The instruction at a DSI's PC, if the common case already asked the decoder (it is asked
/// once per exception).
#[derive(Debug, Clone, Copy)]
pub(super) enum Decoded {
    /// Not asked yet.
    NotYet,
    /// The decoder's answer (`None`: it could not decode the instruction).
    Done(Option<DecodedAccess>),
}

/// A hit waiting for its instruction to complete.
#[derive(Debug, Clone, Copy)]
pub(super) struct PendingHit {
    pub(super) id: RequestId,
    pub(super) access: AccessKind,
    pub(super) address: u64,
    pub(super) values: Option<OldValues>,
}

/// The touched bytes as they were before the access; the new ones are read once it is done.
/// (Half a [`ValueChange`]: pending steps stay small, and the exception path copies less.)
#[derive(Debug, Clone, Copy)]
pub(super) struct OldValues {
    addr: u64,
    len: u8,
    truncated: bool,
    old: [u8; MAX_VALUE_BYTES],
}

/// A task's interlock in progress: the slots it disarmed and the hits to deliver once the
/// instruction at `pc` has completed. Kept per task, so it survives preemption and migration.
#[derive(Debug, Clone, Copy)]
pub(super) struct PendingStep {
    pub(super) task: TaskId,
    pub(super) pc: u64,
    pub(super) disarmed: DisarmedGroups,
    /// Filled from the front: the first `None` ends the list.
    pub(super) hits: [Option<PendingHit>; MAX_HITS],
    /// A debugger was already single-stepping the task when the step started: the trace
    /// after the instruction is its stop too, and single-stepping stays on.
    pub(super) debugger_stepping: bool,
    /// [`Dispatcher::enablings`] when the step began.
    pub(super) enablings: u64,
    /// The slot that held the step's only disarmed group alone on the CPU where it began,
    /// and that CPU's [`load`](super::table::CpuSlots::load) then: completed under the same
    /// load, the step re-arms that slot without a walk. `None` when it disarmed more.
    pub(super) lone_slot: Option<(SlotId, u64)>,
}

impl PendingStep {
    /// Whether this step disarmed `group`.
    pub(super) fn disarms(&self, group: SlotGroupId) -> bool {
        self.disarmed.contains(group)
    }

    /// This step and `later` (a new match of the same instruction) as one step: both sets of
    /// disarmed slots, every hit once, in request order (the order of their slots).
    fn merged_with(mut self, later: Self) -> Self {
        self.disarmed = self.disarmed.union(later.disarmed);
        self.debugger_stepping |= later.debugger_stepping;
        self.lone_slot = None;
        // `enablings` stays the earlier step's: a consumer enabled since may have missed
        // either match.
        for hit in later.hits.iter().flatten() {
            if self.hits.iter().flatten().any(|h| h.id == hit.id) {
                continue;
            }
            if let Some(free) = self.hits.iter_mut().find(|h| h.is_none()) {
                *free = Some(*hit);
            }
        }
        self.hits
            .sort_unstable_by_key(|h| h.map_or(usize::MAX, |h| h.id.index()));
        self
    }
}

/// Request indices touched by one exception, deduplicated. `N` is the
/// request table's capacity, so every consumer fits.
/// (Indices as `u16`, like [`RequestId`]'s: the exception path copies this, so it stays small.)
struct Owners<const N: usize> {
    indices: [u16; N],
    len: usize,
}

impl<const N: usize> Owners<N> {
    const fn new() -> Self {
        Self {
            indices: [0; N],
            len: 0,
        }
    }
    fn add(&mut self, index: usize) {
        let Ok(index) = u16::try_from(index) else {
            return;
        };
        if self.as_slice().contains(&index) {
            return;
        }
        if let Some(place) = self.indices.get_mut(self.len) {
            *place = index;
            self.len += 1;
        }
    }
    fn as_slice(&self) -> &[u16] {
        self.indices.get(..self.len).unwrap_or_default()
    }
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.as_slice().iter().map(|&i| usize::from(i))
    }
    /// Request order: events go out in it, whichever slots the engine gave the requests.
    fn sort(&mut self) {
        if self.len > 1
            && let Some(found) = self.indices.get_mut(..self.len)
        {
            found.sort_unstable();
        }
    }
}

impl<A: DebugArchitecture, const REQUESTS: usize, const TASKS: usize, const CPUS: usize>
    Dispatcher<A, REQUESTS, TASKS, CPUS>
{
    /// Every consumer of the groups loaded in `slots` of `cpu`, each once, in request order,
    /// into `owners` (filled in place: returned by value, the small array would be stored
    /// piecewise and reloaded whole, a store-forwarding stall on the exception path). Callers
    /// pass armed slots, which all hold a group.
    fn consumers_in(&self, cpu: CpuId, slots: SlotSet, owners: &mut Owners<REQUESTS>) {
        for slot in slots.iter() {
            if let Some(group) = self.loaded_group(cpu, slot) {
                self.add_consumers(group, owners);
            }
        }
        owners.sort();
    }

    /// Add the consumers of one loaded group: its sole consumer when the dispatcher knows
    /// it, else the engine's sharer list.
    #[inline]
    fn add_consumers(&self, group: LoadedGroup, owners: &mut Owners<REQUESTS>) {
        match group.sole {
            Some(index) => owners.add(index),
            None => {
                for index in self.consumers_of(group.id) {
                    owners.add(index);
                }
            }
        }
    }

    /// Uninstall the slots of `group` on `cpu` once none of its consumers is enabled.
    fn retire_if_idle<R>(
        &self,
        group: Option<SlotGroupId>,
        cpu: CpuId,
        regs: &mut R,
    ) -> Result<(), R::Error>
    where
        R: RegisterAccess<Image = A::SlotImage, Status = A::Status>,
    {
        let Some(group) = group.filter(|g| !self.group_enabled(*g)) else {
            return Ok(());
        };
        for slot in self.slots_of_group(cpu, group).iter() {
            regs.uninstall(slot)?;
        }
        Ok(())
    }

    /// Handle one debug exception: decode the status, deliver events for the hits (in slot
    /// order), count strays, run or complete the interlock, and reset the status registers.
    ///
    /// `frame` and `status` are what the exception entry read; `context` owns the registers,
    /// reads memory, decodes the instruction at the PC (PPC64) and emulates kernel-mode
    /// instructions: one object, because on a real CPU (and in the simulator) they are all
    /// views of the one interrupted context.
    ///
    /// # Errors
    /// The register backend's error. Events already delivered stay delivered.
    pub fn handle_exception<C, S>(
        &mut self,
        frame: &TrapFrame,
        status: A::Status,
        context: &mut C,
        sink: &mut S,
    ) -> Result<Resolution, C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
        S: EventSink,
    {
        let cause = self.arch.decode_status(&status);
        if cause.single_step && cause.slots.is_empty() {
            // A trace and nothing else: the interlock's own, most often.
            if let Some(resolution) = self.complete_common_step(frame, context, sink)? {
                return Ok(resolution);
            }
            let mut resolution = Resolution::UNCLAIMED;
            self.trace(frame, &mut resolution, context, sink)?;
            context.reset_status()?;
            return Ok(resolution);
        }
        let decoded = match self.start_common_step(frame, &cause, context)? {
            CommonCase::Handled(resolution) => return Ok(resolution),
            CommonCase::Declined(decoded) => decoded,
        };
        self.handle_matches(frame, &cause, decoded, context, sink)
    }

    /// A trace exception: it completes the task's pending step, if there is one, else it is
    /// someone else's (a debugger's).
    fn trace<C, S>(
        &mut self,
        frame: &TrapFrame,
        resolution: &mut Resolution,
        context: &mut C,
        sink: &mut S,
    ) -> Result<(), C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
        S: EventSink,
    {
        if let Some(position) = self.pending_position(frame.task) {
            // The debugger's own step over the same instruction ends here too.
            resolution.foreign_single_step = self.complete_step(position, frame, context, sink)?;
            resolution.claimed = true;
        } else {
            resolution.foreign_single_step = true;
        }
        Ok(())
    }

    /// [`handle_exception`](Self::handle_exception) for an exception that reports hardware
    /// matches, beyond the common case: every reported slot, exact or trigger-before.
    fn handle_matches<C, S>(
        &mut self,
        frame: &TrapFrame,
        cause: &ExceptionCause,
        decoded: Decoded,
        context: &mut C,
        sink: &mut S,
    ) -> Result<Resolution, C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
        S: EventSink,
    {
        let mut resolution = Resolution::UNCLAIMED;
        if cause.single_step {
            self.trace(frame, &mut resolution, context, sink)?;
        }

        let data_before = self.arch.capabilities().data_timing == Timing::Before;
        let mut before_candidates = SlotSet::EMPTY;
        let mut exact_slots = SlotSet::EMPTY;
        let mut exact_owners = Owners::new();
        for slot in cause.slots.iter() {
            let Some(armed) = self.armed_group(slot, frame.task, frame.cpu) else {
                if cause.slots_exact {
                    // x86: a B bit for a slot this layer did not arm (the SDM allows it).
                    self.stats.stray_hits += 1;
                }
                // Stale state (a request disabled or released while this task was switched
                // in elsewhere): left installed, it would fire again at once, forever.
                context.uninstall(slot)?;
                continue;
            };
            if slot.pool() == PoolKind::Data && data_before {
                before_candidates = before_candidates.with(slot);
            } else {
                exact_slots = exact_slots.with(slot);
                self.add_consumers(armed, &mut exact_owners);
            }
        }
        exact_owners.sort();
        let iterations = self.string_iterations(frame, exact_slots, context);
        for index in exact_owners.iter() {
            let action = self.deliver_exact(index, frame, iterations, context, sink)?;
            resolution.claimed = true;
            resolution.action = stronger(resolution.action, action);
        }

        if !before_candidates.is_empty() {
            resolution.claimed = true;
            let action = self.trigger_before(
                frame,
                cause.address,
                before_candidates,
                decoded,
                context,
                sink,
            )?;
            resolution.action = stronger(resolution.action, action);
        } else if !cause.slots.is_empty() && !cause.slots_exact && !resolution.claimed {
            // A data match the layer has no armed slot for (stale hardware state).
            self.stats.stray_hits += 1;
        }

        context.reset_status()?;
        Ok(resolution)
    }

    /// Handle a #DB that x86 held across a kernel entry: MOV SS or POP SS delays the debug
    /// exception of its data breakpoint past the next instruction, and when that instruction
    /// is `SYSCALL` (or `INT`), the #DB arrives at the first instruction of the kernel entry,
    /// at CPL 0 (CVE-2018-8897). The kernel calls this instead of
    /// [`handle_exception`](Self::handle_exception) when its #DB handler finds it was entered
    /// at a kernel entry point from user mode (Linux checks the entry's RIP for this).
    ///
    /// The hits are attributed to what really happened — the user instruction's access, so
    /// user-privilege requests match — but nothing is delivered now, in kernel context on the
    /// entry stack: the events are held and handed to the sink by
    /// [`return_to_user`](Self::return_to_user) when the task goes back to user mode. The
    /// events' `pc` is the kernel entry's. If more than a few events wait at once they are
    /// delivered at once rather than dropped.
    ///
    /// # Errors
    /// As [`handle_exception`](Self::handle_exception).
    pub fn handle_held_exception<C, S>(
        &mut self,
        frame: &TrapFrame,
        status: A::Status,
        context: &mut C,
        sink: &mut S,
    ) -> Result<Resolution, C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
        S: EventSink,
    {
        let user = TrapFrame {
            mode: ExecutionMode::User,
            ..*frame
        };
        let mut caught = Caught::<S, { super::table::MAX_HELD }> {
            events: [None; super::table::MAX_HELD],
            sink,
        };
        let resolution = self.handle_exception(&user, status, context, &mut caught)?;
        let Caught { events, sink } = caught;
        for event in events.into_iter().flatten() {
            match self.held.iter_mut().find(|h| h.is_none()) {
                Some(place) => {
                    *place = Some(event);
                    self.stats.held_events += 1;
                }
                None => sink.deliver(&event),
            }
        }
        Ok(resolution)
    }

    /// `task` returns to user mode: deliver the events held for it
    /// ([`handle_held_exception`](Self::handle_held_exception)), oldest first. Returns how
    /// many were delivered. Cheap when nothing is held: call it on every return to user mode
    /// that follows a held #DB, or simply on every one.
    pub fn return_to_user<S: EventSink>(&mut self, task: TaskId, sink: &mut S) -> usize {
        let mut delivered = 0;
        for place in &mut self.held {
            if place.is_some_and(|e| e.task == task)
                && let Some(event) = place.take()
            {
                sink.deliver(&event);
                delivered += 1;
            }
        }
        delivered
    }

    /// Cancel the step pending for `task` because its PC changed (signal delivery, ptrace):
    /// re-arm the disarmed slots and stop stepping; nothing is delivered, since the access
    /// never happened. Returns whether a step was pending. Call it on every PC change: it
    /// also forgets where the task's x86 `rep` stood ([`Hit::iterations`]).
    ///
    /// # Errors
    /// The register backend's error.
    pub fn cancel_step<R>(
        &mut self,
        task: TaskId,
        cpu: CpuId,
        context: &mut R,
    ) -> Result<bool, R::Error>
    where
        R: RegisterAccess<Image = A::SlotImage, Status = A::Status>,
    {
        let Some(step) = self.void_step(task) else {
            return Ok(false);
        };
        self.reinstall(&step.disarmed, task, cpu, context)?;
        if !step.debugger_stepping {
            context.set_single_step(false)?;
        }
        Ok(true)
    }

    /// Drop `task`'s pending step, if any: its instruction has not run, and runs again. The
    /// caller re-arms what the step disarmed and stops the layer's single-stepping. Also
    /// forgets where the task's x86 `rep` stood.
    pub(super) fn void_step(&mut self, task: TaskId) -> Option<PendingStep> {
        self.strings.forget(task);
        let step = self.take_pending(task)?;
        self.stats.cancelled_steps += 1;
        Some(step)
    }

    /// The address of the instruction `task` is stepping over, if an interlock step is
    /// pending. A kernel that moves the task's PC elsewhere calls
    /// [`cancel_step`](Self::cancel_step).
    #[must_use]
    pub fn pending_step(&self, task: TaskId) -> Option<u64> {
        self.pending_for(task).map(|p| p.pc)
    }

    /// Whether `task`'s pending step must start over: a request covering `task` on `cpu`
    /// became enabled after the step began.
    pub(super) fn step_outdated(&self, task: TaskId, cpu: CpuId) -> bool {
        let Some(step) = self.pending_for(task) else {
            return false;
        };
        step.enablings != self.enablings
            && self.entries.iter().flatten().any(|entry| {
                entry.enabled
                    && entry.enabled_since > step.enablings
                    && entry.request.scope().covers(task, cpu)
            })
    }

    pub(super) fn pending_for(&self, task: TaskId) -> Option<&PendingStep> {
        self.pending.get(self.pending_position(task)?)?.as_ref()
    }

    fn take_pending(&mut self, task: TaskId) -> Option<PendingStep> {
        let position = self.pending_position(task)?;
        let step = self.pending.get_mut(position)?.take()?;
        self.stepping_tasks -= 1;
        Some(step)
    }

    fn pending_position(&self, task: TaskId) -> Option<usize> {
        if self.stepping_tasks == 0 {
            // The common case on every exception and switch: no interlock in flight.
            return None;
        }
        self.pending
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| p.task == task))
    }

    /// A hit reported exactly by the hardware (x86 B bits, CIABR); `iterations` is the
    /// exception's `rep` window, named by data hits.
    fn deliver_exact<C, S>(
        &mut self,
        index: usize,
        frame: &TrapFrame,
        iterations: Option<StringIterations>,
        context: &mut C,
        sink: &mut S,
    ) -> Result<ResumeAction, C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
        S: EventSink,
    {
        let id = self.id_of(index);
        let Some(access) = self.entry_at(index).map(|e| e.request.access()) else {
            return Ok(ResumeAction::Resume);
        };
        let native = self.arch.capabilities().native_timing(access);
        let execute_address = self
            .entry_at(index)
            .filter(|e| e.request.is_execute())
            .and_then(|e| self.reservations.plan(e.reservation))
            .and_then(|plan| plan.iter().next().map(|p| p.hardware_range().start()));
        let Some(entry) = self.entry_mut(index) else {
            return Ok(ResumeAction::Resume);
        };
        if !entry.enabled {
            // A consumer sharing the slot fired as a one-shot stop earlier: not armed for it.
            return Ok(ResumeAction::Resume);
        }
        let request = entry.request;
        // A breakpoint that signals before its instruction (x86 execute fault) faults again
        // on return unless the resume flag is set, whether or not anyone wanted the hit.
        let resume = match native {
            Timing::Before => ResumeAction::ResumeWithResumeFlag,
            Timing::After => ResumeAction::Resume,
        };
        if !request.privilege().intersects(frame.mode.privilege())
            || !request.scope().covers(frame.task, frame.cpu)
        {
            self.stats.stray_hits += 1;
            return Ok(resume);
        }
        let one_shot = request.delivery() == Delivery::Before;
        // Built once, in place, and lent to the sink: the event is ~200 bytes, and every
        // move of it on this path is a copy the exception pays for.
        let mut event = Event {
            request: id,
            task: frame.task,
            cpu: frame.cpu,
            pc: frame.pc,
            kind: EventKind::Hit(Hit {
                timing: native,
                access: request.is_execute().then_some(AccessKind::EXECUTE),
                address: execute_address,
                values: None,
                iterations: if request.is_execute() {
                    None
                } else {
                    iterations
                },
            }),
        };
        let mut observed = false;
        if !request.is_execute()
            && request.access().contains(AccessKind::WRITE)
            && let EventKind::Hit(hit) = &mut event.kind
        {
            observed = observe_change(entry, hit.values.insert(ValueChange::EMPTY), context);
        }
        if one_shot {
            // Disabled until re-armed: its slots must stop matching too (unless another
            // consumer shares them), or the stopped instruction faults again when the task
            // resumes (a stop carries no resume flag).
            self.set_enabled(index, false);
            let group = self
                .entry_at(index)
                .and_then(|e| self.reservations.group(e.reservation));
            self.retire_if_idle(group, frame.cpu, context)?;
        }
        self.stats.delivered_hits += 1;
        sink.deliver(&event);
        // The snapshot moves forward once the event is out: the memory hook has just stored
        // the new bytes piecewise, and reloading them whole at once stalls on store
        // forwarding; later, the stores have drained.
        if observed
            && let (
                EventKind::Hit(Hit {
                    values: Some(change),
                    ..
                }),
                Some(entry),
            ) = (&event.kind, self.entry_mut(index))
        {
            entry.snapshot.bytes = *change.new_buffer();
            entry.snapshot.valid = true;
        }
        Ok(if one_shot { ResumeAction::Stop } else { resume })
    }

    /// A trigger-before data match (PPC64 DSI): decode the instruction, split real hits from
    /// strays, deliver `before` stops, or start the interlock for `after` consumers.
    fn trigger_before<C, S>(
        &mut self,
        frame: &TrapFrame,
        reported_address: Option<u64>,
        candidates: SlotSet,
        decoded: Decoded,
        context: &mut C,
        sink: &mut S,
    ) -> Result<ResumeAction, C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
        S: EventSink,
    {
        let decoded = match decoded {
            Decoded::NotYet => context.decode_access(frame.pc).ok().flatten(),
            Decoded::Done(access) => access,
        };
        let Some(access) = decoded else {
            let fired = self.slots_containing(frame.cpu, candidates, reported_address);
            self.disable_owners(
                fired,
                DisableReason::UndecodableInstruction,
                frame,
                context,
                sink,
            )?;
            return Ok(ResumeAction::Resume);
        };
        let (fired, explained) =
            self.fired_slots(frame.cpu, candidates, &access, frame.mode, reported_address);
        let Ok(access_range) = AddressRange::new(access.addr, u64::from(access.size)) else {
            self.disable_owners(
                fired,
                DisableReason::UndecodableInstruction,
                frame,
                context,
                sink,
            )?;
            return Ok(ResumeAction::Resume);
        };

        let mut owners = Owners::new();
        if explained {
            self.consumers_in(frame.cpu, fired, &mut owners);
        } else {
            // No armed slot explains the match (stale state, uninstalled by the caller, or
            // hardware and decoder disagree): one stray, whatever the fallback disarms.
            self.stats.stray_hits += 1;
        }

        let mut real = Owners::<REQUESTS>::new();
        for index in owners.iter() {
            let Some(entry) = self.entry_at(index) else {
                continue;
            };
            if !entry.enabled {
                // Fired earlier as a one-shot stop; its slot is armed for another consumer.
                continue;
            }
            if wants(&entry.request, access_range, access.kind, frame) {
                real.add(index);
            } else {
                self.stats.stray_hits += 1;
            }
        }

        // ptrace-style consumers stop before the access; the instruction runs again when the
        // task resumes, and the continuous consumers are served then (stop first, hit once).
        let mut stopped = false;
        for index in real.iter() {
            let Some(entry) = self.entry_mut(index) else {
                continue;
            };
            if entry.request.delivery() == Delivery::After {
                continue;
            }
            let address = first_overlap(entry.request.range(), access_range);
            self.set_enabled(index, false);
            stopped = true;
            self.stats.delivered_hits += 1;
            sink.deliver(&Event {
                request: self.id_of(index),
                task: frame.task,
                cpu: frame.cpu,
                pc: frame.pc,
                kind: EventKind::Hit(Hit {
                    timing: Timing::Before,
                    access: Some(access.kind),
                    address: Some(address),
                    values: None,
                    iterations: None,
                }),
            });
        }
        if stopped {
            let remaining = self.armed_slots(frame.task, frame.cpu);
            for slot in fired.difference(remaining).iter() {
                context.uninstall(slot)?;
            }
            return Ok(ResumeAction::Stop);
        }

        if explained
            && matches!(
                access.class,
                AccessClass::LoadReserve | AccessClass::StoreConditional
            )
        {
            self.disable_owners(
                fired,
                DisableReason::AtomicReservation,
                frame,
                context,
                sink,
            )?;
            return Ok(ResumeAction::Resume);
        }

        let disarmed = fired.iter().fold(DisarmedGroups::NONE, |set, slot| {
            match self.group_at(frame.cpu, slot) {
                Some(group) => set.with(group),
                None => set,
            }
        });
        let mut step = PendingStep {
            task: frame.task,
            pc: frame.pc,
            disarmed,
            hits: [None; MAX_HITS],
            debugger_stepping: false,
            enablings: self.enablings,
            lone_slot: None,
        };
        for index in real.iter().skip(MAX_HITS) {
            self.disable_with_event(index, DisableReason::InterlockFull, frame, sink);
        }
        let mut places = step.hits.iter_mut();
        for index in real.iter().take(MAX_HITS) {
            let Some(entry) = self.entry_at(index) else {
                continue;
            };
            let Some(place) = places.next() else {
                break;
            };
            let range = entry.request.range();
            let address = first_overlap(range, access_range);
            let hit = place.insert(PendingHit {
                id: self.id_of(index),
                access: access.kind,
                address,
                values: None,
            });
            if access.kind.contains(AccessKind::WRITE)
                && let Some(touched) = range.intersection(&access_range)
            {
                read_old_values(touched, context, &mut hit.values);
            }
        }
        for group in disarmed.iter() {
            for slot in self.slots_of_group(frame.cpu, group).iter() {
                context.uninstall(slot)?;
            }
        }
        for slot in fired
            .iter()
            .filter(|s| self.group_at(frame.cpu, *s).is_none())
        {
            context.uninstall(slot)?;
        }
        self.stats.steps += 1;

        if frame.mode == ExecutionMode::User {
            if let Some(previous) = self.take_pending(frame.task) {
                if previous.pc == frame.pc {
                    // The same instruction matched again before completing: it moved to a CPU
                    // where other requests are armed. One step completes it for all of them.
                    step = previous.merged_with(step);
                } else {
                    // The PC moved without cancel_step: the old step is void (its access
                    // never completed), and what it disarmed is armed again — but for what
                    // this step disarms — as cancel_step would have.
                    self.stats.cancelled_steps += 1;
                    step.debugger_stepping = previous.debugger_stepping;
                    let rearmed = previous.disarmed.without(&step.disarmed);
                    self.reinstall(&rearmed, frame.task, frame.cpu, context)?;
                }
                // Single-stepping is on now because the earlier step turned it on: whether a
                // debugger's stepping is under it was recorded then. (Read again here, the
                // layer's own step would pass for a debugger's, and stepping would stay on
                // after the instruction — through a larx/stcx. loop, forever.)
            } else {
                // Asked before this layer turns it on: on when the step starts means a
                // debugger's.
                step.debugger_stepping |= context.single_step_enabled()?;
            }
            match self.pending.iter_mut().find(|p| p.is_none()) {
                Some(free) => {
                    *free = Some(step);
                    self.stepping_tasks += 1;
                    context.set_single_step(true)?;
                    Ok(ResumeAction::Step)
                }
                None => {
                    self.disable_owners(fired, DisableReason::InterlockFull, frame, context, sink)?;
                    Ok(ResumeAction::Resume)
                }
            }
        } else {
            match context.emulate(frame.pc) {
                Ok(()) => {
                    self.finish(&step, frame, context, sink)?;
                    self.completed_by_emulation(frame, context, sink)?;
                    Ok(ResumeAction::Resume)
                }
                Err(_) => {
                    self.disable_owners(
                        fired,
                        DisableReason::EmulationFailed,
                        frame,
                        context,
                        sink,
                    )?;
                    Ok(ResumeAction::Resume)
                }
            }
        }
    }

    /// The instruction at `frame.pc` was emulated, with the debug registers set aside: an
    /// instruction breakpoint that reports completed instructions (CIABR) would have matched
    /// it, so its hit is delivered here, where the hardware cannot.
    fn completed_by_emulation<C, S>(
        &mut self,
        frame: &TrapFrame,
        context: &mut C,
        sink: &mut S,
    ) -> Result<(), C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
        S: EventSink,
    {
        if self.arch.capabilities().execute_timing != Timing::After {
            return Ok(());
        }
        let matching = self
            .armed_slots(frame.task, frame.cpu)
            .iter()
            .filter(|slot| {
                self.program_of(frame.cpu, *slot).is_some_and(|p| {
                    p.hardware_access().contains(AccessKind::EXECUTE)
                        && p.hardware_range().contains(frame.pc)
                })
            })
            .fold(SlotSet::EMPTY, SlotSet::with);
        let mut owners = Owners::new();
        self.consumers_in(frame.cpu, matching, &mut owners);
        for index in owners.iter() {
            // The hardware filters privilege: a breakpoint for another level never matched.
            let privileged = self
                .entry_at(index)
                .is_some_and(|e| e.request.privilege().intersects(frame.mode.privilege()));
            if privileged {
                self.deliver_exact(index, frame, None, context, sink)?;
            }
        }
        Ok(())
    }

    /// The trace after the stepped instruction (the step at `position` of the pending table):
    /// re-arm, then deliver with the access done. Returns whether a debugger was
    /// single-stepping too (its stop is this trace as well).
    ///
    /// The step is completed where it lies in the pending table (it is about 450 bytes:
    /// taking it out would be a copy on every trace) and freed at the end, whatever happens.
    fn complete_step<C, S>(
        &mut self,
        position: usize,
        frame: &TrapFrame,
        context: &mut C,
        sink: &mut S,
    ) -> Result<bool, C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
        S: EventSink,
    {
        let Some(debugger_stepping) = self
            .pending
            .get(position)
            .and_then(Option::as_ref)
            .map(|step| step.debugger_stepping)
        else {
            return Ok(false);
        };
        let completed = self.complete_in_place(position, frame, context, sink);
        if let Some(place) = self.pending.get_mut(position)
            && place.take().is_some()
        {
            self.stepping_tasks -= 1;
        }
        completed.map(|()| debugger_stepping)
    }

    fn complete_in_place<C, S>(
        &mut self,
        position: usize,
        frame: &TrapFrame,
        context: &mut C,
        sink: &mut S,
    ) -> Result<(), C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
        S: EventSink,
    {
        let Some(step) = self.pending.get(position).and_then(Option::as_ref) else {
            return Ok(());
        };
        if !step.debugger_stepping {
            context.set_single_step(false)?;
        }
        // The task's only step is this one, and it is over.
        self.rearm_step(step, frame.task, frame.cpu, context)?;
        let delivered = self.deliver_step_hits(step, frame, context, sink);
        self.stats.delivered_hits += delivered;
        Ok(())
    }

    /// Re-arm what `step` disarmed and deliver its hits (an emulated step, never stored).
    fn finish<C, S>(
        &mut self,
        step: &PendingStep,
        frame: &TrapFrame,
        context: &mut C,
        sink: &mut S,
    ) -> Result<(), C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
        S: EventSink,
    {
        // A user-mode step the task may have pending keeps what it disarmed.
        let pending = self.pending_for(frame.task).map(|p| p.disarmed);
        let groups = step
            .disarmed
            .iter()
            .filter(|g| pending.is_none_or(|p| !p.contains(*g)))
            .fold(DisarmedGroups::NONE, DisarmedGroups::with);
        self.reinstall(&groups, frame.task, frame.cpu, context)?;
        let delivered = self.deliver_step_hits(step, frame, context, sink);
        self.stats.delivered_hits += delivered;
        Ok(())
    }

    /// Deliver the hits of a completed step, the access done; returns how many.
    fn deliver_step_hits<C, S>(
        &self,
        step: &PendingStep,
        frame: &TrapFrame,
        context: &mut C,
        sink: &mut S,
    ) -> u64
    where
        C: ExceptionEnvironment,
        S: EventSink,
    {
        let mut delivered = 0;
        for hit in step.hits.iter().map_while(Option::as_ref) {
            if self.deliver_completed_hit(hit, frame, context, sink) {
                delivered += 1;
            }
        }
        delivered
    }

    /// Deliver one hit of a completed step, the access done, unless its consumer was
    /// disabled meanwhile or does not cover the CPU the step completed on (the task migrated
    /// while the step was pending: the access happened there). Returns whether it did.
    #[inline(always)]
    pub(super) fn deliver_completed_hit<C, S>(
        &self,
        hit: &PendingHit,
        frame: &TrapFrame,
        context: &mut C,
        sink: &mut S,
    ) -> bool
    where
        C: ExceptionEnvironment,
        S: EventSink,
    {
        if self
            .entry(hit.id)
            .is_none_or(|e| !e.enabled || !e.request.scope().covers(frame.task, frame.cpu))
        {
            return false;
        }
        let mut event = Event {
            request: hit.id,
            task: frame.task,
            cpu: frame.cpu,
            pc: frame.pc,
            kind: EventKind::Hit(Hit {
                timing: Timing::After,
                access: Some(hit.access),
                address: Some(hit.address),
                values: None,
                iterations: None,
            }),
        };
        if let (Some(before), EventKind::Hit(done)) = (&hit.values, &mut event.kind) {
            let change = done.values.insert(ValueChange::EMPTY);
            change.addr = before.addr;
            change.set_len(u64::from(before.len));
            change.truncated = before.truncated;
            change.old_exact = true;
            *change.old_buffer_mut() = before.old;
            if let Ok(range) = AddressRange::new(before.addr, u64::from(before.len)) {
                read_prefix(context, range, change.new_buffer_mut());
            }
        }
        sink.deliver(&event);
        true
    }

    /// Re-arm what `step` disarmed, now that it is over on `cpu`: its lone slot at once when
    /// `cpu` has not been switched since the step began — else by the walk of
    /// [`reinstall`](Self::reinstall), which does the same in general.
    #[inline(always)]
    pub(super) fn rearm_step<R>(
        &self,
        step: &PendingStep,
        task: TaskId,
        cpu: CpuId,
        context: &mut R,
    ) -> Result<(), R::Error>
    where
        R: RegisterAccess<Image = A::SlotImage, Status = A::Status>,
    {
        // The same load (no switch-in since, on this CPU: load counts are unique) holds the
        // same task, and the group alone in the same slot.
        let lone = step.lone_slot.and_then(|(slot, load)| {
            let loaded = self.cpu_slots(cpu).filter(|loaded| loaded.load == load)?;
            let (group, _, image) = loaded.slots.get(slot.ordinal())?.as_ref()?;
            Some((slot, *group, *image))
        });
        match lone {
            Some((slot, group, image)) if self.group_enabled(group) => context.install(slot, image),
            Some(_) => Ok(()),
            None => self.reinstall(&step.disarmed, task, cpu, context),
        }
    }

    /// Install again the slots of `groups` on `cpu`, if `task` is the one switched in there,
    /// where the group still has an enabled consumer (one pass over what the CPU has loaded).
    /// The caller leaves out groups that a step of the task still holds disarmed: this does
    /// not ask the pending table, the step being completed is in it.
    fn reinstall<R>(
        &self,
        groups: &DisarmedGroups,
        task: TaskId,
        cpu: CpuId,
        context: &mut R,
    ) -> Result<(), R::Error>
    where
        R: RegisterAccess<Image = A::SlotImage, Status = A::Status>,
    {
        if self
            .cpu_slots(cpu)
            .is_none_or(|loaded| loaded.task != Some(task))
        {
            return Ok(());
        }
        for (slot, (group, _, image)) in self.loaded_slots(cpu) {
            if groups.contains(*group) && self.group_enabled(*group) {
                context.install(slot, *image)?;
            }
        }
        Ok(())
    }

    /// The candidate slots that fire on `access`: their hardware range overlaps the access's
    /// match window and they watch its kind; `true` with them. If none does (stale state, or
    /// the hardware and the decoder disagree), fall back to the reported address, then to
    /// every candidate, so the step never re-triggers forever; `false` with those.
    fn fired_slots(
        &self,
        cpu: CpuId,
        candidates: SlotSet,
        access: &DecodedAccess,
        mode: ExecutionMode,
        reported_address: Option<u64>,
    ) -> (SlotSet, bool) {
        let window = self.arch.match_window(access);
        let filtered = self.hardware_filtered(mode);
        let fired = candidates.iter().fold(SlotSet::EMPTY, |set, slot| {
            let (Some((_, program, _)), Some(group)) =
                (self.loaded_at(cpu, slot), self.loaded_group(cpu, slot))
            else {
                return set;
            };
            if self.slot_fires(group, program, window, access.kind, filtered) {
                set.with(slot)
            } else {
                set
            }
        });
        if fired.is_empty() {
            (
                self.slots_containing(cpu, candidates, reported_address),
                false,
            )
        } else {
            (fired, true)
        }
    }

    /// The privilege level of `mode`, when the hardware filters it (PPC64 PR/PNH/HYP): then
    /// a slot whose consumers exclude it did not match, whatever its range says.
    fn hardware_filtered(&self, mode: ExecutionMode) -> Option<PrivilegeFilter> {
        let privilege = mode.privilege();
        self.arch
            .capabilities()
            .hardware_privileges
            .contains(privilege)
            .then_some(privilege)
    }

    /// Whether the slot running `program` (of `group`) fires on an access of `kind` whose
    /// match window is `window`; `filtered` as [`hardware_filtered`](Self::hardware_filtered)
    /// gives it.
    #[inline(always)]
    fn slot_fires(
        &self,
        group: LoadedGroup,
        program: &A::Program,
        window: Option<AddressRange>,
        kind: AccessKind,
        filtered: Option<PrivilegeFilter>,
    ) -> bool {
        window.is_some_and(|w| program.hardware_range().overlaps(&w))
            && program.hardware_access().intersects(kind)
            && filtered.is_none_or(|privilege| self.some_consumer_matches(group, privilege))
    }

    /// Whether some consumer of `group` watches accesses made at `privilege` (the sole
    /// consumer when the dispatcher knows it, else the engine's sharer list).
    fn some_consumer_matches(&self, group: LoadedGroup, privilege: PrivilegeFilter) -> bool {
        let matches = |index: usize| {
            self.entry_at(index)
                .is_some_and(|e| e.request.privilege().intersects(privilege))
        };
        match group.sole {
            Some(index) => matches(index),
            None => self.consumers_of(group.id).any(matches),
        }
    }

    fn slots_containing(&self, cpu: CpuId, candidates: SlotSet, address: Option<u64>) -> SlotSet {
        let Some(address) = address else {
            return candidates;
        };
        let matching = candidates.iter().fold(SlotSet::EMPTY, |set, slot| {
            if self
                .program_of(cpu, slot)
                .is_some_and(|p| p.hardware_range().contains(address))
            {
                set.with(slot)
            } else {
                set
            }
        });
        if matching.is_empty() {
            candidates
        } else {
            matching
        }
    }

    /// Disable every enabled consumer of the groups in `slots`, uninstall their slots, and
    /// tell them.
    fn disable_owners<R, S>(
        &mut self,
        slots: SlotSet,
        reason: DisableReason,
        frame: &TrapFrame,
        context: &mut R,
        sink: &mut S,
    ) -> Result<(), R::Error>
    where
        R: RegisterAccess<Image = A::SlotImage, Status = A::Status>,
        S: EventSink,
    {
        let mut owners = Owners::new();
        self.consumers_in(frame.cpu, slots, &mut owners);
        for index in owners.iter() {
            self.disable_with_event(index, reason, frame, sink);
        }
        for slot in slots.iter() {
            match self.group_at(frame.cpu, slot) {
                Some(group) => self.retire_if_idle(Some(group), frame.cpu, context)?,
                None => context.uninstall(slot)?,
            }
        }
        Ok(())
    }

    /// Disable one enabled consumer and tell it why.
    fn disable_with_event<S: EventSink>(
        &mut self,
        index: usize,
        reason: DisableReason,
        frame: &TrapFrame,
        sink: &mut S,
    ) {
        let id = self.id_of(index);
        if !self.entry_at(index).is_some_and(|e| e.enabled) {
            return;
        }
        self.set_enabled(index, false);
        self.stats.disabled += 1;
        sink.deliver(&Event {
            request: id,
            task: frame.task,
            cpu: frame.cpu,
            pc: frame.pc,
            kind: EventKind::Disabled(reason),
        });
    }
}

/// The events of one held exception, caught before they reach the kernel's sink; any that
/// do not fit go on to the sink at once (early, never lost).
struct Caught<'a, S, const N: usize> {
    events: [Option<Event>; N],
    sink: &'a mut S,
}

impl<S: EventSink, const N: usize> EventSink for Caught<'_, S, N> {
    fn deliver(&mut self, event: &Event) {
        match self.events.iter_mut().find(|e| e.is_none()) {
            Some(place) => *place = Some(*event),
            None => self.sink.deliver(event),
        }
    }
}

/// The stronger of two resume actions: a stop wins over a step, a step over RF, RF over resume.
const fn stronger(a: ResumeAction, b: ResumeAction) -> ResumeAction {
    const fn rank(action: ResumeAction) -> u8 {
        match action {
            ResumeAction::Resume => 0,
            ResumeAction::ResumeWithResumeFlag => 1,
            ResumeAction::Step => 2,
            ResumeAction::Stop => 3,
        }
    }
    if rank(a) >= rank(b) { a } else { b }
}

/// Whether `request` wants an access of `kind` to `access` by `frame`'s context: its bytes
/// (not only its slot's rounded range), its kind, the privilege level and the scope.
#[inline(always)]
pub(super) fn wants(
    request: &Request,
    access: AddressRange,
    kind: AccessKind,
    frame: &TrapFrame,
) -> bool {
    request.range().overlaps(&access)
        && request.access().intersects(kind)
        && request.privilege().intersects(frame.mode.privilege())
        && request.scope().covers(frame.task, frame.cpu)
}

/// The first byte of `access` inside `watched` (they overlap when this is called).
#[inline]
pub(super) fn first_overlap(watched: AddressRange, access: AddressRange) -> u64 {
    watched
        .intersection(&access)
        .map_or(access.start(), |r| r.start())
}

/// Old values read before the access (exact), new values filled in after it. Read into
/// `place`, where the pending step keeps them (built elsewhere and moved there, they would be
/// one more copy on the exception path).
pub(super) fn read_old_values<E: ExceptionEnvironment>(
    touched: AddressRange,
    context: &mut E,
    place: &mut Option<OldValues>,
) {
    let values = place.insert(OldValues {
        addr: touched.start(),
        len: u8::try_from(touched.len().min(MAX_VALUE_BYTES as u64)).unwrap_or(u8::MAX),
        truncated: touched.len() > MAX_VALUE_BYTES as u64,
        old: [0; MAX_VALUE_BYTES],
    });
    // Unreadable memory reports zeros, as before the access nothing else is known.
    read_prefix(context, touched, &mut values.old);
}

/// x86: old = the value last observed by the layer, new = now. Fills `change` where it lies
/// (inside the event being built); `true` when the new bytes could be read, and the caller
/// then moves the snapshot forward to them.
fn observe_change<E: ExceptionEnvironment>(
    entry: &super::table::Entry,
    change: &mut ValueChange,
    context: &mut E,
) -> bool {
    let range = entry.request.range();
    change.addr = range.start();
    change.truncated = range.len() > MAX_VALUE_BYTES as u64;
    change.set_len(range.len());
    // Whole-buffer copies: both buffers hold zeros past `len`, and one 64-byte move is
    // cheaper than a byte loop on the exception path.
    *change.old_buffer_mut() = entry.snapshot.bytes;
    read_prefix(context, range, change.new_buffer_mut())
}
