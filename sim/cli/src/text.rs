//! Text output: readable without colour, coloured when the caller says so (a terminal
//! without `NO_COLOR`).

use core::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use crate::registers::{Decoded, Encoded, PlanRow};
use crate::report::{CompareReport, Delivered, Entry, RepIterations, RunReport};

/// Applies styles, or not.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Painter {
    pub(crate) color: bool,
}

impl Painter {
    fn paint(self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }
    pub(crate) fn bold(self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }
    fn dim(self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }
    fn fg(self, color: AnsiColor, text: &str) -> String {
        self.paint(Style::new().fg_color(Some(color.into())).bold(), text)
    }
    pub(crate) fn red(self, text: &str) -> String {
        self.fg(AnsiColor::Red, text)
    }
    pub(crate) fn green(self, text: &str) -> String {
        self.fg(AnsiColor::Green, text)
    }
    fn yellow(self, text: &str) -> String {
        self.fg(AnsiColor::Yellow, text)
    }
    fn cyan(self, text: &str) -> String {
        self.fg(AnsiColor::Cyan, text)
    }
    fn magenta(self, text: &str) -> String {
        self.fg(AnsiColor::Magenta, text)
    }
}

fn label(p: Painter, tag: &str, colored: fn(Painter, &str) -> String) -> String {
    colored(p, &format!("{tag:<10}"))
}

/// One delivered event on one line.
pub(crate) fn delivered_line(d: &Delivered) -> String {
    let mut s = format!("{}: {}", d.request, d.event);
    if let Some(t) = d.timing {
        let _ = write!(s, " {t}");
    }
    if let Some(a) = &d.access {
        let _ = write!(s, ", {a}");
    }
    if let Some(a) = d.address {
        let _ = write!(s, " at {a}");
    } else if d.event == "hit" {
        s.push_str(", address not reported");
    }
    if let (Some(old), Some(new)) = (&d.old, &d.new) {
        let exact = if d.old_exact == Some(true) {
            "exact"
        } else {
            "last observed"
        };
        let _ = write!(s, ", old [{old}] ({exact}) → new [{new}]");
    }
    match d.iterations {
        Some(RepIterations {
            remaining,
            since: Some(since),
        }) => {
            let n = since.saturating_sub(remaining);
            let _ = write!(s, ", rep iterations RCX {since}→{remaining} ({n})");
        }
        Some(RepIterations {
            remaining,
            since: None,
        }) => {
            let _ = write!(s, ", rep iterations start→RCX {remaining}");
        }
        None => {}
    }
    if let Some(r) = d.reason {
        let _ = write!(s, ": {r}");
    }
    let _ = write!(s, " (pc {}, task {}, cpu {})", d.pc, d.task, d.cpu);
    s
}

