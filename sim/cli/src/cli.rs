//! The `hwbkpt-sim` command line: clap derive, `--format text|json`, exit statuses.
//!
//! Exit status: 0 success; 1 `--expect` found a difference (or `encode` was refused);
//! 2 a bad scenario or bad arguments (never a panic).

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::engine::{profile_for, run_arch};
use crate::registers::{self, PlanRow, RegisterName, RequestArgs};
use crate::report::{CompareReport, RunReport, SCHEMA_VERSION};
use crate::scenario::{
    self, AccessName, Arch, PrivilegeName, Profile, ScenarioError, Source, number::parse_u64,
};
use crate::text::{self, Painter};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Readable text (coloured on a terminal).
    #[default]
    Text,
    /// One JSON document (schema in `sim/cli/README.md`).
    Json,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorWhen {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Explore hardware breakpoint semantics on simulated x86-64 and PowerPC 64 CPUs, with the
/// hwbkpt HAL as their kernel.
#[derive(Debug, Parser)]
#[command(
    name = "hwbkpt-sim",
    version,
    after_help = "Start with `hwbkpt-sim demo`. Scenario files: sim/cli/examples/ (format: sim/cli/README.md).\nExit status: 0 success, 1 --expect mismatch or refused encode, 2 bad scenario or arguments."
)]
pub struct Cli {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Colour text output.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario on one CPU model and print its timeline: instructions, accesses, raw
    /// exceptions, interlock steps and delivered events.
    Run(RunArgs),
    /// Run a scenario on x86-64 and on a PPC64 model: native behaviour and HAL events side by
    /// side, and where they differ.
    Compare(CompareArgs),
    /// Plan and encode a request: the exact register values, field by field.
    Encode(EncodeArgs),
    /// Decode a raw register value into its fields, flagging reserved bits.
    Decode(DecodeArgs),
    /// Plan a range on every architecture and CPU profile: its slots, or why it cannot be
    /// covered.
    Plan(PlanArgs),
    /// A short guided tour of built-in scenarios.
    Demo,
    /// Serve a scenario's program to the real gdb over the remote protocol: registers,
    /// memory, continue, step, breakpoints, and hardware watchpoints through the HAL.
    Gdbserver(GdbserverArgs),
    /// Replay ptrace debug-register requests (`poke 0 0x1000`, `peek 7`, `sethwdebug …`)
    /// against the ptrace-compatible virtual register file: each step's result (`OK` or
    /// Linux's errno name) and the readback.
    PtraceReplay(crate::ptrace_replay::PtraceReplayArgs),
}

/// `gdbserver`'s arguments.
#[derive(Debug, clap::Args)]
pub struct GdbserverArgs {
    /// The scenario file (TOML): its memory, program and first task; its requests, raw
    /// writes and schedule are not used (gdb owns the breakpoints).
    pub scenario: PathBuf,
    /// Address to wait on for one gdb connection (port 0: any free port; the bound address is
    /// printed on stderr).
    #[arg(long, default_value = "127.0.0.1:1234")]
    pub listen: String,
    /// Architecture (default: the scenario's `arch`).
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
    /// CPU profile (default: the scenario's profile for the architecture); a profile of the
    /// other architecture selects that architecture.
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
}

/// `run`'s arguments.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Architecture (default: the scenario's `arch`).
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
    /// CPU profile (default: the scenario's profile for the architecture); a profile of the
    /// other architecture selects that architecture.
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// Exit 1 when the delivered events differ from the scenario's `[[expect]]` entries.
    #[arg(long)]
    pub expect: bool,
}

/// `compare`'s arguments.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Profile of one side (x86 or PPC64; may be given twice, once per architecture).
    #[arg(long, value_enum)]
    pub profile: Vec<Profile>,
    /// Exit 1 when either side's events differ from the scenario's `[[expect]]` entries.
    #[arg(long)]
    pub expect: bool,
}

/// A request on the command line.
#[derive(Debug, clap::Args)]
pub struct RequestOpts {
    /// First byte (`0x…` or decimal).
    #[arg(long, value_parser = parse_number)]
    pub addr: u64,
    /// Bytes.
    #[arg(long, value_parser = parse_number)]
    pub len: u64,
    /// Access kinds.
    #[arg(long, value_enum)]
    pub access: AccessName,
    /// Privilege filter, comma-separated (default user).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub privilege: Vec<PrivilegeName>,
    /// The request comes from the kernel (kernel addresses allowed).
    #[arg(long)]
    pub kernel: bool,
}

impl RequestOpts {
    fn args(&self) -> RequestArgs {
        RequestArgs {
            addr: self.addr,
            len: self.len,
            access: self.access,
            privilege: RequestArgs::privilege_from(&self.privilege),
            kernel: self.kernel,
        }
    }
}

