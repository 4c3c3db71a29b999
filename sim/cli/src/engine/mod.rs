//! Running a scenario on one simulated CPU with the HAL as its kernel, and recording the
//! timeline.
//!
//! The machine's [`Trace`](hwbkpt_sim::Trace) gives the instructions, accesses and raw
//! exceptions (the CLI is not the pipeline, so it may read it); an [`Observer`] kernel wraps
//! the bridge's [`HalKernel`] and notes, at each kernel entry, what the HAL did: registers
//! written (disarm, re-arm, install), events delivered, strays counted, stops.

mod expect;
mod ppc64;
mod x86;

use std::collections::{BTreeMap, HashMap, VecDeque};

use hwbkpt_hal::{
    AccessKind, CpuId, DebugArchitecture, Delivery, DisableReason, Event, EventKind, Origin,
    Pinning, PrivilegeFilter, Request, RequestId, Scope, Sharing, TaskId, Timing,
};
use hwbkpt_sim::{
    Fault, FaultKind, Kernel, KernelContext, Machine, RegionAttributes, Resume, StopReason,
    TraceEvent,
};
use toml::Spanned;

use crate::bridge::{HalKernel, MemoryView, SimBinding};
use crate::report::{
    Bytes, Counters, Delivered, Entry, Hex, RegChange, RegValue, RepIterations, RequestReport,
    RunReport, Waiting,
};
use crate::scenario::{
    AccessName, ActionName, Arch, DeliveryName, ErrorClass, Op, OriginName, PinningName,
    PrivilegeName, Profile, RequestSpec, ScenarioError, ScopeName, SharingName, Source, Target,
    TaskMode,
};

pub use expect::check as check_expectations;

/// A program assembled for one model.
#[derive(Debug, Clone, Default)]
pub struct Assembled {
    /// Machine code, loaded at the code address.
    pub bytes: Vec<u8>,
    /// Disassembly by address.
    pub listing: BTreeMap<u64, String>,
    /// Labels.
    pub labels: HashMap<String, u64>,
    /// Ops left out (not on this architecture).
    pub skipped: Vec<String>,
}

/// One simulated CPU model as the CLI drives it.
pub trait Model: SimBinding + Sized {
    /// Which architecture.
    const ARCH: Arch;
    /// Default program address.
    const CODE: u64;

    /// The simulated CPU and the backend describing it, for `profile`.
    fn build(profile: Profile) -> (Self, Self::Arch);

    /// Assemble the ops that exist on this architecture. `base` is the initial value of the
    /// base register (the first memory region).
    ///
    /// # Errors
    /// An op of another architecture whose `only` names this one, or an unencodable value.
    fn assemble(
        source: &Source,
        ops: &[Spanned<Op>],
        code: u64,
        base: u64,
    ) -> Result<Assembled, ScenarioError>;

    /// Map what the model needs beyond the scenario's regions (the x86 stack).
    fn map_extra(memory: &mut hwbkpt_sim::Memory);

    /// A task's first registers.
    fn context(entry: u64, mode: TaskMode, base: u64) -> Self::Context;

    /// The breakpoint registers, in a fixed order.
    fn debug_registers(ctx: &Self::Context) -> Vec<(&'static str, u64)>;

    /// A raw register write; `Err` names the registers that exist.
    ///
    /// # Errors
    /// Unknown register, or the CPU refused the value.
    fn raw_write(ctx: &mut Self::Context, register: &str, value: u64) -> Result<(), String>;

    /// The raw status registers of an exception, and what they say.
    fn describe(exception: &Self::Exception) -> (Vec<RegValue>, String);

    /// Whether the exception reports a completed single step.
    fn single_step(exception: &Self::Exception) -> bool;

    /// Whether the exception is a data/instruction breakpoint match (not only a step).
    fn breakpoint_match(exception: &Self::Exception) -> bool;

    /// Text of the step the interlock asked for.
    const STEP_TEXT: &'static str;

    /// How one slot program of the backend reads.
    fn program_text(program: &<Self::Arch as DebugArchitecture>::Program) -> String;
}

/// Where a kernel note belongs in the trace: a position in the sequence of kernel hook points,
/// counted alike by the observer (as the hooks run) and by the recorder (from the trace). An
/// exception takes two positions: its entry (the `Exception` event: interlock steps) and its
/// exit (the matching `KernelExit`: events, after any emulated instruction); a switch-in
/// (`ContextSwitch` to a task) and a PC change (`PcChanged`) take one each.
type Anchor = usize;

/// The bridge's kernel, observed.
pub struct Observer<I: Model> {
    /// The HAL as the kernel.
    pub hal: HalKernel<I>,
    names: HashMap<RequestId, String>,
    raw: Vec<(TaskId, String, u64)>,
    notes: VecDeque<(Anchor, Entry)>,
    position: Anchor,
}

fn diff(before: &[(&'static str, u64)], after: &[(&'static str, u64)]) -> Vec<RegChange> {
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| b.1 != a.1)
        .map(|(b, a)| RegChange {
            name: b.0.to_owned(),
            old: Hex(b.1),
            new: Hex(a.1),
        })
        .collect()
}

