//! `TracedThread` against the real kernel: a forked child stops itself, the test programs its
//! debug registers through ptrace. x86-64 Linux with the `linux-ptrace` feature only; on
//! other hosts a single ignored test says it did not run.
//!
//! If ptrace of debug registers is not available (no `CAP_SYS_PTRACE` in a container, a
//! seccomp filter), each test prints `SKIPPED` and passes — unless `HWBKPT_REQUIRE_REAL_HW=1`,
//! which CI sets, turns the skip into a failure.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

#[cfg(not(all(target_os = "linux", target_arch = "x86_64", feature = "linux-ptrace")))]
#[test]
#[ignore = "NOT RUN: needs x86-64 Linux and the linux-ptrace feature"]
fn linux_ptrace_runs_on_x86_64_linux_only() {}

#[cfg(all(target_os = "linux", target_arch = "x86_64", feature = "linux-ptrace"))]
mod x86_64_linux {

    use hwbkpt_hal::{AccessKind, DebugArchitecture, RegisterAccess, Request};
    use hwbkpt_x86::{
        BreakpointLength, Condition, DebugSlot, Dr6, Dr7, EnableMode, PtraceError, Refusal,
        TracedThread, X86Cpu, X86Profile, X86Program, X86SlotImage,
    };

    static mut WATCHED: [u64; 4] = [0; 4];

    /// A child stopped with SIGSTOP right after `PTRACE_TRACEME`, which then writes `WATCHED[1]`
    /// twice and exits. `None` if ptrace is refused here.
    fn stopped_child() -> Option<libc::pid_t> {
        // SAFETY: the child only calls async-signal-safe functions (ptrace, raise, _exit) and
        // writes a static.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: in the child, plain syscalls; the writes go to a static of our own.
            unsafe {
                if libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize) != 0 {
                    libc::_exit(90);
                }
                libc::raise(libc::SIGSTOP);
                let p = &raw mut WATCHED;
                core::ptr::write_volatile(&raw mut (*p)[1], 5);
                core::ptr::write_volatile(&raw mut (*p)[1], 6);
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

    fn kill(pid: libc::pid_t) {
        // SAFETY: killing and reaping our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, core::ptr::null_mut(), 0);
        }
    }

    fn image(slot: DebugSlot, address: u64, len: BreakpointLength, c: Condition) -> X86SlotImage {
        X86SlotImage::new(
            slot,
            X86Program::new(address, len, c).unwrap(),
            EnableMode::Global,
        )
    }

