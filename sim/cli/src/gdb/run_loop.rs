//! Running the simulated task for gdb: one machine step at a time, software breakpoints
//! checked before each instruction, the connection polled for gdb's interrupt (Ctrl-C), and
//! `gdbstub`'s blocking event loop on top.

use core::marker::PhantomData;

use gdbstub::common::Signal;
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::SingleThreadStopReason;
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};
use gdbstub::target::Target;
use hwbkpt_sim::StopReason;

use super::model::GdbModel;
use super::stop::Stop;
use super::target::{ResumeMode, SimTarget};

/// Instructions run between two looks at the connection while continuing.
const POLL_EVERY: u32 = 1024;

/// What a stretch of running ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEvent {
    /// gdb sent something (an interrupt) while the task ran.
    IncomingData,
    /// The task stopped.
    Stopped(Stop),
}

impl<I: GdbModel> SimTarget<I> {
    /// The HAL installs a task's slots when it is switched in: after gdb inserted or removed
    /// anything, switch the task out so that the next step switches it in again.
    fn apply_requests(&mut self) {
        if self.dirty {
            self.dirty = false;
            if let Err(e) = self.machine.preempt(self.cpu) {
                self.note(&format!("cannot reinstall the slots: {e}"));
            }
        }
    }

    /// One machine step (one instruction, or one `rep` iteration); `Some` when it stopped.
    fn step_once(&mut self) -> Option<Stop> {
        self.apply_requests();
        let outcome = self.machine.run(self.task, self.cpu, 1);
        let notes: Vec<String> = self.machine.kernel_mut().notes.drain(..).collect();
        for line in notes {
            self.note(&line);
        }
        let stop = match outcome {
            Ok(o) => match o.stop {
                StopReason::Budget => return None,
                StopReason::Stopped => self
                    .machine
                    .kernel_mut()
                    .stop
                    .take()
                    .unwrap_or(Stop::Signal(Signal::SIGTRAP)),
                StopReason::Exited => Stop::Exited,
                StopReason::Killed => Stop::Terminated(Signal::SIGKILL),
                StopReason::Checkstop => {
                    self.note("the machine checkstopped (POWER9 DAWR on cache-inhibited memory)");
                    Stop::Terminated(Signal::SIGKILL)
                }
            },
            Err(e) => {
                self.note(&format!("the task cannot run: {e}"));
                Stop::Terminated(Signal::SIGKILL)
            }
        };
        Some(stop)
    }

    /// Before running on: a PPC64 watch that stopped before its access is one-shot. If the
    /// PC is still at that access, step it with the watch disarmed (as a ptrace debugger
    /// steps over a watchpoint), then re-arm every fired watch. gdb usually removes its
    /// watchpoints around that step itself; this covers the resumes where it does not.
    /// Returns the step's stop, and whether the step was taken.
    fn step_over_fired(&mut self) -> (Option<Stop>, bool) {
        let pc = self.pc();
        let fired: Vec<_> = self.machine.kernel().insertions.fired().collect();
        if fired.is_empty() {
            return (None, false);
        }
        let mut stop = None;
        let mut stepped = false;
        if fired.iter().any(|(_, at)| *at == pc) {
            stop = self.step_once();
            stepped = true;
        }
        let now = self.pc();
        for (id, at) in fired {
            // A watch that fired again at the same PC stays one-shot for the next resume.
            if at == now && stepped && stop.is_some() {
                continue;
            }
            let kernel = self.machine.kernel_mut();
            if kernel.hal.dispatcher.rearm(id).is_ok() {
                kernel.insertions.rearmed(id);
                self.dirty = true;
            }
        }
        (stop, stepped)
    }

    /// Run as gdb asked until a stop, or until `incoming` says gdb sent something.
    pub fn run(&mut self, mut incoming: impl FnMut() -> bool) -> RunEvent {
        let Some(mode) = self.mode else {
            // Nothing to run: gdb waits for a stop it already has.
            return RunEvent::Stopped(self.last_stop.unwrap_or(Stop::Signal(Signal::SIGTRAP)));
        };
        if let Some(stop) = self.pending.take() {
            return self.stopped(stop);
        }
        if !self.prepared {
            self.prepared = true;
            let (stop, stepped) = self.step_over_fired();
            if let Some(stop) = stop {
                return self.stopped(stop);
            }
            if stepped && mode == ResumeMode::Step {
                return self.stopped(Stop::DoneStep);
            }
        }
        if mode == ResumeMode::Step {
            // gdb steps over its own breakpoints, so the step ignores one at the PC.
            let stop = self.step_once().unwrap_or(Stop::DoneStep);
            return self.stopped(stop);
        }
        let mut since_poll = 0;
        loop {
            since_poll += 1;
            if since_poll == POLL_EVERY {
                since_poll = 0;
                if incoming() {
                    return RunEvent::IncomingData;
                }
            }
            if self.sw_break_at(self.pc()) {
                return self.stopped(Stop::SwBreak);
            }
            if let Some(stop) = self.step_once() {
                return self.stopped(stop);
            }
        }
    }

    fn stopped(&mut self, stop: Stop) -> RunEvent {
        self.mode = None;
        self.last_stop = Some(stop);
        RunEvent::Stopped(stop)
    }

    /// gdb interrupted the run (Ctrl-C).
    pub fn interrupted(&mut self) -> Stop {
        let stop = Stop::Signal(Signal::SIGINT);
        self.stopped(stop);
        stop
    }
}

/// `gdbstub`'s blocking event loop for one simulated task over connection `C`.
pub struct EventLoop<I, C>(PhantomData<(I, C)>);

impl<I: GdbModel, C: ConnectionExt> BlockingEventLoop for EventLoop<I, C> {
    type Target = SimTarget<I>;
    type Connection = C;
    type StopReason = SingleThreadStopReason<u64>;

    fn wait_for_stop_reason(
        target: &mut SimTarget<I>,
        conn: &mut C,
    ) -> Result<
        Event<SingleThreadStopReason<u64>>,
        WaitForStopReasonError<<SimTarget<I> as Target>::Error, <C as Connection>::Error>,
    > {
        // A failing peek (gdb went away) counts as incoming data: the read below reports it.
        let incoming = || conn.peek().map(|b| b.is_some()).unwrap_or(true);
        match target.run(incoming) {
            RunEvent::IncomingData => {
                let byte = conn.read().map_err(WaitForStopReasonError::Connection)?;
                Ok(Event::IncomingData(byte))
            }
            RunEvent::Stopped(stop) => Ok(Event::TargetStopped(stop.reason())),
        }
    }

    fn on_interrupt(
        target: &mut SimTarget<I>,
    ) -> Result<Option<SingleThreadStopReason<u64>>, <SimTarget<I> as Target>::Error> {
        Ok(Some(target.interrupted().reason()))
    }
}