const fn disable_text(reason: DisableReason) -> &'static str {
    match reason {
        DisableReason::AtomicReservation => {
            "atomic reservation: stepping a larx/stcx. would lose the reservation"
        }
        DisableReason::UndecodableInstruction => "the instruction at the hit cannot be decoded",
        DisableReason::EmulationFailed => "the kernel-mode instruction could not be emulated",
        DisableReason::InterlockFull => "too many tasks have a step pending",
        _ => "disabled",
    }
}

fn access_text(access: AccessKind) -> String {
    access.to_string()
}

impl<I: Model> Observer<I> {
    fn new(hal: HalKernel<I>) -> Self {
        Self {
            hal,
            names: HashMap::new(),
            raw: Vec::new(),
            notes: VecDeque::new(),
            position: 0,
        }
    }

    /// Flexible requests covering `task` on `cpu` that the last switch-in left unarmed, in
    /// name order.
    fn unscheduled(&self, task: TaskId, cpu: CpuId) -> Vec<Waiting> {
        let dispatcher = &self.hal.dispatcher;
        let mut waiting: Vec<Waiting> = self
            .names
            .iter()
            .filter_map(|(id, name)| {
                let covers = dispatcher.request(*id)?.scope().covers(task, cpu);
                let status = dispatcher.status(*id)?;
                (covers && status.pinning == Pinning::Flexible && !status.armed).then(|| Waiting {
                    request: name.clone(),
                    missed_windows: status.missed_windows,
                })
            })
            .collect();
        waiting.sort_by(|a, b| a.request.cmp(&b.request));
        waiting
    }

    fn delivered(&self, event: &Event) -> Delivered {
        let request = self
            .names
            .get(&event.request)
            .cloned()
            .unwrap_or_else(|| "?".to_owned());
        let mut d = Delivered {
            request,
            event: "hit",
            task: event.task.0,
            cpu: event.cpu.0,
            pc: Hex(event.pc),
            timing: None,
            access: None,
            address: None,
            old: None,
            new: None,
            old_exact: None,
            iterations: None,
            reason: None,
        };
        match event.kind {
            EventKind::Hit(hit) => {
                d.timing = Some(match hit.timing {
                    Timing::Before => "before",
                    Timing::After => "after",
                });
                d.access = hit.access.map(access_text);
                d.address = hit.address.map(Hex);
                if let Some(values) = hit.values {
                    d.old = Some(Bytes(values.old().to_vec()));
                    d.new = Some(Bytes(values.new_value().to_vec()));
                    d.old_exact = Some(values.old_exact);
                }
                d.iterations = hit.iterations.map(|i| RepIterations {
                    remaining: i.remaining,
                    since: i.since,
                });
            }
            EventKind::Disabled(reason) => {
                d.event = "disabled";
                d.reason = Some(disable_text(reason));
            }
        }
        d
    }

    fn note(&mut self, anchor: Anchor, entry: Entry) {
        self.notes.push_back((anchor, entry));
    }
}

