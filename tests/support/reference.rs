//! The reference model: the events a perfect implementation of DESIGN §2 delivers, computed
//! from the simulator's trace and the registered requests only — never from the pipeline.
//!
//! The definitions, shared by both architectures:
//! - an access `[ea, ea+size)` of kind k made by task t on CPU c in mode m **hits** request r
//!   iff the ranges overlap, k meets r's access set, m is in r's privilege filter and r's
//!   scope covers (t, c);
//! - `after` (continuous) requests get one event per access (per instruction on hardware that
//!   reports per instruction) after it completed, in program order, with old/new values for
//!   write watches;
//! - `before` requests (and, on trigger-before hardware, `native` data requests, which cannot
//!   continue past the match without a step) get one stop before the access and are then
//!   disabled (one-shot);
//! - on trigger-before hardware an instruction that cannot be stepped (`larx`/`stcx.`) and
//!   that the hardware matches disables every matching request with an explicit event;
//! - a **stray** is a hardware match that no request really hit: counted, never delivered.
//!
//! Where the architectures differ by nature, the model takes the difference as [`Facts`]:
//! whether the hardware reports the access (address and kind), whether old values are exact
//! or last observed, the matching granule, who filters privilege, and when data and execute
//! breakpoints signal. It learns *that* the CPU stopped an instruction before completing it
//! (an instruction-breakpoint fault, a data-storage interrupt) and *where* (task, CPU) from the
//! trace's exception records, but decides by itself which requests that stop concerns.
//!
//! Choices where DESIGN §2 leaves room (the pipeline makes the same ones):
//! - hits of one exception are delivered in registration order (the order of their slots);
//!   on PPC64, `before` stops of an access come before its `after` hits, which come before a
//!   CIABR hit of the same instruction;
//! - x86 reports per instruction (or `rep` iteration): one hit per request however many of
//!   its accesses matched; old = the request's whole range as last observed (at
//!   registration or at its previous hit), new = the range now; values whenever the request
//!   watches writes, since the hardware does not say what the access was;
//! - PPC64 values: the accessed bytes inside the watched range (at most 64, `truncated`
//!   beyond), present when the access writes;
//! - the event's PC is the trap frame's: past the instruction for x86 data traps and for
//!   PPC64 hits completed by a single step, at it for stops before it and for kernel-mode
//!   PPC64 hits, which are emulated inside the data storage interrupt;
//! - scope is judged where the access happens: a step that completes on another CPU
//!   reports for the requests covering that CPU;
//! - `native` delivery on trigger-before data hardware is a one-shot stop (resuming without a
//!   step would match again); on x86 instruction breakpoints it is continuous (RF);
//! - a stop that no armed request explains (a stale slot: a request disabled while the task
//!   ran elsewhere keeps its slot there until the task is switched again) is one stray, and
//!   the layer stops that slot from matching in that task.
//!
//! **Merged execute and data #DB** (x86 CPUs that have it, e.g. Intel family 6 model 0x55:
//! `merges_execute_into_traps` of the simulator's profile, measured on that CPU). When an
//! instruction completes (not a `rep` step with iterations left) and a data breakpoint the
//! task's registers hold enabled matched one of its accesses, the CPU raises a trap-class
//! #DB — and if an enabled instruction breakpoint is on the *next* instruction, that #DB
//! carries its B bit too. Both are one exception, so:
//! - the instruction breakpoint is handled at the data trap, as its fault would be (same PC —
//!   the trap frame's is already the next instruction —, same task and CPU, same strays for
//!   a slot of another privilege or a stale one, one-shot requests disabled there), and its
//!   hit is delivered with the data hits of that exception, all in registration order;
//! - the handler resumes with RF, so the next instruction does not fault on it: nothing is
//!   delivered for it there, whatever happens in between (a release, a preemption, a
//!   migration, an interrupt, the PC written back) — it was delivered already;
//! - the CPU does not know what the layer wanted: a data trap that is a stray (a stale slot,
//!   another privilege's access) merges the same way;
//! - it does not happen after a single-step trap (TF), with or without data hits (measured);
//!   these programs never set TF.
//!
//! **Iterations of an interrupted `rep`** (x86). A `rep movs`/`rep stos` step is one
//! iteration, or with fast strings a group of them (one `Retired` with `next_pc == pc` while
//! iterations remain); each iteration writes once. The model counts the iterations of the
//! instruction's run from the trace, and takes the count it started with from the program
//! ([`ProgramMap::string_count`]). A data trap the layer sees (some armed data request's
//! slot matched an access of the step: the layer looks whatever it then delivers) after a
//! step with iterations left names, on each of its hits, `remaining` = the iterations left
//! and `since` = the iterations left at the task's previous such trap in the same run, if
//! the kernel did not move the task's PC in between (a `PcChanged` record); any other data
//! trap the layer sees forgets that position. The trap after the last iteration names
//! nothing (the layer cannot tell it from any other instruction's). For each named hit the
//! model also records which iterations really hit ([`Expected::iteration_hits`]), so a test
//! can check they lie in the window.

use std::collections::{BTreeMap, BTreeSet};

use hwbkpt::{
    AccessClass, AccessKind, AddressRange, CpuId, Delivery, DisableReason, MAX_VALUE_BYTES,
    Pinning, PrivilegeFilter, Request, RequestId, Scope, Sharing, StringIterations, TaskId, Timing,
};
use hwbkpt_sim::{Memory, MemoryAccess, Mode, TraceEvent};

