//! The common case of the trigger-before interlock (PPC64): a DSI where one armed slot fires,
//! alone in its group, whose one consumer wants the hit after the access, with no step in
//! flight anywhere — the DSI of a continuous consumer watching a range — and the trace that
//! completes that step. Both run without the general path's sets and walks (owner lists,
//! merging with a pending step, a search of the pending table, a walk of the loaded slots to
//! re-arm), which cost most of its instructions there.
//!
//! The rules are the general path's, shared with it where they are more than a line
//! ([`wants`], [`read_old_values`], [`first_overlap`], `rearm_step`, `deliver_completed_hit`);
//! this file only decides when they reduce to one slot and one consumer, and declines
//! everything else before it changes anything. The differential tests run both paths
//! against the reference model: every case the common case takes there, the general path
//! took before it existed.

use crate::{
    AccessClass, AddressRange, DebugArchitecture, Delivery, ExceptionCause, ExceptionEnvironment,
    PoolKind, RegisterAccess, SlotProgram, Timing,
};

use super::event::EventSink;
use super::frame::{ExecutionMode, Resolution, ResumeAction, TrapFrame};
use super::interlock::{
    Decoded, DisarmedGroups, MAX_HITS, PendingHit, PendingStep, first_overlap, read_old_values,
    wants,
};
use super::table::Dispatcher;

/// What [`Dispatcher::start_common_step`] did.
pub(super) enum CommonCase {
    /// The exception is handled: resume as said.
    Handled(Resolution),
    /// Not the common case; nothing changed. The general path goes on with the instruction
    /// as decoded here, if it was.
    Declined(Decoded),
}

