//! N CPUs running tasks on one shared memory, driven step by step by the caller.
//!
//! The machine is the kernel's scheduler and entry code: it switches register contexts
//! (saving the outgoing task's registers, debug registers included, and restoring the
//! incoming task's), delivers interrupts, and routes exceptions and faults to the
//! [`Kernel`]. Nothing here is random unless a [`RandomPolicy`] with a seed drives it.

use hwbkpt_hal::{CpuId, TaskId};

use crate::{
    Bus, EntryReason, Fault, Isa, Kernel, KernelContext, Memory, Mode, RandomPolicy, Resume,
    ScheduleAction, StepOutcome, Task, TaskState, Trace, TraceEvent,
};

/// Why a call that runs instructions returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// The step budget ran out; the task is still running on its CPU.
    Budget,
    /// The task ran its end instruction.
    Exited,
    /// The kernel killed the task.
    Killed,
    /// A kernel hook asked to stop ([`Resume::Stop`]); the task stays on its CPU.
    Stopped,
    /// The machine checkstopped and will run nothing more.
    Checkstop,
}

/// What [`Machine::run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RunOutcome {
    /// Steps executed (instructions or `rep` iterations, including faulting ones).
    pub steps: u64,
    /// Why it returned.
    pub stop: StopReason,
}

/// A request the machine cannot carry out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MachineError {
    /// No such task.
    NoSuchTask(TaskId),
    /// No such CPU.
    NoSuchCpu(CpuId),
    /// The task exited or was killed.
    TaskNotAlive(TaskId),
    /// The machine checkstopped.
    Checkstopped,
}

impl core::fmt::Display for MachineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoSuchTask(t) => write!(f, "no task {}", t.0),
            Self::NoSuchCpu(c) => write!(f, "no CPU {}", c.0),
            Self::TaskNotAlive(t) => write!(f, "task {} is no longer alive", t.0),
            Self::Checkstopped => f.write_str("the machine checkstopped"),
        }
    }
}

impl std::error::Error for MachineError {}

#[derive(Debug, Clone)]
struct Cpu<C> {
    current: Option<TaskId>,
    /// The live register file while a task runs.
    regs: Option<C>,
    /// Interrupts waiting for the end of an interrupt shadow.
    pending_interrupts: u32,
}

/// A simulated multiprocessor of ISA `I` running kernel `K`.
#[derive(Debug, Clone)]
pub struct Machine<I: Isa, K: Kernel<I>> {
    isa: I,
    kernel: K,
    memory: Memory,
    trace: Trace<I::Exception>,
    cpus: Vec<Cpu<I::Context>>,
    tasks: Vec<Task<I::Context>>,
    checkstopped: bool,
}

impl<I: Isa, K: Kernel<I>> Machine<I, K> {
    /// A machine with `cpus` idle CPUs (at least one), empty memory in the ISA's byte order,
    /// and no tasks.
    pub fn new(isa: I, kernel: K, cpus: u32) -> Self {
        let memory = Memory::new(isa.endian());
        Self {
            isa,
            kernel,
            memory,
            trace: Trace::default(),
            cpus: (0..cpus.max(1))
                .map(|_| Cpu {
                    current: None,
                    regs: None,
                    pending_interrupts: 0,
                })
                .collect(),
            tasks: Vec::new(),
            checkstopped: false,
        }
    }

    /// The CPU model.
    pub const fn isa(&self) -> &I {
        &self.isa
    }

    /// The kernel.
    pub const fn kernel(&self) -> &K {
        &self.kernel
    }

    /// The kernel, to inspect or reconfigure between runs.
    pub const fn kernel_mut(&mut self) -> &mut K {
        &mut self.kernel
    }

    /// Memory.
    pub const fn memory(&self) -> &Memory {
        &self.memory
    }

    /// Memory, to load programs and data (not traced).
    pub const fn memory_mut(&mut self) -> &mut Memory {
        &mut self.memory
    }

    /// The trace (for reference models and tests; never for the kernel).
    pub const fn trace(&self) -> &Trace<I::Exception> {
        &self.trace
    }

