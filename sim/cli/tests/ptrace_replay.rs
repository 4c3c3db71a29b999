//! `hwbkpt-sim ptrace-replay` end to end: the example replay files on each profile, as text
//! and JSON snapshots (`UPDATE_SNAPSHOTS=1 cargo test -p hwbkpt-sim-cli --test
//! ptrace_replay` rewrites them), and the error paths. The output does not depend on the
//! host: the same snapshots are checked on big-endian PowerPC 64.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::fs;
use std::path::PathBuf;

use hwbkpt_sim_cli::cli::{Output, run_args};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tool(args: &[&str]) -> Output {
    let mut all = vec!["hwbkpt-sim"];
    all.extend_from_slice(args);
    run_args(all, false)
}

fn snapshot(name: &str, actual: &str) {
    let path = manifest().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no snapshot {name}; run with UPDATE_SNAPSHOTS=1"));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "snapshot {name} differs at line {}:\n  expected: {:?}\n  actual:   {:?}",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

#[test]
fn x86_example_text_and_json() {
    let file = manifest().join("examples/ptrace-x86.replay");
    let file = file.to_str().unwrap();
    let text = tool(&["ptrace-replay", file]);
    assert_eq!((text.status, text.stderr.as_str()), (0, ""));
    snapshot("ptrace-x86.replay.txt", &text.stdout);
    let json = tool(&["ptrace-replay", file, "--format", "json"]);
    assert_eq!(json.status, 0);
    snapshot("ptrace-x86.replay.json", &json.stdout);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let steps = v["result"]["steps"].as_array().unwrap();
    let results: Vec<&str> = steps
        .iter()
        .map(|s| s["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        [
            "OK", "OK", "OK", "EINVAL", "EINVAL", "EINVAL", "EIO", "OK", "OK", "OK", "EINVAL",
            "EINVAL", "OK", "OK", "OK", "OK"
        ]
    );
    assert_eq!(steps[3]["errno"], 22);
    assert_eq!(steps[3]["readback"]["x86"]["dr"][0], "0x7fff0000");
}

#[test]
fn ppc64_example_on_each_profile() {
    let file = manifest().join("examples/ptrace-ppc64.replay");
    let file = file.to_str().unwrap();
    for profile in ["power7", "power8", "power9", "power10"] {
        let out = tool(&["ptrace-replay", file, "--profile", profile]);
        assert_eq!((out.status, out.stderr.as_str()), (0, ""), "{profile}");
        snapshot(&format!("ptrace-ppc64.replay.{profile}.txt"), &out.stdout);
    }
    let json = tool(&["ptrace-replay", file, "--format", "json"]);
    assert_eq!(json.status, 0);
    snapshot("ptrace-ppc64.replay.json", &json.stdout);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["result"]["profile"], "power10");
    let info = &v["result"]["steps"][0]["info"];
    assert_eq!(info["num_data_bps"], 2);
    assert_eq!(info["features"], "0x34");
    assert_eq!(v["result"]["steps"][4]["result"], "ENOTSUPP");
    assert_eq!(v["result"]["steps"][4]["errno"], 524);
}

#[test]
fn errors_name_the_line_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("ptrace-replay-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.replay");
    fs::write(&bad, "peek 7\nfrobnicate 1\n").unwrap();
    let out = tool(&["ptrace-replay", bad.to_str().unwrap()]);
    assert_eq!(out.status, 2);
    assert!(
        out.stderr
            .starts_with("error: bad.replay:2: unknown request `frobnicate`"),
        "{}",
        out.stderr
    );
    let json = tool(&["ptrace-replay", bad.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["error"]["line"], 2);
    // A PPC64 request replayed on x86.
    let mixed = dir.join("mixed.replay");
    fs::write(&mixed, "poke 0 0x1000\ngethwdbginfo\n").unwrap();
    let out = tool(&["ptrace-replay", mixed.to_str().unwrap()]);
    assert_eq!(out.status, 2);
    assert!(
        out.stderr.contains("`gethwdbginfo` is a PPC64 request"),
        "{}",
        out.stderr
    );
    let missing = tool(&["ptrace-replay", dir.join("none.replay").to_str().unwrap()]);
    assert_eq!(missing.status, 2);
    fs::remove_dir_all(&dir).unwrap();
}
