//! The common case of a trigger-before data match (PPC64 DSI), started without the general
//! path's sets and tables: one slot fires, its group has one consumer that wants the hit
//! after the access, and no step is in flight anywhere — the DSI of a continuous consumer
//! watching one range. The general path spent most of its instructions there on generality
//! (owner lists, merging with a pending step, a step record built and moved).
//!
//! The rules are the general path's, shared with it ([`wants`], [`Dispatcher::slot_fires`],
//! [`read_old_values`]); this file only decides when they reduce to one slot and one consumer,
//! and declines everything else before it changes anything. The differential tests run both
//! paths against the reference model: every case the common case takes there, the general
//! path took before it existed.

use crate::{
    AccessClass, AddressRange, DebugArchitecture, Delivery, ExceptionCause, ExceptionEnvironment,
    PoolKind, RegisterAccess, SlotSet, Timing,
};

use super::frame::{ExecutionMode, Resolution, ResumeAction, TrapFrame};
use super::interlock::{
    Decoded, DisarmedGroups, MAX_HITS, PendingHit, PendingStep, first_overlap, read_old_values,
    wants,
};
use super::table::{Dispatcher, LoadedGroup};

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
    /// task, every reported slot a data slot, exactly one of the armed ones fires on the
    /// decoded (plain) access, and its group's sole consumer is enabled and wants delivery
    /// `after`. Whether that consumer wants these very bytes decides between a hit and a
    /// stray; either way the instruction is stepped with the group disarmed, as the general
    /// path does.
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
            || cause.slots.is_empty()
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
        let Ok(access_range) = AddressRange::new(access.addr, u64::from(access.size)) else {
            return declined;
        };
        let window = self.arch.match_window(&access);
        let filtered = self.hardware_filtered(frame.mode);

        // One pass over the reported slots: the ones not armed (stale state, uninstalled as
        // the general path does), and the one that fired with its group's sole consumer.
        let mut unarmed = SlotSet::EMPTY;
        let mut fired = None;
        for slot in cause.slots.iter() {
            let armed = loaded
                .slots
                .get(slot.ordinal())
                .and_then(Option::as_ref)
                .and_then(|(group, program, _)| {
                    let state = self.group_state(*group).filter(|s| s.enabled > 0)?;
                    Some((*group, program, state))
                });
            let Some((group, program, state)) = armed else {
                unarmed = unarmed.with(slot);
                continue;
            };
            let sole = self.known_sole(state);
            let loaded_group = LoadedGroup { id: group, sole };
            if !self.slot_fires(loaded_group, program, window, access.kind, filtered) {
                continue;
            }
            let Some(sole) = sole else {
                return declined;
            };
            if fired.is_some() {
                return declined;
            }
            fired = Some((group, sole));
        }
        let Some((group, sole)) = fired else {
            return declined;
        };
        let Some(entry) = self.entry_at(sole).filter(|e| e.enabled) else {
            return declined;
        };
        if entry.request.delivery() != Delivery::After {
            return declined;
        }
        let real = wants(&entry.request, access_range, access.kind, frame);
        let watched = entry.request.range();
        let id = self.id_of(sole);

        // The general path's effects for this case, in its order.
        for slot in unarmed.iter() {
            context.uninstall(slot)?;
        }
        if !real {
            self.stats.stray_hits += 1;
        }
        for slot in self.slots_of_group(frame.cpu, group).iter() {
            context.uninstall(slot)?;
        }
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
}
