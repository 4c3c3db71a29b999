//! Scenario files: the versioned TOML format `run`, `compare` and `demo` read.
//!
//! The format is documented in the crate's README (`sim/cli/README.md`, "Scenario format").
//! Parsing is strict: unknown fields are rejected, every value has a type, and every error
//! names the file, the line and what was expected ([`ScenarioError`]).

mod error;
pub mod number;

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

pub use error::{ErrorClass, ScenarioError};
pub use number::Number;

/// Largest memory region, in bytes.
pub const MAX_REGION: u64 = 16 << 20;
/// Largest step budget of one `run` action.
pub const MAX_STEPS: u64 = 1_000_000;
/// Most decisions of one `random` action.
pub const MAX_ROUNDS: u64 = 100_000;

/// The only scenario format version this tool reads.
pub const FORMAT_VERSION: i64 = 1;

/// The two simulated architectures.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// x86-64: DR0–DR3, DR6, DR7.
    X86,
    /// PowerPC 64: DABR, DAWR0/1, CIABR.
    Ppc64,
}

impl Arch {
    /// The name used in files and output.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::X86 => "x86",
            Self::Ppc64 => "ppc64",
        }
    }

    /// The name for people.
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            Self::X86 => "x86-64",
            Self::Ppc64 => "PPC64",
        }
    }
}

/// A CPU model and profile of either architecture.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// x86-64 as the SDM guarantees and nothing more.
    Generic,
    /// QEMU TCG x86-64: B bits for matching but disabled slots.
    Qemu,
    /// Intel family 6 model 0xCF: `rep movsb` hits grouped per 128-byte block.
    IntelFastStrings,
    /// POWER7: DABR/DABRX, one data slot, no CIABR.
    Power7,
    /// POWER8: DAWR0 and CIABR.
    Power8,
    /// POWER9 as Linux runs it: DAWR disabled (the checkstop erratum), no data slot.
    Power9,
    /// POWER9 with `dawr_enable_dangerous`: DAWR0 usable; a match on cache-inhibited memory
    /// checkstops the machine.
    Power9Dangerous,
    /// POWER10: DAWR0 and DAWR1, ranges may cross 512-byte boundaries.
    Power10,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Self; 8] = [
        Self::Generic,
        Self::Qemu,
        Self::IntelFastStrings,
        Self::Power7,
        Self::Power8,
        Self::Power9,
        Self::Power9Dangerous,
        Self::Power10,
    ];

    /// The architecture the profile belongs to.
    #[must_use]
    pub const fn arch(self) -> Arch {
        match self {
            Self::Generic | Self::Qemu | Self::IntelFastStrings => Arch::X86,
            _ => Arch::Ppc64,
        }
    }

    /// The name used in files and output.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Generic => "generic",
            Self::Qemu => "qemu",
            Self::IntelFastStrings => "intel-fast-strings",
            Self::Power7 => "power7",
            Self::Power8 => "power8",
            Self::Power9 => "power9",
            Self::Power9Dangerous => "power9-dangerous",
            Self::Power10 => "power10",
        }
    }

    /// The default profile of an architecture.
    #[must_use]
    pub const fn default_for(arch: Arch) -> Self {
        match arch {
            Arch::X86 => Self::Generic,
            Arch::Ppc64 => Self::Power10,
        }
    }
}

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Format version: must be [`FORMAT_VERSION`].
    pub version: Spanned<i64>,
    /// Short name.
    pub name: String,
    /// What the scenario teaches, in one or two sentences.
    pub teaches: String,
    /// The architecture `run` uses unless told otherwise.
    pub arch: Arch,
    /// The x86 profile (default `generic`).
    #[serde(default)]
    pub x86_profile: Option<Spanned<Profile>>,
    /// The PPC64 profile (default `power10`).
    #[serde(default)]
    pub ppc64_profile: Option<Spanned<Profile>>,
    /// Number of CPUs (default 1).
    #[serde(default = "one")]
    pub cpus: u32,
    /// Where the program is placed (default 0x40_0000 on x86, 0x1000_0000 on PPC64).
    #[serde(default)]
    pub code: Option<Number>,
    /// Memory regions.
    #[serde(default)]
    pub memory: Vec<Spanned<Region>>,
    /// The program, run by every task.
    #[serde(default)]
    pub program: Vec<Spanned<Op>>,
    /// Tasks (default: one user task starting at the program's first instruction).
    #[serde(default)]
    pub task: Vec<Spanned<TaskSpec>>,
    /// Breakpoint requests, registered with the HAL before anything runs.
    #[serde(default)]
    pub request: Vec<Spanned<RequestSpec>>,
    /// Raw debug-register writes that bypass the HAL.
    #[serde(default)]
    pub raw: Vec<Spanned<RawWrite>>,
    /// Scheduler and fault events (default: run task 0 on CPU 0 to the end).
    #[serde(default)]
    pub schedule: Vec<Spanned<Action>>,
    /// Expected outcomes, checked by `--expect`.
    #[serde(default)]
    pub expect: Vec<Spanned<Expectation>>,
}