use super::observed::{Happened, Observed, Values};
use super::schedule::Control;

/// What an architecture's debug hardware lets software observe, as the model needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    /// When data breakpoints signal: x86 after the instruction, PPC64 before the access.
    pub(crate) data_timing: Timing,
    /// When instruction breakpoints signal: x86 before (fault), PPC64 CIABR after completion.
    pub(crate) execute_timing: Timing,
    /// Whether the layer learns the access's address and kind (PPC64 decodes the instruction;
    /// an x86 data trap does not say).
    pub(crate) reports_access: bool,
    /// Whether old values are read before the access (PPC64) or are the bytes last observed
    /// by the layer (x86, which traps after the access).
    pub(crate) exact_old_values: bool,
    /// Whether the hardware applies the privilege filter (PPC64 PR/PNH/HYP); otherwise the
    /// hardware matches every mode and the layer filters (x86), so a mismatch is a stray.
    pub(crate) hardware_filters_privilege: bool,
    /// Whether the CPU reports slots that match but are disabled alongside a real hit (x86
    /// CPUs that set B bits for disabled slots). The x86 backend disarms a slot by clearing its
    /// DR7 fields and leaving DRn, and the reservation engine moves slot groups between slots
    /// from one switch-in to the next, so which disabled slots still hold an address is the
    /// hardware's state, not the requests': the model takes their number from the raw status
    /// ([`Stop::BeforeInstruction`]).
    pub(crate) reports_disabled_matches: bool,
    /// The matching granule of an access: the hardware compares whole granules (x86: 1, the
    /// exact bytes; PPC64: doublewords, 16 bytes for pre-POWER10 quadword accesses).
    pub(crate) granule: fn(&StaticAccess) -> u64,
}

/// Behaviours of one CPU model within what its architecture allows, beyond [`Facts`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Quirks {
    /// A data trap also reports an enabled instruction breakpoint on the next instruction, in
    /// the same exception (x86, Intel family 6 model 0x55; see the module documentation).
    pub(crate) merges_execute_into_traps: bool,
}

/// A data access as the instruction makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StaticAccess {
    /// First byte.
    pub(crate) addr: u64,
    /// Bytes.
    pub(crate) size: u32,
    /// Read, write, or both.
    pub(crate) kind: AccessKind,
    /// Plain, reservation, cache block.
    pub(crate) class: AccessClass,
}

/// What the model knows of the programs (their disassembly, not their execution).
pub(crate) trait ProgramMap {
    /// The mode `task` runs the code at `pc` in.
    fn mode_at(&self, task: TaskId, pc: u64) -> Mode;
    /// The data access the instruction at `pc` makes when `task` runs it, where it is the same
    /// on every execution (PPC64 programs here: every address is a fixed base plus a constant).
    /// Needed for stops before an access, which leave no access in the trace, and for
    /// `stcx.`, which may store nothing.
    fn static_access(&self, task: TaskId, pc: u64) -> Option<StaticAccess>;
    /// The count (x86 RCX) the `rep` string instruction at `pc` starts with when `task` runs
    /// it, where the program fixes it; `None` for every other instruction (the default).
    fn string_count(&self, _task: TaskId, _pc: u64) -> Option<u64> {
        None
    }
}

/// What a trace exception record says, as far as the model uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The CPU stopped before executing the instruction at the PC (x86 instruction
    /// breakpoint fault), reporting this many slots as matching (DR6 B bits).
    BeforeInstruction {
        /// Slots the status reports.
        reported_slots: u32,
    },
    /// The CPU stopped before the data access of the instruction at the PC (PPC64 DSI with
    /// the DABR-match bit).
    BeforeAccess,
}

/// A registered request and the id the dispatcher gave it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Watch {
    /// Its id.
    pub(crate) id: RequestId,
    /// The request.
    pub(crate) request: Request,
}

/// The model's results.
#[derive(Debug, Default)]
pub(crate) struct Expected {
    /// Events, in delivery order.
    pub(crate) events: Vec<Observed>,
    /// Hardware matches no request really hit.
    pub(crate) strays: u64,
    /// Interlock steps started (single step or emulation), merged restarts included.
    pub(crate) steps: u64,
    /// Pending steps cancelled because the task's PC was changed.
    pub(crate) cancelled_steps: u64,
    /// Data traps that also carried the next instruction's breakpoint ([`Quirks`]).
    pub(crate) merged_exceptions: u64,
    /// For each expected hit that names `rep` iterations, in the order of those events: the
    /// iterations whose accesses really hit its request in the step that trapped, each named
    /// by the count it left (RCX just after it).
    pub(crate) iteration_hits: Vec<IterationHits>,
}

/// The iterations that really made a hit naming a `rep` window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IterationHits {
    /// The hit's request.
    pub(crate) request: RequestId,
    /// The window the hit names.
    pub(crate) window: StringIterations,
    /// The count each iteration that really hit left (RCX just after it).
    pub(crate) left: Vec<u64>,
    /// The iterations of the step that trapped: more than one when the CPU grouped them.
    pub(crate) group: u64,
}

