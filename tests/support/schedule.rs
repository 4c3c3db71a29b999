//! Injected faults and the driver that applies them to a machine, then runs every task to its
//! end. The same schedule runs on the machine with breakpoints and on the one without; their
//! tasks use disjoint data, so their results do not depend on how the schedules interleave.

use hwbkpt::{CpuId, TaskId};
use hwbkpt_sim::{Isa, Kernel, Machine, StopReason};
use hwbkpt_sim_cli::bridge::{HalKernel, SimBinding};
use proptest::prelude::*;

use super::reference::{Change, Watch};

/// One scheduling decision or injected fault, small enough to read in a counterexample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Run task `task` on CPU `cpu` for `steps` steps (switching it in, migrating it there).
    Run {
        /// Task index.
        task: u8,
        /// CPU index.
        cpu: u8,
        /// Step budget.
        steps: u8,
    },
    /// Run task `task` on CPU `cpu` until it has an interlock step pending (it stopped between
    /// a data hit and the step that completes the access), at most `steps` steps — so that
    /// the faults after it land exactly where DESIGN §2 says they must not break anything.
    RunUntilStepPending {
        /// Task index.
        task: u8,
        /// CPU index.
        cpu: u8,
        /// Step budget.
        steps: u8,
    },
    /// Release the `request`-th accepted request (modulo their number).
    Release {
        /// Index among the accepted requests.
        request: u8,
    },
    /// Re-arm the `request`-th accepted request (a debugger re-arming a one-shot stop).
    Rearm {
        /// Index among the accepted requests.
        request: u8,
    },
    /// Switch the running task out of `cpu`.
    Preempt {
        /// CPU index.
        cpu: u8,
    },
    /// Move a task to another CPU (switched out first if it runs).
    Migrate {
        /// Task index.
        task: u8,
        /// CPU index.
        cpu: u8,
    },
    /// An external interrupt on `cpu`.
    Interrupt {
        /// CPU index.
        cpu: u8,
    },
    /// Kernel code sets the task's PC to where it already is (a signal handler returning
    /// through `sigreturn`, a debugger writing the PC back): whatever the instruction was about
    /// to do has not happened, and it runs again — so a pending step must be cancelled.
    SetPc {
        /// Task index.
        task: u8,
    },
}

/// Schedules for `tasks` tasks on `cpus` CPUs: mostly runs, with the other faults between.
pub(crate) fn faults(tasks: u8, cpus: u8, max_len: usize) -> impl Strategy<Value = Vec<Fault>> {
    let task = 0..tasks;
    let cpu = 0..cpus;
    let fault = prop_oneof![
        // Short runs stop often between a hit and its step, where the faults matter most.
        3 => (task.clone(), cpu.clone(), 1u8..4)
            .prop_map(|(task, cpu, steps)| Fault::Run { task, cpu, steps }),
        2 => (task.clone(), cpu.clone(), 4u8..24)
            .prop_map(|(task, cpu, steps)| Fault::Run { task, cpu, steps }),
        2 => (task.clone(), cpu.clone(), 1u8..48)
            .prop_map(|(task, cpu, steps)| Fault::RunUntilStepPending { task, cpu, steps }),
        1 => (0u8..8).prop_map(|request| Fault::Release { request }),
        1 => (0u8..8).prop_map(|request| Fault::Rearm { request }),
        1 => cpu.clone().prop_map(|cpu| Fault::Preempt { cpu }),
        2 => (task.clone(), cpu.clone()).prop_map(|(task, cpu)| Fault::Migrate { task, cpu }),
        1 => cpu.prop_map(|cpu| Fault::Interrupt { cpu }),
        2 => task.prop_map(|task| Fault::SetPc { task }),
    ];
    prop::collection::vec(fault, 0..max_len)
}

/// Steps after which a task that has not ended counts as livelocked.
const STEP_LIMIT: u64 = 20_000;

/// Run `task` on `cpu` for up to `steps` steps; a ptrace-style stop is resumed at once (the
/// debugger continues the task on the CPU it stopped on). Returns the steps taken and whether
/// the task ended.
fn run_resuming<I: Isa, K: Kernel<I>>(
    machine: &mut Machine<I, K>,
    task: TaskId,
    cpu: CpuId,
    steps: u64,
) -> Result<(u64, bool), String> {
    let mut done = 0;
    while done < steps {
        let outcome = machine
            .run(task, cpu, steps - done)
            .map_err(|e| format!("run {task:?} on {cpu:?}: {e}"))?;
        done += outcome.steps;
        match outcome.stop {
            StopReason::Stopped => {}
            StopReason::Budget => return Ok((done, false)),
            StopReason::Exited => return Ok((done, true)),
            StopReason::Killed => return Err(format!("{task:?} was killed (a fault)")),
            StopReason::Checkstop => return Err("the machine checkstopped".into()),
        }
    }
    Ok((done, false))
}

fn alive<I: Isa, K: Kernel<I>>(machine: &Machine<I, K>, task: TaskId) -> bool {
    machine.task(task).is_some_and(|t| t.state().is_alive())
}

/// A change to the registered requests, made by kernel code between instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// The request is released.
    Release,
    /// The request is enabled again.
    Rearm,
}

/// What the driver asks of the layer under test.
pub(crate) trait Layer<I: Isa, K: Kernel<I>> {
    /// Whether the layer has an interlock step pending for `task` (what a kernel knows from
    /// the HAL; a machine without breakpoints never has one).
    fn step_pending(&self, machine: &Machine<I, K>, task: TaskId) -> bool;

