//! `hwbkpt-sim ptrace-replay FILE`: replay ptrace debug-register requests against the
//! ptrace-compatible virtual register file of a chosen architecture and CPU profile
//! (`hwbkpt_x86::ptrace_file`, `hwbkpt_ppc64::ptrace_file`), printing for each step the
//! result (`OK` or Linux's errno name) and the readback.
//!
//! ## File format
//!
//! One request per line; `#` starts a comment; numbers are decimal or `0x…` hex, `_`
//! allowed. An optional `arch x86` or `arch ppc64` line chooses the architecture (the
//! command line's `--arch` or `--profile` win over it; without any, the first request
//! decides).
//!
//! x86-64 (`PTRACE_POKEUSER`/`PEEKUSER` of `u_debugreg[N]`):
//!
//! ```text
//! poke N VALUE
//! peek N
//! ```
//!
//! PPC64:
//!
//! ```text
//! set_debugreg DATA [ADDR]              # PTRACE_SET_DEBUGREG (ADDR defaults to 0)
//! get_debugreg [ADDR]                   # PTRACE_GET_DEBUGREG
//! gethwdbginfo                          # PPC_PTRACE_GETHWDBGINFO
//! sethwdebug TRIGGER MODE ADDR [ADDR2] [version=N] [condition=N]
//!                                       # TRIGGER: r, w, rw, x or a number
//!                                       # MODE: exact, range, range-exclusive, mask or a number
//! delhwdebug HANDLE                     # PPC_PTRACE_DELHWDEBUG
//! ```
//!
//! The readback after each step: DR0–DR7 as `PTRACE_PEEKUSER` reads them (x86), or the
//! occupied slots with what they watch (PPC64).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hwbkpt_hal::{Dispatcher, MemoryRead, MemoryReadError, TaskId, ptrace::Errno};
use hwbkpt_ppc64::linux_ptrace::{
    PPC_BREAKPOINT_MODE_EXACT, PPC_BREAKPOINT_MODE_MASK, PPC_BREAKPOINT_MODE_RANGE_EXCLUSIVE,
    PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE, PPC_BREAKPOINT_TRIGGER_EXECUTE,
    PPC_BREAKPOINT_TRIGGER_READ, PPC_BREAKPOINT_TRIGGER_RW, PPC_BREAKPOINT_TRIGGER_WRITE,
    PpcDebugInfo, PpcHwBreakpoint,
};
use hwbkpt_ppc64::ptrace_file::{MAX_PTRACE_SLOTS, Ppc64PtraceFile};
use hwbkpt_ppc64::{PowerCpu, PowerProfile};
use hwbkpt_x86::ptrace_file::X86PtraceFile;
use hwbkpt_x86::{X86Cpu, X86Profile};
use serde::Serialize;

use crate::cli::{Format, Output};
use crate::report::SCHEMA_VERSION;
use crate::scenario::{Arch, Profile, number::parse_u64};

/// `ptrace-replay`'s arguments.
#[derive(Debug, clap::Args)]
pub struct PtraceReplayArgs {
    /// The replay file: one request per line (`poke 0 0x1000`, `peek 7`, `sethwdebug w
    /// exact 0x1000`, …; see `sim/cli/examples/*.replay`).
    pub file: PathBuf,
    /// Architecture (default: the file's `arch` line, else its first request).
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
    /// CPU profile (default: generic x86-64, POWER10); a profile of the other architecture
    /// selects that architecture.
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
}

/// A line the replay cannot understand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayError {
    /// The file.
    pub file: String,
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for ReplayError {}

