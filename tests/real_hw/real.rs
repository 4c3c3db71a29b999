//! The real side: a forked child runs the scenario's machine code under ptrace; the tracer
//! programs its debug registers through the HAL (validate, plan, encode, `switch_in` into a
//! `TracedThread`) and records every stop and every HAL event.

use hwbkpt::{
    AccessKind, CpuId, DecodeError, DecodedAccess, Delivery, Dispatcher, EmulateError, Event,
    EventKind, ExecutionMode, InstructionDecode, InstructionEmulate, MemoryRead, MemoryReadError,
    RegisterAccess, Request, RequestId, Scope, SlotId, StringProgress, TaskId, TrapFrame,
};
use hwbkpt_x86::{
    Dr6, PtraceError, StringFrame, TracedThread, X86Cpu, X86Profile, X86SlotImage, string_progress,
};

use super::program::{Layout, real_code};
use super::{DATA_LEN, EventRecord, Outcome, Scenario, Stop, Watch, pattern};

/// Why the real side could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

/// An anonymous mapping owned by the tracer (and copied into the child by `fork`).
struct Mapping {
    addr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(len: usize, prot: i32) -> Self {
        // SAFETY: a fresh private anonymous mapping; no existing memory is named.
        let addr = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(addr, libc::MAP_FAILED, "mmap");
        Self {
            addr: addr.cast(),
            len,
        }
    }

    fn base(&self) -> u64 {
        self.addr as u64
    }

    fn write(&mut self, bytes: &[u8]) {
        assert!(bytes.len() <= self.len);
        // SAFETY: the mapping is ours, writable and at least `bytes.len()` long.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.addr, bytes.len()) };
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping, not referenced any more.
        unsafe { libc::munmap(self.addr.cast(), self.len) };
    }
}

/// The stopped child as the HAL's context: its debug registers through ptrace, its memory
/// through `process_vm_readv`.
pub struct Tracee {
    /// The register owner.
    pub thread: TracedThread,
    /// RIP, RFLAGS and RCX of the stop being handled (`PTRACE_GETREGS`).
    pub frame: Option<(u64, u64, u64)>,
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

/// Read `buf.len()` bytes at `addr` of process `pid`.
pub fn read_child(pid: libc::pid_t, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, which lives across the call; the remote side is only
    // read by the kernel.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if n == buf.len() as isize {
        Ok(())
    } else {
        Err(MemoryReadError::Unmapped { addr })
    }
}

impl MemoryRead for Tracee {
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        read_child(self.thread.tid(), addr, buf)
    }
}

impl InstructionDecode for Tracee {
    /// x86 dispatch never decodes (data traps come after the access).
    fn decode_access(&mut self, pc: u64) -> Result<Option<DecodedAccess>, DecodeError> {
        Err(DecodeError::Unknown { pc })
    }

    /// A trap between iterations of a `rep movs`/`rep stos`: RIP still at it, RF set, RCX
    /// iterations left — read from the stop's registers and the child's code.
    fn string_progress(&mut self, pc: u64) -> Option<StringProgress> {
        let (rip, rflags, rcx) = self.frame?;
        let mut code = [0u8; 4];
        read_child(self.thread.tid(), pc, &mut code).ok()?;
        string_progress(StringFrame { rip, rflags, rcx }, pc, &code)
    }
}

impl InstructionEmulate for Tracee {
    /// User-mode only: nothing is emulated.
    fn emulate(&mut self, pc: u64) -> Result<(), EmulateError> {
        Err(EmulateError::Unsupported { pc })
    }
}

/// The request of `watch` on a machine whose data area is at `data` and whose body is laid
/// out as `layout`.
pub fn request_of(watch: Watch, task: TaskId, data: u64, layout: &Layout) -> Request {
    let (addr, len, access, delivery) = match watch {
        Watch::Data { off, len, access } => (data + off, len, access, Delivery::After),
        Watch::Exec { insn, delta } => (
            layout.starts[insn].wrapping_add_signed(delta),
            1,
            AccessKind::EXECUTE,
            Delivery::Native,
        ),
    };
    Request::builder(addr, len, access)
        .scope(Scope::Task(task))
        .delivery(delivery)
        .build()
        .unwrap_or_else(|e| panic!("{watch:?}: {e}"))
}