/// Where a task's `rep` stands after a step of it.
#[derive(Debug, Clone)]
struct RepStep {
    /// The count it started with.
    count: u64,
    /// Iterations done in this run, this step included.
    done: u64,
    /// Iterations done in this step.
    step: u64,
    /// For each access of the step, the count its iteration left.
    left: Vec<u64>,
}

/// An interlock step pending for a task.
#[derive(Debug, Clone)]
struct Pending {
    /// The instruction it steps over.
    pc: u64,
    /// The requests disarmed for it (DESIGN §2: "disarm them, mark a step pending (per
    /// task) … re-arm").
    disarmed: BTreeSet<usize>,
    /// [`Model::enablings`] when it began.
    enablings: u64,
}

struct Model<'a> {
    facts: Facts,
    quirks: Quirks,
    watches: &'a [Watch],
    program: &'a dyn ProgramMap,
    enabled: Vec<bool>,
    /// How many times a request became enabled (a re-arm of a disabled one), and for each
    /// request the count of its last time.
    enablings: u64,
    enabled_since: Vec<u64>,
    /// Last observed bytes of each request (x86 old values).
    snapshots: Vec<Vec<u8>>,
    /// Memory as the trace leaves it.
    memory: Memory,
    /// Per task: the instruction whose interlock step is pending and the requests disarmed
    /// for it (DESIGN §2: "disarm them, mark a step pending (per task) … re-arm").
    pending: BTreeMap<TaskId, Pending>,
    /// Per task: the instruction whose breakpoint fault was already handled.
    fault_handled: BTreeMap<TaskId, u64>,
    /// Per task: accesses of the step in progress.
    step_accesses: BTreeMap<TaskId, Vec<MemoryAccess>>,
    /// Per task: the last retired step (pc, next pc).
    last_retired: BTreeMap<TaskId, (u64, u64)>,
    /// Per task: requests whose slots were ever installed in its registers.
    programmed: BTreeMap<TaskId, BTreeSet<usize>>,
    /// Per task: requests whose slots its registers hold enabled. A context switch installs
    /// exactly the armed ones (DESIGN §1); a request disabled while the task runs elsewhere
    /// stays installed there (stale) until the task's next switch or until it fires there —
    /// a stray, after which the layer uninstalls it.
    installed: BTreeMap<TaskId, BTreeSet<usize>>,
    /// Per task, the `rep` it is inside: its PC and the iterations done in this run.
    rep_done: BTreeMap<TaskId, (u64, u64)>,
    /// Per task, the `rep` position of its last data trap the layer saw there: PC, and the
    /// iterations left.
    rep_seen: BTreeMap<TaskId, (u64, u64)>,
    out: Expected,
}

fn privilege_of(mode: Mode) -> PrivilegeFilter {
    match mode {
        Mode::User => PrivilegeFilter::USER,
        Mode::Supervisor => PrivilegeFilter::KERNEL,
        Mode::Hypervisor => PrivilegeFilter::HYPERVISOR,
    }
}

fn range(addr: u64, size: u64) -> AddressRange {
    AddressRange::new(addr, size.max(1)).unwrap_or_else(|_| {
        AddressRange::new(addr, 1).unwrap_or_else(|_| unreachable!("a 1-byte range never wraps"))
    })
}

/// Whether the request stops once and is disabled: `before`, and `native` where the
/// breakpoint's native timing is before an access the hardware cannot continue past without
/// a step (trigger-before data).
fn one_shot(request: &Request, facts: &Facts) -> bool {
    match request.delivery() {
        Delivery::Before => true,
        Delivery::Native => !request.is_execute() && facts.data_timing == Timing::Before,
        Delivery::After => false,
    }
}

