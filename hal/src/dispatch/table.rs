//! The dispatcher's tables: registered requests with their slots, and pending steps.

use crate::{
    AddressRange, CpuId, DebugArchitecture, ForbiddenRanges, ForbiddenRegion, Forbids,
    MAX_PLAN_SLOTS, MemoryRead, Plan, PoolKind, RegisterAccess, RegistryError, Request, SlotId,
    SlotSet, TaskId,
};

use super::DispatchError;
use super::event::{MAX_VALUE_BYTES, RequestId};
use super::interlock::PendingStep;

/// Counters a kernel can export (e.g. in debugfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Statistics {
    /// Hardware matches no request wanted (never delivered).
    pub stray_hits: u64,
    /// Events delivered as hits.
    pub delivered_hits: u64,
    /// Interlock steps started (single step or emulation).
    pub steps: u64,
    /// Pending steps cancelled because the PC changed.
    pub cancelled_steps: u64,
    /// Requests disabled with a [`DisableReason`](super::DisableReason).
    pub disabled: u64,
}

/// The bytes of a request last observed by the layer (x86 old values).
#[derive(Debug, Clone, Copy)]
pub(super) struct Snapshot {
    pub(super) bytes: [u8; MAX_VALUE_BYTES],
    pub(super) valid: bool,
}

/// One slot assigned to a request: which slot, the program it runs, its encoded image.
pub(super) type AssignedSlot<A> = (
    SlotId,
    <A as DebugArchitecture>::Program,
    <A as DebugArchitecture>::SlotImage,
);

/// The slots a request occupies, in plan order.
pub(super) type AssignedSlots<A> = [Option<AssignedSlot<A>>; MAX_PLAN_SLOTS];

#[derive(Debug, Clone, Copy)]
pub(super) struct Entry<A: DebugArchitecture> {
    pub(super) request: Request,
    pub(super) plan: Plan<A::Program>,
    pub(super) slots: AssignedSlots<A>,
    pub(super) enabled: bool,
    pub(super) snapshot: Snapshot,
}

impl<A: DebugArchitecture> Entry<A> {
    pub(super) fn slot_set(&self) -> SlotSet {
        self.slots
            .iter()
            .flatten()
            .fold(SlotSet::EMPTY, |set, (slot, _, _)| set.with(*slot))
    }
}

/// The exception pipeline's state for one machine: registered requests, their slots, and the
/// per-task single-step interlock. Fixed capacity (`REQUESTS` requests, `TASKS` tasks with a
/// step pending at once); no allocation; never panics.
pub struct Dispatcher<A: DebugArchitecture, const REQUESTS: usize = 16, const TASKS: usize = 16> {
    pub(super) arch: A,
    pub(super) entries: [Option<Entry<A>>; REQUESTS],
    pub(super) generations: [u16; REQUESTS],
    pub(super) pending: [Option<PendingStep>; TASKS],
    pub(super) stats: Statistics,
    /// Regions the embedding kernel forbids (checked before anything else at registration).
    pub(super) forbidden: ForbiddenRanges,
    /// How many entries of `pending` are in use.
    pub(super) stepping_tasks: usize,
    /// The entry owning each slot (by [`SlotId`] ordinal): exception handling looks slots up
    /// here instead of walking the requests.
    pub(super) slot_owner: [Option<u16>; SlotId::ORDINALS],
}