/// One request of a replay file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// x86 `PTRACE_POKEUSER` of `u_debugreg[n]`.
    Poke {
        /// Register number.
        n: u8,
        /// Value.
        value: u64,
    },
    /// x86 `PTRACE_PEEKUSER` of `u_debugreg[n]`.
    Peek {
        /// Register number.
        n: u8,
    },
    /// PPC64 `PTRACE_SET_DEBUGREG`.
    SetDebugreg {
        /// ptrace's `addr` argument.
        addr: u64,
        /// The DABR-style value.
        data: u64,
    },
    /// PPC64 `PTRACE_GET_DEBUGREG`.
    GetDebugreg {
        /// ptrace's `addr` argument.
        addr: u64,
    },
    /// PPC64 `PPC_PTRACE_GETHWDBGINFO`.
    GetHwDbgInfo,
    /// PPC64 `PPC_PTRACE_SETHWDEBUG`.
    SetHwDebug(PpcHwBreakpoint),
    /// PPC64 `PPC_PTRACE_DELHWDEBUG`.
    DelHwDebug {
        /// The handle.
        handle: i64,
    },
}

impl Op {
    const fn arch(&self) -> Arch {
        match self {
            Self::Poke { .. } | Self::Peek { .. } => Arch::X86,
            _ => Arch::Ppc64,
        }
    }
}

/// A parsed replay file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The `arch` line, if any.
    pub arch: Option<Arch>,
    /// Each request with its line number and text.
    pub steps: Vec<(usize, String, Op)>,
}

fn number(word: &str) -> Result<u64, String> {
    parse_u64(word).ok_or_else(|| format!("`{word}` is not a number"))
}

fn register_number(word: &str) -> Result<u8, String> {
    let n = number(word)?;
    u8::try_from(n).map_err(|_| format!("register number {n} is out of range"))
}

fn trigger(word: &str) -> Result<u32, String> {
    Ok(match word {
        "r" => PPC_BREAKPOINT_TRIGGER_READ,
        "w" => PPC_BREAKPOINT_TRIGGER_WRITE,
        "rw" => PPC_BREAKPOINT_TRIGGER_RW,
        "x" => PPC_BREAKPOINT_TRIGGER_EXECUTE,
        other => u32::try_from(number(other)?).map_err(|_| format!("trigger `{other}` too big"))?,
    })
}

fn mode(word: &str) -> Result<u32, String> {
    Ok(match word {
        "exact" => PPC_BREAKPOINT_MODE_EXACT,
        "range" => PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE,
        "range-exclusive" => PPC_BREAKPOINT_MODE_RANGE_EXCLUSIVE,
        "mask" => PPC_BREAKPOINT_MODE_MASK,
        other => u32::try_from(number(other)?).map_err(|_| format!("mode `{other}` too big"))?,
    })
}

fn small(word: &str, what: &str) -> Result<u32, String> {
    u32::try_from(number(word)?).map_err(|_| format!("{what} `{word}` is out of range"))
}

fn sethwdebug(args: &[&str]) -> Result<Op, String> {
    let mut positional = Vec::new();
    let mut bp = PpcHwBreakpoint {
        version: 1,
        ..PpcHwBreakpoint::default()
    };
    for word in args {
        if let Some(v) = word.strip_prefix("version=") {
            bp.version = small(v, "version")?;
        } else if let Some(v) = word.strip_prefix("condition=") {
            bp.condition_mode = small(v, "condition")?;
        } else {
            positional.push(*word);
        }
    }
    let [t, m, addr, rest @ ..] = positional.as_slice() else {
        return Err("usage: sethwdebug TRIGGER MODE ADDR [ADDR2] [version=N] [condition=N]".into());
    };
    bp.trigger_type = trigger(t)?;
    bp.addr_mode = mode(m)?;
    bp.addr = number(addr)?;
    match rest {
        [] => {}
        [addr2] => bp.addr2 = number(addr2)?,
        _ => return Err("sethwdebug takes at most ADDR and ADDR2".into()),
    }
    Ok(Op::SetHwDebug(bp))
}