const fn one() -> u32 {
    1
}

/// A memory region.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// First byte (rounded down to its 4 KiB page).
    pub addr: Number,
    /// Bytes (rounded up to whole pages).
    pub size: Number,
    /// Cache-inhibited (the POWER9 DAWR hazard).
    #[serde(default)]
    pub cache_inhibited: bool,
    /// Initial contents at `addr`, as hex digits (`"11 22 33"`, spaces allowed).
    #[serde(default)]
    pub bytes: Option<String>,
}

/// What a program step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpName {
    /// No operation.
    Nop,
    /// Load `size` bytes at `addr`.
    Load,
    /// Store `value` (`size` bytes) at `addr`.
    Store,
    /// Read-modify-write: add `value` to the `size` bytes at `addr` (x86 `add [m], r`; PPC64
    /// atomic fetch-and-add).
    Add,
    /// x86 `rep movsb`: copy `count` bytes from `src` to `dst`.
    RepMovsb,
    /// x86 `rep stosb`: fill `count` bytes at `dst` with the low byte of `value`.
    RepStosb,
    /// x86 `mov ss, [addr]`: a 2-byte load that opens an interrupt shadow.
    MovSs,
    /// PPC64 load-and-reserve (`lwarx`/`ldarx`) of `size` bytes at `addr`.
    Larx,
    /// PPC64 store-conditional (`stwcx.`/`stdcx.`) of `value` at `addr`.
    Stcx,
    /// PPC64 `dcbz`: zero the 128-byte block containing `addr`.
    Dcbz,
}

impl OpName {
    /// The name in files.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Nop => "nop",
            Self::Load => "load",
            Self::Store => "store",
            Self::Add => "add",
            Self::RepMovsb => "rep_movsb",
            Self::RepStosb => "rep_stosb",
            Self::MovSs => "mov_ss",
            Self::Larx => "larx",
            Self::Stcx => "stcx",
            Self::Dcbz => "dcbz",
        }
    }

    /// The architecture the op is limited to, if any.
    #[must_use]
    pub const fn native_to(self) -> Option<Arch> {
        match self {
            Self::RepMovsb | Self::RepStosb | Self::MovSs => Some(Arch::X86),
            Self::Larx | Self::Stcx | Self::Dcbz => Some(Arch::Ppc64),
            _ => None,
        }
    }
}

/// One program step. Which fields an op needs is checked after parsing (with the line).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Op {
    /// What to do.
    pub op: OpName,
    /// A name for the address of the op's main instruction (execute breakpoints, `set_pc`).
    #[serde(default)]
    pub label: Option<String>,
    /// Include the op on this architecture only.
    #[serde(default)]
    pub only: Option<Arch>,
    /// Data address.
    #[serde(default)]
    pub addr: Option<Number>,
    /// Access size in bytes (1, 2, 4, 8).
    #[serde(default)]
    pub size: Option<Number>,
    /// Value stored or added.
    #[serde(default)]
    pub value: Option<Number>,
    /// Source of `rep_movsb`.
    #[serde(default)]
    pub src: Option<Number>,
    /// Destination of `rep_movsb`/`rep_stosb`.
    #[serde(default)]
    pub dst: Option<Number>,
    /// Byte count of `rep_movsb`/`rep_stosb`.
    #[serde(default)]
    pub count: Option<Number>,
}