/// `encode`'s arguments.
#[derive(Debug, clap::Args)]
pub struct EncodeArgs {
    /// Architecture.
    #[arg(long, value_enum)]
    pub arch: Arch,
    /// The request.
    #[command(flatten)]
    pub request: RequestOpts,
    /// First slot to use (x86: DR0–DR3; PPC64: index in the data or instruction pool).
    #[arg(long, default_value_t = 0)]
    pub slot: u8,
    /// CPU profile (PPC64: power7, power8, power9, power9-dangerous, power10).
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
}

/// `decode`'s arguments.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// The register.
    #[arg(value_enum)]
    pub register: RegisterName,
    /// Its value (`0x…` or decimal).
    #[arg(value_parser = parse_number)]
    pub value: u64,
}

/// `plan`'s arguments.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The request.
    #[command(flatten)]
    pub request: RequestOpts,
    /// Only this architecture.
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
    /// Only this profile.
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
}

fn parse_number(text: &str) -> Result<u64, String> {
    parse_u64(text).ok_or_else(|| format!("`{text}` is not a number (0x…, 0b… or decimal)"))
}

/// The JSON envelope of every command.
#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    schema: &'static str,
    schema_version: u32,
    command: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scenario: Option<ScenarioInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ScenarioError>,
}

#[derive(Serialize)]
struct ScenarioInfo {
    file: String,
    name: String,
    teaches: String,
}

fn info(source: &Source) -> ScenarioInfo {
    ScenarioInfo {
        file: source.file_name(),
        name: source.scenario.name.clone(),
        teaches: source.scenario.teaches.clone(),
    }
}

fn json<T: Serialize>(
    command: &str,
    scenario: Option<ScenarioInfo>,
    result: Option<T>,
    error: Option<&ScenarioError>,
) -> String {
    let envelope = Envelope {
        schema: "hwbkpt-sim",
        schema_version: SCHEMA_VERSION,
        command,
        scenario,
        result,
        error,
    };
    let mut s = serde_json::to_string_pretty(&envelope)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// What a command produced: text for stdout and stderr, and the exit status.
#[derive(Debug, Default)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status.
    pub status: u8,
}

fn header(source: &Source) -> Vec<(&'static str, String)> {
    vec![
        (
            "scenario",
            format!("{} — {}", source.file_name(), source.scenario.name),
        ),
        ("teaches", source.scenario.teaches.clone()),
    ]
}

fn scenario_error(command: &str, format: Format, e: &ScenarioError) -> Output {
    Output {
        stdout: if format == Format::Json {
            json::<()>(command, None, None, Some(e))
        } else {
            String::new()
        },
        stderr: format!("error: {e}\n"),
        status: 2,
    }
}

/// `run` on a parsed scenario.
fn run_source(
    source: &Source,
    arch: Option<Arch>,
    profile: Option<Profile>,
) -> Result<RunReport, ScenarioError> {
    let arch = arch
        .or_else(|| profile.map(Profile::arch))
        .unwrap_or(source.scenario.arch);
    let profile = profile_for(source, arch, profile);
    run_arch(source, arch, profile)
}

fn expect_failed(report: &RunReport) -> bool {
    report.expectations.as_ref().is_some_and(|e| !e.passed)
}

/// Both sides of a compare.
pub(crate) fn compare_source(
    source: &Source,
    profiles: &[Profile],
) -> Result<CompareReport, ScenarioError> {
    let pick = |arch: Arch| profiles.iter().copied().find(|p| p.arch() == arch);
    let x86 = run_arch(
        source,
        Arch::X86,
        profile_for(source, Arch::X86, pick(Arch::X86)),
    )?;
    let ppc64 = run_arch(
        source,
        Arch::Ppc64,
        profile_for(source, Arch::Ppc64, pick(Arch::Ppc64)),
    )?;
    let differences = crate::compare::differences(&x86, &ppc64);
    Ok(CompareReport {
        x86,
        ppc64,
        differences,
    })
}

/// `gdbserver`: progress goes to stderr as it happens (the bound port, the labels), so the
/// returned output only carries the final status.
fn gdbserver(args: &GdbserverArgs, format: Format) -> Output {
    let source = match scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(e) => return scenario_error("gdbserver", format, &e),
    };
    let arch = args
        .arch
        .or_else(|| args.profile.map(Profile::arch))
        .unwrap_or(source.scenario.arch);
    let profile = profile_for(&source, arch, args.profile);
    match crate::gdb::serve(
        &source,
        arch,
        profile,
        &args.listen,
        Box::new(std::io::stderr()),
    ) {
        Ok(_) => Output::default(),
        Err(crate::gdb::ServeError::Scenario(e)) => scenario_error("gdbserver", format, &e),
        Err(e) => Output {
            stdout: String::new(),
            stderr: format!("error: {e}\n"),
            status: 1,
        },
    }
}

