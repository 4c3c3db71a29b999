//! What the commands produce, as serde types: the JSON schema (version
//! [`SCHEMA_VERSION`]) and the input of the text renderer.
//!
//! Every command prints one JSON document: `{"schema": "hwbkpt-sim", "schema_version": 1,
//! "command": …, …}`. Addresses and register values are strings of hex digits with `0x`
//! (64-bit values do not survive every JSON reader as numbers); byte strings are hex digits
//! in memory order, two per byte.

use serde::Serialize;

/// The JSON schema version. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A 64-bit value shown as `0x…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hex(pub u64);

impl Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:#x}", self.0))
    }
}

impl core::fmt::Display for Hex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// Bytes in memory order, shown as hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// Hex digits without spaces.
    #[must_use]
    pub fn compact(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.compact())
    }
}

impl core::fmt::Display for Bytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|b| format!("{b:02x}")).collect();
        f.write_str(&parts.join(" "))
    }
}

/// One named register value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegValue {
    /// Register name.
    pub name: String,
    /// Value.
    pub value: Hex,
}

/// One register write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegChange {
    /// Register name.
    pub name: String,
    /// Before.
    pub old: Hex,
    /// After.
    pub new: Hex,
}

/// An event the HAL delivered to a consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivered {
    /// The request's name.
    pub request: String,
    /// `hit` or `disabled`.
    pub event: &'static str,
    /// Task.
    pub task: u64,
    /// CPU.
    pub cpu: u32,
    /// Trap-frame PC when the event was produced.
    pub pc: Hex,
    /// `before` or `after` (hits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing: Option<&'static str>,
    /// Access kind, where the hardware lets the layer know it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// Address, where the hardware reports one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Hex>,
    /// Old bytes of the watched range touched by the access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Bytes>,
    /// New bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Bytes>,
    /// Whether `old` was read just before the access (`false`: last observed by the layer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_exact: Option<bool>,
    /// x86: the `rep movs`/`rep stos` iterations the hit comes from, when the trap
    /// interrupted one with iterations left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterations: Option<RepIterations>,
    /// Why the request was disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The iterations of an interrupted `rep` a hit comes from (`hwbkpt::StringIterations`),
/// each named by the count it left in RCX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RepIterations {
    /// The count left when the trap was taken: the last iteration that may have hit.
    pub remaining: u64,
    /// The count left at the task's previous trap in the same instruction: the hit came
    /// after it. Absent when the hit may come from any iteration since the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
}

/// One line of a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A switch-in left flexible requests covering the task without a slot: not armed in
    /// this window (the reservation engine rotates them fairly).
    Unscheduled {
        /// CPU.
        cpu: u32,
        /// Task.
        task: u64,
        /// The waiting requests, each with the windows it has missed so far.
        waiting: Vec<Waiting>,
    },
    /// A schedule action starts.
    Action {
        /// What it does.
        text: String,
    },
    /// What the action ended with.
    Outcome {
        /// Why it returned.
        text: String,
    },
    /// An instruction (or one `rep` iteration) retired.
    Instruction {
        /// CPU.
        cpu: u32,
        /// Task.
        task: u64,
        /// Its address.
        pc: Hex,
        /// Where execution continues.
        next_pc: Hex,
        /// Disassembly.
        text: String,
    },
    /// Consecutive iterations of one `rep` string instruction, folded into one line.
    Iterations {
        /// CPU.
        cpu: u32,
        /// Task.
        task: u64,
        /// The instruction.
        pc: Hex,
        /// Disassembly.
        text: String,
        /// Iterations (retired steps) folded.
        count: u64,
        /// Accesses folded.
        accesses: u64,
        /// Lowest byte accessed.
        first: Hex,
        /// Highest byte accessed.
        last: Hex,
    },
    /// More than four accesses of the instruction above, folded into one line.
    Accesses {
        /// Accesses folded.
        count: u64,
        /// Lowest byte accessed.
        first: Hex,
        /// Highest byte accessed.
        last: Hex,
    },
    /// A memory access made by the instruction above.
    Access {
        /// First byte.
        addr: Hex,
        /// Bytes.
        size: u32,
        /// `read`, `write` or `read|write`.
        access: String,
        /// Bytes before.
        before: Bytes,
        /// Bytes after.
        after: Bytes,
    },
    /// The CPU raised an exception: its raw status.
    Exception {
        /// CPU.
        cpu: u32,
        /// Task.
        task: u64,
        /// Trap-frame PC.
        pc: Hex,
        /// Raw status registers.
        status: Vec<RegValue>,
        /// What the status says.
        text: String,
    },
    /// A step of the interlock: `disarm`, `single-step`, `emulate`, `re-arm`, `cancel`,
    /// `disable`.
    Interlock {
        /// Task.
        task: u64,
        /// The step.
        step: &'static str,
        /// What it does.
        text: String,
        /// Debug registers written.
        registers: Vec<RegChange>,
    },
    /// Debug registers written outside the interlock.
    Registers {
        /// Task.
        task: u64,
        /// CPU.
        cpu: u32,
        /// Why (`switch-in`, `raw`, `handler`).
        why: &'static str,
        /// The writes.
        registers: Vec<RegChange>,
    },
    /// An event delivered to a consumer.
    Event(Delivered),
    /// Hardware matches no request wanted: counted, never delivered.
    Stray {
        /// How many.
        count: u64,
    },
    /// A ptrace-style stop before the access.
    Stop {
        /// Task.
        task: u64,
    },
    /// A single step that was not the layer's (a debugger's): reported to it.
    Debugger {
        /// Task.
        task: u64,
        /// What happened.
        text: String,
    },
    /// The register backend refused a write.
    BridgeError {
        /// The error.
        text: String,
    },
    /// An instruction faulted.
    Fault {
        /// Task.
        task: u64,
        /// Its address.
        pc: Hex,
        /// What went wrong.
        text: String,
    },
    /// An external interrupt.
    Interrupt {
        /// CPU.
        cpu: u32,
    },
    /// A context switch.
    Switch {
        /// CPU.
        cpu: u32,
        /// Task switched out.
        from: Option<u64>,
        /// Task switched in.
        to: Option<u64>,
    },
    /// A task moved to another CPU.
    Migration {
        /// Task.
        task: u64,
        /// Old CPU.
        from: u32,
        /// New CPU.
        to: u32,
    },
    /// Kernel code moved a task's PC.
    PcChanged {
        /// Task.
        task: u64,
        /// Before.
        from: Hex,
        /// After.
        to: Hex,
    },
    /// A task ended.
    Exit {
        /// Task.
        task: u64,
        /// Killed after a fault.
        killed: bool,
    },
    /// The machine stopped dead.
    Checkstop {
        /// CPU.
        cpu: u32,
        /// PC.
        pc: Hex,
        /// Why.
        reason: String,
    },
}