/// Privilege mode of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TaskMode {
    /// User mode.
    #[default]
    User,
    /// Kernel (supervisor) mode.
    Kernel,
}

/// A task running the program.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Label to start at (default: the first instruction).
    #[serde(default)]
    pub start: Option<String>,
    /// Privilege mode (default user).
    #[serde(default)]
    pub mode: TaskMode,
}

/// Access kinds of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AccessName {
    /// Reads only.
    R,
    /// Writes only.
    W,
    /// Reads and writes.
    Rw,
    /// Instruction execution.
    X,
}

/// The scope of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeName {
    /// One task (`task`, default 0), wherever it runs.
    #[default]
    Task,
    /// One CPU (`cpu`), whatever runs there.
    Cpu,
    /// One task on one CPU.
    TaskOnCpu,
    /// Every CPU.
    AllCpus,
}

/// Privilege filter bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PrivilegeName {
    /// User mode.
    User,
    /// Kernel mode.
    Kernel,
    /// Hypervisor.
    Hypervisor,
}

/// Delivery timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryName {
    /// After the access (perf-style, continuous).
    #[default]
    After,
    /// Before the access (ptrace-style, one-shot).
    Before,
    /// Whatever the hardware does.
    Native,
}

/// Pinning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PinningName {
    /// Always installed or refused.
    #[default]
    Pinned,
    /// Installed when room exists.
    Flexible,
}

/// Sharing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SharingName {
    /// Identical programs may share a slot.
    #[default]
    Shared,
    /// Never shares.
    Exclusive,
}

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OriginName {
    /// A user process (ptrace, perf from user space).
    #[default]
    User,
    /// The kernel.
    Kernel,
}

/// A breakpoint request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Name used in output and expectations.
    pub name: String,
    /// First byte (or give `at`).
    #[serde(default)]
    pub addr: Option<Number>,
    /// A program label instead of `addr`.
    #[serde(default)]
    pub at: Option<String>,
    /// Bytes.
    pub len: Number,
    /// Access kinds.
    pub access: AccessName,
    /// Scope (default `task`).
    #[serde(default)]
    pub scope: ScopeName,
    /// Task of a `task`/`task-on-cpu` scope (default 0).
    #[serde(default)]
    pub task: Option<u64>,
    /// CPU of a `cpu`/`task-on-cpu` scope.
    #[serde(default)]
    pub cpu: Option<u32>,
    /// Privilege filter (default `["user"]`).
    #[serde(default)]
    pub privilege: Option<Vec<PrivilegeName>>,
    /// Delivery (default `after`; `native` for execute).
    #[serde(default)]
    pub delivery: Option<DeliveryName>,
    /// Pinning (default `pinned`).
    #[serde(default)]
    pub pinning: PinningName,
    /// Sharing (default `shared`).
    #[serde(default)]
    pub sharing: SharingName,
    /// Origin (default `user`).
    #[serde(default)]
    pub origin: OriginName,
    /// Register on this architecture only.
    #[serde(default)]
    pub only: Option<Arch>,
}

/// A raw debug-register write, bypassing the HAL: applied to the task's registers at every
/// switch-in, after the HAL installed its slots. Only writes to the running architecture's
/// registers apply (the register name says which).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWrite {
    /// `dr0`–`dr3`, `dr7` (x86); `dabr`, `dabrx`, `dawr0`, `dawrx0`, `dawr1`, `dawrx1`,
    /// `ciabr` (PPC64).
    pub register: String,
    /// The value.
    pub value: Number,
    /// Task whose registers get it (default 0).
    #[serde(default)]
    pub task: u64,
}