impl<A: DebugArchitecture, const REQUESTS: usize, const TASKS: usize>
    Dispatcher<A, REQUESTS, TASKS>
{
    /// A dispatcher for the CPU described by `arch`, with no request.
    pub fn new(arch: A) -> Self {
        Self {
            arch,
            entries: core::array::from_fn(|_| None),
            generations: [0; REQUESTS],
            pending: [None; TASKS],
            stats: Statistics::default(),
            stepping_tasks: 0,
            forbidden: ForbiddenRanges::new(),
            slot_owner: [None; SlotId::ORDINALS],
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

    /// Check the kernel's forbidden regions, validate, plan, allocate slots (first fit), encode, and remember the value of the
    /// watched bytes as the first "last observed" value. Nothing is installed until the next
    /// [`switch_in`](Self::switch_in) of a task the request covers.
    ///
    /// # Errors
    /// [`DispatchError::Request`] for invalid, forbidden or impossible requests,
    /// [`DispatchError::NoFreeSlot`], [`DispatchError::TableFull`].
    pub fn register(
        &mut self,
        request: Request,
        memory: &mut impl MemoryRead,
    ) -> Result<RequestId, DispatchError> {
        self.forbidden.check(&request)?;
        let plan = self.arch.prepare(&request)?;
        let index = self
            .entries
            .iter()
            .position(Option::is_none)
            .ok_or(DispatchError::TableFull { capacity: REQUESTS })?;
        let slots = self.allocate(&plan)?;
        let mut snapshot = Snapshot {
            bytes: [0; MAX_VALUE_BYTES],
            valid: false,
        };
        if request.access().is_data() {
            snapshot.valid = read_prefix(memory, request.range(), &mut snapshot.bytes);
        }
        let (Some(place), Some(generation)) =
            (self.entries.get_mut(index), self.generations.get_mut(index))
        else {
            return Err(DispatchError::TableFull { capacity: REQUESTS });
        };
        *generation = generation.wrapping_add(1);
        let generation = *generation;
        *place = Some(Entry {
            request,
            plan,
            slots,
            enabled: true,
            snapshot,
        });
        let owner = u16::try_from(index).ok();
        for (slot, _, _) in slots.iter().flatten() {
            self.set_owner(*slot, owner);
        }
        Ok(RequestId {
            index: u16::try_from(index).unwrap_or(u16::MAX),
            generation,
        })
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

    /// Forget a request. Its slots are freed; the next [`switch_in`](Self::switch_in) on each
    /// CPU uninstalls them. A step pending for it completes without delivering.
    ///
    /// # Errors
    /// [`DispatchError::UnknownRequest`] for a stale or unknown id.
    pub fn release(&mut self, id: RequestId) -> Result<Request, DispatchError> {
        let entry = self.entry(id).ok_or(DispatchError::UnknownRequest)?;
        let (request, slots) = (entry.request, entry.slots);
        for (slot, _, _) in slots.iter().flatten() {
            self.set_owner(*slot, None);
        }
        if let Some(place) = self.entries.get_mut(id.index()) {
            *place = None;
        }
        Ok(request)
    }

    /// Enable again a request that fired as a one-shot `before` stop or was disabled.
    ///
    /// # Errors
    /// [`DispatchError::UnknownRequest`] for a stale or unknown id.
    pub fn rearm(&mut self, id: RequestId) -> Result<(), DispatchError> {
        let index = id.index();
        match self.entry(id) {
            Some(_) => {
                if let Some(entry) = self.entry_mut(index) {
                    entry.enabled = true;
                }
                Ok(())
            }
            None => Err(DispatchError::UnknownRequest),
        }
    }

    /// The request behind an id, if it is registered.
    #[must_use]
    pub fn request(&self, id: RequestId) -> Option<&Request> {
        self.entry(id).map(|e| &e.request)
    }

    /// The plan chosen for a request.
    #[must_use]
    pub fn plan(&self, id: RequestId) -> Option<&Plan<A::Program>> {
        self.entry(id).map(|e| &e.plan)
    }

    /// Whether the request is enabled (not fired as one-shot, not disabled).
    #[must_use]
    pub fn is_enabled(&self, id: RequestId) -> bool {
        self.entry(id).is_some_and(|e| e.enabled)
    }

    /// Program the registers for `task` starting to run on `cpu`: install every slot of an
    /// enabled request covering them (except slots the task's own pending step disarmed), and
    /// uninstall every other slot.
    ///
    /// # Errors
    /// The register backend's error; slots before the failing one are already written.
    pub fn switch_in<R>(&mut self, task: TaskId, cpu: CpuId, regs: &mut R) -> Result<(), R::Error>
    where
        R: RegisterAccess<Image = A::SlotImage, Status = A::Status>,
    {
        let armed = self.armed_slots(task, cpu);
        for pool in self.arch.capabilities().pools {
            for index in 0..pool.count {
                let Some(slot) = SlotId::new(pool.kind, index) else {
                    continue;
                };
                match self.image_of(slot).filter(|_| armed.contains(slot)) {
                    Some(image) => regs.install(slot, image)?,
                    None => regs.uninstall(slot)?,
                }
            }
        }
        Ok(())
    }

    /// The slots that are armed while `task` runs on `cpu`.
    #[must_use]
    pub fn armed_slots(&self, task: TaskId, cpu: CpuId) -> SlotSet {
        let disarmed = self
            .pending_for(task)
            .map_or(SlotSet::EMPTY, |p| p.disarmed);
        self.entries
            .iter()
            .flatten()
            .filter(|e| e.enabled && e.request.scope().covers(task, cpu))
            .fold(SlotSet::EMPTY, |set, e| set.union(e.slot_set()))
            .difference(disarmed)
    }

    pub(super) fn entry(&self, id: RequestId) -> Option<&Entry<A>> {
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

    /// The registered entry (index) owning `slot`.
    pub(super) fn owner_of(&self, slot: SlotId) -> Option<usize> {
        self.slot_owner
            .get(slot.ordinal())
            .copied()
            .flatten()
            .map(usize::from)
    }

    fn set_owner(&mut self, slot: SlotId, owner: Option<u16>) {
        if let Some(place) = self.slot_owner.get_mut(slot.ordinal()) {
            *place = owner;
        }
    }

    /// The entry at a table index, if one is registered there. (Indexing goes through
    /// `get` everywhere in dispatch, so a kernel embedding it links no panic path.)
    pub(super) fn entry_at(&self, index: usize) -> Option<&Entry<A>> {
        self.entries.get(index)?.as_ref()
    }

    /// The entry at a table index, mutably.
    pub(super) fn entry_mut(&mut self, index: usize) -> Option<&mut Entry<A>> {
        self.entries.get_mut(index)?.as_mut()
    }

    fn assigned(&self, slot: SlotId) -> Option<&AssignedSlot<A>> {
        let entry = self.entries.get(self.owner_of(slot)?)?.as_ref()?;
        entry.slots.iter().flatten().find(|(s, _, _)| *s == slot)
    }

    pub(super) fn image_of(&self, slot: SlotId) -> Option<A::SlotImage> {
        self.assigned(slot).map(|(_, _, image)| *image)
    }

    pub(super) fn program_of(&self, slot: SlotId) -> Option<A::Program> {
        self.assigned(slot).map(|(_, program, _)| *program)
    }

    /// Whether `slot` is armed while `task` runs on `cpu` (the per-slot form of
    /// [`armed_slots`](Self::armed_slots), for the exception path).
    pub(super) fn is_armed(&self, slot: SlotId, task: TaskId, cpu: CpuId) -> bool {
        let owned_and_covering = self
            .owner_of(slot)
            .and_then(|index| self.entries.get(index)?.as_ref())
            .is_some_and(|e| e.enabled && e.request.scope().covers(task, cpu));
        owned_and_covering
            && !self
                .pending_for(task)
                .is_some_and(|p| p.disarmed.contains(slot))
    }

    fn allocate(&self, plan: &Plan<A::Program>) -> Result<AssignedSlots<A>, DispatchError> {
        let mut slots = [None; MAX_PLAN_SLOTS];
        let Some(pool_kind) = plan.pool() else {
            return Ok(slots);
        };
        let count = self.pool_count(pool_kind);
        let used = self
            .entries
            .iter()
            .flatten()
            .fold(SlotSet::EMPTY, |set, e| set.union(e.slot_set()));
        let mut free = (0..count)
            .filter_map(|i| SlotId::new(pool_kind, i))
            .filter(|s| !used.contains(*s));
        let free_count = u8::try_from(free.clone().count()).unwrap_or(u8::MAX);
        for (place, program) in slots.iter_mut().zip(plan.iter()) {
            let slot = free.next().ok_or(DispatchError::NoFreeSlot {
                pool: pool_kind,
                needed: u8::try_from(plan.len()).unwrap_or(u8::MAX),
                free: free_count,
            })?;
            let image = self.arch.encode(slot, program)?;
            *place = Some((slot, *program, image));
        }
        Ok(slots)
    }

    fn pool_count(&self, kind: PoolKind) -> u8 {
        self.arch
            .capabilities()
            .pools
            .iter()
            .find(|p| p.kind == kind)
            .map_or(0, |p| p.count)
    }
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