/// Record HAL events in the harness's terms.
pub fn record_event(event: &Event, ids: &[RequestId], layout: &Layout) -> EventRecord {
    let request = ids
        .iter()
        .position(|id| *id == event.request)
        .unwrap_or(usize::MAX);
    let (timing, values, iterations) = match event.kind {
        EventKind::Hit(hit) => (
            Some(hit.timing),
            hit.values
                .map(|v| (v.old().to_vec(), v.new_value().to_vec())),
            hit.iterations.map(|i| (i.remaining, i.since)),
        ),
        EventKind::Disabled(_) => (None, None, None),
    };
    EventRecord {
        request,
        insn: layout.index_of(event.pc),
        timing,
        values,
        iterations,
    }
}

/// Whether the bytes a store next to the stop writes already hold its value: the store
/// before RIP (it completed: a trap), else the store at RIP (not run yet: a fault).
pub fn visible(
    scenario: &Scenario,
    insn: Option<usize>,
    data: u64,
    read: &mut dyn FnMut(u64, &mut [u8]) -> bool,
) -> Option<bool> {
    // The store that just completed (a trap), else the one about to run (a fault).
    let insn = insn?;
    let (off, value) = insn
        .checked_sub(1)
        .and_then(|k| super::written_value(&scenario.body, k))
        .or_else(|| super::written_value(&scenario.body, insn))?;
    let mut now = vec![0; value.len()];
    read(data.wrapping_add_signed(i64::from(off)), &mut now).then_some(now == value)
}

fn wait(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let rc = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
    assert_eq!(rc, pid, "waitpid");
    status
}

fn kill(pid: libc::pid_t) {
    // SAFETY: killing and reaping our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, core::ptr::null_mut(), libc::__WALL);
    }
}

/// Most stops a scenario may produce before the run is called a failure.
const MAX_STOPS: usize = 20_000;

