//! Shared by the differential property tests (`differential_x86.rs`, `differential_ppc64.rs`):
//! the architecture-independent reference model, the fault-injecting scheduler that drives a
//! simulated machine, and the comparable form of delivered events.
//!
//! Each test crate includes this folder with `mod support;` and uses the parts its
//! architecture needs.

#![allow(
    dead_code,
    reason = "included by two test crates; each uses the parts its architecture needs"
)]

pub(crate) mod observed;
pub(crate) mod reference;
pub(crate) mod schedule;

/// Proptest cases per property: `PROPTEST_CASES` when set (CI on qemu-user sets 64, long runs
/// set thousands), otherwise `default`, kept small so the whole suite stays fast on 2 cores.
pub(crate) fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
