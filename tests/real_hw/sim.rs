//! The simulated side: the same body in the simulator's instruction set, the same requests
//! through the same HAL (`hwbkpt-sim-cli`'s bridge makes the dispatcher the machine's
//! kernel), stops read from the machine's trace.

use hwbkpt::{CpuId, TaskId};
use hwbkpt_sim::x86::{Asm, Reg, X86, X86Context, X86Exception, X86Profile as SimProfile};
use hwbkpt_sim::{Machine, RegionAttributes, StopReason, TraceEvent};
use hwbkpt_sim_cli::bridge::{HalKernel, register};
use hwbkpt_x86::{X86Cpu, X86Profile};

use super::program::sim_code;
use super::real::{record_event, request_of, visible};
use super::{DATA_LEN, Outcome, Scenario, Stop, TRAP_HWBKPT, TRAP_TRACE, pattern};

const CODE: u64 = 0x40_0000;
const DATA: u64 = 0x60_0000;
const BS: u64 = 1 << 14;
/// Step budget (long `rep` copies stepped one iteration at a time fit easily).
const MAX_STEPS: usize = 200_000;

/// Run `scenario` on a simulated CPU of `profile`.
#[must_use]
pub fn run(scenario: &Scenario, profile: SimProfile) -> Outcome {
    let kernel = HalKernel::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
    let mut m = Machine::new(X86::new(profile), kernel, 1);
    let plain = RegionAttributes::default();
    m.memory_mut().map(CODE, 0x1_0000, plain);
    m.memory_mut().map(DATA, DATA_LEN, plain);
    m.memory_mut().write(DATA, &pattern()).expect("data");
    let mut asm = Asm::new(CODE);
    let layout = sim_code(&mut asm, DATA, &scenario.body);
    asm.finish()
        .expect("assemble")
        .load(m.memory_mut())
        .expect("load");
    let mut regs = X86Context::user(CODE);
    regs.set_gpr(Reg::Rbx, DATA);
    let task = m.spawn(regs);
    let cpu = CpuId(0);
    let mut ids = Vec::new();
    for &watch in &scenario.watches {
        let request = request_of(watch, task, DATA, &layout);
        ids.push(
            register(&mut m, request)
                .unwrap_or_else(|e| panic!("{}: register {watch:?}: {e:?}", scenario.name)),
        );
    }

    let mut outcome = Outcome::default();
    for _ in 0..MAX_STEPS {
        let run = m.run(task, cpu, 1).expect("run");
        let armed = armed_mask(&m, task, cpu);
        let mut stopped = false;
        let exceptions: Vec<(u64, u64)> = m
            .trace()
            .events()
            .iter()
            .filter_map(|e| match e {
                TraceEvent::Exception {
                    pc,
                    status: X86Exception::Debug { dr6, .. },
                    ..
                } => Some((*pc, *dr6)),
                _ => None,
            })
            .collect();
        m.trace_mut().clear();
        for (pc, dr6) in exceptions {
            let insn = layout.index_of(pc);
            let step = dr6 & BS != 0;
            stopped = true;
            let rcx = m.regs(task).map_or(0, |r| r.gpr(Reg::Rcx));
            let memory = m.memory();
            let mut reader = |addr: u64, buf: &mut [u8]| memory.read(addr, buf).is_ok();
            outcome.stops.push(Stop {
                insn,
                slots: (dr6 & 0xF) as u8 & armed,
                step,
                si_code: if step { TRAP_TRACE } else { TRAP_HWBKPT },
                rcx,
                visible: visible(scenario, insn, DATA, &mut reader),
            });
            let last = outcome.stops.len() - 1;
            let inside = insn.is_some_and(|i| i < scenario.body.len());
            if scenario.step_after.contains(&last) && inside {
                set_tf(&mut m, task, true);
            }
        }
        let keep_stepping = outcome
            .stops
            .len()
            .checked_sub(1)
            .is_some_and(|last| scenario.step_after.contains(&last))
            && outcome
                .stops
                .last()
                .and_then(|s| s.insn)
                .is_some_and(|i| i < scenario.body.len());
        if stopped && !keep_stepping {
            // The tracer resumes with PTRACE_CONT, which clears the TF its earlier
            // PTRACE_SINGLESTEP set (also when the stop was an execute fault on the way).
            set_tf(&mut m, task, false);
        }
        match run.stop {
            StopReason::Exited => break,
            StopReason::Budget | StopReason::Stopped => {}
            other => panic!("{}: simulated task ended with {other:?}", scenario.name),
        }
    }
    outcome.events = m
        .kernel()
        .events
        .iter()
        .map(|e| record_event(e, &ids, &layout))
        .collect();
    assert!(
        m.kernel().errors.is_empty(),
        "{}: bridge errors {:?}",
        scenario.name,
        m.kernel().errors
    );
    outcome
}

fn armed_mask(m: &Machine<X86, HalKernel<X86>>, task: TaskId, cpu: CpuId) -> u8 {
    m.kernel()
        .dispatcher
        .armed_slots(task, cpu)
        .iter()
        .fold(0, |mask, slot| mask | 1 << slot.index())
}

fn set_tf(m: &mut Machine<X86, HalKernel<X86>>, task: TaskId, enabled: bool) {
    m.with_task(task, |cx| cx.set_single_step(enabled))
        .expect("task");
}