    #[test]
    fn install_hit_and_kernel_view_of_dr6() {
        let Some(pid) = stopped_child() else {
            return skip("install_hit_and_kernel_view_of_dr6");
        };
        let cpu = X86Cpu::new(X86Profile::GENERIC_X86_64);
        let address = (&raw const WATCHED) as u64 + 8;
        let request = Request::builder(address, 8, AccessKind::WRITE)
            .build()
            .unwrap();
        let plan = cpu.prepare(&request).unwrap();
        let mut thread = TracedThread::new(pid);
        // Use DR2, so the kernel's DR6 shows the bit of the ptrace slot.
        let slot = DebugSlot::Dr2.slot_id();
        thread
            .install(slot, cpu.encode(slot, plan.iter().next().unwrap()).unwrap())
            .unwrap();
        assert_eq!(thread.peek(2).unwrap(), address);
        // The kernel's DR7 of a fresh thread is 0 (not the hardware's 0x400), and it reads back
        // what was written: G2, GE, R/W2 = 01, LEN2 = 10.
        assert_eq!(thread.control().unwrap().bits(), 0x200 | 0x20 | 0x9 << 24);
        for value in [5, 6] {
            thread.resume(0).unwrap();
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            assert!(libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGTRAP);
            let dr6 = thread.read_status().unwrap();
            assert_eq!(dr6, Dr6::from_bits_retain(0xFFFF_0FF0 | 1 << 2), "B2 only");
            thread.reset_status().unwrap();
            assert_eq!(thread.read_status().unwrap(), Dr6::RESET);
            // SAFETY: PEEKDATA of the tracee's memory; the C library returns the word.
            let now = unsafe { libc::ptrace(libc::PTRACE_PEEKDATA, pid, address as usize, 0usize) };
            assert_eq!(
                now, value,
                "the write already happened: data breakpoints trap after"
            );
        }
        thread.uninstall(slot).unwrap();
        assert_eq!(thread.control().unwrap(), Dr7::from_bits_retain(0));
        thread.resume(0).unwrap();
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status), "no more stops after uninstall");
    }

    #[test]
    fn refusals_are_typed_and_leave_the_registers_unchanged() {
        let Some(pid) = stopped_child() else {
            return skip("refusals_are_typed_and_leave_the_registers_unchanged");
        };
        let mut thread = TracedThread::new(pid);
        let base = (&raw const WATCHED) as u64;
        let rw8 = image(
            DebugSlot::Dr0,
            base,
            BreakpointLength::Eight,
            Condition::ReadWrite,
        );
        thread.install(DebugSlot::Dr0.slot_id(), rw8).unwrap();
        let armed = thread.control().unwrap();

        // DR4/DR5 do not exist for ptrace.
        let e = thread.poke(4, 0).unwrap_err();
        assert_eq!(e.refusal(), Some(Refusal::NoSuchRegister));

        // A misaligned address for the slot's current length (8), written directly.
        let e = thread.poke(0, base + 4).unwrap_err();
        assert_eq!(
            e.refusal(),
            Some(Refusal::Misaligned {
                slot: DebugSlot::Dr0,
                address: base + 4,
                align: 8
            })
        );
        // A kernel address.
        let e = thread.poke(1, 0xffff_8000_0000_0000).unwrap_err();
        assert!(
            matches!(e.refusal(), Some(Refusal::KernelAddress { .. })),
            "{e}"
        );
        // An I/O breakpoint and a 4-byte execute breakpoint in DR7.
        let mut io = armed;
        io.set_global_enable(DebugSlot::Dr1, true);
        io.set_condition(DebugSlot::Dr1, Condition::Io);
        let e = thread.poke(7, io.bits()).unwrap_err();
        assert_eq!(
            e.refusal(),
            Some(Refusal::IoBreakpoint {
                slot: DebugSlot::Dr1
            })
        );
        let mut long_exec = armed;
        long_exec.set_global_enable(DebugSlot::Dr3, true);
        long_exec.set_size(DebugSlot::Dr3, BreakpointLength::Four);
        let e = thread.poke(7, long_exec.bits()).unwrap_err();
        assert_eq!(
            e.refusal(),
            Some(Refusal::ExecuteLength {
                slot: DebugSlot::Dr3,
                len: 4
            })
        );
        assert_eq!(
            thread.control().unwrap(),
            armed,
            "refused DR7 writes change nothing"
        );
        assert_eq!(thread.peek(0).unwrap(), base);

        // Retarget the armed 8-byte slot to an odd 1-byte address: the disarm clears the
        // fields first, so Linux accepts the address.
        let w1 = image(
            DebugSlot::Dr0,
            base + 9,
            BreakpointLength::One,
            Condition::Write,
        );
        thread.install(DebugSlot::Dr0.slot_id(), w1).unwrap();
        assert_eq!(thread.peek(0).unwrap(), base + 9);

        // A slot another debugger left disabled with stale 8-byte fields still takes an odd
        // address through `install`.
        let mut stale = thread.control().unwrap();
        stale.set_condition(DebugSlot::Dr1, Condition::Write);
        stale.set_size(DebugSlot::Dr1, BreakpointLength::Eight);
        thread.poke(1, base).unwrap();
        thread.poke(7, stale.bits()).unwrap();
        let w1b = image(
            DebugSlot::Dr1,
            base + 3,
            BreakpointLength::One,
            Condition::Write,
        );
        thread.install(DebugSlot::Dr1.slot_id(), w1b).unwrap();
        assert_eq!(thread.peek(1).unwrap(), base + 3);

        // Errors from the owner itself.
        let e = thread.install(DebugSlot::Dr2.slot_id(), w1b).unwrap_err();
        assert!(matches!(e, PtraceError::Slot(_)));
        kill(pid);
    }
}
