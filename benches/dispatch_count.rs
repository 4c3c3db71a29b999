//! Instructions per hit, for callgrind: the `dispatch` benchmark's cases as a plain loop of
//! `N` hits, with nothing else in it (criterion's own work would be counted too).
//!
//! ```text
//! cargo bench --bench dispatch_count --no-run        # prints the executable's path
//! valgrind --tool=callgrind target/release/deps/dispatch_count-… x86-real 100000
//! ```
//! Instructions per hit = callgrind's `I refs` / N (the fixture's setup is a few thousand,
//! under 0.1 % at N = 100 000). Without valgrind it prints the wall time per hit, a rough
//! figure only: timings belong to `cargo bench --bench dispatch`.
//!
//! Cases: `x86-real`, `x86-stray`, `x86-real-4` (four watches armed), `ppc64-real`,
//! `ppc64-stray`, `ppc64-real-2` (a PPC64 hit is its DSI and its trace).

#![allow(clippy::unwrap_used, clippy::panic, reason = "benchmark setup")]

mod fixture;

use std::hint::black_box;
use std::time::Instant;

use hwbkpt::Event;

use fixture::USER_FRAME;

fn main() {
    // `cargo bench` passes `--bench`; everything starting with `-` is not ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let case = args.first().map_or("x86-real", String::as_str);
    let hits: u64 = args.get(1).map_or(100_000, |n| n.parse().unwrap());
    let mut sink = |event: &Event| {
        black_box(event);
    };
    let started = Instant::now();
    match case {
        "x86-real" | "x86-stray" | "x86-real-4" => {
            let armed = if case == "x86-real-4" { 4 } else { 1 };
            let (mut dispatcher, mut context) = fixture::x86(armed);
            let status = if case == "x86-stray" {
                fixture::x86_stray(armed)
            } else {
                fixture::x86_real()
            };
            for _ in 0..hits {
                black_box(
                    dispatcher
                        .handle_exception(&USER_FRAME, black_box(status), &mut context, &mut sink)
                        .unwrap(),
                );
            }
        }
        "ppc64-real" | "ppc64-stray" | "ppc64-real-2" => {
            let armed = if case == "ppc64-real-2" { 2 } else { 1 };
            let offset = if case == "ppc64-stray" { 6 } else { 0 };
            let mut c = fixture::ppc64(armed, offset);
            for _ in 0..hits {
                c.dispatcher
                    .handle_exception(&USER_FRAME, black_box(c.dsi), &mut c.context, &mut sink)
                    .unwrap();
                black_box(
                    c.dispatcher
                        .handle_exception(
                            &c.trace_frame,
                            hwbkpt_ppc64::PowerStatus::single_step(),
                            &mut c.context,
                            &mut sink,
                        )
                        .unwrap(),
                );
            }
        }
        other => panic!("unknown case {other}: see the file's header"),
    }
    #[allow(clippy::cast_precision_loss, reason = "a rough figure")]
    let per_hit = started.elapsed().as_nanos() as f64 / hits as f64;
    println!("{case}: {hits} hits, {per_hit:.1} ns per hit (wall time, rough)");
}