impl Model<'_> {
    fn watch(&self, index: usize) -> &Request {
        &self.watches[index].request
    }

    fn armed(&self, index: usize, task: TaskId, cpu: CpuId) -> bool {
        self.enabled[index] && self.watch(index).scope().covers(task, cpu)
    }

    /// Whether `task`'s registers still hold request `index`'s slots although it is not armed.
    fn stale(&self, index: usize, task: TaskId, cpu: CpuId) -> bool {
        !self.armed(index, task, cpu)
            && self
                .installed
                .get(&task)
                .is_some_and(|i| i.contains(&index))
    }

    fn uninstall(&mut self, index: usize, task: TaskId) {
        if let Some(installed) = self.installed.get_mut(&task) {
            installed.remove(&index);
        }
    }

    fn emit(&mut self, index: usize, task: TaskId, cpu: CpuId, pc: u64, happened: Happened) {
        self.out.events.push(Observed {
            request: self.watches[index].id,
            task,
            cpu,
            pc,
            happened,
        });
    }

    /// The bytes the hardware compares for `access`.
    fn footprint(&self, access: &StaticAccess) -> AddressRange {
        let exact = range(access.addr, u64::from(access.size));
        let granule = (self.facts.granule)(access);
        exact.rounded_out(granule).unwrap_or(exact)
    }

    /// The bytes the hardware watches for request `index`.
    fn window(&self, index: usize) -> AddressRange {
        let r = self.watch(index).range();
        let granule = (self.facts.granule)(&StaticAccess {
            addr: r.start(),
            size: 1,
            kind: AccessKind::READ,
            class: AccessClass::Plain,
        });
        r.rounded_out(granule).unwrap_or(r)
    }

    /// Whether the hardware matches `access` against data request `index` (armed or not).
    fn hardware_matches(&self, index: usize, access: &StaticAccess, mode: Mode) -> bool {
        let request = self.watch(index);
        !request.is_execute()
            && request.access().intersects(access.kind)
            && self.window(index).overlaps(&self.footprint(access))
            && (!self.facts.hardware_filters_privilege
                || request.privilege().intersects(privilege_of(mode)))
    }

    /// Whether `access` really hits data request `index` (DESIGN §2, scope checked apart).
    fn really_hits(&self, index: usize, access: &StaticAccess, mode: Mode) -> bool {
        let request = self.watch(index);
        !request.is_execute()
            && request.access().intersects(access.kind)
            && request
                .range()
                .overlaps(&range(access.addr, u64::from(access.size)))
            && request.privilege().intersects(privilege_of(mode))
    }

    fn is_execute_at(&self, index: usize, pc: u64) -> bool {
        let request = self.watch(index);
        request.is_execute() && request.range().start() == pc
    }

    fn first_overlap(&self, index: usize, access: &StaticAccess) -> u64 {
        let r = self.watch(index).range();
        r.intersection(&range(access.addr, u64::from(access.size)))
            .map_or(access.addr, |o| o.start())
    }

    /// The values a hit on request `index` reports.
    fn values(&mut self, index: usize, access: &MemoryAccess) -> Option<Values> {
        let request = *self.watch(index);
        if self.facts.exact_old_values {
            // The bytes of the access inside the watched range, before and after it.
            if !access.kind.contains(AccessKind::WRITE) {
                return None;
            }
            let touched = request
                .range()
                .intersection(&range(access.addr, u64::from(access.size)))?;
            let offset = usize::try_from(touched.start() - access.addr).ok()?;
            let len = usize::try_from(touched.len()).ok()?.min(MAX_VALUE_BYTES);
            Some(Values {
                addr: touched.start(),
                old: access.before[offset..offset + len].to_vec(),
                new: access.after[offset..offset + len].to_vec(),
                old_exact: true,
                truncated: touched.len() > MAX_VALUE_BYTES as u64,
            })
        } else {
            // The whole watched range: last observed before, now after; the snapshot moves.
            if !request.access().contains(AccessKind::WRITE) {
                return None;
            }
            let len = usize::try_from(request.range().len())
                .unwrap_or(MAX_VALUE_BYTES)
                .min(MAX_VALUE_BYTES);
            let mut now = vec![0; len];
            self.memory.read(request.range().start(), &mut now).ok()?;
            let old = std::mem::replace(&mut self.snapshots[index], now.clone());
            Some(Values {
                addr: request.range().start(),
                old,
                new: now,
                old_exact: false,
                truncated: request.range().len() > MAX_VALUE_BYTES as u64,
            })
        }
    }

    /// The CPU stopped before executing the instruction at `pc` (x86 instruction breakpoint).
    fn before_instruction(&mut self, task: TaskId, cpu: CpuId, pc: u64, reported_slots: u32) {
        let mode = self.program.mode_at(task, pc);
        // Disarmed slots are reported only alongside a fault some armed slot raised.
        let faults = (0..self.watches.len()).any(|i| {
            self.is_execute_at(i, pc) && (self.armed(i, task, cpu) || self.stale(i, task, cpu))
        });
        // Disabled slots still holding this address, reported with the fault: every reported
        // slot that no armed or stale breakpoint here explains. Armed requests with the
        // identical program and scheduling share one slot (unless exclusive).
        if faults && self.facts.reports_disabled_matches {
            let mut shared: Vec<(Scope, Pinning, AddressRange)> = Vec::new();
            let mut explained = 0u32;
            for index in 0..self.watches.len() {
                if !self.is_execute_at(index, pc) {
                    continue;
                }
                let request = *self.watch(index);
                if self.stale(index, task, cpu) || request.sharing() == Sharing::Exclusive {
                    explained +=
                        u32::from(self.armed(index, task, cpu) || self.stale(index, task, cpu));
                } else if self.armed(index, task, cpu) {
                    let key = (request.scope(), request.pinning(), request.range());
                    if !shared.contains(&key) {
                        shared.push(key);
                        explained += 1;
                    }
                }
            }
            self.out.strays += u64::from(reported_slots.saturating_sub(explained));
        }
        // Requests here that share one slot (identical program and scheduling, not
        // exclusive): the slot is armed if one of them is; a slot none of them arms but this
        // task's registers still hold (stale) is one stray, however many requests shared it.
        let here: Vec<usize> = (0..self.watches.len())
            .filter(|&i| self.is_execute_at(i, pc))
            .collect();
        let slot_of = |request: &Request| {
            (request.sharing() != Sharing::Exclusive)
                .then(|| (request.scope(), request.pinning(), request.range()))
        };
        let armed_slot = |model: &Self, index: usize| {
            let key = slot_of(model.watch(index));
            here.iter().any(|&j| {
                model.armed(j, task, cpu)
                    && (j == index || (key.is_some() && slot_of(model.watch(j)) == key))
            })
        };
        let mut stale_slots: Vec<Option<(Scope, Pinning, AddressRange)>> = Vec::new();
        for &index in &here {
            if self.armed(index, task, cpu) || !self.stale(index, task, cpu) {
                continue;
            }
            // Disabled but installed: its slot still matches. Another request keeps that
            // slot armed, or the match is a stray of the slot's.
            if !armed_slot(self, index) {
                let key = slot_of(self.watch(index));
                if key.is_none() || !stale_slots.contains(&key) {
                    self.out.strays += 1;
                    stale_slots.push(key);
                }
            }
            self.uninstall(index, task);
        }
        for &index in &here {
            if self.armed(index, task, cpu) {
                let request = *self.watch(index);
                if request.privilege().intersects(privilege_of(mode)) {
                    self.emit(
                        index,
                        task,
                        cpu,
                        pc,
                        Happened::Hit {
                            timing: self.facts.execute_timing,
                            access: Some(AccessKind::EXECUTE),
                            address: Some(pc),
                            values: None,
                            iterations: None,
                        },
                    );
                    if one_shot(&request, &self.facts) {
                        self.enabled[index] = false;
                        self.uninstall(index, task);
                    }
                } else {
                    // The hardware does not look at the privilege level: a stray.
                    self.out.strays += 1;
                }
            }
        }
        self.fault_handled.insert(task, pc);
    }

    /// The CPU stopped before the data access of the instruction at `pc` (trigger-before
    /// hardware): `before` stops, disabling for unsteppable instructions, or the interlock.
    fn before_access(&mut self, task: TaskId, cpu: CpuId, pc: u64) {
        let Some(access) = self.program.static_access(task, pc) else {
            return;
        };
        let mode = self.program.mode_at(task, pc);
        let disarmed = self
            .pending
            .get(&task)
            .map(|p| p.disarmed.clone())
            .unwrap_or_default();
        let fired: Vec<usize> = (0..self.watches.len())
            .filter(|&i| {
                self.armed(i, task, cpu)
                    && !disarmed.contains(&i)
                    && self.hardware_matches(i, &access, mode)
            })
            .collect();
        // The layer uninstalls every data slot it does not arm for this task here: stale ones
        // stop matching in this task from now on.
        let stale: Vec<usize> = (0..self.watches.len())
            .filter(|&i| self.stale(i, task, cpu))
            .collect();
        for index in stale {
            self.uninstall(index, task);
        }
        if fired.is_empty() {
            // No armed request explains the stop (a stale slot matched): one stray. The
            // instruction is stepped with every armed data slot disarmed, delivering nothing.
            self.out.strays += 1;
            let candidates: Vec<usize> = (0..self.watches.len())
                .filter(|&i| {
                    !self.watch(i).is_execute()
                        && self.armed(i, task, cpu)
                        && !disarmed.contains(&i)
                })
                .collect();
            if !candidates.is_empty() {
                self.start_step(task, pc, candidates);
            }
            return;
        }
        let real: Vec<usize> = fired
            .iter()
            .copied()
            .filter(|&i| self.really_hits(i, &access, mode))
            .collect();
        self.out.strays += (fired.len() - real.len()) as u64;
        let stops: Vec<usize> = real
            .iter()
            .copied()
            .filter(|&i| one_shot(self.watch(i), &self.facts))
            .collect();
        if !stops.is_empty() {
            for index in stops {
                self.stop_before(index, task, cpu, pc, &access);
            }
            return;
        }
        if matches!(
            access.class,
            AccessClass::LoadReserve | AccessClass::StoreConditional
        ) {
            for index in fired {
                self.disable(index, task, cpu, pc);
            }
            return;
        }
        self.start_step(task, pc, fired);
    }

    /// The interlock disarms `requests` until the instruction at `pc` completes; a second stop
    /// of the same instruction (it moved to a CPU where other requests are armed) adds to them.
    fn start_step(&mut self, task: TaskId, pc: u64, requests: Vec<usize>) {
        self.out.steps += 1;
        let fresh = Pending {
            pc,
            disarmed: BTreeSet::new(),
            enablings: self.enablings,
        };
        let entry = self.pending.entry(task).or_insert_with(|| fresh.clone());
        if entry.pc != pc {
            *entry = fresh;
        }
        entry.disarmed.extend(requests);
    }

    /// `task` is switched in on `cpu`: a step still pending for it starts over (the
    /// instruction runs again) if a request covering it there was enabled since the step
    /// began — stepped with slots disarmed, the instruction could make an access that request
    /// misses (it may share a disarmed slot; which requests share slots is the layer's
    /// business, so the model does not ask).
    fn switched_in(&mut self, task: TaskId, cpu: CpuId) {
        let Some(step) = self.pending.get(&task) else {
            return;
        };
        let outdated = (0..self.watches.len()).any(|i| {
            self.enabled[i]
                && self.enabled_since[i] > step.enablings
                && self.watch(i).scope().covers(task, cpu)
        });
        if outdated {
            self.pending.remove(&task);
            self.out.cancelled_steps += 1;
        }
    }

    fn stop_before(
        &mut self,
        index: usize,
        task: TaskId,
        cpu: CpuId,
        pc: u64,
        access: &StaticAccess,
    ) {
        let reports = self.facts.reports_access;
        let address = self.first_overlap(index, access);
        self.emit(
            index,
            task,
            cpu,
            pc,
            Happened::Hit {
                timing: Timing::Before,
                access: reports.then_some(access.kind),
                address: reports.then_some(address),
                values: None,
                iterations: None,
            },
        );
        self.enabled[index] = false;
        self.uninstall(index, task);
    }

    fn disable(&mut self, index: usize, task: TaskId, cpu: CpuId, pc: u64) {
        self.emit(
            index,
            task,
            cpu,
            pc,
            Happened::Disabled(DisableReason::AtomicReservation),
        );
        self.enabled[index] = false;
        self.uninstall(index, task);
    }

    /// An instruction (or one `rep` iteration) completed.
    fn retired(&mut self, task: TaskId, cpu: CpuId, pc: u64, next_pc: u64, mode: Mode) {
        let accesses = self.step_accesses.remove(&task).unwrap_or_default();
        let rep = self.rep_step(task, pc, next_pc, &accesses);
        let first_iteration = self.last_retired.get(&task) != Some(&(pc, pc));
        if self.facts.execute_timing == Timing::Before
            && first_iteration
            && self.fault_handled.get(&task) != Some(&pc)
        {
            // No fault was taken: only right if no armed breakpoint is there (otherwise the
            // hits this produces are missing from the pipeline's events).
            self.before_instruction(task, cpu, pc, 0);
        }
        let mut merged = false;
        if self.facts.data_timing == Timing::After {
            merged = self.quirks.merges_execute_into_traps
                && next_pc != pc
                && self.data_trap(task, cpu, &accesses)
                && self.execute_installed_at(task, cpu, next_pc);
            let first = self.out.events.len();
            self.trap_after(task, cpu, pc, next_pc, &accesses, rep.as_ref());
            if merged {
                // One exception: the next instruction's breakpoint is handled here, and the
                // hits of the exception go out in registration order.
                self.out.merged_exceptions += 1;
                // (No disabled-slot B bits to count: `expected_with_quirks` refuses CPUs that
                // would add them to a merged #DB.)
                self.before_instruction(task, cpu, next_pc, 0);
                let order = |event: &Observed| {
                    self.watches
                        .iter()
                        .position(|w| w.id == event.request)
                        .unwrap_or(usize::MAX)
                };
                let mut exception = self.out.events.split_off(first);
                exception.sort_by_key(|e| order(e));
                self.out.events.extend(exception);
            }
        } else {
            self.completed_after_stop(task, cpu, pc, next_pc, mode, accesses.first());
        }
        if self.facts.execute_timing == Timing::After {
            // A privileged instruction completed by emulation inside the data storage
            // interrupt reports with that interrupt's frame (its own PC), like its data hits.
            let emulated =
                mode != Mode::User && self.pending.get(&task).is_some_and(|p| p.pc == pc);
            let event_pc = if emulated { pc } else { next_pc };
            for index in 0..self.watches.len() {
                if self.is_execute_at(index, pc)
                    && self.armed(index, task, cpu)
                    && self.watch(index).privilege().intersects(privilege_of(mode))
                {
                    self.emit(
                        index,
                        task,
                        cpu,
                        event_pc,
                        Happened::Hit {
                            timing: Timing::After,
                            access: Some(AccessKind::EXECUTE),
                            address: Some(pc),
                            values: None,
                            iterations: None,
                        },
                    );
                }
            }
        }
        self.pending.remove(&task);
        self.fault_handled.remove(&task);
        if merged {
            // The handler resumed with RF: the next instruction runs without faulting.
            self.fault_handled.insert(task, next_pc);
        }
        self.last_retired.insert(task, (pc, next_pc));
    }

    /// Whether the completed instruction raises a data trap: a data slot `task`'s registers
    /// hold enabled (armed, or stale) matched one of its accesses — whatever the layer makes
    /// of it.
    fn data_trap(&self, task: TaskId, cpu: CpuId, accesses: &[MemoryAccess]) -> bool {
        (0..self.watches.len()).any(|index| {
            (self.armed(index, task, cpu) || self.stale(index, task, cpu))
                && accesses
                    .iter()
                    .any(|a| self.hardware_matches(index, &static_of(a), a.mode))
        })
    }

    /// Whether `task`'s registers hold an enabled instruction breakpoint on `pc`.
    fn execute_installed_at(&self, task: TaskId, cpu: CpuId, pc: u64) -> bool {
        (0..self.watches.len()).any(|index| {
            self.is_execute_at(index, pc)
                && (self.armed(index, task, cpu) || self.stale(index, task, cpu))
        })
    }

    /// The step of a `rep` string instruction `task` just made at `pc` (`None` for any other
    /// instruction); remembers the run's progress while iterations remain.
    fn rep_step(
        &mut self,
        task: TaskId,
        pc: u64,
        next_pc: u64,
        accesses: &[MemoryAccess],
    ) -> Option<RepStep> {
        let Some(count) = self.program.string_count(task, pc) else {
            self.rep_done.remove(&task);
            return None;
        };
        let before = self
            .rep_done
            .get(&task)
            .filter(|(at, _)| *at == pc)
            .map_or(0, |(_, done)| *done);
        // Each iteration writes once (`movs` reads first): an access belongs to the iteration
        // of the next write.
        let mut writes = 0;
        let left = accesses
            .iter()
            .map(|a| {
                let iteration = before + writes + 1;
                if a.kind.contains(AccessKind::WRITE) {
                    writes += 1;
                }
                count.saturating_sub(iteration)
            })
            .collect();
        let done = before + writes;
        if next_pc == pc {
            self.rep_done.insert(task, (pc, done));
        } else {
            self.rep_done.remove(&task);
        }
        Some(RepStep {
            count,
            done,
            step: writes,
            left,
        })
    }

    /// A data trap the layer sees after a step of `task` at `pc`: the `rep` window its hits
    /// name (while iterations remain), and the position remembered for the next one.
    fn seen_rep_trap(
        &mut self,
        task: TaskId,
        pc: u64,
        next_pc: u64,
        rep: Option<&RepStep>,
    ) -> Option<StringIterations> {
        let remaining = rep
            .filter(|_| next_pc == pc)
            .map(|r| r.count.saturating_sub(r.done))
            .filter(|&left| left != 0);
        let Some(remaining) = remaining else {
            self.rep_seen.remove(&task);
            return None;
        };
        let since = self
            .rep_seen
            .get(&task)
            .filter(|&&(at, left)| at == pc && left > remaining)
            .map(|&(_, left)| left);
        self.rep_seen.insert(task, (pc, remaining));
        Some(StringIterations { remaining, since })
    }

    /// Trap-after hardware: one exception per instruction, one hit per request it matched.
    fn trap_after(
        &mut self,
        task: TaskId,
        cpu: CpuId,
        pc: u64,
        next_pc: u64,
        accesses: &[MemoryAccess],
        rep: Option<&RepStep>,
    ) {
        // The layer looks at the `rep` when an armed data slot reports a match.
        let seen = (0..self.watches.len()).any(|index| {
            !self.stale(index, task, cpu)
                && self.armed(index, task, cpu)
                && accesses
                    .iter()
                    .any(|a| self.hardware_matches(index, &static_of(a), a.mode))
        });
        let window = if seen {
            self.seen_rep_trap(task, pc, next_pc, rep)
        } else {
            None
        };
        for index in 0..self.watches.len() {
            if self.stale(index, task, cpu) {
                if accesses
                    .iter()
                    .any(|a| self.hardware_matches(index, &static_of(a), a.mode))
                {
                    self.out.strays += 1;
                    self.uninstall(index, task);
                }
                continue;
            }
            if !self.armed(index, task, cpu) {
                continue;
            }
            let matched: Vec<&MemoryAccess> = accesses
                .iter()
                .filter(|a| self.hardware_matches(index, &static_of(a), a.mode))
                .collect();
            let Some(first) = matched.first() else {
                continue;
            };
            if !matched
                .iter()
                .any(|a| self.really_hits(index, &static_of(a), a.mode))
            {
                self.out.strays += 1;
                continue;
            }
            let reports = self.facts.reports_access;
            let access = static_of(first);
            let address = self.first_overlap(index, &access);
            let values = self.values(index, first);
            if let (Some(window), Some(rep)) = (window, rep) {
                let left = accesses
                    .iter()
                    .zip(&rep.left)
                    .filter(|(a, _)| self.really_hits(index, &static_of(a), a.mode))
                    .map(|(_, &left)| left)
                    .collect();
                self.out.iteration_hits.push(IterationHits {
                    request: self.watches[index].id,
                    window,
                    left,
                    group: rep.step,
                });
            }
            self.emit(
                index,
                task,
                cpu,
                next_pc,
                Happened::Hit {
                    timing: Timing::After,
                    access: reports.then_some(access.kind),
                    address: reports.then_some(address),
                    values,
                    iterations: window,
                },
            );
        }
    }

    /// Trigger-before hardware: the instruction at `pc` completed (after any stops).
    fn completed_after_stop(
        &mut self,
        task: TaskId,
        cpu: CpuId,
        pc: u64,
        next_pc: u64,
        mode: Mode,
        made: Option<&MemoryAccess>,
    ) {
        let Some(planned) = self.program.static_access(task, pc) else {
            return;
        };
        let atomic = matches!(
            planned.class,
            AccessClass::LoadReserve | AccessClass::StoreConditional
        );
        if atomic {
            // Every match should have disabled its request at a stop; flag any left.
            for index in 0..self.watches.len() {
                if self.armed(index, task, cpu) && self.hardware_matches(index, &planned, mode) {
                    self.disable(index, task, cpu, pc);
                }
            }
            return;
        }
        let Some(made) = made else {
            return;
        };
        let access = StaticAccess {
            class: planned.class,
            ..static_of(made)
        };
        // Kernel-mode instructions are emulated inside the data storage interrupt, whose trap
        // frame still has the instruction's PC; user-mode ones complete with a single step,
        // whose trace interrupt has the next PC.
        let event_pc = if mode == Mode::User { next_pc } else { pc };
        for index in 0..self.watches.len() {
            if !self.armed(index, task, cpu) || !self.really_hits(index, &access, mode) {
                continue;
            }
            if one_shot(self.watch(index), &self.facts) {
                // The stop before this access is missing: expect it here so the difference shows.
                self.stop_before(index, task, cpu, pc, &access);
                continue;
            }
            let address = self.first_overlap(index, &access);
            let values = self.values(index, made);
            self.emit(
                index,
                task,
                cpu,
                event_pc,
                Happened::Hit {
                    timing: Timing::After,
                    access: Some(access.kind),
                    address: Some(address),
                    values,
                    iterations: None,
                },
            );
        }
    }
}

