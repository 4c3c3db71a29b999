//! `hwbkpt-sim gdbserver` driven by the real gdb: Debian's `gdb` for x86-64, `gdb-multiarch`
//! for PPC64, in batch mode against the stub on a free loopback port. Each test starts its own
//! stub (`--listen 127.0.0.1:0`; the stub prints the port), runs gdb with a time limit, and
//! checks gdb's own output text — the watchpoint banners, the old and new values, where the
//! stop landed — and the stub's log of what the HAL planned or refused.
//!
//! The program is `examples/gdb-watch.toml`: a byte, an int, a long and a 32-byte buffer
//! written and read in turn; the stub prints its labels, so the tests know where each access
//! is on each CPU.
//!
//! A missing gdb fails the tests (CI installs it in `.ci/run`'s setup). Under qemu-user
//! (`scripts/test-ppc64.sh`) neither gdb nor the stub can be spawned from a test, so there
//! they are reported as ignored, with that reason.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test helpers: a failed expectation is a panic with the whole session in its message"
)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// Longest a gdb session may take (a hung session fails instead of blocking the suite).
const GDB_LIMIT: Duration = Duration::from_secs(60);
/// Longest the stub may take to start listening, or to exit once gdb is done.
const STUB_LIMIT: Duration = Duration::from_secs(20);

const SCENARIO: &str = "examples/gdb-watch.toml";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cpu {
    X86,
    Ppc64,
}

impl Cpu {
    const fn gdb(self) -> &'static str {
        match self {
            Self::X86 => "gdb",
            Self::Ppc64 => "gdb-multiarch",
        }
    }
}

/// What one session printed.
struct Session {
    /// gdb's stdout and stderr.
    gdb: String,
    /// The stub's stderr.
    stub: String,
    /// The program's labels on this CPU.
    labels: HashMap<String, u64>,
}

impl Session {
    fn label(&self, name: &str) -> u64 {
        *self
            .labels
            .get(name)
            .unwrap_or_else(|| panic!("the stub printed no label `{name}`:\n{}", self.stub))
    }

    /// The values of `p $pc` in order (gdb prints `$N = (void (*)()) 0x…`).
    fn printed_pcs(&self) -> Vec<u64> {
        self.gdb
            .lines()
            .filter_map(|l| l.split_once("(void (*)()) 0x"))
            .filter_map(|(_, hex)| u64::from_str_radix(hex.trim(), 16).ok())
            .collect()
    }

    fn count(&self, needle: &str) -> usize {
        self.gdb.matches(needle).count()
    }
}