    /// The trace, to clear it or switch recording off.
    pub const fn trace_mut(&mut self) -> &mut Trace<I::Exception> {
        &mut self.trace
    }

    /// Number of CPUs.
    #[allow(clippy::cast_possible_truncation, reason = "created from a u32")]
    pub fn cpu_count(&self) -> u32 {
        self.cpus.len() as u32
    }

    /// Whether the machine checkstopped.
    pub const fn is_checkstopped(&self) -> bool {
        self.checkstopped
    }

    /// Create a runnable task with registers `regs`, to run first on CPU 0.
    pub fn spawn(&mut self, regs: I::Context) -> TaskId {
        let id = TaskId(self.tasks.len() as u64);
        self.tasks.push(Task {
            id,
            state: TaskState::Runnable,
            home: CpuId(0),
            saved: Some(regs),
        });
        id
    }

    /// A task.
    pub fn task(&self, task: TaskId) -> Option<&Task<I::Context>> {
        self.tasks.get(usize::try_from(task.0).ok()?)
    }

    /// Every task.
    pub fn tasks(&self) -> &[Task<I::Context>] {
        &self.tasks
    }

    /// Tasks that can still run.
    pub fn live_tasks(&self) -> Vec<TaskId> {
        self.tasks
            .iter()
            .filter(|t| t.state.is_alive())
            .map(|t| t.id)
            .collect()
    }

    /// The task running on `cpu`.
    pub fn running_on(&self, cpu: CpuId) -> Option<TaskId> {
        self.cpus.get(cpu.0 as usize)?.current
    }

    /// A task's registers: live on its CPU while it runs, saved otherwise.
    pub fn regs(&self, task: TaskId) -> Option<&I::Context> {
        let t = self.task(task)?;
        match t.state {
            TaskState::Running(cpu) => self.cpus.get(cpu.0 as usize)?.regs.as_ref(),
            _ => t.saved.as_ref(),
        }
    }

