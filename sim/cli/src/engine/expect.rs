//! `--expect`: compare what the HAL delivered with the scenario's `[[expect]]` entries.
//!
//! The outcomes of a run, in order, are the refusals at registration (in request order) and
//! then the delivered events; the expectations of kinds `hit`, `disabled` and `refused` that
//! apply to the run (by `arch` and `profile`) must match them one for one. `strays` compares a
//! count with the stray-hit total; `checkstop` asks that the machine checkstopped.

use crate::report::{Entry, ExpectReport, RunReport};
use crate::scenario::{Arch, Expectation, ExpectedKind, Profile, Source};

fn hex_digits(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// One outcome: its kind, its request, and its fields as text.
type Outcome = (String, String, Vec<(&'static str, String)>);

/// Check `report` against the scenario's expectations for `arch` and `profile`.
#[must_use]
pub fn check(source: &Source, report: &RunReport, arch: Arch, profile: Profile) -> ExpectReport {
    let applicable: Vec<&Expectation> = source
        .scenario
        .expect
        .iter()
        .map(toml::Spanned::get_ref)
        .filter(|e| e.arch.is_none_or(|a| a == arch) && e.profile.is_none_or(|p| p == profile))
        .collect();
    let mut mismatches = Vec::new();
    // Outcomes: refusals, then events.
    let mut outcomes: Vec<Outcome> = Vec::new();
    for r in &report.requests {
        if let Some(reason) = &r.refused {
            outcomes.push((
                "refused".to_owned(),
                r.name.clone(),
                vec![("reason", reason.clone())],
            ));
        }
    }
    for d in &report.delivered {
        let mut fields = Vec::new();
        if let Some(t) = d.timing {
            fields.push(("timing", t.to_owned()));
        }
        if let Some(a) = &d.access {
            fields.push(("access", a.clone()));
        }
        if let Some(a) = d.address {
            fields.push(("address", format!("{:#x}", a.0)));
        }
        if let Some(o) = &d.old {
            fields.push(("old", o.compact()));
        }
        if let Some(n) = &d.new {
            fields.push(("new", n.compact()));
        }
        if let Some(x) = d.old_exact {
            fields.push(("old_exact", x.to_string()));
        }
        if let Some(r) = d.reason {
            fields.push(("reason", r.to_owned()));
        }
        outcomes.push((d.event.to_owned(), d.request.clone(), fields));
    }
    let sequence: Vec<&&Expectation> = applicable
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                ExpectedKind::Hit | ExpectedKind::Disabled | ExpectedKind::Refused
            )
        })
        .collect();
    if sequence.len() != outcomes.len() {
        mismatches.push(format!(
            "expected {} outcomes (refusals and events), got {}",
            sequence.len(),
            outcomes.len()
        ));
    }
    for (i, (want, (kind, request, fields))) in sequence.iter().zip(&outcomes).enumerate() {
        let n = i + 1;
        let want_kind = match want.event {
            ExpectedKind::Hit => "hit",
            ExpectedKind::Disabled => "disabled",
            _ => "refused",
        };
        if want_kind != kind {
            mismatches.push(format!("outcome {n}: expected {want_kind}, got {kind}"));
            continue;
        }
        if let Some(r) = &want.request
            && r != request
        {
            mismatches.push(format!(
                "outcome {n}: expected request `{r}`, got `{request}`"
            ));
        }
        let get = |name: &str| {
            fields
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, v)| v.as_str())
        };
        let mut compare = |name: &str, expected: Option<String>, substring: bool| {
            if let Some(expected) = expected {
                let got = get(name);
                let ok = got.is_some_and(|g| {
                    if substring {
                        g.to_lowercase().contains(&expected.to_lowercase())
                    } else {
                        g == expected
                    }
                });
                if !ok {
                    mismatches.push(format!(
                        "outcome {n} ({request}): expected {name} {expected}, got {}",
                        got.unwrap_or("nothing")
                    ));
                }
            }
        };
        compare("timing", want.timing.clone(), false);
        compare("access", want.access.clone(), false);
        compare(
            "address",
            want.address.map(|a| format!("{:#x}", a.0)),
            false,
        );
        compare("old", want.old.as_deref().map(hex_digits), false);
        compare("new", want.new.as_deref().map(hex_digits), false);
        compare("old_exact", want.old_exact.map(|b| b.to_string()), false);
        compare("reason", want.reason.clone(), true);
    }
    for want in &applicable {
        match want.event {
            ExpectedKind::Strays => {
                let expected = want.count.unwrap_or(0);
                if report.counters.stray_hits != expected {
                    mismatches.push(format!(
                        "expected {expected} stray hits, got {}",
                        report.counters.stray_hits
                    ));
                }
            }
            ExpectedKind::Checkstop
                if !report
                    .timeline
                    .iter()
                    .any(|e| matches!(e, Entry::Checkstop { .. })) =>
            {
                mismatches.push("expected a checkstop, the machine kept running".to_owned());
            }
            _ => {}
        }
    }
    ExpectReport {
        checked: applicable.len(),
        passed: mismatches.is_empty(),
        mismatches,
    }
}
