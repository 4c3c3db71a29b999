//! Watch a variable of another process through the HAL and Linux ptrace (x86-64 Linux).
//!
//! ```text
//! # start a program and watch 8 bytes at an address of it (ASLR is turned off for the child,
//! # so addresses from `nm` plus the usual PIE base 0x555555554000 are stable):
//! cargo run --example watch_child -- --addr 0x555555558010 --len 8 -- ./my_program arg1
//!
//! # attach to a running process (its main thread) instead:
//! cargo run --example watch_child -- --addr 0x7ffd12345678 --pid 4242
//!
//! # a built-in child that writes a counter: shows the output, and with --hits N measures
//! # the cost of one hit through ptrace:
//! cargo run --release --example watch_child -- --demo --hits 20000
//! ```
//!
//! Each hit prints the instruction pointer after the write and the value before → after.
//! The old value is the one the HAL last observed (at arming or at the previous hit): x86
//! data breakpoints trap after the write, so the true previous value is gone (DESIGN §2).
//! Options: `--len 1|2|4|8|…` (any length: the planner covers it with up to four slots),
//! `--rw` (reads too), `--count N` (stop after N hits and detach).
//!
//! The path end to end: `Request` → `Dispatcher::register` (validate, plan, encode) →
//! `switch_in` installs the images into the tracee's DR0–DR7 with `PTRACE_POKEUSER`
//! (`hwbkpt_x86::TracedThread`) → the tracee stops with SIGTRAP → the kernel's DR6 goes to
//! `Dispatcher::handle_exception`, which matches slots to the request and reads the new
//! value through `process_vm_readv`.

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn main() {
    if let Err(message) = linux::main() {
        eprintln!("watch_child: {message}");
        std::process::exit(1);
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn main() {
    eprintln!("watch_child: needs x86-64 Linux (ptrace of the debug registers)");
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod linux {
    use std::ffi::CString;
    use std::time::Instant;

    use hwbkpt::{
        AccessKind, CpuId, DecodeError, DecodedAccess, Delivery, Dispatcher, EmulateError, Event,
        EventKind, ExecutionMode, InstructionDecode, InstructionEmulate, MemoryRead,
        MemoryReadError, RegisterAccess, Request, Scope, SlotId, TaskId, TrapFrame,
    };
    use hwbkpt_x86::{Dr6, PtraceError, TracedThread, X86Cpu, X86Profile, X86SlotImage};

    /// What to watch and whom.
    struct Options {
        addr: Option<u64>,
        len: u64,
        access: AccessKind,
        count: Option<u64>,
        target: Target,
    }

    enum Target {
        Command(Vec<String>),
        Pid(i32),
        Demo { hits: u64 },
    }

    fn parse_number(s: &str) -> Result<u64, String> {
        let parsed = match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => s.parse(),
        };
        parsed.map_err(|e| format!("bad number {s:?}: {e}"))
    }

    fn parse() -> Result<Options, String> {
        let mut args = std::env::args().skip(1);
        let mut options = Options {
            addr: None,
            len: 8,
            access: AccessKind::WRITE,
            count: None,
            target: Target::Command(Vec::new()),
        };
        let mut demo = None;
        let mut pid = None;
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--addr" => options.addr = Some(parse_number(&value()?)?),
                "--len" => options.len = parse_number(&value()?)?,
                "--rw" => options.access = AccessKind::READ_WRITE,
                "--count" => options.count = Some(parse_number(&value()?)?),
                "--pid" => pid = Some(parse_number(&value()?)?),
                "--demo" => demo = Some(10),
                "--hits" => demo = Some(parse_number(&value()?)?),
                "--" => {
                    options.target = Target::Command(args.by_ref().collect());
                }
                "-h" | "--help" => {
                    return Err(
                        "usage: watch_child --addr ADDR [--len N] [--rw] [--count N] \
                                (--pid PID | -- CMD ARGS… | --demo [--hits N])"
                            .to_owned(),
                    );
                }
                other => return Err(format!("unknown argument {other:?} (try --help)")),
            }
        }
        if let Some(hits) = demo {
            options.target = Target::Demo { hits };
        } else if let Some(pid) = pid {
            options.target = Target::Pid(i32::try_from(pid).map_err(|e| e.to_string())?);
        } else if matches!(&options.target, Target::Command(c) if c.is_empty()) {
            return Err("nothing to watch: give --pid PID, -- CMD ARGS…, or --demo".to_owned());
        }
        Ok(options)
    }

    /// The stopped tracee as the HAL's context.
    struct Tracee {
        thread: TracedThread,
    }

    impl RegisterAccess for Tracee {
        type Image = X86SlotImage;
        type Status = Dr6;
        type Error = PtraceError;
        fn install(&mut self, slot: SlotId, image: X86SlotImage) -> Result<(), PtraceError> {
            self.thread.install(slot, image)
        }
        fn uninstall(&mut self, slot: SlotId) -> Result<(), PtraceError> {
            self.thread.uninstall(slot)
        }
        fn read_status(&mut self) -> Result<Dr6, PtraceError> {
            self.thread.read_status()
        }
        fn reset_status(&mut self) -> Result<(), PtraceError> {
            self.thread.reset_status()
        }
        fn set_single_step(&mut self, enabled: bool) -> Result<(), PtraceError> {
            self.thread.set_single_step(enabled)
        }
    }

    impl MemoryRead for Tracee {
        fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
            let local = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let remote = libc::iovec {
                iov_base: addr as *mut libc::c_void,
                iov_len: buf.len(),
            };
            // SAFETY: `local` describes `buf`, live across the call; the kernel only reads
            // the tracee's memory.
            let n = unsafe { libc::process_vm_readv(self.thread.tid(), &local, 1, &remote, 1, 0) };
            if usize::try_from(n).ok() == Some(buf.len()) {
                Ok(())
            } else {
                Err(MemoryReadError::Unmapped { addr })
            }
        }
    }

    impl InstructionDecode for Tracee {
        fn decode_access(&mut self, pc: u64) -> Result<Option<DecodedAccess>, DecodeError> {
            Err(DecodeError::Unknown { pc })
        }
    }

    impl InstructionEmulate for Tracee {
        fn emulate(&mut self, pc: u64) -> Result<(), EmulateError> {
            Err(EmulateError::Unsupported { pc })
        }
    }

    /// The demo child's counter (written `hits` times).
    static mut COUNTER: u64 = 0;

    fn wait(pid: i32) -> Result<i32, String> {
        let mut status = 0;
        // SAFETY: waiting for a traced child.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if rc == pid {
            Ok(status)
        } else {
            Err(format!("waitpid: {}", std::io::Error::last_os_error()))
        }
    }

    /// Start the tracee stopped; returns its pid.
    fn start(target: &Target) -> Result<i32, String> {
        match target {
            Target::Pid(pid) => {
                // SAFETY: PTRACE_ATTACH takes no memory argument.
                if unsafe { libc::ptrace(libc::PTRACE_ATTACH, *pid, 0usize, 0usize) } != 0 {
                    return Err(format!(
                        "PTRACE_ATTACH {pid}: {}",
                        std::io::Error::last_os_error()
                    ));
                }
                wait(*pid)?;
                Ok(*pid)
            }
            Target::Command(command) => {
                let argv: Vec<CString> = command
                    .iter()
                    .map(|a| CString::new(a.as_str()).map_err(|e| e.to_string()))
                    .collect::<Result<_, _>>()?;
                let mut pointers: Vec<*const libc::c_char> =
                    argv.iter().map(|a| a.as_ptr()).collect();
                pointers.push(core::ptr::null());
                // SAFETY: the child only calls async-signal-safe functions before execvp.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    // SAFETY: in the child: no ASLR (stable addresses), be traced, exec.
                    unsafe {
                        libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
                        libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize);
                        libc::execvp(pointers[0], pointers.as_ptr());
                        libc::_exit(127);
                    }
                }
                // The tracee stops with SIGTRAP after execve.
                let status = wait(pid)?;
                if !libc::WIFSTOPPED(status) {
                    return Err(format!("{} did not start", command[0]));
                }
                Ok(pid)
            }
            Target::Demo { hits } => {
                let hits = *hits;
                // SAFETY: the child writes its own static and calls async-signal-safe
                // functions only.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    // SAFETY: as above.
                    unsafe {
                        libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize);
                        libc::raise(libc::SIGSTOP);
                        let counter = &raw mut COUNTER;
                        for i in 1..=hits {
                            core::ptr::write_volatile(counter, i * 3);
                        }
                        libc::_exit(0);
                    }
                }
                wait(pid)?;
                Ok(pid)
            }
        }
    }

    fn show(bytes: &[u8]) -> String {
        if bytes.len() <= 8 {
            let mut word = [0u8; 8];
            word[..bytes.len()].copy_from_slice(bytes);
            format!("{:#x}", u64::from_le_bytes(word))
        } else {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
    }

    pub(super) fn main() -> Result<(), String> {
        let options = parse()?;
        let demo = matches!(options.target, Target::Demo { .. });
        let addr = match (options.addr, demo) {
            (Some(addr), _) => addr,
            (None, true) => (&raw const COUNTER) as u64,
            (None, false) => return Err("--addr is required".to_owned()),
        };
        let quiet = matches!(options.target, Target::Demo { hits } if hits > 100);
        let pid = start(&options.target)?;
        let task = TaskId(u64::try_from(pid).map_err(|e| e.to_string())?);
        let cpu = CpuId(0);
        let mut tracee = Tracee {
            thread: TracedThread::new(pid),
        };
        let mut dispatcher: Dispatcher<X86Cpu> =
            Dispatcher::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
        let request = Request::builder(addr, options.len, options.access)
            .scope(Scope::Task(task))
            .delivery(Delivery::After)
            .build()
            .map_err(|e| e.to_string())?;
        let id = dispatcher
            .register(request, &mut tracee)
            .map_err(|e| format!("{e:?}"))?;
        dispatcher
            .switch_in(task, cpu, &mut tracee)
            .map_err(|e| format!("installing the watchpoint: {e}"))?;
        let slots = dispatcher.plan(id).map_or(0, |p| p.len());
        eprintln!(
            "watching {} bytes at {addr:#x} of pid {pid} ({}) with {slots} debug register(s)",
            options.len,
            if options.access == AccessKind::WRITE {
                "writes"
            } else {
                "reads and writes"
            },
        );

        let started = Instant::now();
        let mut hits = 0u64;
        let mut signal = 0;
        loop {
            tracee.thread.resume(signal).map_err(|e| e.to_string())?;
            signal = 0;
            let status = wait(pid)?;
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                break;
            }
            let stop = libc::WSTOPSIG(status);
            if stop != libc::SIGTRAP {
                signal = stop; // not ours: deliver it
                continue;
            }
            // SAFETY: all-zero is valid for this plain C struct, which GETREGS fills.
            let mut regs: libc::user_regs_struct = unsafe { core::mem::zeroed() };
            // SAFETY: GETREGS writes one user_regs_struct at `data`.
            unsafe { libc::ptrace(libc::PTRACE_GETREGS, pid, 0usize, &raw mut regs) };
            let dr6 = tracee.thread.read_status().map_err(|e| e.to_string())?;
            let frame = TrapFrame {
                task,
                cpu,
                pc: regs.rip,
                mode: ExecutionMode::User,
            };
            let mut events: Vec<Event> = Vec::new();
            let resolution = dispatcher
                .handle_exception(&frame, dr6, &mut tracee, &mut |e: &Event| events.push(*e))
                .map_err(|e| e.to_string())?;
            tracee.thread.reset_status().map_err(|e| e.to_string())?;
            if !resolution.claimed {
                signal = libc::SIGTRAP; // a breakpoint or step that is not ours
                continue;
            }
            for event in events {
                if let EventKind::Hit(hit) = event.kind {
                    hits += 1;
                    if !quiet {
                        let (old, new) = hit
                            .values
                            .map_or((String::from("?"), String::from("?")), |v| {
                                (show(v.old()), show(v.new_value()))
                            });
                        println!("hit {hits}: RIP {:#x}  {old} → {new}", event.pc);
                    }
                }
            }
            if options.count.is_some_and(|n| hits >= n) {
                let _ = dispatcher.release(id);
                dispatcher
                    .switch_in(task, cpu, &mut tracee)
                    .map_err(|e| e.to_string())?;
                // SAFETY: PTRACE_DETACH with no signal.
                unsafe { libc::ptrace(libc::PTRACE_DETACH, pid, 0usize, 0usize) };
                eprintln!("{hits} hits; detached");
                return Ok(());
            }
        }
        let elapsed = started.elapsed();
        eprintln!("{hits} hits; the process ended");
        if let Target::Demo { hits: expected } = options.target {
            if hits != expected {
                return Err(format!("expected {expected} hits, saw {hits}"));
            }
            if hits > 0 {
                eprintln!(
                    "{:.2} µs per hit through ptrace (stop, GETREGS, DR6 read, dispatch with a \
                     memory read, DR6 reset, PTRACE_CONT), {hits} hits in {:.3} s",
                    elapsed.as_secs_f64() * 1e6 / hits as f64,
                    elapsed.as_secs_f64()
                );
            }
        }
        Ok(())
    }
}