    /// Act on a task as kernel code would between its instructions (a debugger poking its
    /// registers, the HAL installing debug registers): `f` gets the same [`KernelContext`] the
    /// kernel hooks get, for the task's CPU (the one it will run on next when switched out).
    ///
    /// # Errors
    /// [`MachineError::NoSuchTask`].
    pub fn with_task<R>(
        &mut self,
        task: TaskId,
        f: impl FnOnce(&mut KernelContext<'_, I>) -> R,
    ) -> Result<R, MachineError> {
        let index = self.task_index(task)?;
        let t = &mut self.tasks[index];
        let (cpu, regs) = match t.state {
            TaskState::Running(cpu) => (cpu, self.cpus[cpu.0 as usize].regs.as_mut()),
            _ => (t.home, t.saved.as_mut()),
        };
        let regs = regs.ok_or(MachineError::NoSuchTask(task))?;
        let mut cx = KernelContext::new(
            &self.isa,
            cpu,
            task,
            regs,
            &mut self.memory,
            &mut self.trace,
        );
        Ok(f(&mut cx))
    }

    /// Move a task's PC as kernel code does when it delivers a signal or a debugger sets the
    /// PC: recorded as [`TraceEvent::PcChanged`], then [`Kernel::pc_changed`] runs.
    ///
    /// # Errors
    /// [`MachineError::NoSuchTask`], [`MachineError::TaskNotAlive`].
    pub fn set_pc(&mut self, task: TaskId, pc: u64) -> Result<(), MachineError> {
        let index = self.task_index(task)?;
        if !self.tasks[index].state.is_alive() {
            return Err(MachineError::TaskNotAlive(task));
        }
        let Self {
            isa,
            kernel,
            memory,
            trace,
            cpus,
            tasks,
            ..
        } = self;
        let t = &mut tasks[index];
        let (cpu, regs) = match t.state {
            TaskState::Running(cpu) => (cpu, cpus[cpu.0 as usize].regs.as_mut()),
            _ => (t.home, t.saved.as_mut()),
        };
        let regs = regs.ok_or(MachineError::NoSuchTask(task))?;
        let from = isa.pc(regs);
        isa.set_pc(regs, pc);
        trace.push(TraceEvent::PcChanged { task, from, to: pc });
        let mut cx = KernelContext::new(isa, cpu, task, regs, memory, trace);
        kernel.pc_changed(&mut cx, from);
        Ok(())
    }

    /// Carry out one scheduling decision.
    ///
    /// # Errors
    /// [`MachineError`] for unknown CPUs or tasks, dead tasks, or a checkstopped machine.
    pub fn apply(&mut self, action: ScheduleAction) -> Result<RunOutcome, MachineError> {
        let idle = RunOutcome {
            steps: 0,
            stop: StopReason::Budget,
        };
        match action {
            ScheduleAction::Run { task, cpu, steps } => self.run(task, cpu, steps),
            ScheduleAction::Preempt { cpu } => self.preempt(cpu).map(|()| idle),
            ScheduleAction::Migrate { task, cpu } => self.migrate(task, cpu).map(|()| idle),
            ScheduleAction::Interrupt { cpu } => self.interrupt(cpu).map(|()| idle),
        }
    }

    /// Run `task` on `cpu` for up to `steps` steps, switching it in (and migrating it there)
    /// first if needed.
    ///
    /// # Errors
    /// [`MachineError`] for unknown CPUs or tasks, dead tasks, or a checkstopped machine.
    pub fn run(
        &mut self,
        task: TaskId,
        cpu: CpuId,
        steps: u64,
    ) -> Result<RunOutcome, MachineError> {
        self.check_cpu(cpu)?;
        let index = self.task_index(task)?;
        if self.checkstopped {
            return Err(MachineError::Checkstopped);
        }
        if !self.tasks[index].state.is_alive() {
            return Err(MachineError::TaskNotAlive(task));
        }
        self.migrate(task, cpu)?;
        if self.cpus[cpu.0 as usize].current != Some(task) {
            self.switch(cpu, Some(task));
        }
        let mut done = 0;
        while done < steps {
            done += 1;
            if let Some(stop) = self.step(cpu) {
                return Ok(RunOutcome { steps: done, stop });
            }
        }
        Ok(RunOutcome {
            steps: done,
            stop: StopReason::Budget,
        })
    }

    /// Switch the running task out of `cpu` (nothing happens on an idle CPU).
    ///
    /// # Errors
    /// [`MachineError::NoSuchCpu`].
    pub fn preempt(&mut self, cpu: CpuId) -> Result<(), MachineError> {
        self.check_cpu(cpu)?;
        if self.cpus[cpu.0 as usize].current.is_some() {
            self.switch(cpu, None);
        }
        Ok(())
    }

    /// Make `cpu` the task's CPU: it is switched out first if it runs elsewhere, and runs on
    /// `cpu` next.
    ///
    /// # Errors
    /// [`MachineError`] for unknown CPUs or tasks, or dead tasks.
    pub fn migrate(&mut self, task: TaskId, cpu: CpuId) -> Result<(), MachineError> {
        self.check_cpu(cpu)?;
        let index = self.task_index(task)?;
        let t = &self.tasks[index];
        if !t.state.is_alive() {
            return Err(MachineError::TaskNotAlive(task));
        }
        if let TaskState::Running(on) = t.state {
            if on == cpu {
                return Ok(());
            }
            self.switch(on, None);
        }
        let t = &mut self.tasks[index];
        if t.home != cpu {
            let from = t.home;
            t.home = cpu;
            self.trace.push(TraceEvent::Migration {
                task,
                from,
                to: cpu,
            });
        }
        Ok(())
    }

    /// Deliver an external interrupt on `cpu`. In an interrupt shadow it waits for the next
    /// instruction boundary; on an idle CPU it is only recorded.
    ///
    /// # Errors
    /// [`MachineError::NoSuchCpu`].
    pub fn interrupt(&mut self, cpu: CpuId) -> Result<(), MachineError> {
        self.check_cpu(cpu)?;
        let c = &mut self.cpus[cpu.0 as usize];
        match (c.current, c.regs.as_ref()) {
            (Some(_), Some(regs)) if self.isa.interrupts_inhibited(regs) => {
                c.pending_interrupts += 1;
            }
            (Some(_), Some(_)) => self.deliver_interrupt(cpu),
            _ => self.trace.push(TraceEvent::Interrupt { cpu, task: None }),
        }
        Ok(())
    }

    /// Let `policy` drive the machine for `rounds` decisions (or until no task is alive or the
    /// machine checkstops). Returns the decisions taken, to replay or print.
    pub fn run_random(&mut self, policy: &mut RandomPolicy, rounds: usize) -> Vec<ScheduleAction> {
        let mut taken = Vec::new();
        for _ in 0..rounds {
            if self.checkstopped {
                break;
            }
            let live = self.live_tasks();
            let Some(action) = policy.next_action(self.cpu_count(), &live) else {
                break;
            };
            // Every action names a live task and an existing CPU, so it cannot fail.
            if self.apply(action).is_ok() {
                taken.push(action);
            }
        }
        taken
    }

    fn check_cpu(&self, cpu: CpuId) -> Result<(), MachineError> {
        if (cpu.0 as usize) < self.cpus.len() {
            Ok(())
        } else {
            Err(MachineError::NoSuchCpu(cpu))
        }
    }

    fn task_index(&self, task: TaskId) -> Result<usize, MachineError> {
        usize::try_from(task.0)
            .ok()
            .filter(|i| *i < self.tasks.len())
            .ok_or(MachineError::NoSuchTask(task))
    }

    /// Save the running task of `cpu` (if any) and restore `next` (if any), as a kernel's
    /// context switch does: the whole register context, debug registers included.
    fn switch(&mut self, cpu: CpuId, next: Option<TaskId>) {
        let c = cpu.0 as usize;
        let from = self.cpus[c].current;
        if let Some(prev) = from {
            if let Some(regs) = self.cpus[c].regs.as_mut() {
                let mut cx = KernelContext::new(
                    &self.isa,
                    cpu,
                    prev,
                    regs,
                    &mut self.memory,
                    &mut self.trace,
                );
                self.kernel.switched_out(&mut cx);
            }
            let t = &mut self.tasks[prev.0 as usize];
            t.saved = self.cpus[c].regs.take();
            t.state = TaskState::Runnable;
            t.home = cpu;
            self.cpus[c].current = None;
        }
        // Interrupts pending in a shadow belong to the CPU; the switch itself is kernel code
        // running with interrupts on, so they are taken now (and recorded).
        if self.cpus[c].pending_interrupts > 0 {
            self.cpus[c].pending_interrupts = 0;
            self.trace.push(TraceEvent::Interrupt { cpu, task: from });
        }
        if let Some(n) = next {
            let t = &mut self.tasks[n.0 as usize];
            self.cpus[c].regs = t.saved.take();
            self.cpus[c].current = Some(n);
            t.state = TaskState::Running(cpu);
            t.home = cpu;
        }
        self.trace.push(TraceEvent::ContextSwitch {
            cpu,
            from,
            to: next,
        });
        if let (Some(n), Some(regs)) = (next, self.cpus[c].regs.as_mut()) {
            let mut cx =
                KernelContext::new(&self.isa, cpu, n, regs, &mut self.memory, &mut self.trace);
            self.kernel.switched_in(&mut cx);
        }
    }

    /// One step of the task on `cpu`, with whatever kernel entries it causes.
    fn step(&mut self, cpu: CpuId) -> Option<StopReason> {
        let c = cpu.0 as usize;
        let Self {
            isa,
            kernel,
            memory,
            trace,
            cpus,
            ..
        } = self;
        let task = cpus[c].current?;
        let regs = cpus[c].regs.as_mut()?;
        let pc = isa.pc(regs);
        let mode = isa.mode(regs);
        let outcome = {
            let mut bus = Bus::new(memory, trace, cpu, task, pc, mode);
            isa.step(regs, &mut bus)
        };
        let entered = !matches!(outcome, StepOutcome::Retired);
        let resume = match outcome {
            StepOutcome::Retired => {
                if mode != Mode::User && isa.mode(regs) == Mode::User {
                    let mut cx = KernelContext::new(isa, cpu, task, regs, memory, trace);
                    kernel.returned_to_user(&mut cx);
                }
                Resume::Continue
            }
            StepOutcome::Exception(status) => {
                let frame_pc = isa.pc(regs);
                trace.push(TraceEvent::Exception {
                    cpu,
                    task,
                    pc: frame_pc,
                    status: status.clone(),
                });
                trace.push(TraceEvent::KernelEntry {
                    cpu,
                    task,
                    reason: EntryReason::Exception,
                });
                let mut cx = KernelContext::new(isa, cpu, task, regs, memory, trace);
                kernel.exception(&mut cx, &status)
            }
            StepOutcome::Fault(kind) => {
                let fault = Fault { pc, kind };
                trace.push(TraceEvent::Fault { cpu, task, fault });
                trace.push(TraceEvent::KernelEntry {
                    cpu,
                    task,
                    reason: EntryReason::Fault,
                });
                let mut cx = KernelContext::new(isa, cpu, task, regs, memory, trace);
                kernel.fault(&mut cx, &fault)
            }
            StepOutcome::Exited => {
                self.finish(cpu, task, TaskState::Exited);
                return Some(StopReason::Exited);
            }
            StepOutcome::Checkstop(reason) => {
                trace.push(TraceEvent::Checkstop {
                    cpu,
                    task,
                    pc,
                    reason,
                });
                self.checkstopped = true;
                return Some(StopReason::Checkstop);
            }
        };
        match resume {
            Resume::Kill => {
                self.finish(cpu, task, TaskState::Killed);
                return Some(StopReason::Killed);
            }
            Resume::Continue | Resume::Stop => {
                if entered {
                    self.trace.push(TraceEvent::KernelExit { cpu, task });
                }
            }
        }
        let c = &mut self.cpus[c];
        if c.pending_interrupts > 0
            && c.regs
                .as_ref()
                .is_some_and(|r| !self.isa.interrupts_inhibited(r))
        {
            c.pending_interrupts -= 1;
            self.deliver_interrupt(cpu);
        }
        (resume == Resume::Stop).then_some(StopReason::Stopped)
    }

    fn deliver_interrupt(&mut self, cpu: CpuId) {
        let c = cpu.0 as usize;
        let Some(task) = self.cpus[c].current else {
            return;
        };
        self.trace.push(TraceEvent::Interrupt {
            cpu,
            task: Some(task),
        });
        self.trace.push(TraceEvent::KernelEntry {
            cpu,
            task,
            reason: EntryReason::Interrupt,
        });
        if let Some(regs) = self.cpus[c].regs.as_mut() {
            let mut cx = KernelContext::new(
                &self.isa,
                cpu,
                task,
                regs,
                &mut self.memory,
                &mut self.trace,
            );
            self.kernel.interrupt(&mut cx);
        }
        self.trace.push(TraceEvent::KernelExit { cpu, task });
    }

    /// The task ended: keep its final registers in the task, leave the CPU idle.
    fn finish(&mut self, cpu: CpuId, task: TaskId, state: TaskState) {
        let c = &mut self.cpus[cpu.0 as usize];
        let t = &mut self.tasks[task.0 as usize];
        t.saved = c.regs.take();
        t.state = state;
        c.current = None;
        c.pending_interrupts = 0;
        self.trace.push(TraceEvent::TaskExit {
            cpu,
            task,
            killed: state == TaskState::Killed,
        });
    }
}

#[cfg(test)]
mod tests {
    //! The scheduler and entry code, on a toy ISA: each instruction is an 8-byte word;
    //! 0 ends the task, 1 raises an exception, 2 faults, anything else stores the PC at
    //! 0x2000 + 8 × task and goes on.
    use super::*;
    use crate::{Endian, FaultKind, Mode, RegionAttributes};
    use hwbkpt_hal::{DecodeError, DecodedAccess};