/// A flexible request left without a slot at a switch-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    /// The request's name.
    pub request: String,
    /// Windows it has missed so far, this one included.
    pub missed_windows: u64,
}

/// A request and what became of it at registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestReport {
    /// Name.
    pub name: String,
    /// First byte.
    pub addr: Hex,
    /// Bytes.
    pub len: u64,
    /// Access kinds.
    pub access: String,
    /// `after`, `before` or `native`.
    pub delivery: &'static str,
    /// Whether the HAL accepted it.
    pub accepted: bool,
    /// The hardware programs of its plan.
    pub plan: Vec<String>,
    /// Why it was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Flexible requests only: scheduling windows (switch-ins covering it) in which the
    /// reservation engine found no room to arm it, over the whole run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed_windows: Option<u64>,
}

/// Counters of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Counters {
    /// Instructions (and `rep` iterations) retired.
    pub instructions: u64,
    /// Raw debug exceptions the CPU raised.
    pub raw_exceptions: u64,
    /// Hits delivered.
    pub delivered_hits: u64,
    /// Hardware matches no request wanted.
    pub stray_hits: u64,
    /// Interlock steps started.
    pub interlock_steps: u64,
    /// Pending steps cancelled.
    pub cancelled_steps: u64,
    /// Requests disabled.
    pub disabled: u64,
}

/// The result of checking expectations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectReport {
    /// Expectations that applied to this run.
    pub checked: usize,
    /// Whether everything matched.
    pub passed: bool,
    /// What differed.
    pub mismatches: Vec<String>,
}

/// One scenario on one CPU model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// `x86` or `ppc64`.
    pub arch: &'static str,
    /// CPU profile.
    pub profile: &'static str,
    /// CPUs.
    pub cpus: u32,
    /// Program ops left out because they do not exist on this architecture.
    pub skipped_ops: Vec<String>,
    /// Requests.
    pub requests: Vec<RequestReport>,
    /// Everything that happened, in order.
    pub timeline: Vec<Entry>,
    /// The events delivered, in order (also in the timeline).
    pub delivered: Vec<Delivered>,
    /// Counters.
    pub counters: Counters,
    /// How the run ended.
    pub end: String,
    /// `--expect` results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expectations: Option<ExpectReport>,
}

/// A scenario run on both architectures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompareReport {
    /// The x86-64 run.
    pub x86: RunReport,
    /// The PPC64 run.
    pub ppc64: RunReport,
    /// Where the two differ, one sentence each.
    pub differences: Vec<String>,
}
