//! `demo`: a short guided tour of built-in scenarios (the files of `sim/cli/examples/`,
//! compiled in).

use core::fmt::Write as _;

use serde::Serialize;

use crate::cli::{Format, Output};
use crate::report::{CompareReport, SCHEMA_VERSION};
use crate::scenario;
use crate::text::{self, Painter};

/// One stop of the tour.
struct Stop {
    title: &'static str,
    file: &'static str,
    text: &'static str,
    intro: &'static str,
}

const TOUR: [Stop; 3] = [
    Stop {
        title: "1. Trigger-before hardware, trigger-after delivery",
        file: "examples/interlock.toml",
        text: include_str!("../examples/interlock.toml"),
        intro: "A profiler watches 4 bytes and wants its callback after each write, with the new value in memory.\nx86-64 traps after the store by itself. PPC64's DAWR fires before it: watch the HAL disarm, single-step, re-arm.",
    },
    Stop {
        title: "2. Hardware that watches more than you asked for",
        file: "examples/stray-hit-dabr.toml",
        text: include_str!("../examples/stray-hit-dabr.toml"),
        intro: "POWER7's DABR watches whole doublewords. A load next to the watched bytes fires it anyway:\nthe HAL decodes the instruction, sees the miss, counts a stray and delivers nothing.",
    },
    Stop {
        title: "3. Execute breakpoints keep their native timing",
        file: "examples/x86-exec-rf.toml",
        text: include_str!("../examples/x86-exec-rf.toml"),
        intro: "x86 faults before the instruction and resumes with RFLAGS.RF; PPC64's CIABR fires after it completed.\nThe event says which, instead of pretending they are the same.",
    },
];

#[derive(Serialize)]
struct TourStop<'a> {
    title: &'a str,
    command: String,
    compare: CompareReport,
}

#[derive(Serialize)]
struct Tour<'a> {
    schema: &'static str,
    schema_version: u32,
    command: &'static str,
    result: Vec<TourStop<'a>>,
}

/// Run the tour.
#[must_use]
pub(crate) fn run(p: Painter, format: Format) -> Output {
    let mut out = String::new();
    let mut stops = Vec::new();
    if format == Format::Text {
        let _ = writeln!(
            out,
            "{}\n",
            p.bold("hwbkpt-sim demo — the same breakpoint on a simulated x86-64 and a simulated POWER CPU, with the hwbkpt HAL as their kernel")
        );
    }
    for stop in &TOUR {
        let command = format!("hwbkpt-sim compare sim/cli/{}", stop.file);
        let source = match scenario::parse(stop.file, stop.text) {
            Ok(s) => s,
            Err(e) => {
                return Output {
                    stdout: out,
                    stderr: format!("error: built-in scenario: {e}\n"),
                    status: 2,
                };
            }
        };
        let report = match crate::cli::compare_source(&source, &[]) {
            Ok(r) => r,
            Err(e) => {
                return Output {
                    stdout: out,
                    stderr: format!("error: built-in scenario: {e}\n"),
                    status: 2,
                };
            }
        };
        if format == Format::Text {
            let _ = writeln!(out, "{}", p.bold(stop.title));
            let _ = writeln!(out, "{}\n", stop.intro);
            let _ = writeln!(out, "$ {command}");
            out.push_str(&text::compare(p, &[], &report));
            out.push('\n');
        }
        stops.push(TourStop {
            title: stop.title,
            command,
            compare: report,
        });
    }
    if format == Format::Json {
        let tour = Tour {
            schema: "hwbkpt-sim",
            schema_version: SCHEMA_VERSION,
            command: "demo",
            result: stops,
        };
        out = serde_json::to_string_pretty(&tour).unwrap_or_default();
        out.push('\n');
    } else {
        let _ = writeln!(out, "{}", p.bold("Where next"));
        out.push_str(
            "  hwbkpt-sim run sim/cli/examples/interlock.toml     every instruction, access, exception and interlock step\n  hwbkpt-sim compare sim/cli/examples/ptrace-and-perf.toml   a ptrace stop and a perf hit on one address\n  hwbkpt-sim encode --arch x86 --addr 0x1000 --len 4 --access rw --slot 2\n  hwbkpt-sim decode dawrx 0xfc60\n  hwbkpt-sim plan --addr 0x20000100 --len 512 --access w\n  ls sim/cli/examples/                                 14 scenarios, each saying what it teaches\n",
        );
    }
    Output {
        stdout: out,
        stderr: String::new(),
        status: 0,
    }
}