impl<I: Model> Kernel<I> for Observer<I> {
    fn exception(&mut self, cx: &mut KernelContext<'_, I>, exception: &I::Exception) -> Resume {
        let anchor = self.position;
        let exit = anchor + 1;
        self.position += 2;
        let (task, cpu) = (cx.task(), cx.cpu());
        let pending_before = self.hal.dispatcher.pending_step(task);
        let regs_before = I::debug_registers(cx.regs());
        let events_before = self.hal.events.len();
        let errors_before = self.hal.errors.len();
        let stats_before = self.hal.dispatcher.statistics();

        let mut resume = self.hal.exception(cx, exception);

        let pending_after = self.hal.dispatcher.pending_step(task);
        let stats = self.hal.dispatcher.statistics();
        let mut changes = Some(diff(&regs_before, &I::debug_registers(cx.regs())));
        let mut take = || changes.take().unwrap_or_default();
        let mut notes = Vec::new();
        if pending_before.is_some() && pending_after.is_none() {
            notes.push(Entry::Interlock {
                task: task.0,
                step: "re-arm",
                text: "the stepped instruction completed: re-arm the slots, deliver the hits"
                    .to_owned(),
                registers: take(),
            });
        }
        if stats.steps > stats_before.steps {
            notes.push(Entry::Interlock {
                task: task.0,
                step: "disarm",
                text: "trigger-before match: disarm every slot that can fire on this instruction"
                    .to_owned(),
                registers: take(),
            });
            notes.push(if pending_after.is_some() {
                Entry::Interlock {
                    task: task.0,
                    step: "single-step",
                    text: I::STEP_TEXT.to_owned(),
                    registers: Vec::new(),
                }
            } else {
                Entry::Interlock {
                    task: task.0,
                    step: "emulate",
                    text: "kernel mode: emulate the instruction, re-arm, deliver".to_owned(),
                    registers: Vec::new(),
                }
            });
        }
        if stats.disabled > stats_before.disabled {
            notes.push(Entry::Interlock {
                task: task.0,
                step: "disable",
                text: "the instruction cannot be stepped: leave the slots disarmed and tell the consumer"
                    .to_owned(),
                registers: take(),
            });
        }
        let rest = take();
        if !rest.is_empty() {
            notes.push(Entry::Registers {
                task: task.0,
                cpu: cpu.0,
                why: "handler",
                registers: rest,
            });
        }
        for n in notes.drain(..) {
            self.note(anchor, n);
        }
        let new_events: Vec<Event> = self.hal.events[events_before..].to_vec();
        for event in &new_events {
            notes.push(Entry::Event(self.delivered(event)));
        }
        if stats.stray_hits > stats_before.stray_hits {
            notes.push(Entry::Stray {
                count: stats.stray_hits - stats_before.stray_hits,
            });
        }
        for error in &self.hal.errors[errors_before..] {
            notes.push(Entry::BridgeError {
                text: error.to_string(),
            });
        }
        // The dispatcher says whose single step this was: with no interlock step pending, or
        // with one that a debugger's own step shared (PPC64 MSR[SE] over a watched store).
        let debuggers = self
            .hal
            .last_resolution
            .is_some_and(|r| r.foreign_single_step);
        if I::single_step(exception) && debuggers {
            cx.set_single_step(false);
            notes.push(Entry::Debugger {
                task: task.0,
                text: "the debugger's single-step trap (any interlock step of the layer completed with it): it stops the task and clears the step"
                    .to_owned(),
            });
            resume = Resume::Stop;
        } else if resume == Resume::Stop {
            notes.push(Entry::Stop { task: task.0 });
        }
        for n in notes {
            self.note(exit, n);
        }
        resume
    }

    fn fault(&mut self, cx: &mut KernelContext<'_, I>, fault: &Fault) -> Resume {
        self.hal.fault(cx, fault)
    }

    fn interrupt(&mut self, cx: &mut KernelContext<'_, I>) {
        self.hal.interrupt(cx);
    }

    fn switched_in(&mut self, cx: &mut KernelContext<'_, I>) {
        let anchor = self.position;
        self.position += 1;
        let (task, cpu) = (cx.task(), cx.cpu());
        let before = I::debug_registers(cx.regs());
        let errors_before = self.hal.errors.len();
        self.hal.switched_in(cx);
        let installed = I::debug_registers(cx.regs());
        let waiting = self.unscheduled(task, cpu);
        if !waiting.is_empty() {
            self.note(
                anchor,
                Entry::Unscheduled {
                    cpu: cpu.0,
                    task: task.0,
                    waiting,
                },
            );
        }
        let changes = diff(&before, &installed);
        if !changes.is_empty() {
            self.note(
                anchor,
                Entry::Registers {
                    task: task.0,
                    cpu: cpu.0,
                    why: "switch-in",
                    registers: changes,
                },
            );
        }
        let errors: Vec<String> = self.hal.errors[errors_before..]
            .iter()
            .map(ToString::to_string)
            .collect();
        for text in errors {
            self.note(anchor, Entry::BridgeError { text });
        }
        let raw: Vec<(String, u64)> = self
            .raw
            .iter()
            .filter(|(t, _, _)| *t == task)
            .map(|(_, r, v)| (r.clone(), *v))
            .collect();
        if !raw.is_empty() {
            for (register, value) in raw {
                if let Err(e) = I::raw_write(cx.regs_mut(), &register, value) {
                    self.note(anchor, Entry::BridgeError { text: e });
                }
            }
            let changes = diff(&installed, &I::debug_registers(cx.regs()));
            self.note(
                anchor,
                Entry::Registers {
                    task: task.0,
                    cpu: cpu.0,
                    why: "raw",
                    registers: changes,
                },
            );
        }
    }

    fn switched_out(&mut self, cx: &mut KernelContext<'_, I>) {
        self.hal.switched_out(cx);
    }

    fn pc_changed(&mut self, cx: &mut KernelContext<'_, I>, old_pc: u64) {
        let anchor = self.position;
        self.position += 1;
        let task = cx.task();
        let before = I::debug_registers(cx.regs());
        let cancelled = self.hal.dispatcher.statistics().cancelled_steps;
        self.hal.pc_changed(cx, old_pc);
        if self.hal.dispatcher.statistics().cancelled_steps > cancelled {
            let changes = diff(&before, &I::debug_registers(cx.regs()));
            self.note(
                anchor,
                Entry::Interlock {
                    task: task.0,
                    step: "cancel",
                    text: "the PC moved while a step was pending: cancel the step and re-arm; nothing is delivered, the access never happened"
                        .to_owned(),
                    registers: changes,
                },
            );
        }
    }
}

