//! Simulated PPC64 instructions per second on the POWER10 model, with 0 and with 2 data
//! breakpoints armed (DAWR0/1, never hit: the cost of checking every access against both),
//! against a native Rust loop doing the same memory operations.
//!
//! `cargo bench -p hwbkpt-sim --bench ppc64_throughput`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hwbkpt_hal::{CpuId, TaskId};
use hwbkpt_sim::ppc64::{
    Asm, Cond, CpuProfile, DebugRegisters, Insn, Ppc64, Ppc64Context, Size, SteppingKernel,
};
use hwbkpt_sim::{Machine, RegionAttributes, StopReason};

const CODE: u64 = 0x1000_0000;
const DATA: u64 = 0x2000_0000;
const ITERATIONS: u64 = 10_000;
/// Instructions per loop iteration (below).
const PER_ITERATION: u64 = 8;
/// Setup (`li` of the counter, the RMW address) and the final `halt` are a few more.
const SETUP: u64 = 3;

type PpcMachine = Machine<Ppc64, SteppingKernel>;

/// The loop: a doubleword store, a doubleword load, a 4-byte atomic fetch-and-add, a
/// 16-byte vector store, a byte store, then the counter, the compare and the branch.
fn machine(armed: bool, traced: bool) -> (PpcMachine, TaskId) {
    let mut a = Asm::new(CODE);
    a.li(5, ITERATIONS).emit(Insn::Addi {
        rt: 11,
        ra: 3,
        d: 16,
    });
    let top = a.here();
    a.emit(Insn::Store {
        size: Size::B8,
        rs: 4,
        ra: 3,
        d: 0,
    })
    .emit(Insn::Load {
        size: Size::B8,
        rt: 6,
        ra: 3,
        d: 8,
    })
    .emit(Insn::FetchAdd {
        size: Size::B4,
        rt: 7,
        ra: 11,
        rb: 4,
    })
    .emit(Insn::Stxv {
        vs: 0,
        ra: 3,
        d: 32,
    })
    .emit(Insn::Store {
        size: Size::B1,
        rs: 4,
        ra: 3,
        d: 64,
    })
    .emit(Insn::Addi {
        rt: 5,
        ra: 5,
        d: -1,
    })
    .emit(Insn::Cmpd { ra: 5, rb: 0 })
    .bc(Cond::Ne, top)
    .halt();
    let mut m = Machine::new(
        Ppc64::new(CpuProfile::POWER10),
        SteppingKernel::default(),
        1,
    );
    m.memory_mut()
        .map(CODE, 0x1000, RegionAttributes::default());
    m.memory_mut()
        .map(DATA, 0x1000, RegionAttributes::default());
    a.load_into(m.memory_mut()).expect("program fits");
    m.trace_mut().set_enabled(traced);
    let mut regs = Ppc64Context::user(CODE);
    regs.gpr[3] = DATA;
    regs.gpr[4] = 0x1234_5678;
    if armed {
        // Two enabled 8-byte read/write user watches (WT set, as Linux programs them) on the
        // same page, never hit.
        regs.debug = DebugRegisters {
            dawr: [DATA + 0x800, DATA + 0x808],
            dawrx: [0x71, 0x71],
            ..DebugRegisters::CLEAR
        };
    }
    let task = m.spawn(regs);
    (m, task)
}

fn run(mut setup: (PpcMachine, TaskId)) -> u64 {
    let (m, task) = &mut setup;
    let out = m
        .run(*task, CpuId(0), ITERATIONS * PER_ITERATION + SETUP + 8)
        .expect("runs");
    assert_eq!(out.stop, StopReason::Exited);
    out.steps
}

/// The same memory operations natively (big-endian stores, as the simulated CPU makes them).
fn native(data: &mut [u8; 128]) {
    let value: u64 = 0x1234_5678;
    let mut sink = 0u64;
    for _ in 0..ITERATIONS {
        data[0..8].copy_from_slice(&value.to_be_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&data[8..16]);
        sink = sink.wrapping_add(u64::from_be_bytes(b));
        let mut w = [0u8; 4];
        w.copy_from_slice(&data[16..20]);
        let old = u32::from_be_bytes(w);
        data[16..20].copy_from_slice(&old.wrapping_add(value as u32).to_be_bytes());
        data[32..48].copy_from_slice(&[0u8; 16]);
        data[64] = value as u8;
        black_box(&mut *data);
    }
    black_box(sink);
}

fn bench(c: &mut Criterion) {
    let instructions = ITERATIONS * PER_ITERATION;
    let mut g = c.benchmark_group("ppc64");
    g.throughput(Throughput::Elements(instructions));
    g.measurement_time(Duration::from_secs(5));
    g.sample_size(20);
    for (name, armed, traced) in [
        ("unarmed", false, false),
        ("armed_2_dawr", true, false),
        ("unarmed_traced", false, true),
        ("armed_2_dawr_traced", true, true),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(|| machine(armed, traced), run, BatchSize::LargeInput);
        });
    }
    g.bench_function("native_loop", |b| {
        let mut data = [0u8; 128];
        b.iter(|| native(&mut data));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