/// What a schedule step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionName {
    /// Run `task` on `cpu` for `steps` steps (default: until it exits or stops).
    Run,
    /// Switch the task running on `cpu` out.
    Preempt,
    /// Move `task` to `cpu`.
    Migrate,
    /// Deliver an external interrupt on `cpu`.
    Interrupt,
    /// Move `task`'s PC to `pc` (a label or an address), as signal delivery or ptrace does.
    SetPc,
    /// A debugger asks for one single step of `task` (x86 TF, PPC64 MSR\[SE\]).
    SingleStep,
    /// Re-arm a one-shot or disabled `request` (ptrace's re-arm after a stop).
    Rearm,
    /// Let a seeded random policy drive the machine for `rounds` decisions.
    Random,
}

/// A scheduler or fault event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// What to do.
    pub action: ActionName,
    /// Task (default 0).
    #[serde(default)]
    pub task: Option<u64>,
    /// CPU (default 0).
    #[serde(default)]
    pub cpu: Option<u32>,
    /// Step budget of `run`.
    #[serde(default)]
    pub steps: Option<u64>,
    /// New PC of `set_pc`: a label or a number.
    #[serde(default)]
    pub pc: Option<Target>,
    /// Request of `rearm`.
    #[serde(default)]
    pub request: Option<String>,
    /// Seed of `random`.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Decisions of `random`.
    #[serde(default)]
    pub rounds: Option<u64>,
}

/// A label or an address.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Target {
    /// An address.
    Address(Number),
    /// A label.
    Label(String),
}

/// Kinds of expected outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedKind {
    /// A hit delivered.
    Hit,
    /// A request disabled, with a reason.
    Disabled,
    /// A request refused at registration.
    Refused,
    /// Stray hits counted (not an event: compared with the total).
    Strays,
    /// The machine checkstopped.
    Checkstop,
}

/// An expected outcome. Unset fields are not compared.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// What happens.
    pub event: ExpectedKind,
    /// Applies on this architecture only.
    #[serde(default)]
    pub arch: Option<Arch>,
    /// Applies with this profile only.
    #[serde(default)]
    pub profile: Option<Profile>,
    /// The request's name.
    #[serde(default)]
    pub request: Option<String>,
    /// `before` or `after`.
    #[serde(default)]
    pub timing: Option<String>,
    /// `read`, `write` or `read|write` (as the HAL reports it).
    #[serde(default)]
    pub access: Option<String>,
    /// Reported address.
    #[serde(default)]
    pub address: Option<Number>,
    /// Old bytes, hex.
    #[serde(default)]
    pub old: Option<String>,
    /// New bytes, hex.
    #[serde(default)]
    pub new: Option<String>,
    /// Whether the old value is exact.
    #[serde(default)]
    pub old_exact: Option<bool>,
    /// Disable or refusal reason (a substring of the reported text).
    #[serde(default)]
    pub reason: Option<String>,
    /// Count of `strays`.
    #[serde(default)]
    pub count: Option<u64>,
}

/// The architecture a raw register name belongs to.
#[must_use]
pub fn raw_register_arch(name: &str) -> Option<Arch> {
    match name.to_ascii_lowercase().as_str() {
        "dr0" | "dr1" | "dr2" | "dr3" | "dr6" | "dr7" => Some(Arch::X86),
        "dabr" | "dabrx" | "dawr0" | "dawrx0" | "dawr1" | "dawrx1" | "ciabr" => Some(Arch::Ppc64),
        _ => None,
    }
}

/// A parsed scenario with the text and path it came from (for error lines).
#[derive(Debug, Clone)]
pub struct Source {
    /// Path as given (or the built-in name).
    pub path: String,
    /// The file's text.
    pub text: String,
    /// The parsed scenario.
    pub scenario: Scenario,
}

impl Source {
    /// The file name without folders, for output that must not depend on where it lives.
    #[must_use]
    pub fn file_name(&self) -> String {
        Path::new(&self.path)
            .file_name()
            .map_or_else(|| self.path.clone(), |n| n.to_string_lossy().into_owned())
    }