    #[derive(Debug, Clone)]
    struct Toy;
    #[derive(Debug, Clone)]
    struct ToyRegs {
        pc: u64,
        id: u64,
        stepping: bool,
    }

    impl Isa for Toy {
        type Context = ToyRegs;
        type Exception = u64;
        fn endian(&self) -> Endian {
            Endian::Big
        }
        fn pc(&self, ctx: &ToyRegs) -> u64 {
            ctx.pc
        }
        fn set_pc(&self, ctx: &mut ToyRegs, pc: u64) {
            ctx.pc = pc;
        }
        fn mode(&self, _: &ToyRegs) -> Mode {
            Mode::User
        }
        fn set_single_step(&self, ctx: &mut ToyRegs, enabled: bool) {
            ctx.stepping = enabled;
        }
        fn single_step_enabled(&self, ctx: &ToyRegs) -> bool {
            ctx.stepping
        }
        fn step(&self, ctx: &mut ToyRegs, bus: &mut Bus<'_, u64>) -> StepOutcome<u64> {
            let Ok(word) = bus.memory().read_uint(ctx.pc, 8) else {
                return StepOutcome::Fault(FaultKind::Unmapped { addr: ctx.pc });
            };
            match word {
                0 => StepOutcome::Exited,
                2 => StepOutcome::Fault(FaultKind::InvalidInstruction),
                w => {
                    let mut b = [0; 8];
                    Endian::Big.put(ctx.pc, &mut b);
                    if bus.write(0x2000 + 8 * ctx.id, &b).is_err() {
                        return StepOutcome::Fault(FaultKind::Unmapped { addr: 0x2000 });
                    }
                    ctx.pc += 8;
                    bus.retired(ctx.pc);
                    if w == 1 {
                        StepOutcome::Exception(ctx.pc)
                    } else {
                        StepOutcome::Retired
                    }
                }
            }
        }
        fn decode_access(
            &self,
            ctx: &ToyRegs,
            _: &Memory,
            _: u64,
        ) -> Result<Option<DecodedAccess>, DecodeError> {
            Ok(Some(DecodedAccess {
                addr: 0x2000 + 8 * ctx.id,
                size: 8,
                kind: hwbkpt_hal::AccessKind::WRITE,
                class: hwbkpt_hal::AccessClass::Plain,
            }))
        }
    }

