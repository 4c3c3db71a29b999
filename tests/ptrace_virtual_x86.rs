//! **x86-64 Linux only.** The virtual debug-register file (`hwbkpt_x86::ptrace_file`)
//! against the running kernel's own ptrace.
//!
//! Each case is a random sequence of `PTRACE_POKEUSER` writes to `u_debugreg[0..8]`, applied
//! both to a real stopped child (through `hwbkpt_x86::TracedThread`) and to an
//! [`X86PtraceFile`] on a HAL dispatcher. After every write the errno (or success) and the
//! full `PTRACE_PEEKUSER` readback of DR0–DR7 must be equal. A fresh child per sequence, so
//! every sequence starts from a new task's state.
//!
//! `random_writes_with_perf_holding_slots_match_the_kernel` and `enospc_rules_match_the_kernel`
//! do the same with one to three of the child's debug registers held by pinned perf
//! breakpoints (`perf_event_open`, and as many task-bound requests on the dispatcher), so
//! the write that gets `ENOSPC` is compared: Linux reserves a ptrace slot at its first
//! address write (a disabled placeholder) and before it checks the address.
//!
//! `stops_match_the_kernel` compares the stop of a hit on each ptrace slot 0–3: the
//! kernel's `si_signo`, `si_code`, `si_addr` (RIP after the store) and virtual DR6 (B*n*
//! of the ptrace slot) against the file's, fed the event the dispatcher delivers for the
//! physical slot it chose.
//!
//! The writes cover addresses aligned and misaligned around a few bases, zero, the top of
//! user space (both sides of `TASK_SIZE_MAX`), kernel, non-canonical and vsyscall addresses
//! and any 64-bit value; DR7 values with disabled and enabled slots of every R/W and LEN
//! (I/O, execute with a length, disabled slots with odd fields), LE/GE, GD, bit 10, the
//! reserved bits 11/12/14/15 and bits 32–63; DR6 values; DR4/DR5.
//!
//! ```text
//! cargo test -p hwbkpt --test ptrace_virtual_x86 -- --nocapture        # 3,000 sequences
//! PTRACE_VIRTUAL_CASES=10000 cargo test -p hwbkpt --release --test ptrace_virtual_x86 -- --nocapture
//! ```
//!
//! On other hosts (the big-endian ppc64 run under qemu-user) a single ignored test says it
//! did not run. Where ptrace of debug registers is refused (a container without
//! `CAP_SYS_PTRACE`, seccomp) the test prints a loud `SKIPPED` line and passes, unless
//! `HWBKPT_REQUIRE_REAL_HW=1` (CI) turns that into a failure.
//!
//! ## Results (Linux 6.18 on x86-64, 4-level paging)
//!
//! - 10,000 sequences, 99,921 writes (each followed by a full DR0–DR7 readback), compared
//!   in 9.8 s with a release build, and once 50,000 sequences (500,460 writes) in 52.5 s:
//!   **no difference**. The default run (3,000 sequences) takes about 9 s in a debug build.
//! - The model was written from the kernel source first, so the comparison found nothing
//!   to fix. To show that it would have, each rule was broken on purpose once and the test
//!   run again: skipping Linux's "disabled slot without a breakpoint is not checked"
//!   (rule 3 in `hwbkpt_x86::ptrace_file`), not checking the fields of disabled slots that
//!   exist (rule 3), and leaving out the restore pass's execute conversion (rule 4) were
//!   each caught within the first cases and shrunk to two or three writes. The seed of the
//!   last one is kept in `ptrace_virtual_x86.proptest-regressions`. Not masking bits 10–15
//!   and 32–63 before decoding DR7 made no difference, as expected: no slot field lives
//!   there.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