const fn delivery_name(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::After => "after",
        Delivery::Before => "before",
        Delivery::Native => "native",
    }
}

/// Build a HAL request from its spec.
///
/// # Errors
/// The HAL's validation error.
pub fn build_request(spec: &RequestSpec, addr: u64) -> Result<Request, hwbkpt_hal::RequestError> {
    let access = match spec.access {
        AccessName::R => AccessKind::READ,
        AccessName::W => AccessKind::WRITE,
        AccessName::Rw => AccessKind::READ_WRITE,
        AccessName::X => AccessKind::EXECUTE,
    };
    let task = TaskId(spec.task.unwrap_or(0));
    let cpu = CpuId(spec.cpu.unwrap_or(0));
    let scope = match spec.scope {
        ScopeName::Task => Scope::Task(task),
        ScopeName::Cpu => Scope::Cpu(cpu),
        ScopeName::TaskOnCpu => Scope::TaskOnCpu(task, cpu),
        ScopeName::AllCpus => Scope::AllCpus,
    };
    let privilege = spec
        .privilege
        .as_ref()
        .map_or(PrivilegeFilter::USER, |list| {
            list.iter().fold(PrivilegeFilter::empty(), |acc, p| {
                acc | match p {
                    PrivilegeName::User => PrivilegeFilter::USER,
                    PrivilegeName::Kernel => PrivilegeFilter::KERNEL,
                    PrivilegeName::Hypervisor => PrivilegeFilter::HYPERVISOR,
                }
            })
        });
    let mut builder = Request::builder(addr, spec.len.0, access)
        .scope(scope)
        .privilege(privilege)
        .origin(match spec.origin {
            OriginName::User => Origin::User,
            OriginName::Kernel => Origin::Kernel,
        })
        .pinning(match spec.pinning {
            PinningName::Pinned => Pinning::Pinned,
            PinningName::Flexible => Pinning::Flexible,
        })
        .sharing(match spec.sharing {
            SharingName::Shared => Sharing::Shared,
            SharingName::Exclusive => Sharing::Exclusive,
        });
    if let Some(delivery) = spec.delivery {
        builder = builder.delivery(match delivery {
            DeliveryName::After => Delivery::After,
            DeliveryName::Before => Delivery::Before,
            DeliveryName::Native => Delivery::Native,
        });
    }
    builder.build()
}

fn parse_hex_bytes(text: &str) -> Option<Vec<u8>> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Collects the timeline from the trace and the observer's notes.
struct Recorder {
    seen: usize,
    position: Anchor,
    pending_exit: Option<Anchor>,
    timeline: Vec<Entry>,
    pending_accesses: Vec<Entry>,
    counters: Counters,
    checkstopped: bool,
}