    /// An error at `span` of this file.
    #[must_use]
    pub fn error_at(
        &self,
        span: core::ops::Range<usize>,
        class: ErrorClass,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::at(&self.path, &self.text, Some(span), class, message.into())
    }

    /// The x86 profile.
    #[must_use]
    pub fn x86_profile(&self) -> Profile {
        self.scenario
            .x86_profile
            .as_ref()
            .map_or(Profile::Generic, |p| *p.get_ref())
    }

    /// The PPC64 profile.
    #[must_use]
    pub fn ppc64_profile(&self) -> Profile {
        self.scenario
            .ppc64_profile
            .as_ref()
            .map_or(Profile::Power10, |p| *p.get_ref())
    }

    /// The profile used for `arch`.
    #[must_use]
    pub fn profile_for(&self, arch: Arch) -> Profile {
        match arch {
            Arch::X86 => self.x86_profile(),
            Arch::Ppc64 => self.ppc64_profile(),
        }
    }
}

/// Read and parse a scenario file.
///
/// # Errors
/// [`ScenarioError`] naming the file, the line and what was expected.
pub fn load(path: &Path) -> Result<Source, ScenarioError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ScenarioError::at(
            &shown,
            "",
            None,
            ErrorClass::Io,
            format!("cannot read: {e}"),
        )
    })?;
    parse(&shown, &text)
}

/// Parse scenario text; `path` names it in errors.
///
/// # Errors
/// [`ScenarioError`] naming the file, the line and what was expected.
pub fn parse(path: &str, text: &str) -> Result<Source, ScenarioError> {
    let scenario: Scenario = toml::from_str(text).map_err(|e| {
        let class = ErrorClass::of_toml(&e);
        ScenarioError::at(path, text, e.span(), class, e.message().to_owned())
    })?;
    let source = Source {
        path: path.to_owned(),
        text: text.to_owned(),
        scenario,
    };
    validate(&source)?;
    Ok(source)
}

