//! The simulated task as a `gdbstub` target: registers, memory, resume and step, software
//! breakpoints, and hardware breakpoints and watchpoints through the HAL.

use std::collections::BTreeSet;
use std::io::Write;

use gdbstub::arch::Arch;
use gdbstub::common::Signal;
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps,
    SwBreakpoint, SwBreakpointOps, WatchKind,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use hwbkpt_hal::{CpuId, Origin, PrivilegeFilter, TaskId};
use hwbkpt_sim::{Machine, Mode};

use super::breakpoints::{Insertion, RequestPolicy};
use super::kernel::GdbKernel;
use super::model::GdbModel;
use super::stop::Stop;
use crate::bridge::MemoryView;

/// `EFAULT`: the address is not mapped.
const EFAULT: u8 = 14;
/// `EINVAL`: gdb's value cannot be taken.
const EINVAL: u8 = 22;

/// How gdb asked the task to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeMode {
    /// Until a stop.
    Continue,
    /// One instruction.
    Step,
}

/// Why the stub cannot go on at all (`gdbstub` ends the session on these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetFault {
    /// gdb asked to resume with a signal the simulated task cannot take (only the signal it
    /// stopped with can be passed on, which ends it).
    Signal(Signal),
}

impl core::fmt::Display for TargetFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Signal(s) => write!(f, "cannot deliver {s} to the simulated task"),
        }
    }
}

impl core::error::Error for TargetFault {}

/// One simulated task of one machine, served to gdb.
pub struct SimTarget<I: GdbModel> {
    /// The machine; its kernel is the HAL.
    pub machine: Machine<I, GdbKernel<I>>,
    /// The debugged task.
    pub task: TaskId,
    /// The CPU it runs on.
    pub cpu: CpuId,
    /// How requests are built for this task.
    policy: RequestPolicy,
    /// Software breakpoints: the stub checks the PC before each instruction, as an emulator
    /// can, so gdb's `Z0` never patches the program.
    sw_breaks: BTreeSet<u64>,
    /// Set by `resume`/`step`, cleared when a stop is reported.
    pub(super) mode: Option<ResumeMode>,
    /// Whether the fired one-shot watches were stepped over for this resume.
    pub(super) prepared: bool,
    /// The stop last reported, for a resume that passes its signal on.
    pub(super) last_stop: Option<Stop>,
    /// A stop found while resuming, reported at the next wait.
    pub(super) pending: Option<Stop>,
    /// Requests changed since the task was last switched in (the HAL installs at switch-in).
    pub(super) dirty: bool,
    /// Where the stub logs what gdb does not show (refusals and their reasons).
    log: Box<dyn Write + Send>,
}

impl<I: GdbModel> SimTarget<I> {
    /// Serve `task` of `machine`, running on `cpu`; the log receives one line per refusal.
    pub fn new(
        machine: Machine<I, GdbKernel<I>>,
        task: TaskId,
        cpu: CpuId,
        log: Box<dyn Write + Send>,
    ) -> Self {
        let kernel_mode = machine
            .regs(task)
            .is_some_and(|r| machine.isa().mode(r) != Mode::User);
        let policy = RequestPolicy {
            task,
            privilege: if kernel_mode {
                PrivilegeFilter::KERNEL
            } else {
                PrivilegeFilter::USER
            },
            origin: if kernel_mode {
                Origin::Kernel
            } else {
                Origin::User
            },
            delivery: I::WATCH_DELIVERY,
            watch_access: I::watch_access,
        };
        Self {
            machine,
            task,
            cpu,
            policy,
            sw_breaks: BTreeSet::new(),
            mode: None,
            prepared: false,
            last_stop: None,
            pending: None,
            dirty: true,
            log,
        }
    }

    /// Write one line to the log, at once (a script may be waiting for it; a failing log
    /// must not stop the session).
    pub fn note(&mut self, line: &str) {
        let _ = writeln!(self.log, "{line}");
        let _ = self.log.flush();
    }

    /// The task's PC.
    pub(super) fn pc(&self) -> u64 {
        self.machine
            .regs(self.task)
            .map_or(0, |r| self.machine.isa().pc(r))
    }

    /// Whether a software breakpoint is at `pc`.
    pub(super) fn sw_break_at(&self, pc: u64) -> bool {
        self.sw_breaks.contains(&pc)
    }

    /// Register a request for `insertion` with the HAL. Any refusal — invalid, impossible,
    /// no free slot — is `false`, which gdb reports as "Could not insert hardware
    /// watchpoint/breakpoint"; the reason goes to the log.
    fn insert(&mut self, insertion: Insertion) -> bool {
        let (request, by_value) = match self.policy.request(insertion) {
            Ok(r) => r,
            Err(e) => {
                self.note(&format!("refused {insertion}: {e}"));
                return false;
            }
        };
        // The HAL reads the watched bytes at registration (the first "last observed" value).
        let memory = self.machine.memory().clone();
        let registered = self
            .machine
            .kernel_mut()
            .hal
            .dispatcher
            .register(request, &mut MemoryView(&memory));
        match registered {
            Ok(id) => {
                let kernel = self.machine.kernel_mut();
                kernel.insertions.add(insertion, id, by_value);
                let slots = kernel.hal.dispatcher.plan(id).map_or(0, |p| p.len());
                let unit = if slots == 1 { "slot" } else { "slots" };
                self.note(&format!("inserted {insertion}: {slots} {unit}"));
                self.dirty = true;
                true
            }
            Err(e) => {
                self.note(&format!("refused {insertion}: {e}"));
                false
            }
        }
    }