fn static_of(access: &MemoryAccess) -> StaticAccess {
    StaticAccess {
        addr: access.addr,
        size: access.size,
        kind: access.kind,
        class: AccessClass::Plain,
    }
}

/// A release or re-arm of `watches[request]`, made when the trace held `at` events.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Change {
    /// Trace length when it was made.
    pub(crate) at: usize,
    /// Index into the watches.
    pub(crate) request: usize,
    /// What was done.
    pub(crate) control: Control,
}

/// The events a perfect implementation delivers for `trace`, and the strays it counts.
///
/// `watches` are the accepted requests in registration order (which is also the order of
/// their hardware slots, so hits of one exception are delivered in this order), `changes`
/// the releases and re-arms made while the machine ran, in order; `initial` is memory when
/// they were registered; `stop_of` says which exception records are stops before an
/// instruction or an access.
pub(crate) fn expected<E>(
    trace: &[TraceEvent<E>],
    facts: Facts,
    watches: &[Watch],
    changes: &[Change],
    initial: &Memory,
    program: &dyn ProgramMap,
    stop_of: impl Fn(&E) -> Option<Stop>,
) -> Expected {
    expected_with_quirks(
        trace,
        facts,
        Quirks::default(),
        watches,
        changes,
        initial,
        program,
        stop_of,
    )
}