/// Checks that need the whole file: version, profiles matching their architecture, op
/// fields, labels and request names.
fn validate(source: &Source) -> Result<(), ScenarioError> {
    let s = &source.scenario;
    if *s.version.get_ref() != FORMAT_VERSION {
        return Err(source.error_at(
            s.version.span(),
            ErrorClass::Version,
            format!(
                "unsupported scenario version {}, expected {FORMAT_VERSION}",
                s.version.get_ref()
            ),
        ));
    }
    for (field, profile, arch) in [
        ("x86_profile", &s.x86_profile, Arch::X86),
        ("ppc64_profile", &s.ppc64_profile, Arch::Ppc64),
    ] {
        if let Some(p) = profile
            && p.get_ref().arch() != arch
        {
            return Err(source.error_at(
                p.span(),
                ErrorClass::Value,
                format!(
                    "`{field}` is `{}`, a {} profile; expected a {} profile",
                    p.get_ref().name(),
                    p.get_ref().arch().title(),
                    arch.title()
                ),
            ));
        }
    }
    if s.cpus == 0 || s.cpus > 64 {
        return Err(ScenarioError::at(
            &source.path,
            &source.text,
            None,
            ErrorClass::Value,
            format!("`cpus` is {}, expected 1 to 64", s.cpus),
        ));
    }
    for region in &s.memory {
        let r = region.get_ref();
        if r.size.0 == 0 || r.size.0 > MAX_REGION {
            return Err(source.error_at(
                region.span(),
                ErrorClass::Value,
                format!(
                    "`size` is {:#x}, expected 1 to {MAX_REGION:#x} bytes",
                    r.size.0
                ),
            ));
        }
    }
    let mut labels = Vec::new();
    for op in &s.program {
        check_op(source, op)?;
        if let Some(label) = &op.get_ref().label {
            if labels.contains(label) {
                return Err(source.error_at(
                    op.span(),
                    ErrorClass::Reference,
                    format!("label `{label}` is defined twice"),
                ));
            }
            labels.push(label.clone());
        }
    }
    let label_known = |name: &str| labels.iter().any(|l| l == name);
    for task in &s.task {
        if let Some(start) = &task.get_ref().start
            && !label_known(start)
        {
            return Err(source.error_at(
                task.span(),
                ErrorClass::Reference,
                format!("unknown label `{start}`, expected one defined in [[program]]"),
            ));
        }
    }
    let tasks = s.task.len().max(1) as u64;
    let mut names: Vec<&str> = Vec::new();
    for r in &s.request {
        let spec = r.get_ref();
        if names.contains(&spec.name.as_str()) {
            return Err(source.error_at(
                r.span(),
                ErrorClass::Reference,
                format!("request `{}` is defined twice", spec.name),
            ));
        }
        names.push(&spec.name);
        match (&spec.addr, &spec.at) {
            (Some(_), None) => {}
            (None, Some(label)) if label_known(label) => {}
            (None, Some(label)) => {
                return Err(source.error_at(
                    r.span(),
                    ErrorClass::Reference,
                    format!("unknown label `{label}`, expected one defined in [[program]]"),
                ));
            }
            _ => {
                return Err(source.error_at(
                    r.span(),
                    ErrorClass::Missing,
                    format!(
                        "request `{}` needs exactly one of `addr` and `at`",
                        spec.name
                    ),
                ));
            }
        }
        if spec.task.unwrap_or(0) >= tasks {
            return Err(source.error_at(
                r.span(),
                ErrorClass::Reference,
                format!(
                    "no task {}; expected 0 to {}",
                    spec.task.unwrap_or(0),
                    tasks - 1
                ),
            ));
        }
        let needs_cpu = matches!(spec.scope, ScopeName::Cpu | ScopeName::TaskOnCpu);
        match spec.cpu {
            Some(cpu) if cpu >= s.cpus => {
                return Err(source.error_at(
                    r.span(),
                    ErrorClass::Reference,
                    format!("no CPU {cpu}; expected 0 to {}", s.cpus - 1),
                ));
            }
            None if needs_cpu => {
                return Err(source.error_at(
                    r.span(),
                    ErrorClass::Missing,
                    "this scope needs `cpu`".to_owned(),
                ));
            }
            _ => {}
        }
    }
    for raw in &s.raw {
        if raw_register_arch(&raw.get_ref().register).is_none() {
            return Err(source.error_at(
                raw.span(),
                ErrorClass::Value,
                format!(
                    "no debug register `{}`; expected dr0-dr3, dr6, dr7 (x86) or dabr, dabrx, dawr0, dawrx0, dawr1, dawrx1, ciabr (PPC64)",
                    raw.get_ref().register
                ),
            ));
        }
        if raw.get_ref().task >= tasks {
            return Err(source.error_at(
                raw.span(),
                ErrorClass::Reference,
                format!(
                    "no task {}; expected 0 to {}",
                    raw.get_ref().task,
                    tasks - 1
                ),
            ));
        }
    }
    for action in &s.schedule {
        check_action(source, action, &labels, &names, tasks)?;
    }
    for e in &s.expect {
        if let Some(name) = &e.get_ref().request
            && !names.contains(&name.as_str())
        {
            return Err(source.error_at(
                e.span(),
                ErrorClass::Reference,
                format!("unknown request `{name}`, expected one defined in [[request]]"),
            ));
        }
    }
    Ok(())
}