    #[derive(Debug, Clone, Default)]
    struct Log(Vec<String>);
    impl Kernel<Toy> for Log {
        fn exception(&mut self, cx: &mut KernelContext<'_, Toy>, e: &u64) -> Resume {
            self.0.push(format!("exc {} {e:#x}", cx.task().0));
            Resume::Stop
        }
        fn interrupt(&mut self, cx: &mut KernelContext<'_, Toy>) {
            self.0
                .push(format!("irq {} on {}", cx.task().0, cx.cpu().0));
        }
        fn pc_changed(&mut self, cx: &mut KernelContext<'_, Toy>, old: u64) {
            self.0
                .push(format!("pc {} {old:#x}->{:#x}", cx.task().0, cx.pc()));
        }
        fn switched_in(&mut self, cx: &mut KernelContext<'_, Toy>) {
            self.0.push(format!(
                "in {} on {} at {:#x}",
                cx.task().0,
                cx.cpu().0,
                cx.pc()
            ));
        }
    }

    fn machine(program: &[u64]) -> Machine<Toy, Log> {
        let mut m = Machine::new(Toy, Log::default(), 2);
        m.memory_mut()
            .map(0x1000, 0x2000, RegionAttributes::default());
        for (i, w) in program.iter().enumerate() {
            m.memory_mut()
                .write_uint(0x1000 + 8 * i as u64, 8, *w)
                .unwrap();
        }
        m
    }

