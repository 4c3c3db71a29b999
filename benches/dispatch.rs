//! Dispatch cost per hit: the HAL's exception pipeline from raw status to delivered event,
//! on x86-64 (DR6) and PPC64 (DSI + the interlock's trace), with 1 and with all data slots
//! armed, for a real hit and for a stray.
//!
//! `cargo bench --bench dispatch`; results in BENCHMARKS.md. The fixture (`fixture/`) is
//! shared with `dispatch_count`, which counts instructions per hit.

#![allow(clippy::unwrap_used, clippy::panic, reason = "benchmark setup")]

mod fixture;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use hwbkpt::Event;

use fixture::USER_FRAME;

fn x86(c: &mut Criterion) {
    let mut group = c.benchmark_group("dispatch/x86");
    for armed in [1u64, 4] {
        let (mut dispatcher, mut context) = fixture::x86(armed);
        let mut cases = vec![("real", fixture::x86_real())];
        if armed < 4 {
            cases.push(("stray", fixture::x86_stray(armed)));
        }
        for (name, status) in cases {
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
            let fixture::Ppc64Case {
                mut dispatcher,
                mut context,
                dsi,
                trace_frame,
            } = fixture::ppc64(armed, access_offset);
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
                                hwbkpt_ppc64::PowerStatus::single_step(),
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