fn changes_text(changes: &[crate::report::RegChange]) -> String {
    changes
        .iter()
        .map(|c| format!("{} {} → {}", c.name, c.old, c.new))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The timeline, one entry per line.
pub(crate) fn timeline(p: Painter, entries: &[Entry], out: &mut String) {
    for e in entries {
        let line = match e {
            Entry::Action { text } => format!("{} {}", p.bold("▶"), p.bold(text)),
            Entry::Outcome { text } => format!("  {}", p.dim(&format!("⇒ {text}"))),
            Entry::Instruction {
                cpu,
                task,
                pc,
                next_pc,
                text,
            } => {
                let rep = if pc == next_pc { "  (iteration)" } else { "" };
                format!(
                    "  {} {pc:>12}  {text}{rep}",
                    p.dim(&format!("c{cpu} t{task}"))
                )
            }
            Entry::Iterations {
                cpu,
                task,
                pc,
                text,
                count,
                accesses,
                first,
                last,
            } => format!(
                "  {} {pc:>12}  {text}  ×{count} iterations, {accesses} accesses in {first}..={last}",
                p.dim(&format!("c{cpu} t{task}"))
            ),
            Entry::Accesses { count, first, last } => {
                format!("  {}  {count} accesses in {first}..={last}", " ".repeat(17))
            }
            Entry::Access {
                addr,
                size,
                access,
                before,
                after,
            } => {
                if access == "read" {
                    format!("  {}  read {size} at {addr}: [{before}]", " ".repeat(17))
                } else {
                    format!(
                        "  {}  {access} {size} at {addr}: [{before}] → [{after}]",
                        " ".repeat(17)
                    )
                }
            }
            Entry::Exception {
                pc, status, text, ..
            } => {
                let regs: Vec<String> = status
                    .iter()
                    .map(|r| format!("{}={}", r.name, r.value))
                    .collect();
                format!(
                    "  {} {text}{}{} (trap-frame pc {pc})",
                    label(p, "EXCEPTION", Painter::red),
                    if regs.is_empty() { "" } else { "  " },
                    regs.join(" ")
                )
            }
            Entry::Interlock {
                step,
                text,
                registers,
                ..
            } => {
                let regs = if registers.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", changes_text(registers))
                };
                format!(
                    "  {} {step}: {text}{regs}",
                    label(p, "INTERLOCK", Painter::yellow)
                )
            }
            Entry::Registers {
                why,
                registers,
                cpu,
                ..
            } => {
                let why = match *why {
                    "switch-in" => "installed at switch-in",
                    "raw" => "raw write (bypassing the HAL)",
                    _ => "written by the handler",
                };
                format!(
                    "  {} {why} on CPU {cpu}: {}",
                    label(p, "REGISTERS", Painter::cyan),
                    changes_text(registers)
                )
            }
            Entry::Event(d) => format!(
                "  {} {}",
                label(p, "EVENT", Painter::green),
                delivered_line(d)
            ),
            Entry::Unscheduled { cpu, task, waiting } => format!(
                "  {} no free slot on CPU {cpu} for task {task}: flexible {} not armed in this window",
                label(p, "SCHEDULE", Painter::yellow),
                waiting
                    .iter()
                    .map(|w| format!(
                        "{} (missed {} window{})",
                        w.request,
                        w.missed_windows,
                        if w.missed_windows == 1 { "" } else { "s" }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Entry::Stray { count } => format!(
                "  {} {count} hardware match{} no request wanted: counted, not delivered",
                label(p, "STRAY", Painter::magenta),
                if *count == 1 { "" } else { "es" }
            ),
            Entry::Stop { task } => format!(
                "  {} task {task} stops before the access (ptrace-style, one-shot until re-armed)",
                label(p, "STOP", Painter::yellow)
            ),
            Entry::Debugger { task, text } => format!(
                "  {} task {task}: {text}",
                label(p, "DEBUGGER", Painter::yellow)
            ),
            Entry::BridgeError { text } => {
                format!("  {} {text}", label(p, "ERROR", Painter::red))
            }
            Entry::Fault { task, pc, text } => format!(
                "  {} task {task} at {pc}: {text}",
                label(p, "FAULT", Painter::red)
            ),
            Entry::Interrupt { cpu } => {
                format!(
                    "  {} external interrupt on CPU {cpu}",
                    label(p, "IRQ", Painter::cyan)
                )
            }
            Entry::Switch { cpu, from, to } => {
                let name = |t: &Option<u64>| t.map_or("idle".to_owned(), |t| format!("task {t}"));
                format!(
                    "  {} CPU {cpu}: {} → {}",
                    label(p, "SWITCH", Painter::cyan),
                    name(from),
                    name(to)
                )
            }
            Entry::Migration { task, from, to } => format!(
                "  {} task {task}: CPU {from} → CPU {to}",
                label(p, "MIGRATE", Painter::cyan)
            ),
            Entry::PcChanged { task, from, to } => format!(
                "  {} task {task}: {from} → {to}",
                label(p, "SET PC", Painter::cyan)
            ),
            Entry::Exit { task, killed } => format!(
                "  {} task {task} {}",
                label(p, "EXIT", Painter::cyan),
                if *killed { "killed" } else { "exited" }
            ),
            Entry::Checkstop { cpu, pc, reason } => format!(
                "  {} CPU {cpu} at {pc}: {reason}",
                label(p, "CHECKSTOP", Painter::red)
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
}

/// Requests and their plans.
fn requests(report: &RunReport, out: &mut String) {
    for r in &report.requests {
        let _ = write!(
            out,
            "  {:<10} {} {} bytes at {}, delivery {}: ",
            r.name, r.access, r.len, r.addr, r.delivery
        );
        match &r.refused {
            Some(reason) => {
                let _ = writeln!(out, "REFUSED: {reason}");
            }
            None => {
                let _ = write!(
                    out,
                    "{} slot{}: {}",
                    r.plan.len(),
                    if r.plan.len() == 1 { "" } else { "s" },
                    r.plan.join("; ")
                );
                match r.missed_windows {
                    Some(missed) => {
                        let _ = writeln!(
                            out,
                            " (flexible: missed {missed} window{} in the run)",
                            if missed == 1 { "" } else { "s" }
                        );
                    }
                    None => {
                        let _ = writeln!(out);
                    }
                }
            }
        }
    }
    if report.requests.is_empty() {
        out.push_str("  (none: raw registers only)\n");
    }
}

/// `run`'s text.
pub(crate) fn run(p: Painter, header: &[(&str, String)], report: &RunReport) -> String {
    let mut out = String::new();
    for (k, v) in header {
        let _ = writeln!(out, "{} {v}", p.bold(&format!("{k:<9}")));
    }
    let _ = writeln!(
        out,
        "{} {} {}, {} CPU{}",
        p.bold("cpu      "),
        report.arch,
        report.profile,
        report.cpus,
        if report.cpus == 1 { "" } else { "s" }
    );
    if !report.skipped_ops.is_empty() {
        let _ = writeln!(
            out,
            "{} ops left out on this architecture: {}",
            p.bold("skipped  "),
            report.skipped_ops.join(", ")
        );
    }
    let _ = writeln!(out, "{}", p.bold("requests"));
    requests(report, &mut out);
    let _ = writeln!(out, "{}", p.bold("timeline"));
    timeline(p, &report.timeline, &mut out);
    let _ = writeln!(out, "{}", p.bold("delivered"));
    if report.delivered.is_empty() {
        out.push_str("  (nothing)\n");
    }
    for (i, d) in report.delivered.iter().enumerate() {
        let _ = writeln!(out, "  {}. {}", i + 1, delivered_line(d));
    }
    let c = &report.counters;
    let _ = writeln!(
        out,
        "{} instructions {}, raw debug exceptions {}, hits delivered {}, strays {}, interlock steps {}, cancelled {}, disabled {}",
        p.bold("counters "),
        c.instructions,
        c.raw_exceptions,
        c.delivered_hits,
        c.stray_hits,
        c.interlock_steps,
        c.cancelled_steps,
        c.disabled
    );
    let _ = writeln!(out, "{} {}", p.bold("end      "), report.end);
    if let Some(e) = &report.expectations
        && e.checked > 0
    {
        expect_line(p, e, &mut out);
    }
    out
}

fn expect_line(p: Painter, e: &crate::report::ExpectReport, out: &mut String) {
    if e.passed {
        let _ = writeln!(
            out,
            "{} {}",
            p.bold("expect   "),
            p.green(&format!("all {} expectations met", e.checked))
        );
    } else {
        let _ = writeln!(out, "{} {}", p.bold("expect   "), p.red("MISMATCH"));
        for m in &e.mismatches {
            let _ = writeln!(out, "  - {m}");
        }
    }
}

fn native_lines(report: &RunReport) -> Vec<String> {
    let mut lines = Vec::new();
    for e in &report.timeline {
        match e {
            Entry::Exception { text, status, .. } => {
                lines.push(text.clone());
                if !status.is_empty() {
                    let regs: Vec<String> = status
                        .iter()
                        .map(|r| format!("{}={}", r.name, r.value))
                        .collect();
                    lines.push(format!("  {}", regs.join(" ")));
                }
            }
            Entry::Checkstop { reason, .. } => lines.push(format!("CHECKSTOP: {reason}")),
            _ => {}
        }
    }
    if lines.is_empty() {
        lines.push("(no debug exception)".to_owned());
    }
    lines
}

fn interlock_lines(report: &RunReport) -> Vec<String> {
    let steps: Vec<&str> = report
        .timeline
        .iter()
        .filter_map(|e| match e {
            Entry::Interlock { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    if steps.is_empty() {
        vec!["(none)".to_owned()]
    } else {
        vec![steps.join(", ")]
    }
}

fn delivered_lines(report: &RunReport) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for r in &report.requests {
        if let Some(e) = &r.refused {
            lines.push(format!("{} REFUSED:", r.name));
            lines.push(format!("  {e}"));
        }
    }
    for d in &report.delivered {
        let mut head = format!("{}: {}", d.request, d.event);
        if let Some(t) = d.timing {
            head.push(' ');
            head.push_str(t);
        }
        if let Some(a) = &d.access {
            head.push_str(", ");
            head.push_str(a);
        }
        match d.address {
            Some(a) => head.push_str(&format!(" at {a}")),
            None if d.event == "hit" => head.push_str(", no address"),
            None => {}
        }
        lines.push(head);
        if let (Some(old), Some(new)) = (&d.old, &d.new) {
            let exact = if d.old_exact == Some(true) {
                "exact"
            } else {
                "last observed"
            };
            lines.push(format!("  old [{old}] ({exact})"));
            lines.push(format!("  new [{new}]"));
        }
        if let Some(r) = d.reason {
            lines.push(format!("  {r}"));
        }
    }
    if lines.is_empty() {
        lines.push("(nothing)".to_owned());
    }
    lines
}

/// `compare`'s text: the two runs side by side, then the differences.
pub(crate) fn compare(p: Painter, header: &[(&str, String)], c: &CompareReport) -> String {
    let mut out = String::new();
    for (k, v) in header {
        let _ = writeln!(out, "{} {v}", p.bold(&format!("{k:<9}")));
    }
    let rows: Vec<(&str, Vec<String>, Vec<String>)> = vec![
        (
            "model",
            vec![format!("x86-64 {}", c.x86.profile)],
            vec![format!("PPC64 {}", c.ppc64.profile)],
        ),
        ("native", native_lines(&c.x86), native_lines(&c.ppc64)),
        (
            "interlock",
            interlock_lines(&c.x86),
            interlock_lines(&c.ppc64),
        ),
        (
            "delivered",
            delivered_lines(&c.x86),
            delivered_lines(&c.ppc64),
        ),
        (
            "strays",
            vec![c.x86.counters.stray_hits.to_string()],
            vec![c.ppc64.counters.stray_hits.to_string()],
        ),
        ("end", vec![c.x86.end.clone()], vec![c.ppc64.end.clone()]),
    ];
    let width = rows
        .iter()
        .flat_map(|(_, l, _)| l.iter().map(|s| s.chars().count()))
        .max()
        .unwrap_or(10)
        .min(56);
    for (name, left, right) in &rows {
        let n = left.len().max(right.len());
        for i in 0..n {
            let l = left.get(i).map_or("", String::as_str);
            let r = right.get(i).map_or("", String::as_str);
            let title = if i == 0 { *name } else { "" };
            let pad = width.saturating_sub(l.chars().count());
            let _ = writeln!(
                out,
                "{} {l}{} │ {r}",
                p.bold(&format!("{title:<10}")),
                " ".repeat(pad)
            );
        }
    }
    let _ = writeln!(out, "{}", p.bold("differences"));
    if c.differences.is_empty() {
        out.push_str("  (none: both architectures delivered the same events)\n");
    }
    for d in &c.differences {
        let _ = writeln!(out, "  - {d}");
    }
    for (name, r) in [("x86-64", &c.x86), ("PPC64", &c.ppc64)] {
        if let Some(e) = &r.expectations
            && e.checked > 0
        {
            let mut line = String::new();
            expect_line(p, e, &mut line);
            let _ = write!(
                out,
                "{}",
                line.replacen("expect   ", &format!("expect    {name}:"), 1)
            );
        }
    }
    out
}

/// `decode`'s text.
pub(crate) fn decoded(p: Painter, d: &Decoded, out: &mut String) {
    let _ = writeln!(out, "{} = {}", p.bold(&d.register), d.value);
    if let Some(s) = &d.summary {
        let _ = writeln!(out, "  {s}");
    }
    for f in &d.fields {
        let bits = match &f.ibm {
            Some(ibm) => format!("{} (IBM {ibm})", f.bits),
            None => f.bits.clone(),
        };
        let line = format!(
            "  {:<13} {bits:<22} {:<20} {}",
            f.name,
            f.value.to_string(),
            f.meaning
        );
        if f.flagged {
            let _ = writeln!(out, "{}", p.red(&line));
        } else {
            let _ = writeln!(out, "{line}");
        }
    }
    for w in &d.warnings {
        let _ = writeln!(out, "  {} {w}", p.yellow("warning:"));
    }
}

/// `encode`'s text.
pub(crate) fn encoded(p: Painter, e: &Encoded) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {} ({})", p.bold("cpu"), e.arch, e.profile);
    for s in &e.slots {
        let _ = writeln!(out, "{} {}: {}", p.bold("slot"), s.slot, s.program);
    }
    for d in &e.registers {
        out.push('\n');
        decoded(p, d, &mut out);
    }
    out
}

/// `plan`'s text.
pub(crate) fn plan(p: Painter, request: &str, rows: &[PlanRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} {request}", p.bold("request"));
    for r in rows {
        let _ = write!(
            out,
            "  {:<6} {:<34} ({} slot{} in the pool) ",
            r.arch,
            r.profile,
            r.slots_available,
            if r.slots_available == 1 { "" } else { "s" }
        );
        match &r.refused {
            Some(e) => {
                let _ = writeln!(out, "{} {e}", p.red("cannot:"));
            }
            None => {
                let _ = writeln!(
                    out,
                    "{} slot{}: {}",
                    r.programs.len(),
                    if r.programs.len() == 1 { "" } else { "s" },
                    r.programs.join("; ")
                );
            }
        }
    }
    out
}
