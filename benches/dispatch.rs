//! Dispatch cost per hit: the HAL's exception pipeline from raw status to delivered event,
//! on x86-64 (DR6) and PPC64 (DSI + the interlock's trace), with 1 and with all data slots
//! armed, for a real hit and for a stray.
//!
//! `cargo bench --bench dispatch`; results in BENCHMARKS.md.
//!
//! The register owner is an in-memory stand-in (a kernel's would write DR7 or a DAWR), so the
//! figures are the pipeline's own cost.

#![allow(clippy::unwrap_used, clippy::panic, reason = "benchmark setup")]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hwbkpt::{
    AccessClass, AccessKind, CpuId, DecodeError, DecodedAccess, Delivery, Dispatcher, EmulateError,
    Event, ExecutionMode, InstructionDecode, InstructionEmulate, MemoryRead, MemoryReadError,
    RegisterAccess, Request, Scope, SlotId, TaskId, TrapFrame,
};
use hwbkpt_ppc64::{PowerCpu, PowerProfile, PowerStatus, SlotImage};
use hwbkpt_x86::{Dr6, X86Cpu, X86Profile, X86SlotImage};

const TASK: TaskId = TaskId(1);
const CPU: CpuId = CpuId(0);
const DATA: u64 = 0x1000_0000;

/// Registers and memory of the interrupted context, in memory.
struct Context<Image, Status> {
    installed: [Option<Image>; 4],
    status: Status,
    single_step: bool,
    memory: [u8; 256],
    access: DecodedAccess,
}

#[derive(Debug)]
struct Never;
impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}
impl std::error::Error for Never {}

impl<Image: Copy, Status: Copy> RegisterAccess for Context<Image, Status> {
    type Image = Image;
    type Status = Status;
    type Error = Never;
    fn install(&mut self, slot: SlotId, image: Image) -> Result<(), Never> {
        self.installed[usize::from(slot.index())] = Some(image);
        Ok(())
    }
    fn uninstall(&mut self, slot: SlotId) -> Result<(), Never> {
        self.installed[usize::from(slot.index())] = None;
        Ok(())
    }
    fn read_status(&mut self) -> Result<Status, Never> {
        Ok(self.status)
    }
    fn reset_status(&mut self) -> Result<(), Never> {
        Ok(())
    }
    fn set_single_step(&mut self, enabled: bool) -> Result<(), Never> {
        self.single_step = enabled;
        Ok(())
    }
}
impl<Image, Status> MemoryRead for Context<Image, Status> {
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        let start = usize::try_from(addr - DATA).unwrap();
        buf.copy_from_slice(&self.memory[start..start + buf.len()]);
        Ok(())
    }
}
impl<Image, Status> InstructionDecode for Context<Image, Status> {
    fn decode_access(&mut self, _pc: u64) -> Result<Option<DecodedAccess>, DecodeError> {
        Ok(Some(self.access))
    }
}
impl<Image, Status> InstructionEmulate for Context<Image, Status> {
    fn emulate(&mut self, pc: u64) -> Result<(), EmulateError> {
        Err(EmulateError::Unsupported { pc })
    }
}

fn write_watch(offset: u64, len: u64) -> Request {
    Request::builder(DATA + offset, len, AccessKind::WRITE)
        .scope(Scope::Task(TASK))
        .delivery(Delivery::After)
        .build()
        .unwrap()
}

const USER_FRAME: TrapFrame = TrapFrame {
    task: TASK,
    cpu: CPU,
    pc: 0x40_0000,
    mode: ExecutionMode::User,
};

fn x86(c: &mut Criterion) {
    let mut group = c.benchmark_group("dispatch/x86");
    for armed in [1u64, 4] {
        let mut context: Context<X86SlotImage, Dr6> = Context {
            installed: [None; 4],
            status: Dr6::RESET,
            single_step: false,
            memory: [0; 256],
            access: DecodedAccess {
                addr: DATA,
                size: 4,
                kind: AccessKind::WRITE,
                class: AccessClass::Plain,
            },
        };
        let mut dispatcher: Dispatcher<X86Cpu> =
            Dispatcher::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
        for i in 0..armed {
            dispatcher
                .register(write_watch(16 * i, 4), &mut context)
                .unwrap();
        }
        dispatcher.switch_in(TASK, CPU, &mut context).unwrap();
        let real = Dr6::from_bits_retain(Dr6::RESET.bits() | 1); // B0: slot 0 is armed
        let stray = Dr6::from_bits_retain(Dr6::RESET.bits() | 1 << armed.min(3)); // unarmed B bit
        let cases: [(&str, Dr6); 2] = if armed == 4 {
            [("real", real), ("real", real)]
        } else {
            [("real", real), ("stray", stray)]
        };
        for (name, status) in cases.into_iter().take(if armed == 4 { 1 } else { 2 }) {
            group.bench_with_input(
                BenchmarkId::new(name, format!("{armed} armed")),
                &status,
                |b, &status| {
                    let mut sink = |event: &Event| {
                        black_box(event);
                    };
                    b.iter(|| {
                        dispatcher
                            .handle_exception(
                                &USER_FRAME,
                                black_box(status),
                                &mut context,
                                &mut sink,
                            )
                            .unwrap()
                    });
                },
            );
        }
    }
    group.finish();
}

fn ppc64(c: &mut Criterion) {
    let mut group = c.benchmark_group("dispatch/ppc64");
    for armed in [1u64, 2] {
        for (name, access_offset) in [("real", 0u64), ("stray", 6)] {
            let mut context: Context<SlotImage, PowerStatus> = Context {
                installed: [None; 4],
                status: PowerStatus::single_step(),
                single_step: false,
                memory: [0; 256],
                access: DecodedAccess {
                    addr: DATA + access_offset,
                    size: 2,
                    kind: AccessKind::WRITE,
                    class: AccessClass::Plain,
                },
            };
            let mut dispatcher: Dispatcher<PowerCpu> =
                Dispatcher::new(PowerCpu::new(PowerProfile::Power10));
            for i in 0..armed {
                dispatcher
                    .register(write_watch(64 * i, 4), &mut context)
                    .unwrap();
            }
            dispatcher.switch_in(TASK, CPU, &mut context).unwrap();
            let dsi = PowerStatus::watchpoint(DATA + access_offset);
            let trace_frame = TrapFrame {
                pc: USER_FRAME.pc + 4,
                ..USER_FRAME
            };
            group.bench_function(
                BenchmarkId::new(format!("{name} (DSI + trace)"), format!("{armed} armed")),
                |b| {
                    let mut sink = |event: &Event| {
                        black_box(event);
                    };
                    b.iter(|| {
                        dispatcher
                            .handle_exception(&USER_FRAME, black_box(dsi), &mut context, &mut sink)
                            .unwrap();
                        dispatcher
                            .handle_exception(
                                &trace_frame,
                                PowerStatus::single_step(),
                                &mut context,
                                &mut sink,
                            )
                            .unwrap()
                    });
                },
            );
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = x86, ppc64 }
criterion_main!(benches);