    #[test]
    fn tasks_keep_their_registers_across_switches_and_migrations() {
        let mut m = machine(&[5, 5, 5, 5, 0]);
        let a = m.spawn(ToyRegs {
            pc: 0x1000,
            id: 0,
            stepping: false,
        });
        let b = m.spawn(ToyRegs {
            pc: 0x1000,
            id: 1,
            stepping: false,
        });
        assert_eq!(m.run(a, CpuId(0), 2).unwrap().stop, StopReason::Budget);
        // b takes CPU 0: a is saved, then a resumes on CPU 1 where it left off.
        m.run(b, CpuId(0), 1).unwrap();
        assert_eq!(
            m.run(a, CpuId(1), 10).unwrap(),
            RunOutcome {
                steps: 3,
                stop: StopReason::Exited
            }
        );
        assert_eq!(m.task(a).unwrap().state(), TaskState::Exited);
        assert_eq!(m.regs(a).unwrap().pc, 0x1020);
        assert_eq!(m.regs(b).unwrap().pc, 0x1008);
        assert_eq!(m.memory().read_uint(0x2000, 8).unwrap(), 0x1018);
        assert_eq!(
            m.kernel().0,
            [
                "in 0 on 0 at 0x1000",
                "in 1 on 0 at 0x1000",
                "in 0 on 1 at 0x1010"
            ]
        );
        assert!(m.trace().events().contains(&TraceEvent::Migration {
            task: a,
            from: CpuId(0),
            to: CpuId(1)
        }));
        assert_eq!(m.trace().retired(), 5);
        assert_eq!(m.trace().accesses().count(), 5);
        assert_eq!(m.run(a, CpuId(0), 1), Err(MachineError::TaskNotAlive(a)));
    }