/// [`expected`] on a CPU model with `quirks`.
#[allow(
    clippy::too_many_arguments,
    reason = "the inputs of `expected` and the CPU model's quirks"
)]
pub(crate) fn expected_with_quirks<E>(
    trace: &[TraceEvent<E>],
    facts: Facts,
    quirks: Quirks,
    watches: &[Watch],
    changes: &[Change],
    initial: &Memory,
    program: &dyn ProgramMap,
    stop_of: impl Fn(&E) -> Option<Stop>,
) -> Expected {
    let snapshots = watches
        .iter()
        .map(|w| {
            let len = usize::try_from(w.request.range().len())
                .unwrap_or(MAX_VALUE_BYTES)
                .min(MAX_VALUE_BYTES);
            let mut bytes = vec![0; len];
            // Watches on unmapped memory have no value to observe; the model keeps zeros,
            // which a hit would then expose.
            let _ = initial.read(w.request.range().start(), &mut bytes);
            bytes
        })
        .collect();
    assert!(
        !(quirks.merges_execute_into_traps && facts.reports_disabled_matches),
        "the model does not count disabled-slot B bits in a merged #DB (no simulated CPU has both)"
    );
    let mut model = Model {
        facts,
        quirks,
        watches,
        program,
        enabled: vec![true; watches.len()],
        enablings: 0,
        enabled_since: vec![0; watches.len()],
        snapshots,
        memory: initial.clone(),
        pending: BTreeMap::new(),
        fault_handled: BTreeMap::new(),
        step_accesses: BTreeMap::new(),
        last_retired: BTreeMap::new(),
        programmed: BTreeMap::new(),
        installed: BTreeMap::new(),
        rep_done: BTreeMap::new(),
        rep_seen: BTreeMap::new(),
        out: Expected::default(),
    };
    let mut released = vec![false; watches.len()];
    let mut changes = changes.iter().peekable();
    for (at, event) in trace.iter().enumerate() {
        while let Some(change) = changes.next_if(|c| c.at <= at) {
            match change.control {
                Control::Release => {
                    released[change.request] = true;
                    model.enabled[change.request] = false;
                }
                // A released request's id is stale: re-arming it does nothing.
                Control::Rearm => {
                    let request = change.request;
                    if !released[request] && !model.enabled[request] {
                        model.enabled[request] = true;
                        model.enablings += 1;
                        model.enabled_since[request] = model.enablings;
                    }
                }
            }
        }
        match event {
            TraceEvent::Access(access) => {
                if access.kind.contains(AccessKind::WRITE) {
                    // Accesses of mapped memory only reach the trace.
                    let _ = model.memory.write(access.addr, &access.after);
                }
                model
                    .step_accesses
                    .entry(access.task)
                    .or_default()
                    .push(access.clone());
            }
            TraceEvent::Exception {
                cpu,
                task,
                pc,
                status,
            } => match stop_of(status) {
                Some(Stop::BeforeInstruction { reported_slots }) => {
                    model.before_instruction(*task, *cpu, *pc, reported_slots);
                }
                Some(Stop::BeforeAccess) => model.before_access(*task, *cpu, *pc),
                None => {}
            },
            TraceEvent::Retired {
                cpu,
                task,
                pc,
                next_pc,
                mode,
            } => model.retired(*task, *cpu, *pc, *next_pc, *mode),
            TraceEvent::ContextSwitch {
                cpu,
                to: Some(task),
                ..
            } => {
                model.switched_in(*task, *cpu);
                let armed: Vec<usize> = (0..watches.len())
                    .filter(|&i| model.armed(i, *task, *cpu))
                    .collect();
                model
                    .programmed
                    .entry(*task)
                    .or_default()
                    .extend(armed.iter().copied());
                model.installed.insert(*task, armed.into_iter().collect());
            }
            TraceEvent::PcChanged { task, .. } => {
                // The layer forgets where the task's `rep` stood (the kernel moved its PC).
                model.rep_seen.remove(task);
                // The access never happened: the pending step is void, its requests re-armed.
                if model.pending.remove(task).is_some() {
                    model.out.cancelled_steps += 1;
                }
            }
            TraceEvent::Fault { task, .. } => {
                model.step_accesses.remove(task);
            }
            _ => {}
        }
    }
    model.out
}