/// Run one parsed command line.
#[must_use]
pub fn execute(cli: &Cli, color: bool) -> Output {
    let p = Painter { color };
    let format = cli.format;
    match &cli.command {
        Command::Run(args) => {
            let source = match scenario::load(&args.scenario) {
                Ok(s) => s,
                Err(e) => return scenario_error("run", format, &e),
            };
            let report = match run_source(&source, args.arch, args.profile) {
                Ok(r) => r,
                Err(e) => return scenario_error("run", format, &e),
            };
            let status = u8::from(args.expect && expect_failed(&report));
            let stdout = match format {
                Format::Json => json("run", Some(info(&source)), Some(&report), None),
                Format::Text => text::run(p, &header(&source), &report),
            };
            Output {
                stdout,
                stderr: if status == 1 {
                    "error: the delivered events differ from the scenario's expectations\n"
                        .to_owned()
                } else {
                    String::new()
                },
                status,
            }
        }
        Command::Compare(args) => {
            let source = match scenario::load(&args.scenario) {
                Ok(s) => s,
                Err(e) => return scenario_error("compare", format, &e),
            };
            let report = match compare_source(&source, &args.profile) {
                Ok(r) => r,
                Err(e) => return scenario_error("compare", format, &e),
            };
            let failed = expect_failed(&report.x86) || expect_failed(&report.ppc64);
            let status = u8::from(args.expect && failed);
            let stdout = match format {
                Format::Json => json("compare", Some(info(&source)), Some(&report), None),
                Format::Text => text::compare(p, &header(&source), &report),
            };
            Output {
                stdout,
                stderr: if status == 1 {
                    "error: the delivered events differ from the scenario's expectations\n"
                        .to_owned()
                } else {
                    String::new()
                },
                status,
            }
        }
        Command::Encode(args) => {
            let profile = args
                .profile
                .filter(|p| p.arch() == args.arch)
                .unwrap_or_else(|| Profile::default_for(args.arch));
            if let Some(p) = args.profile
                && p.arch() != args.arch
            {
                return Output {
                    stdout: String::new(),
                    stderr: format!(
                        "error: profile `{}` is not an {} profile\n",
                        p.name(),
                        args.arch.title()
                    ),
                    status: 2,
                };
            }
            match registers::encode(&args.request.args(), profile, args.slot) {
                Ok(e) => Output {
                    stdout: match format {
                        Format::Json => json("encode", None, Some(&e), None),
                        Format::Text => text::encoded(p, &e),
                    },
                    stderr: String::new(),
                    status: 0,
                },
                Err(e) => Output {
                    stdout: match format {
                        Format::Json => json::<serde_json::Value>(
                            "encode",
                            None,
                            Some(serde_json::json!({ "refused": e.to_string() })),
                            None,
                        ),
                        Format::Text => String::new(),
                    },
                    stderr: format!("error: {e}\n"),
                    status: 1,
                },
            }
        }
        Command::Decode(args) => {
            let d = registers::decode(args.register, args.value);
            Output {
                stdout: match format {
                    Format::Json => json("decode", None, Some(&d), None),
                    Format::Text => {
                        let mut s = String::new();
                        text::decoded(p, &d, &mut s);
                        s
                    }
                },
                stderr: String::new(),
                status: 0,
            }
        }
        Command::Plan(args) => {
            let rows: Vec<PlanRow> = registers::plan(&args.request.args(), args.arch, args.profile);
            let r = &args.request;
            let request = format!("{:?} {} bytes at {:#x}", r.access, r.len, r.addr).to_lowercase();
            Output {
                stdout: match format {
                    Format::Json => json("plan", None, Some(&rows), None),
                    Format::Text => text::plan(p, &request, &rows),
                },
                stderr: String::new(),
                status: 0,
            }
        }
        Command::Demo => crate::demo::run(p, format),
        Command::Gdbserver(args) => gdbserver(args, format),
        Command::PtraceReplay(args) => crate::ptrace_replay::execute(args, format),
    }
}

/// Parse `args` (including the program name) and run: what `main` does, testable.
#[must_use]
pub fn run_args<I, T>(args: I, terminal: bool) -> Output
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(cli) => {
            let color = match cli.color {
                ColorWhen::Always => true,
                ColorWhen::Never => false,
                ColorWhen::Auto => terminal,
            };
            execute(&cli, color)
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let status = u8::try_from(e.exit_code()).unwrap_or(2);
            if e.use_stderr() {
                Output {
                    stdout: String::new(),
                    stderr: rendered,
                    status,
                }
            } else {
                Output {
                    stdout: rendered,
                    stderr: String::new(),
                    status,
                }
            }
        }
    }
}

/// The binary's entry point: colour on a terminal unless `NO_COLOR` (anstream decides).
#[must_use]
pub fn main() -> std::process::ExitCode {
    let stdout = std::io::stdout();
    let terminal = !matches!(
        anstream::AutoStream::choice(&stdout),
        anstream::ColorChoice::Never
    );
    let output = run_args(std::env::args_os(), terminal);
    let _ = stdout.lock().write_all(output.stdout.as_bytes());
    let _ = std::io::stderr().lock().write_all(output.stderr.as_bytes());
    std::process::ExitCode::from(output.status)
}
