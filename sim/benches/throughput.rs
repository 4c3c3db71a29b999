//! Simulated x86-64 instructions per second, with 0 and 4 breakpoints armed, against a native
//! Rust loop doing the same memory operations.
//!
//! `cargo bench -p hwbkpt-sim --bench throughput`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hwbkpt_hal::CpuId;
use hwbkpt_sim::x86::{Asm, Mem, RecordingKernel, Reg, VecWidth, Width, X86, X86Context};
use hwbkpt_sim::{Machine, RegionAttributes, StopReason};

const CODE: u64 = 0x40_0000;
const DATA: u64 = 0x60_0000;
const ITERATIONS: u64 = 10_000;
/// Instructions per loop iteration (below) and in total (plus the `mov rcx` and the end).
const PER_ITERATION: u64 = 7;
const INSTRUCTIONS: u64 = ITERATIONS * PER_ITERATION + 2;

type X86Machine = Machine<X86, RecordingKernel>;

/// The loop: a qword store, a qword load, a 4-byte read-modify-write, a 16-byte vector store,
/// a byte store, then the counter and the branch.
fn machine(armed: bool, traced: bool) -> (X86Machine, hwbkpt_hal::TaskId) {
    let mut a = Asm::new(CODE);
    let top = a.label();
    a.mov_imm(Reg::Rcx, ITERATIONS)
        .bind(top)
        .store(Width::B8, Reg::Rax, Mem::base(Reg::Rbx, 0))
        .load(Width::B8, Reg::Rdx, Mem::base(Reg::Rbx, 8))
        .add_mem(Width::B4, Reg::Rax, Mem::base(Reg::Rbx, 16))
        .vec_store(VecWidth::Sse, 0, Mem::base(Reg::Rbx, 32))
        .store(Width::B1, Reg::Rax, Mem::base(Reg::Rbx, 64))
        .add_imm(Reg::Rcx, -1)
        .jnz(top)
        .end();
    let mut m = Machine::new(X86::generic(), RecordingKernel::default(), 1);
    m.memory_mut()
        .map(CODE, 0x1000, RegionAttributes::default());
    m.memory_mut()
        .map(DATA, 0x1000, RegionAttributes::default());
    a.finish()
        .and_then(|p| {
            p.load(m.memory_mut())
                .map_err(|_| hwbkpt_sim::x86::AsmError::OutOfRange)
        })
        .expect("program fits");
    m.trace_mut().set_enabled(traced);
    let mut regs = X86Context::user(CODE);
    regs.set_gpr(Reg::Rbx, DATA);
    regs.set_gpr(Reg::Rax, 0x1234_5678);
    if armed {
        // Four enabled 8-byte read/write watches on the same page, never hit: the cost of
        // matching every access against every slot.
        for n in 0..4u8 {
            regs.write_dr(n, DATA + 0x800 + 8 * u64::from(n))
                .expect("address");
        }
        regs.write_dr(7, 0xBBBB_00FF).expect("DR7 image");
    }
    let task = m.spawn(regs);
    (m, task)
}

fn simulated(c: &mut Criterion) {
    let mut g = c.benchmark_group("x86");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .throughput(Throughput::Elements(INSTRUCTIONS));
    for (name, armed, traced) in [
        ("unarmed", false, false),
        ("armed4", true, false),
        ("unarmed_traced", false, true),
        ("armed4_traced", true, true),
    ] {
        let (m, task) = machine(armed, traced);
        g.bench_function(name, |b| {
            b.iter_batched(
                || m.clone(),
                |mut m| {
                    let out = m.run(task, CpuId(0), u64::MAX).expect("runs");
                    assert_eq!(out.stop, StopReason::Exited);
                    assert_eq!(out.steps, INSTRUCTIONS);
                    m
                },
                BatchSize::LargeInput,
            );
        });
    }
    g.bench_function("native", |b| {
        let mut data = vec![0u8; 0x1000];
        b.iter(|| {
            let d = black_box(&mut data[..]);
            let rax: u64 = black_box(0x1234_5678);
            let mut rdx = 0u64;
            for _ in 0..black_box(ITERATIONS) {
                d[0..8].copy_from_slice(&rax.to_le_bytes());
                let mut q = [0u8; 8];
                q.copy_from_slice(&d[8..16]);
                rdx ^= u64::from_le_bytes(q);
                let mut w = [0u8; 4];
                w.copy_from_slice(&d[16..20]);
                #[allow(clippy::cast_possible_truncation, reason = "a 4-byte add")]
                let sum = u32::from_le_bytes(w).wrapping_add(rax as u32);
                d[16..20].copy_from_slice(&sum.to_le_bytes());
                d[32..48].copy_from_slice(&[0u8; 16]);
                d[64] = rax.to_le_bytes()[0];
                black_box(&mut *d);
            }
            rdx
        });
    });
    g.finish();
}

criterion_group!(benches, simulated);
criterion_main!(benches);