impl Recorder {
    fn absorb<I: Model>(
        &mut self,
        m: &mut Machine<I, Observer<I>>,
        listing: &BTreeMap<u64, String>,
    ) {
        let events: Vec<TraceEvent<I::Exception>> = m.trace().events()[self.seen..].to_vec();
        self.seen += events.len();
        for event in events {
            let mut anchor = None;
            match event {
                TraceEvent::Retired {
                    cpu,
                    task,
                    pc,
                    next_pc,
                    ..
                } => {
                    self.counters.instructions += 1;
                    let mut text = listing
                        .get(&pc)
                        .cloned()
                        .unwrap_or_else(|| "(kernel code)".to_owned());
                    if self.pending_exit.is_some() {
                        text.push_str("  (emulated by the kernel)");
                    }
                    self.timeline.push(Entry::Instruction {
                        cpu: cpu.0,
                        task: task.0,
                        pc: Hex(pc),
                        next_pc: Hex(next_pc),
                        text,
                    });
                    self.flush();
                }
                TraceEvent::Access(a) => self.pending_accesses.push(Entry::Access {
                    addr: Hex(a.addr),
                    size: a.size,
                    access: access_text(a.kind),
                    before: Bytes(a.before.to_vec()),
                    after: Bytes(a.after.to_vec()),
                }),
                TraceEvent::Exception {
                    cpu,
                    task,
                    pc,
                    status,
                } => {
                    self.flush();
                    if I::breakpoint_match(&status) || I::single_step(&status) {
                        self.counters.raw_exceptions += 1;
                    }
                    let (status, text) = I::describe(&status);
                    self.timeline.push(Entry::Exception {
                        cpu: cpu.0,
                        task: task.0,
                        pc: Hex(pc),
                        status,
                        text,
                    });
                    anchor = Some(self.position);
                    self.pending_exit = Some(self.position + 1);
                    self.position += 2;
                }
                TraceEvent::Fault { task, fault, .. } => {
                    self.flush();
                    self.timeline.push(Entry::Fault {
                        task: task.0,
                        pc: Hex(fault.pc),
                        text: fault_text(fault.kind),
                    });
                }
                TraceEvent::KernelEntry { .. } => {}
                TraceEvent::KernelExit { .. } => {
                    if let Some(exit) = self.pending_exit.take() {
                        self.flush();
                        anchor = Some(exit);
                    }
                }
                TraceEvent::Interrupt { cpu, .. } => {
                    self.flush();
                    self.timeline.push(Entry::Interrupt { cpu: cpu.0 });
                }
                TraceEvent::ContextSwitch { cpu, from, to } => {
                    self.flush();
                    self.timeline.push(Entry::Switch {
                        cpu: cpu.0,
                        from: from.map(|t| t.0),
                        to: to.map(|t| t.0),
                    });
                    if to.is_some() {
                        anchor = Some(self.position);
                        self.position += 1;
                    }
                }
                TraceEvent::Migration { task, from, to } => {
                    self.flush();
                    self.timeline.push(Entry::Migration {
                        task: task.0,
                        from: from.0,
                        to: to.0,
                    });
                }
                TraceEvent::PcChanged { task, from, to } => {
                    self.flush();
                    self.timeline.push(Entry::PcChanged {
                        task: task.0,
                        from: Hex(from),
                        to: Hex(to),
                    });
                    anchor = Some(self.position);
                    self.position += 1;
                }
                TraceEvent::TaskExit { task, killed, .. } => {
                    self.flush();
                    self.timeline.push(Entry::Exit {
                        task: task.0,
                        killed,
                    });
                }
                TraceEvent::Checkstop {
                    cpu, pc, reason, ..
                } => {
                    self.flush();
                    self.checkstopped = true;
                    self.timeline.push(Entry::Checkstop {
                        cpu: cpu.0,
                        pc: Hex(pc),
                        reason: reason.to_owned(),
                    });
                }
            }
            if let Some(anchor) = anchor {
                let notes = &mut m.kernel_mut().notes;
                while notes.front().is_some_and(|(a, _)| *a <= anchor) {
                    if let Some((_, entry)) = notes.pop_front() {
                        self.timeline.push(entry);
                    }
                }
            }
        }
        self.flush();
        // Notes whose trace position never came (a killed task has no kernel exit).
        let notes = &mut m.kernel_mut().notes;
        while notes.front().is_some_and(|(a, _)| *a < self.position) {
            if let Some((_, entry)) = notes.pop_front() {
                self.timeline.push(entry);
            }
        }
    }

    fn flush(&mut self) {
        self.timeline.append(&mut self.pending_accesses);
    }
}

/// Fold runs of `rep` iterations (an instruction whose next PC is itself) with their
/// accesses into one [`Entry::Iterations`]; the iteration that ends the run stays.
fn fold_iterations(timeline: Vec<Entry>) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::with_capacity(timeline.len());
    for entry in timeline {
        match &entry {
            Entry::Instruction {
                cpu,
                task,
                pc,
                next_pc,
                text,
            } if pc == next_pc => {
                if let Some(Entry::Iterations {
                    pc: folded,
                    count,
                    task: t,
                    ..
                }) = out.last_mut()
                    && folded == pc
                    && t == task
                {
                    *count += 1;
                    continue;
                }
                out.push(Entry::Iterations {
                    cpu: *cpu,
                    task: *task,
                    pc: *pc,
                    text: text.clone(),
                    count: 1,
                    accesses: 0,
                    first: Hex(u64::MAX),
                    last: Hex(0),
                });
            }
            Entry::Access { addr, size, .. } => {
                let end = addr.0 + u64::from(*size).saturating_sub(1);
                match out.last_mut() {
                    Some(Entry::Iterations {
                        accesses,
                        first,
                        last,
                        ..
                    }) => {
                        *accesses += 1;
                        first.0 = first.0.min(addr.0);
                        last.0 = last.0.max(end);
                        continue;
                    }
                    Some(Entry::Accesses { count, first, last }) => {
                        *count += 1;
                        first.0 = first.0.min(addr.0);
                        last.0 = last.0.max(end);
                        continue;
                    }
                    _ => {}
                }
                // A fifth access after one instruction: fold them all into one line.
                let run = out
                    .iter()
                    .rev()
                    .take_while(|e| matches!(e, Entry::Access { .. }))
                    .count();
                if run >= 4 {
                    let folded: Vec<Entry> = out.split_off(out.len() - run);
                    let (mut lo, mut hi) = (addr.0, end);
                    for e in &folded {
                        if let Entry::Access { addr, size, .. } = e {
                            lo = lo.min(addr.0);
                            hi = hi.max(addr.0 + u64::from(*size).saturating_sub(1));
                        }
                    }
                    out.push(Entry::Accesses {
                        count: run as u64 + 1,
                        first: Hex(lo),
                        last: Hex(hi),
                    });
                    continue;
                }
                out.push(entry);
            }
            _ => out.push(entry),
        }
    }
    out
}