fn parse_line(words: &[&str]) -> Result<Op, String> {
    match words {
        ["poke", n, value] => Ok(Op::Poke {
            n: register_number(n)?,
            value: number(value)?,
        }),
        ["peek", n] => Ok(Op::Peek {
            n: register_number(n)?,
        }),
        ["set_debugreg", data] => Ok(Op::SetDebugreg {
            addr: 0,
            data: number(data)?,
        }),
        ["set_debugreg", data, addr] => Ok(Op::SetDebugreg {
            addr: number(addr)?,
            data: number(data)?,
        }),
        ["get_debugreg"] => Ok(Op::GetDebugreg { addr: 0 }),
        ["get_debugreg", addr] => Ok(Op::GetDebugreg {
            addr: number(addr)?,
        }),
        ["gethwdbginfo"] => Ok(Op::GetHwDbgInfo),
        ["sethwdebug", args @ ..] => sethwdebug(args),
        ["delhwdebug", handle] => {
            let negative = handle.starts_with('-');
            let magnitude = number(handle.trim_start_matches('-'))?;
            let magnitude =
                i64::try_from(magnitude).map_err(|_| format!("handle `{handle}` too big"))?;
            Ok(Op::DelHwDebug {
                handle: if negative { -magnitude } else { magnitude },
            })
        }
        [word, ..] => Err(format!(
            "unknown request `{word}` (poke, peek, set_debugreg, get_debugreg, gethwdbginfo, \
             sethwdebug, delhwdebug)"
        )),
        [] => Err("empty request".into()),
    }
}

/// Parse a replay file's text.
///
/// # Errors
/// The first line that is not a request, with its number.
pub fn parse(file: &str, text: &str) -> Result<Replay, ReplayError> {
    let mut replay = Replay {
        arch: None,
        steps: Vec::new(),
    };
    let error = |line, message| ReplayError {
        file: file.to_owned(),
        line,
        message,
    };
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.split('#').next().unwrap_or("").trim();
        let words: Vec<&str> = content.split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            ["arch", "x86"] => replay.arch = Some(Arch::X86),
            ["arch", "ppc64"] => replay.arch = Some(Arch::Ppc64),
            ["arch", ..] => return Err(error(line, "`arch` is x86 or ppc64".into())),
            words => {
                let op = parse_line(words).map_err(|m| error(line, m))?;
                replay.steps.push((line, content.to_owned(), op));
            }
        }
    }
    Ok(replay)
}

/// One step's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Line in the file.
    pub line: usize,
    /// The request as written.
    pub request: String,
    /// `OK` or the errno name.
    pub result: String,
    /// The errno number, on failure.
    pub errno: Option<i32>,
    /// What the request returned (peeked value, handle, DABR value), hex.
    pub value: Option<String>,
    /// `PPC_PTRACE_GETHWDBGINFO`'s answer.
    pub info: Option<InfoReport>,
    /// The state after the step.
    pub readback: Readback,
}

/// `struct ppc_debug_info`, for output.
#[derive(Debug, Clone, Serialize)]
pub struct InfoReport {
    /// `version`.
    pub version: u32,
    /// `num_instruction_bps`.
    pub num_instruction_bps: u32,
    /// `num_data_bps`.
    pub num_data_bps: u32,
    /// `num_condition_regs`.
    pub num_condition_regs: u32,
    /// `data_bp_alignment`.
    pub data_bp_alignment: u32,
    /// `sizeof_condition`.
    pub sizeof_condition: u32,
    /// `features`, hex.
    pub features: String,
    /// The feature names.
    pub feature_names: Vec<&'static str>,
}