fn check_op(source: &Source, op: &Spanned<Op>) -> Result<(), ScenarioError> {
    let o = op.get_ref();
    let (needs, allowed): (&[&str], &[&str]) = match o.op {
        OpName::Nop => (&[], &[]),
        OpName::Load | OpName::Larx => (&["addr", "size"], &["addr", "size"]),
        OpName::Store | OpName::Add | OpName::Stcx => {
            (&["addr", "size"], &["addr", "size", "value"])
        }
        OpName::RepMovsb => (&["src", "dst", "count"], &["src", "dst", "count"]),
        OpName::RepStosb => (&["dst", "count"], &["dst", "count", "value"]),
        OpName::MovSs | OpName::Dcbz => (&["addr"], &["addr"]),
    };
    let present = [
        ("addr", o.addr.is_some()),
        ("size", o.size.is_some()),
        ("value", o.value.is_some()),
        ("src", o.src.is_some()),
        ("dst", o.dst.is_some()),
        ("count", o.count.is_some()),
    ];
    for (field, set) in present {
        if set && !allowed.contains(&field) {
            return Err(source.error_at(
                op.span(),
                ErrorClass::UnknownField,
                format!(
                    "op `{}` does not take `{field}`; expected only {}",
                    o.op.name(),
                    list_or_nothing(allowed)
                ),
            ));
        }
        if !set && needs.contains(&field) {
            return Err(source.error_at(
                op.span(),
                ErrorClass::Missing,
                format!("op `{}` needs `{field}`", o.op.name()),
            ));
        }
    }
    if let Some(size) = &o.size
        && !matches!(size.0, 1 | 2 | 4 | 8)
    {
        return Err(source.error_at(
            op.span(),
            ErrorClass::Value,
            format!("`size` is {}, expected 1, 2, 4 or 8", size.0),
        ));
    }
    if let (Some(native), Some(only)) = (o.op.native_to(), o.only)
        && native != only
    {
        return Err(source.error_at(
            op.span(),
            ErrorClass::Value,
            format!(
                "op `{}` exists on {} only, but `only` says {}",
                o.op.name(),
                native.title(),
                only.title()
            ),
        ));
    }
    Ok(())
}

fn list_or_nothing(fields: &[&str]) -> String {
    if fields.is_empty() {
        "`op`, `label` and `only`".to_owned()
    } else {
        fields
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn check_action(
    source: &Source,
    action: &Spanned<Action>,
    labels: &[String],
    requests: &[&str],
    tasks: u64,
) -> Result<(), ScenarioError> {
    let a = action.get_ref();
    let err = |class, message: String| Err(source.error_at(action.span(), class, message));
    if let Some(cpu) = a.cpu
        && cpu >= source.scenario.cpus
    {
        return err(
            ErrorClass::Reference,
            format!("no CPU {cpu}; expected 0 to {}", source.scenario.cpus - 1),
        );
    }
    if let Some(task) = a.task
        && task >= tasks
    {
        return err(
            ErrorClass::Reference,
            format!("no task {task}; expected 0 to {}", tasks - 1),
        );
    }
    if a.steps.is_some_and(|n| n > MAX_STEPS) {
        return err(
            ErrorClass::Value,
            format!("`steps` is above {MAX_STEPS}, the most one action may run"),
        );
    }
    if a.rounds.is_some_and(|n| n > MAX_ROUNDS) {
        return err(ErrorClass::Value, format!("`rounds` is above {MAX_ROUNDS}"));
    }
    match a.action {
        ActionName::SetPc => match &a.pc {
            None => return err(ErrorClass::Missing, "`set_pc` needs `pc`".to_owned()),
            Some(Target::Label(l)) if !labels.contains(l) => {
                return err(
                    ErrorClass::Reference,
                    format!("unknown label `{l}`, expected one defined in [[program]]"),
                );
            }
            Some(_) => {}
        },
        ActionName::Rearm => match &a.request {
            None => return err(ErrorClass::Missing, "`rearm` needs `request`".to_owned()),
            Some(r) if !requests.contains(&r.as_str()) => {
                return err(
                    ErrorClass::Reference,
                    format!("unknown request `{r}`, expected one defined in [[request]]"),
                );
            }
            Some(_) => {}
        },
        ActionName::Migrate | ActionName::Preempt | ActionName::Interrupt if a.cpu.is_none() => {
            return err(ErrorClass::Missing, "this action needs `cpu`".to_owned());
        }
        ActionName::Random if a.seed.is_none() => {
            return err(ErrorClass::Missing, "`random` needs `seed`".to_owned());
        }
        _ => {}
    }
    Ok(())
}