    /// Release the request of `insertion`; `false` if gdb never inserted it.
    fn remove(&mut self, insertion: Insertion) -> bool {
        let kernel = self.machine.kernel_mut();
        let Some(id) = kernel.insertions.remove(insertion) else {
            return false;
        };
        if let Err(e) = kernel.hal.dispatcher.release(id) {
            self.note(&format!("release of {insertion} failed: {e}"));
        }
        self.dirty = true;
        true
    }

    /// Read as many bytes as are mapped from `addr` on.
    fn read_mapped(&self, addr: u64, data: &mut [u8]) -> usize {
        let memory = self.machine.memory();
        if memory.read(addr, data).is_ok() {
            return data.len();
        }
        // Part of the range is unmapped: gdb gets the prefix that is not.
        let mut done = 0;
        for (offset, byte) in data.iter_mut().enumerate() {
            let mut one = [0];
            let Some(at) = addr.checked_add(offset as u64) else {
                break;
            };
            if memory.read(at, &mut one).is_err() {
                break;
            }
            *byte = one[0];
            done += 1;
        }
        done
    }
}

impl<I: GdbModel> Target for SimTarget<I> {
    type Arch = I::GdbArch;
    type Error = TargetFault;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    /// The stub implements `Z0` itself, so gdb never writes breakpoint instructions.
    fn guard_rail_implicit_sw_breakpoints(&self) -> bool {
        true
    }
}

impl<I: GdbModel> SingleThreadBase for SimTarget<I> {
    fn read_registers(
        &mut self,
        regs: &mut <Self::Arch as Arch>::Registers,
    ) -> TargetResult<(), Self> {
        let ctx = self
            .machine
            .regs(self.task)
            .ok_or(TargetError::Errno(EFAULT))?;
        I::read_registers(ctx, regs);
        Ok(())
    }

    fn write_registers(
        &mut self,
        regs: &<Self::Arch as Arch>::Registers,
    ) -> TargetResult<(), Self> {
        let written = self
            .machine
            .with_task(self.task, |cx| I::write_registers(cx.regs_mut(), regs))
            .map_err(|_| TargetError::Errno(EFAULT))?;
        if let Err(e) = written {
            self.note(&format!("register write refused: {e}"));
            return Err(TargetError::Errno(EINVAL));
        }
        let pc = I::pc_of(regs);
        if pc != self.pc() {
            // Through the machine, so that the HAL cancels a pending interlock step.
            self.machine
                .set_pc(self.task, pc)
                .map_err(|_| TargetError::Errno(EFAULT))?;
        }
        Ok(())
    }

    fn read_addrs(&mut self, start_addr: u64, data: &mut [u8]) -> TargetResult<usize, Self> {
        match self.read_mapped(start_addr, data) {
            0 if !data.is_empty() => Err(TargetError::Errno(EFAULT)),
            n => Ok(n),
        }
    }

    fn write_addrs(&mut self, start_addr: u64, data: &[u8]) -> TargetResult<(), Self> {
        self.machine
            .memory_mut()
            .write(start_addr, data)
            .map_err(|_| TargetError::Errno(EFAULT))?;
        // gdb's own write is not the program's: the watches' "last observed" values move to
        // it, so the next x86 hit compares with what the program will overwrite (an `rwatch`
        // would otherwise take a changing store for a same-value one, and report a read).
        let memory = self.machine.memory().clone();
        let kernel = self.machine.kernel_mut();
        let ids: Vec<_> = kernel.insertions.ids().collect();
        for id in ids {
            // Every id here is registered: `observe` cannot refuse it.
            let _ = kernel.hal.dispatcher.observe(id, &mut MemoryView(&memory));
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl<I: GdbModel> SimTarget<I> {
    fn start(&mut self, mode: ResumeMode, signal: Option<Signal>) -> Result<(), TargetFault> {
        self.prepared = false;
        self.pending = None;
        if let Some(signal) = signal {
            // Passing on the signal of a fault ends the task, as its default action does.
            if self.last_stop == Some(Stop::Signal(signal)) {
                self.pending = Some(Stop::Terminated(signal));
            } else {
                return Err(TargetFault::Signal(signal));
            }
        }
        self.mode = Some(mode);
        Ok(())
    }
}

impl<I: GdbModel> SingleThreadResume for SimTarget<I> {
    fn resume(&mut self, signal: Option<Signal>) -> Result<(), Self::Error> {
        self.start(ResumeMode::Continue, signal)
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl<I: GdbModel> SingleThreadSingleStep for SimTarget<I> {
    fn step(&mut self, signal: Option<Signal>) -> Result<(), Self::Error> {
        self.start(ResumeMode::Step, signal)
    }
}

impl<I: GdbModel> Breakpoints for SimTarget<I> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl<I: GdbModel> SwBreakpoint for SimTarget<I> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        self.sw_breaks.insert(addr);
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.sw_breaks.remove(&addr))
    }
}

impl<I: GdbModel> HwBreakpoint for SimTarget<I> {
    fn add_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        if let Some(reason) = I::HW_BREAK_REFUSAL {
            self.note(&format!("refused hbreak at {addr:#x}: {reason}"));
            return Ok(false);
        }
        Ok(self.insert(Insertion::Break { addr }))
    }

    fn remove_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.remove(Insertion::Break { addr }))
    }
}

impl<I: GdbModel> HwWatchpoint for SimTarget<I> {
    fn add_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        Ok(self.insert(Insertion::Watch { addr, len, kind }))
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: WatchKind,
    ) -> TargetResult<bool, Self> {
        Ok(self.remove(Insertion::Watch { addr, len, kind }))
    }
}