impl From<PpcDebugInfo> for InfoReport {
    fn from(i: PpcDebugInfo) -> Self {
        let names = [
            (0x01, "INSN_BP_RANGE"),
            (0x02, "INSN_BP_MASK"),
            (0x04, "DATA_BP_RANGE"),
            (0x08, "DATA_BP_MASK"),
            (0x10, "DATA_BP_DAWR"),
            (0x20, "DATA_BP_ARCH_31"),
        ];
        Self {
            version: i.version,
            num_instruction_bps: i.num_instruction_bps,
            num_data_bps: i.num_data_bps,
            num_condition_regs: i.num_condition_regs,
            data_bp_alignment: i.data_bp_alignment,
            sizeof_condition: i.sizeof_condition,
            features: format!("{:#x}", i.features),
            feature_names: names
                .iter()
                .filter(|(bit, _)| i.features & bit != 0)
                .map(|(_, n)| *n)
                .collect(),
        }
    }
}

/// The register file after a step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Readback {
    /// DR0–DR7, hex.
    X86 {
        /// `PTRACE_PEEKUSER` of `u_debugreg[0..8]`.
        dr: Vec<String>,
    },
    /// The ptrace slots (handle − 1).
    Ppc64 {
        /// Each slot: what it watches, or `null`.
        slots: Vec<Option<SlotReport>>,
    },
}

/// One occupied PPC64 ptrace slot.
#[derive(Debug, Clone, Serialize)]
pub struct SlotReport {
    /// First watched byte, hex.
    pub addr: String,
    /// Bytes.
    pub len: u64,
    /// `r`, `w` or `rw`.
    pub access: String,
}

/// The whole replay.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// The file.
    pub file: String,
    /// Architecture.
    pub arch: Arch,
    /// CPU profile.
    pub profile: &'static str,
    /// Each step.
    pub steps: Vec<StepReport>,
}