/// Run `scenario` on the real CPU.
///
/// # Errors
/// [`Unavailable`] when ptrace or its debug registers are refused here.
pub fn run(scenario: &Scenario) -> Result<Outcome, Unavailable> {
    let mut data = Mapping::new(DATA_LEN as usize, libc::PROT_READ | libc::PROT_WRITE);
    data.write(&pattern());
    let mut code = Mapping::new(0x1000, libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC);
    let (bytes, layout) = real_code(code.base(), data.base(), &scenario.body);
    assert!(bytes.len() <= 0x1000, "body too long");
    code.write(&bytes);
    let entry = code.base();
    let data_base = data.base();

    // SAFETY: the child runs only async-signal-safe calls (ptrace, raise, _exit) and the
    // routine written above, which follows the C calling convention (RBX saved, RSP
    // untouched) and touches only the data mapping.
    let pid = unsafe { crate::linux_perf::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        // SAFETY: see above; `entry` holds a complete routine ending in `ret`.
        unsafe {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize) != 0 {
                libc::_exit(90);
            }
            // Touch every data page, so copy-on-write faults never interrupt the body (a
            // fault restarts a `rep` string and with it the CPU's fast-string timing).
            let base = data_base as *mut u8;
            let mut page = 0;
            while page < DATA_LEN as usize {
                let p = base.add(page);
                core::ptr::write_volatile(p, core::ptr::read_volatile(p));
                page += 0x1000;
            }
            libc::raise(libc::SIGSTOP);
            let routine: extern "C" fn() = core::mem::transmute(entry as usize);
            routine();
            libc::_exit(0);
        }
    }
    let status = wait(pid);
    if !libc::WIFSTOPPED(status) {
        return Err(Unavailable(format!(
            "PTRACE_TRACEME refused (child status {status:#x})"
        )));
    }
    let mut tracee = Tracee {
        thread: TracedThread::new(pid),
        frame: None,
    };
    if let Err(e) = tracee.thread.peek(7) {
        kill(pid);
        return Err(Unavailable(format!("PTRACE_PEEKUSER of DR7 refused: {e}")));
    }

    let task = TaskId(pid as u64);
    let cpu = CpuId(0);
    let mut dispatcher: Dispatcher<X86Cpu> =
        Dispatcher::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
    let mut ids = Vec::new();
    for &watch in &scenario.watches {
        let request = request_of(watch, task, data.base(), &layout);
        let id = dispatcher
            .register(request, &mut tracee)
            .unwrap_or_else(|e| panic!("{}: register {watch:?}: {e:?}", scenario.name));
        ids.push(id);
    }
    if let Err(e) = dispatcher.switch_in(task, cpu, &mut tracee) {
        kill(pid);
        return Err(Unavailable(format!(
            "installing through PTRACE_POKEUSER failed: {e}"
        )));
    }

    let mut outcome = Outcome::default();
    let mut events = Vec::new();
    loop {
        // Steps stay inside the body: past its end the two machines run different code
        // (the child returns into Rust, the simulated task ends).
        if let Some(last) = outcome.stops.len().checked_sub(1)
            && scenario.step_after.contains(&last)
            && outcome.stops[last]
                .insn
                .is_some_and(|i| i < scenario.body.len())
        {
            tracee.thread.set_single_step(true).ok();
        }
        tracee
            .thread
            .resume(0)
            .unwrap_or_else(|e| panic!("{}: resume: {e}", scenario.name));
        let status = wait(pid);
        if libc::WIFEXITED(status) {
            assert_eq!(
                libc::WEXITSTATUS(status),
                0,
                "{}: child exit",
                scenario.name
            );
            break;
        }
        assert!(
            libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGTRAP,
            "{}: unexpected child status {status:#x} (signal {})",
            scenario.name,
            libc::WSTOPSIG(status)
        );
        // SAFETY: all-zero is a valid value of these plain C structs, which the kernel
        // fills through the pointers below.
        let (mut regs, mut info): (libc::user_regs_struct, libc::siginfo_t) =
            unsafe { (core::mem::zeroed(), core::mem::zeroed()) };
        // SAFETY: GETREGS/GETSIGINFO write one struct of the named type at `data`.
        unsafe {
            libc::ptrace(libc::PTRACE_GETREGS, pid, 0usize, &raw mut regs);
            libc::ptrace(libc::PTRACE_GETSIGINFO, pid, 0usize, &raw mut info);
        }
        let dr6 = tracee.thread.read_status().expect("PEEKUSER DR6");
        let insn = layout.index_of(regs.rip);
        let base = data.base();
        let mut reader = |addr: u64, buf: &mut [u8]| read_child(pid, addr, buf).is_ok();
        outcome.stops.push(Stop {
            insn,
            slots: (dr6.bits() & 0xF) as u8,
            step: dr6.bits() & (1 << 14) != 0,
            si_code: info.si_code,
            rcx: regs.rcx,
            visible: visible(scenario, insn, base, &mut reader),
        });
        let frame = TrapFrame {
            task,
            cpu,
            pc: regs.rip,
            mode: ExecutionMode::User,
        };
        tracee.frame = Some((regs.rip, regs.eflags, regs.rcx));
        let mut sink = |event: &Event| events.push(*event);
        dispatcher
            .handle_exception(&frame, dr6, &mut tracee, &mut sink)
            .unwrap_or_else(|e| panic!("{}: dispatch: {e}", scenario.name));
        tracee.thread.reset_status().expect("POKEUSER DR6");
        if outcome.stops.len() > MAX_STOPS {
            kill(pid);
            panic!("{}: more than {MAX_STOPS} stops", scenario.name);
        }
    }
    outcome.events = events
        .iter()
        .map(|e| record_event(e, &ids, &layout))
        .collect();
    Ok(outcome)
}