impl std::fmt::Display for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--- gdb:\n{}\n--- stub:\n{}", self.gdb, self.stub)
    }
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fail loudly when the gdb this test needs is not installed.
fn require(gdb: &str) {
    let found = Command::new(gdb)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{gdb}` is not installed: these tests drive the real gdb (`apt-get install gdb gdb-multiarch`; CI's .ci/run setup installs both)"
    );
}

/// Wait for `child` to exit within `limit`, killing it past that.
fn wait_bounded(child: &mut Child, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// Lines of the stub's stderr, read on a thread so that the stub never blocks on a full pipe.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Start the stub on `cpu`, run gdb with `commands` against it, and collect both outputs.
fn session(cpu: Cpu, commands: &[&str]) -> Session {
    session_with(cpu, |_| commands.iter().map(|c| (*c).to_owned()).collect())
}

/// [`session`] with gdb's commands made from the program's labels, which the stub prints
/// before it listens.
fn session_with(cpu: Cpu, commands: impl FnOnce(&HashMap<String, u64>) -> Vec<String>) -> Session {
    require(cpu.gdb());
    let mut stub = Command::new(env!("CARGO_BIN_EXE_hwbkpt-sim"))
        .args(["gdbserver", SCENARIO, "--listen", "127.0.0.1:0", "--arch"])
        .arg(match cpu {
            Cpu::X86 => "x86",
            Cpu::Ppc64 => "ppc64",
        })
        .current_dir(manifest())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the stub starts");
    let lines = lines_of(&mut stub);
    let mut log = Vec::new();
    let mut labels = HashMap::new();
    let deadline = Instant::now() + STUB_LIMIT;
    let port = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = lines.recv_timeout(left) else {
            let _ = stub.kill();
            panic!("the stub did not start listening:\n{}", log.join("\n"));
        };
        if let Some((name, addr)) = line
            .trim()
            .strip_prefix("label ")
            .and_then(|l| l.split_once(" = 0x"))
        {
            labels.insert(name.to_owned(), u64::from_str_radix(addr, 16).unwrap());
        }
        let port = line
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|rest| rest.split(';').next())
            .and_then(|p| p.parse::<u16>().ok());
        log.push(line);
        if let Some(port) = port {
            break port;
        }
    };
    let mut args: Vec<String> = vec!["-nx".into(), "-batch".into()];
    if cpu == Cpu::Ppc64 {
        // A target description cannot carry the byte order; gdb-multiarch's default is the
        // host's.
        args.extend(["-ex".into(), "set endian big".into()]);
    }
    args.extend(["-ex".into(), format!("target remote 127.0.0.1:{port}")]);
    for c in commands(&labels) {
        args.extend(["-ex".into(), c]);
    }
    let out_path =
        std::env::temp_dir().join(format!("hwbkpt-gdb-{}-{port}.txt", std::process::id()));
    let out_file = std::fs::File::create(&out_path).expect("a temporary file for gdb's output");
    let mut gdb = Command::new(cpu.gdb())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(out_file.try_clone().expect("the file handle duplicates"))
        .stderr(out_file)
        .spawn()
        .expect("gdb starts");
    let finished = wait_bounded(&mut gdb, GDB_LIMIT);
    let gdb_text = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let stub_done = wait_bounded(&mut stub, STUB_LIMIT);
    log.extend(lines.try_iter());
    let session = Session {
        gdb: gdb_text,
        stub: log.join("\n"),
        labels,
    };
    assert!(
        finished,
        "gdb did not finish within {GDB_LIMIT:?}:\n{session}"
    );
    assert!(
        stub_done,
        "the stub did not exit after gdb left:\n{session}"
    );
    session
}

/// The ignore attribute every test carries: gdb and the stub are host processes.
macro_rules! gdb_test {
    ($(#[$doc:meta])* fn $name:ident() $body:block) => {
        $(#[$doc])*
        #[test]
        #[cfg_attr(
            not(target_arch = "x86_64"),
            ignore = "qemu-user: gdb and the stub cannot be spawned from inside an emulated test"
        )]
        fn $name() $body
    };
}

/// `watch` on the byte, the int and the long: each write stops with gdb's old and new value.
fn watch_sizes(cpu: Cpu) -> Session {
    let s = session(
        cpu,
        &[
            "watch *(char *)0x20000000",
            "watch *(int *)0x20000010",
            "watch *(long *)0x20000020",
            "continue",
            "continue",
            "continue",
            "continue",
        ],
    );
    for expected in [
        "Hardware watchpoint 1: *(char *)0x20000000\n\nOld value = 0 '\\000'\nNew value = 1 '\\001'\n",
        "Hardware watchpoint 2: *(int *)0x20000010\n\nOld value = 0\nNew value = 4660\n",
        "Hardware watchpoint 3: *(long *)0x20000020\n\nOld value = 0\nNew value = 1234605616436508552\n",
        "exited normally",
    ] {
        assert!(s.gdb.contains(expected), "no {expected:?} in:\n{s}");
    }
    // The int is written twice with the same value: gdb hears of both writes and keeps
    // quiet about the second, so there is exactly one report per variable.
    assert_eq!(s.count("Old value"), 3, "{s}");
    for inserted in [
        "inserted watch 1 byte at 0x20000000: 1 slot",
        "inserted watch 4 bytes at 0x20000010: 1 slot",
        "inserted watch 8 bytes at 0x20000020: 1 slot",
    ] {
        assert!(s.stub.contains(inserted), "no {inserted:?} in:\n{s}");
    }
    s
}

gdb_test! {
    /// x86-64: 1-, 4- and 8-byte watches trap after the write.
    fn x86_watch_on_1_4_and_8_byte_variables() {
        let s = watch_sizes(Cpu::X86);
        assert!(s.gdb.contains("in ?? ()"), "{s}");
    }
}

gdb_test! {
    /// PPC64: the same watches, stopped before the access; gdb steps over it, so every stop
    /// lands on the instruction right after the store (a stop reported after the access
    /// would make gdb step one instruction too far). POWER10 has two DAWRs: the long is
    /// watched once the first two are deleted, and a third watch before that is refused.
    fn ppc64_watch_shows_old_and_new_values_and_lands_after_the_accessing_instruction() {
        let s = session(
            Cpu::Ppc64,
            &[
                "watch *(char *)0x20000000",
                "watch *(int *)0x20000010",
                "watch *(long *)0x20000020",
                "continue",
                "delete 3",
                "continue",
                "print $pc",
                "continue",
                "print $pc",
                "delete",
                "watch *(long *)0x20000020",
                "continue",
                "print $pc",
                "continue",
            ],
        );
        for expected in [
            "Could not insert hardware watchpoint 3.",
            "Hardware watchpoint 1: *(char *)0x20000000\n\nOld value = 0 '\\000'\nNew value = 1 '\\001'\n",
            "Hardware watchpoint 2: *(int *)0x20000010\n\nOld value = 0\nNew value = 4660\n",
            "Hardware watchpoint 4: *(long *)0x20000020\n\nOld value = 0\nNew value = 1234605616436508552\n",
            "exited normally",
        ] {
            assert!(s.gdb.contains(expected), "no {expected:?} in:\n{s}");
        }
        let stores = ["set_flag", "set_counter", "set_total"].map(|l| s.label(l) + 4);
        assert_eq!(s.printed_pcs(), stores, "{s}");
        assert!(s.stub.contains("inserted watch 8 bytes at 0x20000020: 1 slot"), "{s}");
        assert!(s.stub.contains("refused watch 8 bytes at 0x20000020: "), "{s}");
    }
}

gdb_test! {
    /// x86-64: a 32-byte buffer takes four 8-byte slots (the HAL's planner splits it); the
    /// write to its last eight bytes is caught by the fourth.
    fn x86_watch_on_a_32_byte_object_is_split_across_four_slots() {
        let s = session(
            Cpu::X86,
            &["watch *(char (*)[32])0x20000040", "continue", "print $pc", "continue"],
        );
        let expected = "Hardware watchpoint 1: *(char (*)[32])0x20000040\n\nOld value = '\\000' <repeats 31 times>\nNew value = '\\000' <repeats 24 times>, \"\\b\\a\\006\\005\\004\\003\\002\\001\"\n";
        assert!(s.gdb.contains(expected), "{s}");
        assert!(s.stub.contains("inserted watch 32 bytes at 0x20000040: 4 slots"), "{s}");
        // Trap after: the stop is past the store, at the next label.
        assert_eq!(s.printed_pcs(), [s.label("done")], "{s}");
        assert!(s.gdb.contains("exited normally"), "{s}");
    }
}

gdb_test! {
    /// x86-64: `rwatch` on a read/write slot. The write that changes the value is not
    /// reported, the read is, and so is the write of the same value (the consequence of
    /// having no read-only encoding, as with gdb's native x86 support).
    fn x86_rwatch_reports_reads_and_same_value_writes() {
        let s = session(
            Cpu::X86,
            &[
                "rwatch *(int *)0x20000010",
                "continue",
                "print $pc",
                "continue",
                "print $pc",
                "continue",
            ],
        );
        assert_eq!(
            s.count("Hardware read watchpoint 1: *(int *)0x20000010\n\nValue = 4660\n"),
            2,
            "{s}"
        );
        assert_eq!(s.count("Old value"), 0, "{s}");
        let pcs = s.printed_pcs();
        assert_eq!(pcs.len(), 2, "{s}");
        // Each stop is just past the access: the load, then the same-value store.
        assert!(s.label("read_counter") < pcs[0] && pcs[0] <= s.label("rewrite_counter"), "{s}");
        assert!(s.label("rewrite_counter") < pcs[1] && pcs[1] <= s.label("set_total"), "{s}");
        assert!(s.gdb.contains("exited normally"), "{s}");
    }
}

gdb_test! {
    /// PPC64 has read-only watches: only the load is reported, stopped right after it.
    fn ppc64_rwatch_reports_only_the_read() {
        let s = session(
            Cpu::Ppc64,
            &["rwatch *(int *)0x20000010", "continue", "print $pc", "continue"],
        );
        assert_eq!(
            s.count("Hardware read watchpoint 1: *(int *)0x20000010\n\nValue = 4660\n"),
            1,
            "{s}"
        );
        assert_eq!(s.printed_pcs(), [s.label("read_counter") + 4], "{s}");
        assert!(s.gdb.contains("exited normally"), "{s}");
    }
}

/// `awatch`: the write with its old and new value, then the read and the same-value write.
fn awatch(cpu: Cpu) {
    let s = session(
        cpu,
        &[
            "awatch *(int *)0x20000010",
            "continue",
            "continue",
            "continue",
            "continue",
        ],
    );
    let banner = "Hardware access (read/write) watchpoint 1: *(int *)0x20000010\n\n";
    assert!(
        s.gdb
            .contains(&format!("{banner}Old value = 0\nNew value = 4660\n")),
        "{s}"
    );
    assert_eq!(s.count(&format!("{banner}Value = 4660\n")), 2, "{s}");
    assert!(s.gdb.contains("exited normally"), "{s}");
}

gdb_test! {
    /// x86-64 `awatch`.
    fn x86_awatch_reports_every_access() {
        awatch(Cpu::X86);
    }
}

gdb_test! {
    /// PPC64 `awatch`.
    fn ppc64_awatch_reports_every_access() {
        awatch(Cpu::Ppc64);
    }
}

gdb_test! {
    /// x86-64 `hbreak`: an execute slot through the HAL stops before the instruction; gdb
    /// steps over it and goes on. A software breakpoint and `stepi` work alongside.
    fn x86_hbreak_stops_before_the_instruction() {
        let s = session_with(Cpu::X86, |labels| {
            vec![
                "info registers rbx".to_owned(),
                format!("hbreak *{:#x}", labels["set_counter"]),
                format!("break *{:#x}", labels["fill_buffer"]),
                "continue".to_owned(),
                "print $pc".to_owned(),
                "x/wx 0x20000010".to_owned(),
                "stepi".to_owned(),
                "x/wx 0x20000010".to_owned(),
                "continue".to_owned(),
                "print $pc".to_owned(),
                "print/x $rax".to_owned(),
                "continue".to_owned(),
            ]
        });
        let (at, sw) = (s.label("set_counter"), s.label("fill_buffer"));
        assert!(s.gdb.contains("rbx            0x20000000"), "{s}");
        assert!(s.gdb.contains(&format!("Hardware assisted breakpoint 1 at {at:#x}")), "{s}");
        assert!(s.gdb.contains(&format!("Breakpoint 1, 0x{at:016x} in ?? ()")), "{s}");
        assert!(s.gdb.contains(&format!("Breakpoint 2, 0x{sw:016x} in ?? ()")), "{s}");
        assert_eq!(s.printed_pcs(), [at, sw], "{s}");
        // Stopped before the store; one step later it has happened.
        assert!(s.gdb.contains("0x20000010:\t0x00000000\n"), "{s}");
        assert!(s.gdb.contains("0x20000010:\t0x00001234\n"), "{s}");
        assert!(s.gdb.contains("= 0x102030405060708"), "{s}");
        assert!(s.stub.contains(&format!("inserted hbreak at {at:#x}: 1 slot")), "{s}");
        assert!(s.gdb.contains("exited normally"), "{s}");
    }
}

gdb_test! {
    /// PPC64 `hbreak` is refused cleanly: CIABR reports after the instruction completed.
    fn ppc64_hbreak_is_refused_with_the_reason() {
        let s = session(Cpu::Ppc64, &["hbreak *0x10000010", "continue", "delete", "continue"]);
        assert!(s.gdb.contains("Cannot insert hardware breakpoint 1."), "{s}");
        assert!(s.stub.contains("refused hbreak at 0x10000010: CIABR stops after"), "{s}");
        assert!(s.gdb.contains("exited normally"), "{s}");
    }
}

gdb_test! {
    /// x86-64 has four slots: a fifth watch is refused cleanly (gdb's usual message), and
    /// the four others keep working once it is deleted.
    fn x86_fifth_watch_is_refused_cleanly() {
        let s = session(
            Cpu::X86,
            &[
                "watch *(long *)0x20000000",
                "watch *(long *)0x20000010",
                "watch *(long *)0x20000020",
                "watch *(long *)0x20000040",
                "watch *(char *)0x20000058",
                "continue",
                "delete 5",
                "continue",
                "continue",
            ],
        );
        assert!(s.gdb.contains("Could not insert hardware watchpoint 5."), "{s}");
        assert!(
            s.stub
                .contains("refused watch 1 byte at 0x20000058: "),
            "{s}"
        );
        assert!(
            s.gdb
                .contains("Hardware watchpoint 1: *(long *)0x20000000\n\nOld value = 0\nNew value = 1\n"),
            "{s}"
        );
        assert!(
            s.gdb
                .contains("Hardware watchpoint 2: *(long *)0x20000010\n\nOld value = 0\nNew value = 4660\n"),
            "{s}"
        );
    }
}
