//! Where the x86-64 and PPC64 runs of one scenario differ, one sentence each.

use crate::report::{Delivered, Entry, RunReport};

fn interlock_steps(r: &RunReport) -> usize {
    r.timeline
        .iter()
        .filter(|e| {
            matches!(
                e,
                Entry::Interlock {
                    step: "single-step" | "emulate",
                    ..
                }
            )
        })
        .count()
}

fn raw_kinds(r: &RunReport) -> (bool, bool) {
    let mut before = false;
    let mut after = false;
    for e in &r.timeline {
        if let Entry::Exception { text, .. } = e {
            if text.contains("before") {
                before = true;
            }
            if text.contains("after") {
                after = true;
            }
        }
    }
    (before, after)
}

fn pair(n: usize, x: &Delivered, p: &Delivered, out: &mut Vec<String>) {
    let who = if x.request == p.request {
        format!("event {n} (`{}`)", x.request)
    } else {
        format!(
            "event {n} (`{}` on x86-64, `{}` on PPC64)",
            x.request, p.request
        )
    };
    if x.event != p.event {
        out.push(format!(
            "{who}: {} on x86-64, {} on PPC64",
            x.event, p.event
        ));
        return;
    }
    let execute = x.access.as_deref() == Some("execute");
    let what = if execute { "instruction" } else { "access" };
    if x.timing != p.timing {
        out.push(format!(
            "{who}: delivered {} the {what} on x86-64, {} it on PPC64",
            x.timing.unwrap_or("?"),
            p.timing.unwrap_or("?")
        ));
    }
    match (x.address, p.address) {
        (None, Some(a)) => out.push(format!(
            "{who}: PPC64 reports the address ({a}, from DAR and the decoded instruction); an x86 data trap does not say which address was accessed"
        )),
        (Some(a), None) => out.push(format!("{who}: x86-64 reports {a}; PPC64 reports no address")),
        (Some(a), Some(b)) if a != b && !execute => {
            out.push(format!("{who}: address {a} on x86-64, {b} on PPC64"));
        }
        _ => {}
    }
    if x.access != p.access {
        out.push(format!(
            "{who}: access kind {} on x86-64, {} on PPC64",
            x.access.as_deref().unwrap_or("not reported"),
            p.access.as_deref().unwrap_or("not reported")
        ));
    }
    if x.old_exact != p.old_exact && x.old_exact.is_some() && p.old_exact.is_some() {
        out.push(format!(
            "{who}: the old value is {} on x86-64 and {} on PPC64",
            if x.old_exact == Some(true) {
                "exact"
            } else {
                "the last one the layer observed (x86 traps after the write)"
            },
            if p.old_exact == Some(true) {
                "exact (read before the stepped access)"
            } else {
                "last observed"
            }
        ));
    }
    if let (Some(xn), Some(pn)) = (&x.new, &p.new)
        && xn != pn
    {
        let mut reversed = xn.0.clone();
        reversed.reverse();
        if reversed == pn.0 {
            out.push(format!(
                "{who}: same value, other byte order: [{xn}] (little-endian) vs [{pn}] (big-endian)"
            ));
        } else {
            out.push(format!(
                "{who}: new bytes [{xn}] on x86-64, [{pn}] on PPC64"
            ));
        }
    }
}

/// The differences between the two runs.
#[must_use]
pub(crate) fn differences(x: &RunReport, p: &RunReport) -> Vec<String> {
    let mut out = Vec::new();
    let (xb, xa) = raw_kinds(x);
    let (pb, pa) = raw_kinds(p);
    if xa && pb && interlock_steps(p) == 0 {
        out.push(
            "native timing: x86-64 data breakpoints trap after the access; PPC64 raises a data storage interrupt before it, and here the HAL could not step the instruction (see the events)"
                .to_owned(),
        );
    } else if xa && pb {
        out.push(format!(
            "native timing: x86-64 data breakpoints trap after the access; PPC64 raises a data storage interrupt before it, and the HAL single-stepped {} time{} (disarm, step, re-arm) to deliver after",
            interlock_steps(p),
            if interlock_steps(p) == 1 { "" } else { "s" }
        ));
    } else if xb && pa && !pb {
        out.push(
            "native timing: the x86-64 execute breakpoint faults before the instruction (resumed with RF); the PPC64 CIABR fires after it completed"
                .to_owned(),
        );
    }
    for (r, other, name, other_name) in [(x, p, "x86-64", "PPC64"), (p, x, "PPC64", "x86-64")] {
        for req in &r.requests {
            if let Some(reason) = &req.refused {
                let elsewhere = other.requests.iter().find(|o| o.name == req.name).map_or(
                    "not requested",
                    |o| {
                        if o.refused.is_some() {
                            "refused too"
                        } else {
                            "accepted"
                        }
                    },
                );
                out.push(format!(
                    "request `{}` refused on {name} ({reason}); on {other_name}: {elsewhere}",
                    req.name
                ));
            }
        }
        if !r.skipped_ops.is_empty() {
            out.push(format!(
                "program ops that do not exist on {name} were left out: {}",
                r.skipped_ops.join(", ")
            ));
        }
    }
    let requests_with_events = x
        .delivered
        .iter()
        .chain(&p.delivered)
        .map(|d| d.request.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if x.delivered.len() != p.delivered.len() && requests_with_events > 1 {
        out.push(format!(
            "x86-64 delivered {} event{}, PPC64 {}",
            x.delivered.len(),
            if x.delivered.len() == 1 { "" } else { "s" },
            p.delivered.len()
        ));
    }
    // Pair the events request by request: the i-th event of a request on one side with its
    // i-th event on the other.
    let mut names: Vec<&str> = Vec::new();
    for d in x.delivered.iter().chain(&p.delivered) {
        if !names.contains(&d.request.as_str()) {
            names.push(&d.request);
        }
    }
    for name in names {
        let xs: Vec<&Delivered> = x.delivered.iter().filter(|d| d.request == name).collect();
        let ps: Vec<&Delivered> = p.delivered.iter().filter(|d| d.request == name).collect();
        if xs.len() != ps.len() {
            out.push(format!(
                "`{name}`: {} event{} on x86-64, {} on PPC64",
                xs.len(),
                if xs.len() == 1 { "" } else { "s" },
                ps.len()
            ));
        }
        for (n, (a, b)) in xs.iter().zip(&ps).enumerate() {
            pair(n + 1, a, b, &mut out);
        }
    }
    if x.counters.stray_hits != p.counters.stray_hits {
        out.push(format!(
            "stray hits (hardware matched, no request did; never delivered): {} on x86-64, {} on PPC64",
            x.counters.stray_hits, p.counters.stray_hits
        ));
    }
    let kind = |e: &str| e.split(" (").next().unwrap_or("").to_owned();
    if kind(&x.end) != kind(&p.end) {
        out.push(format!("end: {} on x86-64; {} on PPC64", x.end, p.end));
    }
    out
}