fn fault_text(kind: FaultKind) -> String {
    match kind {
        FaultKind::Unmapped { addr } => format!("unmapped address {addr:#x}"),
        FaultKind::InvalidInstruction => "invalid instruction".to_owned(),
        FaultKind::Privileged => "privileged instruction in user mode".to_owned(),
        FaultKind::GeneralProtection => "#GP".to_owned(),
        _ => "fault".to_owned(),
    }
}

fn stop_text(stop: StopReason, steps: u64) -> String {
    match stop {
        StopReason::Budget => format!("step budget used ({steps} steps)"),
        StopReason::Exited => format!("task exited ({steps} steps)"),
        StopReason::Killed => format!("task killed ({steps} steps)"),
        StopReason::Stopped => format!("task stopped for its debugger ({steps} steps)"),
        StopReason::Checkstop => format!("machine checkstopped ({steps} steps)"),
    }
}

/// Step budget of a `run` without `steps`.
const RUN_BUDGET: u64 = 10_000;
/// Stops a `run` without `steps` resumes through.
const MAX_RESUMES: usize = 8;

/// A scenario's program and memory loaded into a new machine, its tasks spawned, nothing run
/// and no request registered.
pub struct Loaded<I: Model, K: Kernel<I>> {
    /// The machine.
    pub machine: Machine<I, K>,
    /// The program as assembled for this model (labels, listing).
    pub assembled: Assembled,
    /// The scenario's tasks, in order (one user task at the program's start by default).
    pub tasks: Vec<TaskId>,
    /// Where the program is loaded.
    pub code: u64,
    /// The initial base register (the first memory region).
    pub base: u64,
}

/// Build a machine of model `I` running `kernel`, and load the scenario's memory, program
/// and tasks into it: what `run` does before it registers requests, and what `gdbserver`
/// serves.
///
/// # Errors
/// [`ScenarioError`] for scenario content this architecture cannot run.
pub fn load<I: Model, K: Kernel<I>>(
    source: &Source,
    isa: I,
    kernel: K,
) -> Result<Loaded<I, K>, ScenarioError> {
    let s = &source.scenario;
    let code = s.code.map_or(I::CODE, |c| c.0);
    let base = s.memory.first().map_or(0, |r| r.get_ref().addr.0);
    let assembled = I::assemble(source, &s.program, code, base)?;
    let mut m = Machine::new(isa, kernel, s.cpus);
    let code_len = (assembled.bytes.len() as u64).max(1);
    m.memory_mut()
        .map(code, code_len, RegionAttributes::default());
    I::map_extra(m.memory_mut());
    for region in &s.memory {
        let r = region.get_ref();
        m.memory_mut().map(
            r.addr.0,
            r.size.0.max(1),
            RegionAttributes {
                cache_inhibited: r.cache_inhibited,
            },
        );
        if let Some(text) = &r.bytes {
            let bytes = parse_hex_bytes(text).ok_or_else(|| {
                source.error_at(
                    region.span(),
                    ErrorClass::Value,
                    "`bytes` must be pairs of hex digits, e.g. \"11 22 33\"",
                )
            })?;
            m.memory_mut().write(r.addr.0, &bytes).map_err(|e| {
                source.error_at(
                    region.span(),
                    ErrorClass::Value,
                    format!("`bytes` do not fit in the region: {e}"),
                )
            })?;
        }
    }
    m.memory_mut().write(code, &assembled.bytes).map_err(|e| {
        ScenarioError::at(
            &source.path,
            &source.text,
            None,
            ErrorClass::Value,
            format!("the program does not fit at {code:#x}: {e}"),
        )
    })?;
    let specs: Vec<_> = if s.task.is_empty() {
        vec![(None, crate::scenario::TaskMode::User)]
    } else {
        s.task
            .iter()
            .map(|t| (t.get_ref().start.clone(), t.get_ref().mode))
            .collect()
    };
    let mut tasks = Vec::new();
    for (start, mode) in specs {
        let entry = start
            .and_then(|l| assembled.labels.get(&l).copied())
            .unwrap_or(code);
        tasks.push(m.spawn(I::context(entry, mode, base)));
    }
    Ok(Loaded {
        machine: m,
        assembled,
        tasks,
        code,
        base,
    })
}

