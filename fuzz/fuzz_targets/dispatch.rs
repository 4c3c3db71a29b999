//! The dispatch pipeline with random requests (some refused) and random exception status
//! over the resulting armed states, on x86-64 and POWER10: no panic; a refused registration
//! changes no register image; every event names a registered request; no more slots are
//! installed than the pool has.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

use hwbkpt_fuzz::{Context, RawAccess, RawRequest};
use hwbkpt_hal::{
    CpuId, DebugArchitecture, Dispatcher, Event, ExecutionMode, RequestId, TaskId, TrapFrame,
};
use hwbkpt_ppc64::{Dsisr, PowerCpu, PowerProfile, PowerStatus, Srr1};
use hwbkpt_x86::{Dr6, X86Cpu, X86Profile};

#[derive(Debug, Arbitrary)]
enum Step {
    Register(RawRequest),
    Release(u8),
    Rearm(u8),
    SwitchIn {
        task: u8,
        cpu: u8,
    },
    Exception {
        status: u64,
        dar: u64,
        trace: bool,
        ciabr: bool,
        task: u8,
        pc: u64,
        mode: u8,
        access: RawAccess,
    },
    CancelStep {
        task: u8,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    power: bool,
    steps: Vec<Step>,
}

fn mode(m: u8) -> ExecutionMode {
    match m % 3 {
        0 => ExecutionMode::User,
        1 => ExecutionMode::Kernel,
        _ => ExecutionMode::Hypervisor,
    }
}

fn run<A, Status>(
    arch: A,
    steps: &[Step],
    status_of: impl Fn(&Step) -> Option<Status>,
    quiet: Status,
) where
    A: DebugArchitecture<Status = Status>,
    A::SlotImage: PartialEq,
    Status: Copy,
{
    let pool_total: usize = arch
        .capabilities()
        .pools
        .iter()
        .map(|p| usize::from(p.count))
        .sum();
    let mut dispatcher: Dispatcher<A, 8, 4> = Dispatcher::new(arch);
    let mut context: Context<A::SlotImage, Status> = Context::new(quiet);
    let mut ids: Vec<RequestId> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    for step in steps {
        match step {
            Step::Register(raw) => {
                let Ok(request) = raw.build() else { continue };
                let before = context.installed;
                match dispatcher.register(request, &mut context) {
                    Ok(id) => ids.push(id),
                    Err(_) => assert!(
                        before == context.installed,
                        "a refused request touched registers"
                    ),
                }
            }
            Step::Release(i) => {
                if !ids.is_empty() {
                    let id = ids.remove(usize::from(*i) % ids.len());
                    dispatcher.release(id).expect("registered ids release");
                }
            }
            Step::Rearm(i) => {
                if let Some(id) = ids.get(usize::from(*i) % ids.len().max(1)) {
                    dispatcher.rearm(*id).expect("registered ids re-arm");
                }
            }
            Step::SwitchIn { task, cpu } => {
                dispatcher
                    .switch_in(
                        TaskId(u64::from(*task % 4)),
                        CpuId(u32::from(*cpu % 2)),
                        &mut context,
                    )
                    .expect("in-memory registers never fail");
            }
            Step::Exception {
                task,
                pc,
                mode: m,
                access,
                ..
            } => {
                context.access = access.decoded();
                let frame = TrapFrame {
                    task: TaskId(u64::from(*task % 4)),
                    cpu: CpuId(0),
                    pc: *pc,
                    mode: mode(*m),
                };
                let status = status_of(step).unwrap_or(quiet);
                let mut sink = |e: &Event| events.push(*e);
                dispatcher
                    .handle_exception(&frame, status, &mut context, &mut sink)
                    .expect("never fails");
            }
            Step::CancelStep { task } => {
                dispatcher
                    .cancel_step(TaskId(u64::from(*task % 4)), CpuId(0), &mut context)
                    .expect("never fails");
            }
        }
        assert!(context.installed.iter().flatten().count() <= pool_total);
    }
    let stale_free = events
        .iter()
        .all(|e| ids.contains(&e.request) || dispatcher.request(e.request).is_none());
    assert!(stale_free);
}

fuzz_target!(|input: Input| {
    if input.power {
        run(
            PowerCpu::new(PowerProfile::Power10),
            &input.steps,
            |step| match *step {
                Step::Exception {
                    status,
                    dar,
                    trace,
                    ciabr,
                    ..
                } => Some(if trace {
                    let mut srr1 = Srr1::empty();
                    if status & 1 != 0 {
                        srr1 |= Srr1::SE;
                    }
                    if ciabr {
                        srr1 |= Srr1::CIABR_MATCH;
                    }
                    PowerStatus::Trace { srr1 }
                } else {
                    PowerStatus::DataStorage {
                        dsisr: Dsisr::from_bits_retain(status),
                        dar,
                    }
                }),
                _ => None,
            },
            PowerStatus::single_step(),
        );
    } else {
        run(
            X86Cpu::new(X86Profile::GENERIC_X86_64),
            &input.steps,
            |step| match *step {
                Step::Exception { status, .. } => Some(Dr6::from_bits_retain(status)),
                _ => None,
            },
            Dr6::RESET,
        );
    }
});