    /// Apply `control` to the `request`-th accepted request, if there is one; the driver then
    /// switches every CPU's task out, so each is reprogrammed when it runs next (the HAL
    /// installs and uninstalls slots at `switch_in`).
    fn control(&mut self, machine: &mut Machine<I, K>, request: u8, control: Control);
}

/// Apply `schedule` (faults naming dead tasks are skipped), then run every task to its end.
///
/// # Errors
/// A task killed, the machine checkstopped, or a task still running after [`STEP_LIMIT`]
/// steps (a livelock, e.g. a breakpoint that fires forever).
pub(crate) fn drive<I: Isa, K: Kernel<I>>(
    machine: &mut Machine<I, K>,
    tasks: &[TaskId],
    schedule: &[Fault],
    layer: &mut dyn Layer<I, K>,
) -> Result<(), String> {
    let cpus = machine.cpu_count();
    let cpu = |c: u8| CpuId(u32::from(c) % cpus);
    for &fault in schedule {
        match fault {
            Fault::Run {
                task,
                cpu: c,
                steps,
            } => {
                let t = tasks[usize::from(task) % tasks.len()];
                if alive(machine, t) {
                    let c = cpu(c);
                    run_resuming(machine, t, c, u64::from(steps))?;
                }
            }
            Fault::RunUntilStepPending {
                task,
                cpu: c,
                steps,
            } => {
                let t = tasks[usize::from(task) % tasks.len()];
                let c = cpu(c);
                for _ in 0..steps {
                    if !alive(machine, t) || layer.step_pending(machine, t) {
                        break;
                    }
                    run_resuming(machine, t, c, 1)?;
                }
            }
            Fault::Release { request } | Fault::Rearm { request } => {
                let control = if matches!(fault, Fault::Release { .. }) {
                    Control::Release
                } else {
                    Control::Rearm
                };
                layer.control(machine, request, control);
                for c in 0..cpus {
                    machine.preempt(CpuId(c)).map_err(|e| e.to_string())?;
                }
            }
            Fault::Preempt { cpu: c } => {
                let c = cpu(c);
                machine.preempt(c).map_err(|e| e.to_string())?;
            }
            Fault::Migrate { task, cpu: c } => {
                let t = tasks[usize::from(task) % tasks.len()];
                if alive(machine, t) {
                    let c = cpu(c);
                    machine.migrate(t, c).map_err(|e| e.to_string())?;
                }
            }
            Fault::Interrupt { cpu: c } => {
                let c = cpu(c);
                machine.interrupt(c).map_err(|e| e.to_string())?;
            }
            Fault::SetPc { task } => {
                let t = tasks[usize::from(task) % tasks.len()];
                if alive(machine, t) {
                    let pc = machine
                        .regs(t)
                        .map(|regs| machine.isa().pc(regs))
                        .ok_or("no registers")?;
                    machine.set_pc(t, pc).map_err(|e| e.to_string())?;
                }
            }
        }
    }
    for &t in tasks {
        if alive(machine, t) {
            let home = machine.task(t).map_or(CpuId(0), |task| task.home());
            let (_, ended) = run_resuming(machine, t, home, STEP_LIMIT)?;
            if !ended {
                return Err(format!("{t:?} did not end within {STEP_LIMIT} steps"));
            }
        }
    }
    Ok(())
}

/// The HAL as the layer under test: its dispatcher's pending steps, releases and re-arms of
/// the accepted requests, each logged with the trace length for the reference model.
pub(crate) struct HalLayer<'a> {
    /// The accepted requests.
    pub(crate) watches: &'a [Watch],
    /// Releases and re-arms made, in order.
    pub(crate) changes: Vec<Change>,
    /// Answers of `release`/`rearm` that contradict the log (a released id must stay
    /// unknown; a live one must be accepted).
    pub(crate) wrong_answers: Vec<String>,
}

impl<'a> HalLayer<'a> {
    /// A layer over `watches`.
    pub(crate) const fn new(watches: &'a [Watch]) -> Self {
        Self {
            watches,
            changes: Vec::new(),
            wrong_answers: Vec::new(),
        }
    }
}

impl<I: SimBinding> Layer<I, HalKernel<I>> for HalLayer<'_> {
    fn step_pending(&self, machine: &Machine<I, HalKernel<I>>, task: TaskId) -> bool {
        machine.kernel().dispatcher.pending_step(task).is_some()
    }

    fn control(&mut self, machine: &mut Machine<I, HalKernel<I>>, request: u8, control: Control) {
        if self.watches.is_empty() {
            return;
        }
        let index = usize::from(request) % self.watches.len();
        let id = self.watches[index].id;
        let released = self
            .changes
            .iter()
            .any(|c| c.request == index && c.control == Control::Release);
        let dispatcher = &mut machine.kernel_mut().dispatcher;
        let accepted = match control {
            Control::Release => dispatcher.release(id).is_ok(),
            Control::Rearm => dispatcher.rearm(id).is_ok(),
        };
        if accepted == released {
            self.wrong_answers.push(format!(
                "{control:?} of {id:?} (released before: {released})"
            ));
        }
        self.changes.push(Change {
            at: machine.trace().events().len(),
            request: index,
            control,
        });
    }
}