struct NoMemory;
impl MemoryRead for NoMemory {
    fn read_memory(&mut self, addr: u64, _: &mut [u8]) -> Result<(), MemoryReadError> {
        Err(MemoryReadError::Unmapped { addr })
    }
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

fn outcome(result: Result<(), Errno>) -> (String, Option<i32>) {
    match result {
        Ok(()) => ("OK".to_owned(), None),
        Err(e) => (e.name().to_owned(), Some(e.code())),
    }
}

/// The task whose registers are replayed.
const TASK: TaskId = TaskId(1);

fn replay_x86(replay: &Replay) -> Result<Vec<StepReport>, String> {
    let mut dispatcher = Dispatcher::<X86Cpu>::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
    let mut file = X86PtraceFile::new(TASK);
    let mut steps = Vec::new();
    for (line, text, op) in &replay.steps {
        let (result, value) = match *op {
            Op::Poke { n, value } => (file.poke(n, value, &mut dispatcher, &mut NoMemory), None),
            Op::Peek { n } => match file.peek(n) {
                Ok(v) => (Ok(()), Some(hex(v))),
                Err(e) => (Err(e), None),
            },
            _ => return Err(format!("line {line}: `{text}` is a PPC64 request")),
        };
        let (result, errno) = outcome(result);
        steps.push(StepReport {
            line: *line,
            request: text.clone(),
            result,
            errno,
            value,
            info: None,
            readback: Readback::X86 {
                dr: file.readback().iter().map(|v| hex(*v)).collect(),
            },
        });
    }
    Ok(steps)
}

fn power_cpu(profile: Profile) -> PowerCpu {
    match profile {
        Profile::Power7 => PowerCpu::new(PowerProfile::Power7),
        Profile::Power8 => PowerCpu::new(PowerProfile::Power8),
        Profile::Power9 => PowerCpu::new(PowerProfile::Power9),
        Profile::Power9Dangerous => PowerCpu::new(PowerProfile::Power9).with_dangerous_dawr(true),
        _ => PowerCpu::new(PowerProfile::Power10),
    }
}

fn replay_ppc64(replay: &Replay, profile: Profile) -> Result<Vec<StepReport>, String> {
    let mut dispatcher = Dispatcher::<PowerCpu>::new(power_cpu(profile));
    let mut file = Ppc64PtraceFile::new(TASK);
    let mut steps = Vec::new();
    for (line, text, op) in &replay.steps {
        let mut info = None;
        let (result, value) = match *op {
            Op::SetDebugreg { addr, data } => (
                file.set_debugreg(addr, data, &mut dispatcher, &mut NoMemory),
                None,
            ),
            Op::GetDebugreg { addr } => match file.get_debugreg(addr) {
                Ok(v) => (Ok(()), Some(hex(v))),
                Err(e) => (Err(e), None),
            },
            Op::GetHwDbgInfo => {
                info = Some(InfoReport::from(file.debug_info(dispatcher.arch())));
                (Ok(()), None)
            }
            Op::SetHwDebug(bp) => match file.set_hwdebug(&bp, &mut dispatcher, &mut NoMemory) {
                Ok(handle) => (Ok(()), Some(hex(u64::from(handle)))),
                Err(e) => (Err(e), None),
            },
            Op::DelHwDebug { handle } => (file.del_hwdebug(handle, &mut dispatcher), None),
            Op::Poke { .. } | Op::Peek { .. } => {
                return Err(format!("line {line}: `{text}` is an x86 request"));
            }
        };
        let (result, errno) = outcome(result);
        let count = usize::from(dispatcher.arch().profile().limits().data_slots);
        let slots = (0..count.min(MAX_PTRACE_SLOTS))
            .map(|i| {
                file.watch(i).map(|w| SlotReport {
                    addr: hex(w.addr),
                    len: w.len,
                    access: w.access.to_string(),
                })
            })
            .collect();
        steps.push(StepReport {
            line: *line,
            request: text.clone(),
            result,
            errno,
            value,
            info,
            readback: Readback::Ppc64 { slots },
        });
    }
    Ok(steps)
}

/// Replay `replay` on `arch` with `profile`.
///
/// # Errors
/// A request of the other architecture, with its line.
pub fn run(
    file: &str,
    replay: &Replay,
    arch: Arch,
    profile: Profile,
) -> Result<ReplayReport, String> {
    let steps = match arch {
        Arch::X86 => replay_x86(replay)?,
        Arch::Ppc64 => replay_ppc64(replay, profile)?,
    };
    Ok(ReplayReport {
        file: file.to_owned(),
        arch,
        profile: profile.name(),
        steps,
    })
}

fn text(report: &ReplayReport) -> String {
    let mut out = format!(
        "ptrace-replay {} on {} ({})\n",
        report.file,
        report.arch.title(),
        report.profile
    );
    let width = report
        .steps
        .iter()
        .map(|s| s.request.len())
        .max()
        .unwrap_or(0);
    for s in &report.steps {
        let mut result = s.result.clone();
        if let Some(v) = &s.value {
            let _ = write!(result, " {v}");
        }
        let readback = match &s.readback {
            Readback::X86 { dr } => dr
                .iter()
                .enumerate()
                .map(|(n, v)| format!("DR{n}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            Readback::Ppc64 { slots } => slots
                .iter()
                .enumerate()
                .map(|(i, s)| match s {
                    Some(s) => format!("{}:{} {}+{}", i + 1, s.access, s.addr, s.len),
                    None => format!("{}:-", i + 1),
                })
                .collect::<Vec<_>>()
                .join(" "),
        };
        let _ = writeln!(
            out,
            "{:>4}  {:<width$}  {:<12}  {readback}",
            s.line, s.request, result
        );
        if let Some(i) = &s.info {
            let _ = writeln!(
                out,
                "      version {} data_bps {} instruction_bps {} alignment {} features {} ({})",
                i.version,
                i.num_data_bps,
                i.num_instruction_bps,
                i.data_bp_alignment,
                i.features,
                i.feature_names.join(", ")
            );
        }
    }
    out
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    schema: &'static str,
    schema_version: u32,
    command: &'static str,
    result: Option<&'a T>,
    error: Option<&'a ReplayError>,
}

fn json<T: Serialize>(result: Option<&T>, error: Option<&ReplayError>) -> String {
    let envelope = Envelope {
        schema: "hwbkpt-sim",
        schema_version: SCHEMA_VERSION,
        command: "ptrace-replay",
        result,
        error,
    };
    let mut s = serde_json::to_string_pretty(&envelope)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

fn failure(format: Format, error: &ReplayError) -> Output {
    Output {
        stdout: match format {
            Format::Json => json::<()>(None, Some(error)),
            Format::Text => String::new(),
        },
        stderr: format!("error: {error}\n"),
        status: 2,
    }
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Run the subcommand: exit status 0 after replaying every step (refusals are results,
/// not failures), 2 for an unreadable file or a bad line.
#[must_use]
pub fn execute(args: &PtraceReplayArgs, format: Format) -> Output {
    let name = display_name(&args.file);
    let text_in = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            return failure(
                format,
                &ReplayError {
                    file: name,
                    line: 0,
                    message: e.to_string(),
                },
            );
        }
    };
    let replay = match parse(&name, &text_in) {
        Ok(r) => r,
        Err(e) => return failure(format, &e),
    };
    let arch = args
        .arch
        .or_else(|| args.profile.map(Profile::arch))
        .or(replay.arch)
        .or_else(|| replay.steps.first().map(|(_, _, op)| op.arch()))
        .unwrap_or(Arch::X86);
    let profile = args
        .profile
        .filter(|p| p.arch() == arch)
        .unwrap_or_else(|| Profile::default_for(arch));
    let report = match run(&name, &replay, arch, profile) {
        Ok(r) => r,
        Err(message) => {
            return failure(
                format,
                &ReplayError {
                    file: name,
                    line: 0,
                    message: format!("{message} (replaying on {})", arch.title()),
                },
            );
        }
    };
    Output {
        stdout: match format {
            Format::Json => json(Some(&report), None),
            Format::Text => text(&report),
        },
        stderr: String::new(),
        status: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_request() {
        let r = parse(
            "t",
            "arch ppc64\n# comment\npoke 7 0x1_0001\npeek 6\nset_debugreg 0x1006\n\
             set_debugreg 6 1\nget_debugreg\ngethwdbginfo\nsethwdebug rw range 0x1000 0x1010 version=2\n\
             delhwdebug -1\n",
        )
        .unwrap();
        assert_eq!(r.arch, Some(Arch::Ppc64));
        let ops: Vec<Op> = r.steps.iter().map(|s| s.2).collect();
        assert_eq!(
            ops[0],
            Op::Poke {
                n: 7,
                value: 0x1_0001
            }
        );
        assert_eq!(ops[1], Op::Peek { n: 6 });
        assert_eq!(
            ops[2],
            Op::SetDebugreg {
                addr: 0,
                data: 0x1006
            }
        );
        assert_eq!(ops[3], Op::SetDebugreg { addr: 1, data: 6 });
        assert_eq!(ops[4], Op::GetDebugreg { addr: 0 });
        assert_eq!(ops[5], Op::GetHwDbgInfo);
        let Op::SetHwDebug(bp) = ops[6] else {
            panic!("{:?}", ops[6])
        };
        assert_eq!((bp.version, bp.trigger_type, bp.addr_mode), (2, 6, 1));
        assert_eq!((bp.addr, bp.addr2), (0x1000, 0x1010));
        assert_eq!(ops[7], Op::DelHwDebug { handle: -1 });
        assert_eq!(r.steps[0].0, 3, "line numbers count comments");
    }

    #[test]
    fn bad_lines_say_where() {
        let e = parse("f.replay", "peek 1\npoke 0\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.to_string()
                .starts_with("f.replay:2: unknown request `poke`")
        );
        let e = parse("f", "poke 300 1").unwrap_err();
        assert_eq!(e.message, "register number 300 is out of range");
        let e = parse("f", "sethwdebug q exact 0").unwrap_err();
        assert_eq!(e.message, "`q` is not a number");
    }
}