/// Run a scenario on model `I` with `profile`.
///
/// # Errors
/// [`ScenarioError`] for scenario content this architecture cannot run.
#[allow(
    clippy::too_many_lines,
    reason = "one linear walk: machine, memory, tasks, requests, schedule"
)]
pub fn run<I: Model>(source: &Source, profile: Profile) -> Result<RunReport, ScenarioError> {
    let s = &source.scenario;
    let (isa, arch) = I::build(profile);
    let Loaded {
        machine: mut m,
        assembled,
        tasks,
        code,
        base,
    } = load(source, isa, Observer::new(HalKernel::new(arch)))?;
    for raw in &s.raw {
        let w = raw.get_ref();
        if crate::scenario::raw_register_arch(&w.register) != Some(I::ARCH) {
            continue;
        }
        let mut scratch = I::context(code, TaskMode::User, base);
        I::raw_write(&mut scratch, &w.register, w.value.0)
            .map_err(|e| source.error_at(raw.span(), ErrorClass::Arch, e))?;
        m.kernel_mut()
            .raw
            .push((TaskId(w.task), w.register.to_ascii_lowercase(), w.value.0));
    }

    let mut requests = Vec::new();
    let mut ids = HashMap::new();
    for spanned in &s.request {
        let spec = spanned.get_ref();
        if spec.only.is_some_and(|a| a != I::ARCH) {
            continue;
        }
        let addr = match (&spec.addr, &spec.at) {
            (Some(a), _) => a.0,
            (None, Some(label)) => *assembled.labels.get(label).ok_or_else(|| {
                source.error_at(
                    spanned.span(),
                    ErrorClass::Arch,
                    format!(
                        "label `{label}` is on an op left out on {}",
                        I::ARCH.title()
                    ),
                )
            })?,
            (None, None) => 0,
        };
        let mut report = RequestReport {
            name: spec.name.clone(),
            addr: Hex(addr),
            len: spec.len.0,
            access: format!("{:?}", spec.access).to_lowercase(),
            delivery: "after",
            accepted: false,
            plan: Vec::new(),
            refused: None,
            missed_windows: None,
        };
        match build_request(spec, addr) {
            Ok(request) => {
                report.delivery = delivery_name(request.delivery());
                let memory = m.memory().clone();
                let registered = m
                    .kernel_mut()
                    .hal
                    .dispatcher
                    .register(request, &mut MemoryView(&memory));
                match registered {
                    Ok(id) => {
                        report.accepted = true;
                        if let Some(plan) = m.kernel().hal.dispatcher.plan(id) {
                            report.plan = plan.iter().map(I::program_text).collect();
                        }
                        m.kernel_mut().names.insert(id, spec.name.clone());
                        ids.insert(spec.name.clone(), id);
                    }
                    Err(e) => report.refused = Some(e.to_string()),
                }
            }
            Err(e) => report.refused = Some(e.to_string()),
        }
        requests.push(report);
    }

    let mut rec = Recorder {
        seen: 0,
        position: 0,
        pending_exit: None,
        timeline: Vec::new(),
        pending_accesses: Vec::new(),
        counters: Counters::default(),
        checkstopped: false,
    };
    let mut end = String::from("nothing ran");
    let default_schedule = s.schedule.is_empty();
    let actions: Vec<crate::scenario::Action> = if default_schedule {
        (0..tasks.len() as u64)
            .map(|t| crate::scenario::Action {
                action: ActionName::Run,
                task: Some(t),
                cpu: Some(u32::try_from(t).unwrap_or(0) % s.cpus),
                steps: None,
                pc: None,
                request: None,
                seed: None,
                rounds: None,
            })
            .collect()
    } else {
        s.schedule.iter().map(|a| a.get_ref().clone()).collect()
    };
    for action in actions {
        let task = TaskId(action.task.unwrap_or(0));
        let cpu = CpuId(action.cpu.unwrap_or(0));
        let text = match action.action {
            ActionName::Run => match action.steps {
                Some(n) => format!("run task {} on CPU {} for {n} steps", task.0, cpu.0),
                None => format!("run task {} on CPU {} to the end", task.0, cpu.0),
            },
            ActionName::Preempt => format!("preempt CPU {}", cpu.0),
            ActionName::Migrate => format!("migrate task {} to CPU {}", task.0, cpu.0),
            ActionName::Interrupt => format!("interrupt CPU {}", cpu.0),
            ActionName::SetPc => {
                format!("set the PC of task {} (signal delivery / ptrace)", task.0)
            }
            ActionName::SingleStep => format!("debugger: single-step task {}", task.0),
            ActionName::Rearm => format!(
                "re-arm request `{}` (ptrace after a stop)",
                action.request.clone().unwrap_or_default()
            ),
            ActionName::Random => format!(
                "random schedule, seed {}, {} decisions",
                action.seed.unwrap_or(0),
                action.rounds.unwrap_or(32)
            ),
        };
        rec.timeline.push(Entry::Action { text });
        let outcome = match action.action {
            ActionName::Run => {
                if let Some(steps) = action.steps {
                    m.run(task, cpu, steps)
                        .map(|o| stop_text(o.stop, o.steps))
                        .unwrap_or_else(|e| format!("refused: {e}"))
                } else {
                    let mut text = String::new();
                    for round in 0..MAX_RESUMES {
                        if round > 0 {
                            rec.absorb(&mut m, &assembled.listing);
                            rec.timeline.push(Entry::Outcome { text: text.clone() });
                            rec.timeline.push(Entry::Action {
                                text: format!("resume task {} on CPU {}", task.0, cpu.0),
                            });
                        }
                        match m.run(task, cpu, RUN_BUDGET) {
                            Ok(o) => {
                                text = stop_text(o.stop, o.steps);
                                if o.stop != StopReason::Stopped {
                                    break;
                                }
                            }
                            Err(e) => {
                                text = format!("refused: {e}");
                                break;
                            }
                        }
                    }
                    text
                }
            }
            ActionName::Preempt => result_text(m.preempt(cpu)),
            ActionName::Migrate => result_text(m.migrate(task, cpu)),
            ActionName::Interrupt => result_text(m.interrupt(cpu)),
            ActionName::SetPc => {
                let pc = match &action.pc {
                    Some(Target::Address(a)) => a.0,
                    Some(Target::Label(l)) => assembled.labels.get(l).copied().unwrap_or(code),
                    None => code,
                };
                result_text(m.set_pc(task, pc))
            }
            ActionName::SingleStep => result_text(m.with_task(task, |cx| cx.set_single_step(true))),
            ActionName::Rearm => {
                let name = action.request.clone().unwrap_or_default();
                match ids.get(&name) {
                    Some(id) => {
                        let rearmed = m.kernel_mut().hal.dispatcher.rearm(*id);
                        match rearmed {
                            // The slots go back in at the next switch-in (return to user).
                            Ok(()) => {
                                let home = m.task(task).map(|t| t.home());
                                match home {
                                    Some(c) => result_text(m.preempt(c)),
                                    None => "done".to_owned(),
                                }
                            }
                            Err(e) => format!("refused: {e}"),
                        }
                    }
                    None => format!("refused: `{name}` was not registered"),
                }
            }
            ActionName::Random => {
                let mut policy = hwbkpt_sim::RandomPolicy::new(action.seed.unwrap_or(0));
                let rounds = usize::try_from(action.rounds.unwrap_or(32)).unwrap_or(32);
                let taken = m.run_random(&mut policy, rounds);
                format!("{} decisions taken", taken.len())
            }
        };
        rec.absorb(&mut m, &assembled.listing);
        rec.timeline.push(Entry::Outcome {
            text: outcome.clone(),
        });
        end = outcome;
        if rec.checkstopped {
            break;
        }
    }
    let kernel = m.kernel();
    for report in &mut requests {
        let status = ids
            .get(&report.name)
            .and_then(|id| kernel.hal.dispatcher.status(*id));
        report.missed_windows = status
            .filter(|s| s.pinning == Pinning::Flexible)
            .map(|s| s.missed_windows);
    }
    let delivered: Vec<Delivered> = kernel
        .hal
        .events
        .iter()
        .map(|e| kernel.delivered(e))
        .collect();
    let stats = kernel.hal.dispatcher.statistics();
    rec.counters.delivered_hits = stats.delivered_hits;
    rec.counters.stray_hits = stats.stray_hits;
    rec.counters.interlock_steps = stats.steps;
    rec.counters.cancelled_steps = stats.cancelled_steps;
    rec.counters.disabled = stats.disabled;
    if rec.checkstopped {
        end = "machine checkstopped".to_owned();
    }
    Ok(RunReport {
        arch: I::ARCH.name(),
        profile: profile.name(),
        cpus: s.cpus,
        skipped_ops: assembled.skipped,
        requests,
        timeline: fold_iterations(rec.timeline),
        delivered,
        counters: rec.counters,
        end,
        expectations: None,
    })
}

fn result_text(result: Result<(), hwbkpt_sim::MachineError>) -> String {
    match result {
        Ok(()) => "done".to_owned(),
        Err(e) => format!("refused: {e}"),
    }
}

/// The profile a command runs `arch` with: `--profile` if it is of that architecture, else
/// the scenario's.
#[must_use]
pub fn profile_for(source: &Source, arch: Arch, requested: Option<Profile>) -> Profile {
    requested
        .filter(|p| p.arch() == arch)
        .unwrap_or_else(|| source.profile_for(arch))
}

/// Run on whichever architecture `arch` names.
///
/// # Errors
/// [`ScenarioError`] for content the architecture cannot run.
pub fn run_arch(source: &Source, arch: Arch, profile: Profile) -> Result<RunReport, ScenarioError> {
    let mut report = match arch {
        Arch::X86 => run::<hwbkpt_sim::x86::X86>(source, profile)?,
        Arch::Ppc64 => run::<hwbkpt_sim::ppc64::Ppc64>(source, profile)?,
    };
    report.expectations = Some(check_expectations(source, &report, arch, profile));
    Ok(report)
}