impl<A: DebugArchitecture, const REQUESTS: usize, const TASKS: usize, const CPUS: usize>
    Dispatcher<A, REQUESTS, TASKS, CPUS>
{
    /// Start the interlock for a DSI in the common case: user mode, no step pending for any
    /// task, every reported slot a data slot, every one holding a program armed, exactly one
    /// of them firing on the decoded (plain) access and holding its group alone, and that
    /// group's sole consumer enabled, watching this privilege level and wanting delivery
    /// `after`. Whether that consumer wants these very bytes decides between a hit and a
    /// stray; either way the instruction is stepped with the slot disarmed, as the general
    /// path does, and the step remembers the slot and the CPU's load for the trace.
    ///
    /// Everything else is declined before any register, statistic or table changes.
    pub(super) fn start_common_step<C>(
        &mut self,
        frame: &TrapFrame,
        cause: &ExceptionCause,
        context: &mut C,
    ) -> Result<CommonCase, C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
    {
        const NOT_YET: CommonCase = CommonCase::Declined(Decoded::NotYet);
        if cause.single_step
            || cause.slots_exact
            || !cause.slots.within_pool(PoolKind::Data)
            || self.stepping_tasks != 0
            || frame.mode != ExecutionMode::User
            || self.pending.is_empty()
            || self.arch.capabilities().data_timing != Timing::Before
        {
            return Ok(NOT_YET);
        }
        let Some(loaded) = self
            .cpu_slots(frame.cpu)
            .filter(|loaded| loaded.task == Some(frame.task))
        else {
            return Ok(NOT_YET);
        };
        let candidates = cause.slots.intersection(loaded.occupied);
        let loaded_load = loaded.load;
        if candidates.is_empty() {
            return Ok(NOT_YET);
        }

        let decoded = context.decode_access(frame.pc).ok().flatten();
        let declined = Ok(CommonCase::Declined(Decoded::Done(decoded)));
        let Some(access) = decoded else {
            return declined;
        };
        if matches!(
            access.class,
            AccessClass::LoadReserve | AccessClass::StoreConditional
        ) {
            return declined;
        }
        let (Ok(access_range), Some(window)) = (
            AddressRange::new(access.addr, u64::from(access.size)),
            self.arch.match_window(&access),
        ) else {
            return declined;
        };

        // The one armed slot whose range and kind match (the hardware's rule); a slot not
        // armed (stale state) or a second match is the general path's.
        let mut fired = None;
        for slot in candidates.iter() {
            let Some((group, program, _)) =
                loaded.slots.get(slot.ordinal()).and_then(Option::as_ref)
            else {
                return declined;
            };
            let Some(state) = self.group_state(*group).filter(|s| s.enabled > 0) else {
                return declined;
            };
            if !(program.hardware_range().overlaps(&window)
                && program.hardware_access().intersects(access.kind))
            {
                continue;
            }
            if fired.is_some() || !loaded.alone.contains(slot) {
                return declined;
            }
            fired = Some((slot, *group, state));
        }
        let Some((slot, group, sole)) =
            fired.and_then(|(slot, group, state)| Some((slot, group, self.known_sole(state)?)))
        else {
            return declined;
        };
        // Its sole consumer is enabled, wants the hit after the access, and watches this
        // privilege level (else hardware that filters privilege would not have matched).
        let Some(entry) = self.entry_at(sole).filter(|e| {
            e.enabled
                && e.request.delivery() == Delivery::After
                && e.request.privilege().intersects(frame.mode.privilege())
        }) else {
            return declined;
        };
        let real = wants(&entry.request, access_range, access.kind, frame);
        let watched = entry.request.range();
        let id = self.id_of(sole);

        // The general path's effects for this case. The reported slots holding nothing are
        // already empty, unless something wrote them behind this layer's back.
        for empty in cause.slots.difference(loaded.occupied).iter() {
            context.uninstall(empty)?;
        }
        if !real {
            self.stats.stray_hits += 1;
        }
        context.uninstall(slot)?;
        self.stats.steps += 1;
        // Asked before this layer turns it on: on now means a debugger's.
        let debugger_stepping = context.single_step_enabled()?;
        let Some(place) = self.pending.first_mut() else {
            return declined; // not reached: a table without places was declined on entry
        };
        // Built where it stays: a step is about 450 bytes, and a move is a copy.
        let step = place.insert(PendingStep {
            task: frame.task,
            pc: frame.pc,
            disarmed: DisarmedGroups::one(group),
            hits: [None; MAX_HITS],
            debugger_stepping,
            enablings: self.enablings,
            lone_slot: Some((slot, loaded_load)),
        });
        if real && let Some(first) = step.hits.first_mut() {
            let hit = first.insert(PendingHit {
                id,
                access: access.kind,
                address: first_overlap(watched, access_range),
                values: None,
            });
            if access.kind.contains(crate::AccessKind::WRITE)
                && let Some(touched) = watched.intersection(&access_range)
            {
                read_old_values(touched, context, &mut hit.values);
            }
        }
        self.stepping_tasks += 1;
        context.set_single_step(true)?;
        context.reset_status()?;
        Ok(CommonCase::Handled(Resolution {
            action: ResumeAction::Step,
            claimed: true,
            foreign_single_step: false,
        }))
    }

    /// Complete a trace's step in the common case: the only step in flight is the traced
    /// task's, in the first place (where [`start_common_step`](Self::start_common_step) puts
    /// it), with at most one hit. The general path's effects (`complete_step`), in its
    /// order; the step is freed whatever happens. `None`: not the common case, nothing
    /// changed.
    #[inline(always)]
    pub(super) fn complete_common_step<C, S>(
        &mut self,
        frame: &TrapFrame,
        context: &mut C,
        sink: &mut S,
    ) -> Result<Option<Resolution>, C::Error>
    where
        C: RegisterAccess<Image = A::SlotImage, Status = A::Status> + ExceptionEnvironment,
        S: EventSink,
    {
        let Some(step) = self
            .pending
            .first()
            .and_then(Option::as_ref)
            .filter(|step| {
                self.stepping_tasks == 1
                    && step.task == frame.task
                    && step.hits.get(1).is_none_or(Option::is_none)
            })
        else {
            return Ok(None);
        };
        let debugger_stepping = step.debugger_stepping;
        let completed = (|| {
            if !debugger_stepping {
                context.set_single_step(false)?;
            }
            self.rearm_step(step, frame.task, frame.cpu, context)?;
            let hit = step.hits.first().and_then(Option::as_ref);
            Ok(hit.is_some_and(|hit| self.deliver_completed_hit(hit, frame, context, sink)))
        })();
        if let Some(place) = self.pending.first_mut() {
            *place = None;
        }
        self.stepping_tasks = 0;
        if completed? {
            self.stats.delivered_hits += 1;
        }
        context.reset_status()?;
        Ok(Some(Resolution {
            action: ResumeAction::Resume,
            claimed: true,
            foreign_single_step: debugger_stepping,
        }))
    }
}