/// Stands in for the whole file on other hosts, so the summary says "ignored" with the
/// reason instead of running nothing silently.
#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
#[test]
#[ignore = "NOT RUN: the ptrace comparison needs an x86-64 Linux host"]
fn ptrace_virtual_x86_runs_on_x86_64_linux_only() {}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod linux_perf;

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod x86_64_linux {
    use std::time::Instant;

    use super::linux_perf::{hold_perf, perf_breakpoint};

    use hwbkpt::{
        AccessKind, Dispatcher, MemoryRead, MemoryReadError, Origin, PrivilegeFilter, Request,
        Scope, Sharing, TaskId, ptrace::Errno,
    };
    use hwbkpt_x86::ptrace_file::X86PtraceFile;
    use hwbkpt_x86::{PtraceError, TracedThread, X86Cpu, X86Profile};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

    /// Sequences per run unless `PTRACE_VIRTUAL_CASES` says otherwise (CI-sized).
    const DEFAULT_CASES: u32 = 3_000;

    struct NoMemory;
    impl MemoryRead for NoMemory {
        fn read_memory(&mut self, addr: u64, _: &mut [u8]) -> Result<(), MemoryReadError> {
            Err(MemoryReadError::Unmapped { addr })
        }
    }

    /// A child stopped with SIGSTOP right after `PTRACE_TRACEME`; it never runs again.
    /// `None` if ptrace is refused here.
    fn stopped_child() -> Option<libc::pid_t> {
        // SAFETY: the child only calls async-signal-safe functions (ptrace, raise, _exit).
        let pid = unsafe { super::linux_perf::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: plain syscalls in the child.
            unsafe {
                if libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize) != 0 {
                    libc::_exit(90);
                }
                libc::raise(libc::SIGSTOP);
                libc::_exit(0);
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        if libc::WIFSTOPPED(status) {
            Some(pid)
        } else {
            None
        }
    }

    fn kill(pid: libc::pid_t) {
        // SAFETY: killing and reaping our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, core::ptr::null_mut(), 0);
        }
    }

    /// The word the stop test's child writes (a static, so its address is the same in the
    /// child).
    static mut WATCHED: [u64; 4] = [0; 4];

    /// A stopped child that, when continued, writes `WATCHED[1]` once and exits.
    fn writing_child() -> Option<libc::pid_t> {
        // SAFETY: the child only calls async-signal-safe functions and writes a static.
        let pid = unsafe { super::linux_perf::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: plain syscalls in the child; the write goes to a static of our own.
            unsafe {
                if libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize) != 0 {
                    libc::_exit(90);
                }
                libc::raise(libc::SIGSTOP);
                let p = &raw mut WATCHED;
                core::ptr::write_volatile(&raw mut (*p)[1], 0x5555);
                libc::_exit(0);
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        libc::WIFSTOPPED(status).then_some(pid)
    }

    /// Kills the child however the case ends (a failed assertion unwinds through here).
    struct Child(libc::pid_t);
    impl Drop for Child {
        fn drop(&mut self) {
            kill(self.0);
        }
    }

    fn skip(what: &str) {
        let required = std::env::var("HWBKPT_REQUIRE_REAL_HW").is_ok_and(|v| v == "1");
        eprintln!(
            "!!!!!!!! SKIPPED {what}: ptrace of debug registers is not available here !!!!!!!!"
        );
        assert!(
            !required,
            "HWBKPT_REQUIRE_REAL_HW=1 but ptrace of debug registers is unavailable"
        );
    }

    /// Linux's `TASK_SIZE_MAX` with 4-level paging.
    const TASK_SIZE_MAX: u64 = 0x7FFF_FFFF_F000;

    const BASES: [u64; 4] = [
        0x1000,
        0x5555_5555_8000,
        0x7fff_0000_0000,
        TASK_SIZE_MAX - 0x20,
    ];

    const SPECIAL: [u64; 16] = [
        0,
        1,
        TASK_SIZE_MAX - 8,
        TASK_SIZE_MAX - 4,
        TASK_SIZE_MAX - 2,
        TASK_SIZE_MAX - 1,
        TASK_SIZE_MAX,
        TASK_SIZE_MAX + 8,
        0x7FFF_FFFF_FFFF,
        0x0000_8000_0000_0000, // first non-canonical address
        0x8000_0000_0000_0000,
        0x1234_5678_9abc_def0,
        0xffff_8000_0000_0000, // first kernel address
        0xffff_ffff_8100_0000, // kernel text
        0xffff_ffff_ff60_0000, // vsyscall page
        u64::MAX - 7,
    ];

    fn address() -> impl Strategy<Value = u64> {
        prop_oneof![
            6 => (prop::sample::select(&BASES[..]), 0u64..40).prop_map(|(b, o)| b + o),
            2 => prop::sample::select(&SPECIAL[..]),
            1 => (prop::sample::select(&SPECIAL[..]), 0u64..8).prop_map(|(b, o)| b.wrapping_add(o)),
            1 => any::<u64>(),
        ]
    }

    /// R/W and LEN of one slot: mostly valid data fields and one-byte execute, sometimes
    /// the fields Linux refuses.
    fn slot_fields() -> impl Strategy<Value = (u64, u64)> {
        prop_oneof![
            6 => (prop::sample::select(vec![0b01u64, 0b11]), 0u64..4),
            2 => Just((0b00, 0b00)),
            1 => (Just(0b00u64), 1u64..4),
            1 => (Just(0b10u64), 0u64..4),
        ]
    }

    fn enable_bits() -> impl Strategy<Value = u64> {
        prop_oneof![4 => Just(0u64), 2 => Just(1), 1 => Just(2), 1 => Just(3)]
    }

    fn extra_bits() -> impl Strategy<Value = u64> {
        prop_oneof![
            6 => Just(0u64),
            2 => prop::sample::select(vec![
                1u64 << 8,
                1 << 9,
                0x300,
                0x400,
                1 << 11,
                1 << 13,
                1 << 12 | 1 << 14 | 1 << 15,
                0x700,
            ]),
            1 => any::<u32>().prop_map(|h| u64::from(h) << 32),
            1 => any::<u64>().prop_map(|v| v & 0xFFFF_FFFF_0000_FF00),
        ]
    }

    fn dr7() -> impl Strategy<Value = u64> {
        (
            prop::array::uniform4((enable_bits(), slot_fields())),
            extra_bits(),
        )
            .prop_map(|(slots, extra)| {
                slots
                    .iter()
                    .zip(0u64..)
                    .fold(extra, |v, ((enable, (rw, len)), n)| {
                        v | enable << (2 * n) | (rw | len << 2) << (16 + 4 * n)
                    })
            })
    }

    /// One `PTRACE_POKEUSER`: register number and value.
    fn write() -> impl Strategy<Value = (u8, u64)> {
        prop_oneof![
            5 => (0u8..4, address()),
            4 => dr7().prop_map(|v| (7u8, v)),
            1 => any::<u64>().prop_map(|v| (6u8, v)),
            1 => (4u8..6, any::<u64>()),
        ]
    }

    fn real_poke(thread: &mut TracedThread, n: u8, v: u64) -> Result<(), Errno> {
        match thread.poke(n, v) {
            Ok(()) => Ok(()),
            Err(PtraceError::Write { errno, .. }) => Err(Errno::from_code(errno)
                .unwrap_or_else(|| panic!("POKEUSER DR{n} = {v:#x}: unexpected errno {errno}"))),
            Err(e) => panic!("POKEUSER DR{n} = {v:#x}: {e}"),
        }
    }

    fn real_readback(thread: &TracedThread) -> [u64; 8] {
        core::array::from_fn(|n| thread.peek(n as u8).unwrap())
    }

    fn fmt_regs(regs: &[u64; 8]) -> String {
        regs.iter()
            .enumerate()
            .map(|(n, v)| format!("DR{n}={v:#x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Apply `writes` to a new child and a new file; the first difference fails the case.
    fn compare(writes: &[(u8, u64)]) -> Result<(), TestCaseError> {
        compare_sharing(writes, 0)
    }

    /// Where the perf breakpoints of [`compare_sharing`] watch (nothing needs to be mapped).
    const PERF_BASE: u64 = 0x7ffe_0000_0000;

    /// The dispatcher's counterpart of [`perf_breakpoint`]: a pinned, exclusive, user-only
    /// write watch bound to the task.
    fn perf_like_request(task: TaskId, addr: u64) -> Request {
        Request::builder(addr, 8, AccessKind::WRITE)
            .scope(Scope::Task(task))
            .privilege(PrivilegeFilter::USER)
            .origin(Origin::User)
            .sharing(Sharing::Exclusive)
            .build()
            .unwrap()
    }

    /// [`compare`] with `perf` of the child's four debug registers held by perf breakpoints
    /// on the kernel side and by as many task-bound requests on the dispatcher: where
    /// `ENOSPC` comes (Linux: at the write that creates a ptrace slot, its first address
    /// write included) is compared too.
    fn compare_sharing(writes: &[(u8, u64)], perf: u64) -> Result<(), TestCaseError> {
        let pid = stopped_child().expect("the probe could trace a child");
        let _child = Child(pid);
        let _no_forks = hold_perf();
        let mut thread = TracedThread::new(pid);
        let mut dispatcher = Dispatcher::<X86Cpu>::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
        let task = TaskId(pid as u64);
        let mut file = X86PtraceFile::new(task);
        let mut events = Vec::new();
        for i in 0..perf {
            let addr = PERF_BASE + 8 * i;
            events.push(perf_breakpoint(pid, addr).expect("perf_event_open was probed"));
            dispatcher
                .register(perf_like_request(task, addr), &mut NoMemory)
                .unwrap();
        }
        prop_assert_eq!(real_readback(&thread), file.readback(), "initial state");
        for (step, &(n, v)) in writes.iter().enumerate() {
            let real = real_poke(&mut thread, n, v);
            let ours = file.poke(n, v, &mut dispatcher, &mut NoMemory);
            let (real_regs, our_regs) = (real_readback(&thread), file.readback());
            prop_assert_eq!(
                real,
                ours,
                "step {}: POKEUSER DR{} = {:#x} (kernel {:?}, ours {:?})",
                step,
                n,
                v,
                real,
                ours
            );
            prop_assert!(
                real_regs == our_regs,
                "step {step}: after POKEUSER DR{n} = {v:#x} ({real:?})\n kernel: {}\n ours:   {}",
                fmt_regs(&real_regs),
                fmt_regs(&our_regs)
            );
            // Every slot that exists holds a request in the dispatcher (its reservation),
            // enabled exactly while the slot is armed; nothing else is registered.
            for slot in 0..4u8 {
                let bp = file.breakpoint(slot);
                let armed = bp.is_some_and(|b| b.enabled);
                prop_assert_eq!(armed, file.request_id(slot).is_some(), "slot {}", slot);
                let held = file.held_request(slot);
                prop_assert_eq!(bp.is_some(), held.is_some(), "slot {}", slot);
                if let Some(id) = held {
                    prop_assert_eq!(dispatcher.is_enabled(id), armed, "slot {}", slot);
                }
            }
            let held = (0..4u8).filter(|&n| file.held_request(n).is_some()).count();
            prop_assert_eq!(dispatcher.reservations().len(), held + perf as usize);
        }
        Ok(())
    }

    fn cases() -> u32 {
        std::env::var("PTRACE_VIRTUAL_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_CASES)
    }

    #[test]
    fn random_debug_register_writes_match_the_kernel() {
        let Some(pid) = stopped_child() else {
            return skip("random_debug_register_writes_match_the_kernel");
        };
        let probe = TracedThread::new(pid).peek(7);
        kill(pid);
        if probe.is_err() {
            return skip("random_debug_register_writes_match_the_kernel");
        }
        let cases = cases();
        let mut runner = TestRunner::new(Config {
            cases,
            source_file: Some(file!()),
            failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
                "proptest-regressions",
            ))),
            ..Config::default()
        });
        let started = Instant::now();
        let writes = std::cell::Cell::new(0usize);
        let strategy = prop::collection::vec(write(), 1..20);
        let result = runner.run(&strategy, |seq| {
            writes.set(writes.get() + seq.len());
            compare(&seq)
        });
        eprintln!(
            "ptrace_virtual_x86: {cases} sequences, {} writes (shrinking included) compared \
             with the kernel in {:.1?}",
            writes.get(),
            started.elapsed()
        );
        if let Err(e) = result {
            panic!("{e}");
        }
    }

    /// Whether perf breakpoints can be opened on a child here (`perf_event_paranoid`,
    /// seccomp); prints why not.
    fn perf_available() -> bool {
        let Some(pid) = stopped_child() else {
            return false;
        };
        let _child = Child(pid);
        let _no_forks = hold_perf();
        match perf_breakpoint(pid, PERF_BASE) {
            Ok(_) => true,
            Err(e) => {
                eprintln!("perf_event_open(PERF_TYPE_BREAKPOINT) refused: {e}");
                false
            }
        }
    }

    /// The same random sequences with perf holding one to three of the child's debug
    /// registers: the errno of every write (where `ENOSPC` comes, and whether it wins over
    /// `EINVAL`) and the readback must match the kernel's.
    #[test]
    fn random_writes_with_perf_holding_slots_match_the_kernel() {
        let Some(pid) = stopped_child() else {
            return skip("random_writes_with_perf_holding_slots_match_the_kernel");
        };
        let probe = TracedThread::new(pid).peek(7);
        kill(pid);
        if probe.is_err() || !perf_available() {
            return skip("random_writes_with_perf_holding_slots_match_the_kernel");
        }
        let cases = (cases() / 3).max(1);
        let mut runner = TestRunner::new(Config {
            cases,
            source_file: Some(file!()),
            failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
                "proptest-regressions",
            ))),
            ..Config::default()
        });
        let started = Instant::now();
        let (writes, refused) = (std::cell::Cell::new(0usize), std::cell::Cell::new(0usize));
        let strategy = (1u64..4, prop::collection::vec(write(), 1..20));
        let result = runner.run(&strategy, |(perf, seq)| {
            writes.set(writes.get() + seq.len());
            // Count the ENOSPCs the kernel gives, to show the comparison exercised them.
            refused.set(refused.get() + enospc_count(&seq, perf));
            compare_sharing(&seq, perf)
        });
        eprintln!(
            "ptrace_virtual_x86 with perf: {cases} sequences, {} writes ({} refused with \
             ENOSPC by our file) compared with the kernel in {:.1?}",
            writes.get(),
            refused.get(),
            started.elapsed()
        );
        if let Err(e) = result {
            panic!("{e}");
        }
    }

    /// How many writes of `writes` the file refuses with `ENOSPC` next to `perf` other
    /// consumers (no kernel involved).
    fn enospc_count(writes: &[(u8, u64)], perf: u64) -> usize {
        let mut dispatcher = Dispatcher::<X86Cpu>::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
        let task = TaskId(1);
        for i in 0..perf {
            let request = perf_like_request(task, PERF_BASE + 8 * i);
            dispatcher.register(request, &mut NoMemory).unwrap();
        }
        let mut file = X86PtraceFile::new(task);
        writes
            .iter()
            .filter(|&&(n, v)| {
                file.poke(n, v, &mut dispatcher, &mut NoMemory) == Err(Errno::ENOSPC)
            })
            .count()
    }

    /// The `ENOSPC` cases one by one, with perf holding three of the four registers.
    #[test]
    fn enospc_rules_match_the_kernel() {
        let Some(pid) = stopped_child() else {
            return skip("enospc_rules_match_the_kernel");
        };
        let probe = TracedThread::new(pid).peek(7);
        kill(pid);
        if probe.is_err() || !perf_available() {
            return skip("enospc_rules_match_the_kernel");
        }
        let a = 0x7000_1000u64;
        let rules: &[(&str, &[(u8, u64)])] = &[
            (
                "second placeholder at its address write",
                &[(0, a), (1, a + 8)],
            ),
            (
                "out of room wins over an invalid address",
                &[(0, a), (1, 0xffff_8000_0000_0000)],
            ),
            (
                "out of room wins over a non-canonical address",
                &[(0, a), (1, 1 << 47)],
            ),
            (
                "enabling a placeholder needs no room; a new slot in DR7 does",
                &[
                    (0, a),
                    (7, 0x1 | 0x9 << 16),
                    (7, 0x9 << 16),
                    (7, 0x1 | 0xd << 16),
                    (7, 0x4),
                ],
            ),
            (
                "a refused DR7 write keeps the slot it created, and its register",
                &[(7, 0x1 | 0x2 << 20), (1, a), (0, a)],
            ),
        ];
        for (name, writes) in rules {
            if let Err(e) = compare_sharing(writes, 3) {
                panic!("rule '{name}' (perf holding 3): {e}");
            }
        }
        // Shown to bite: each rule's sequence gets at least one ENOSPC.
        for (name, writes) in &rules[..3] {
            assert!(
                enospc_count(writes, 3) > 0,
                "rule '{name}' never ran out of room"
            );
        }
    }

    /// A CPU's DR0–DR3 as the dispatcher's switch-in wrote them, and the exception context
    /// (nothing to decode on x86; old values are not compared here).
    #[derive(Default)]
    struct Cpu {
        slots: [Option<hwbkpt_x86::X86SlotImage>; 4],
    }

    impl hwbkpt::RegisterAccess for Cpu {
        type Image = hwbkpt_x86::X86SlotImage;
        type Status = hwbkpt_x86::Dr6;
        type Error = core::convert::Infallible;
        fn install(&mut self, slot: hwbkpt::SlotId, image: Self::Image) -> Result<(), Self::Error> {
            self.slots[usize::from(slot.index())] = Some(image);
            Ok(())
        }
        fn uninstall(&mut self, slot: hwbkpt::SlotId) -> Result<(), Self::Error> {
            self.slots[usize::from(slot.index())] = None;
            Ok(())
        }
        fn read_status(&mut self) -> Result<Self::Status, Self::Error> {
            Ok(hwbkpt_x86::Dr6::RESET)
        }
        fn reset_status(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
        fn set_single_step(&mut self, _: bool) -> Result<(), Self::Error> {
            Ok(())
        }
    }
    impl MemoryRead for Cpu {
        fn read_memory(&mut self, _: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
            buf.fill(0);
            Ok(())
        }
    }
    impl hwbkpt::InstructionDecode for Cpu {
        fn decode_access(
            &mut self,
            pc: u64,
        ) -> Result<Option<hwbkpt::DecodedAccess>, hwbkpt::DecodeError> {
            Err(hwbkpt::DecodeError::Unknown { pc })
        }
    }
    impl hwbkpt::InstructionEmulate for Cpu {
        fn emulate(&mut self, pc: u64) -> Result<(), hwbkpt::EmulateError> {
            Err(hwbkpt::EmulateError::Unsupported { pc })
        }
    }

    /// The stop a hit on ptrace slot `n` gives: the kernel's (run on this CPU) and the
    /// file's (the dispatcher's event for the physical slot it chose, turned into the
    /// tracer's view) must agree on `si_signo`, `si_code`, `si_addr` and DR6.
    #[test]
    fn stops_match_the_kernel() {
        let Some(probe) = stopped_child() else {
            return skip("stops_match_the_kernel");
        };
        let ok = TracedThread::new(probe).peek(7).is_ok();
        kill(probe);
        if !ok {
            return skip("stops_match_the_kernel");
        }
        let watched = (&raw const WATCHED) as u64 + 8;
        for n in 0..4u8 {
            let pid = writing_child().unwrap();
            let _child = Child(pid);
            let task = TaskId(pid as u64);
            let mut thread = TracedThread::new(pid);
            let mut dispatcher = Dispatcher::<X86Cpu>::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
            let mut file = X86PtraceFile::new(task);
            // Ln, write, 8 bytes.
            let dr7 = 1 << (2 * n) | 0b1001 << (16 + 4 * n);
            for (r, v) in [(n, watched), (7, dr7)] {
                assert_eq!(real_poke(&mut thread, r, v), Ok(()));
                file.poke(r, v, &mut dispatcher, &mut NoMemory).unwrap();
            }
            // The kernel's stop.
            thread.resume(0).unwrap();
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            assert!(libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGTRAP);
            // SAFETY: all-zero is a valid value of these plain C structs, which the kernel
            // fills through the pointers below.
            let (mut regs, mut info): (libc::user_regs_struct, libc::siginfo_t) =
                unsafe { (core::mem::zeroed(), core::mem::zeroed()) };
            // SAFETY: GETREGS/GETSIGINFO write one struct of the named type at `data`.
            unsafe {
                libc::ptrace(libc::PTRACE_GETREGS, pid, 0usize, &raw mut regs);
                libc::ptrace(libc::PTRACE_GETSIGINFO, pid, 0usize, &raw mut info);
            }
            // SAFETY: a SIGTRAP's siginfo carries si_addr.
            let si_addr = unsafe { info.si_addr() } as u64;
            let kernel_dr6 = thread.peek(6).unwrap();

            // Ours: the dispatcher's slot, its B bit, the event, the tracer's view.
            let mut cpu = Cpu::default();
            assert!(
                dispatcher
                    .switch_in(task, hwbkpt::CpuId(0), &mut cpu)
                    .is_ok()
            );
            let physical = cpu
                .slots
                .iter()
                .position(|s| s.is_some_and(|s| s.address() == watched))
                .unwrap();
            let status = hwbkpt_x86::Dr6::from_bits_retain(0xFFFF_0FF0 | 1 << physical);
            let frame = hwbkpt::TrapFrame {
                task,
                cpu: hwbkpt::CpuId(0),
                pc: regs.rip,
                mode: hwbkpt::ExecutionMode::User,
            };
            let mut events = Vec::new();
            let mut sink = |e: &hwbkpt::Event| events.push(*e);
            dispatcher
                .handle_exception(&frame, status, &mut cpu, &mut sink)
                .unwrap();
            let ours = file.debug_exception(false, regs.rip, &events).unwrap();
            assert_eq!(
                (ours.signo, ours.code, ours.addr),
                (info.si_signo, info.si_code, si_addr),
                "slot {n}: (signo, code, addr)"
            );
            assert_eq!(file.peek(6), Ok(kernel_dr6), "slot {n}: DR6");
            assert_eq!(kernel_dr6, 0xFFFF_0FF0 | 1 << n, "slot {n}: B{n} only");
        }
    }

    /// The cases the module documentation of `ptrace_file` names, one by one, so a
    /// regression says which rule broke.
    #[test]
    fn documented_rules_match_the_kernel() {
        let Some(pid) = stopped_child() else {
            return skip("documented_rules_match_the_kernel");
        };
        let probe = TracedThread::new(pid).peek(7);
        kill(pid);
        if probe.is_err() {
            return skip("documented_rules_match_the_kernel");
        }
        let a = 0x7000_1000u64;
        let rules: &[(&str, &[(u8, u64)])] = &[
            ("DR4/DR5 writes", &[(4, 1), (5, 0)]),
            ("DR6 round trip", &[(6, 0), (6, u64::MAX), (6, 0x1234)]),
            ("DR7 verbatim", &[(7, 0xdead_beef_0000_2700)]),
            (
                "disabled slot checked against its fields",
                &[(2, a), (7, 0x9 << 24), (2, a + 4), (2, a + 8)],
            ),
            (
                "disabled slot without breakpoint is not checked",
                &[(7, 0x2 << 24), (2, a + 1)],
            ),
            (
                "restore pass turns disabled slots into execute",
                &[
                    (0, a),
                    (7, 0x9 << 16),
                    (7, 0x9 << 16 | 0x4 | 0x2 << 20),
                    (0, a + 1),
                ],
            ),
            (
                "restore pass keeps slots it created",
                &[(7, 0x1 | 0x1 << 16 | 0x10 | 0x2 << 24), (7, 0), (0, 0x10)],
            ),
            (
                "kernel and non-canonical addresses",
                &[
                    (0, 0xffff_8000_0000_0000),
                    (1, 0x0000_8000_0000_0000),
                    (2, 0xffff_ffff_ff60_0000),
                    (3, TASK_SIZE_MAX - 1),
                    (7, 0x40 | 0xd << 28),
                ],
            ),
        ];
        for (name, writes) in rules {
            if let Err(e) = compare(writes) {
                panic!("rule '{name}': {e}");
            }
        }
    }
}