    #[test]
    fn exceptions_and_faults_enter_the_kernel() {
        let mut m = machine(&[1, 2]);
        let t = m.spawn(ToyRegs {
            pc: 0x1000,
            id: 0,
            stepping: false,
        });
        assert_eq!(m.run(t, CpuId(0), 10).unwrap().stop, StopReason::Stopped);
        m.interrupt(CpuId(0)).unwrap();
        assert_eq!(m.run(t, CpuId(0), 10).unwrap().stop, StopReason::Killed);
        assert_eq!(m.kernel().0[1..], ["exc 0 0x1008", "irq 0 on 0"]);
        assert!(m.trace().events().iter().any(|e| matches!(
            e,
            TraceEvent::Fault {
                fault: Fault {
                    pc: 0x1008,
                    kind: FaultKind::InvalidInstruction
                },
                ..
            }
        )));
        assert_eq!(m.trace().exceptions().count(), 1);
    }

    #[test]
    fn random_policy_is_deterministic() {
        let run = |seed| {
            let mut m = machine(&[5; 300]);
            for id in 0..3 {
                m.spawn(ToyRegs {
                    pc: 0x1000,
                    id,
                    stepping: false,
                });
            }
            let actions = m.run_random(&mut RandomPolicy::new(seed), 200);
            (actions, m.trace().events().to_vec())
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42).0, run(43).0);
    }

    #[test]
    fn with_task_reaches_saved_and_live_registers() {
        let mut m = machine(&[5, 5, 0]);
        let t = m.spawn(ToyRegs {
            pc: 0x1000,
            id: 0,
            stepping: false,
        });
        m.with_task(t, |cx| cx.set_single_step(true)).unwrap();
        m.run(t, CpuId(1), 1).unwrap();
        let pc = m.with_task(t, |cx| {
            assert_eq!(cx.cpu(), CpuId(1));
            hwbkpt_hal::InstructionDecode::decode_access(cx, cx.pc()).unwrap()
        });
        assert_eq!(pc.unwrap().unwrap().addr, 0x2000);
        assert!(m.regs(t).unwrap().stepping);
        m.set_pc(t, 0x1000).unwrap();
        assert_eq!(m.kernel().0.last().unwrap(), "pc 0 0x1008->0x1000");
        assert_eq!(
            m.trace().events().last(),
            Some(&TraceEvent::PcChanged {
                task: t,
                from: 0x1008,
                to: 0x1000
            })
        );
    }
}
