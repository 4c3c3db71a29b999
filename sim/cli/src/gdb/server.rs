//! `hwbkpt-sim gdbserver`: load a scenario onto one simulated CPU, wait for one gdb
//! connection on a TCP address, serve it until gdb detaches or the task ends.

use std::collections::HashMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};

use gdbstub::stub::{DisconnectReason, GdbStub};
use hwbkpt_hal::{CpuId, TaskId};

use super::kernel::GdbKernel;
use super::model::GdbModel;
use super::run_loop::EventLoop;
use super::target::SimTarget;
use crate::engine::{Loaded, load};
use crate::scenario::{Arch, Profile, ScenarioError, Source};

/// Why `gdbserver` failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The scenario cannot run on the chosen CPU.
    Scenario(ScenarioError),
    /// The listening address could not be bound.
    Listen {
        /// The address given.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// Accepting the connection failed.
    Accept(std::io::Error),
    /// The session ended on a connection or protocol error.
    Session(String),
}

impl core::fmt::Display for ServeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Scenario(e) => e.fmt(f),
            Self::Listen { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Self::Accept(e) => write!(f, "cannot accept a gdb connection: {e}"),
            Self::Session(e) => write!(f, "the gdb session failed: {e}"),
        }
    }
}

impl core::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Scenario(e) => Some(e),
            Self::Listen { source, .. } | Self::Accept(source) => Some(source),
            Self::Session(_) => None,
        }
    }
}

impl From<ScenarioError> for ServeError {
    fn from(e: ScenarioError) -> Self {
        Self::Scenario(e)
    }
}

/// How a session ended, in a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended(pub String);

/// Serve `source` on `arch` with `profile` to one gdb connecting to `listen`. Progress (the
/// banner with the program's labels, the address actually bound, refusals) goes to `log` as
/// it happens, so that a script can read the port of `--listen 127.0.0.1:0`.
///
/// # Errors
/// [`ServeError`].
pub fn serve(
    source: &Source,
    arch: Arch,
    profile: Profile,
    listen: &str,
    log: Box<dyn Write + Send>,
) -> Result<Ended, ServeError> {
    match arch {
        Arch::X86 => serve_on::<hwbkpt_sim::x86::X86>(source, profile, listen, log),
        Arch::Ppc64 => serve_on::<hwbkpt_sim::ppc64::Ppc64>(source, profile, listen, log),
    }
}

/// The scenario loaded on model `I`, ready for gdb: the banner (regions, labels, what is not
/// used) goes to `log`, which the target then keeps for its own lines. Returns the target
/// and the program's labels.
///
/// # Errors
/// [`ScenarioError`] for content the architecture cannot run.
pub fn prepare<I: GdbModel>(
    source: &Source,
    profile: Profile,
    mut log: Box<dyn Write + Send>,
) -> Result<(SimTarget<I>, HashMap<String, u64>), ScenarioError> {
    let (isa, arch) = I::build(profile);
    let Loaded {
        mut machine,
        assembled,
        tasks,
        ..
    } = load(source, isa, GdbKernel::<I>::new(arch))?;
    // Nobody reads the trace during a session; a long run must not grow it.
    machine.trace_mut().set_enabled(false);
    let s = &source.scenario;
    let _ = writeln!(
        log,
        "hwbkpt-sim gdbserver: `{}` ({}) on {} ({})",
        s.name,
        source.file_name(),
        I::ARCH.title(),
        profile.name()
    );
    for region in &s.memory {
        let r = region.get_ref();
        let _ = writeln!(log, "  memory {:#x}..{:#x}", r.addr.0, r.addr.0 + r.size.0);
    }
    let mut labels: Vec<(&String, &u64)> = assembled.labels.iter().collect();
    labels.sort_by_key(|(name, addr)| (**addr, (*name).clone()));
    for (name, addr) in labels {
        let _ = writeln!(log, "  label {name} = {addr:#x}");
    }
    let ignored = s.request.len() + s.raw.len() + s.schedule.len();
    if ignored > 0 {
        let _ = writeln!(
            log,
            "  note: the scenario's requests, raw writes and schedule ({ignored} entries) are not used: gdb owns the breakpoints"
        );
    }
    if tasks.len() > 1 {
        let _ = writeln!(
            log,
            "  note: serving task 0 only; the scenario's other {} tasks do not run",
            tasks.len() - 1
        );
    }
    // `load` always spawns at least one task; a machine without one would only say so.
    let task = tasks.first().copied().unwrap_or(TaskId(0));
    Ok((
        SimTarget::new(machine, task, CpuId(0), log),
        assembled.labels,
    ))
}

fn serve_on<I: GdbModel>(
    source: &Source,
    profile: Profile,
    listen: &str,
    log: Box<dyn Write + Send>,
) -> Result<Ended, ServeError> {
    let (mut target, _) = prepare::<I>(source, profile, log)?;
    let listener = TcpListener::bind(listen).map_err(|source| ServeError::Listen {
        addr: listen.to_owned(),
        source,
    })?;
    let bound = listener
        .local_addr()
        .map_or_else(|_| listen.to_owned(), |a| a.to_string());
    let mut setup: String = I::GDB_SETUP.iter().map(|c| format!(" -ex '{c}'")).collect();
    setup.push_str(&format!(" -ex 'target remote {bound}'"));
    target.note(&format!(
        "listening on {bound}; connect with: {}{setup}",
        I::GDB
    ));
    let (stream, peer) = listener.accept().map_err(ServeError::Accept)?;
    // Packets are small and answered one by one: do not wait to fill segments.
    let _ = stream.set_nodelay(true);
    target.note(&format!("gdb connected from {peer}"));
    let ended = GdbStub::new(stream)
        .run_blocking::<EventLoop<I, TcpStream>>(&mut target)
        .map_err(|e| ServeError::Session(e.to_string()))?;
    let text = match ended {
        DisconnectReason::Disconnect => "gdb disconnected".to_owned(),
        DisconnectReason::TargetExited(code) => format!("the task exited with code {code}"),
        DisconnectReason::TargetTerminated(signal) => {
            format!("the task was terminated by {signal}")
        }
        DisconnectReason::Kill => "gdb killed the task".to_owned(),
    };
    target.note(&text);
    Ok(Ended(text))
}
