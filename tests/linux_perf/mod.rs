//! Real perf breakpoints (`perf_event_open`) for the x86-64 Linux tests: the kind of
//! consumer ptrace shares the four debug registers with, so tests can make the kernel run out
//! of slots. Shared by `real_hw_x86.rs` and `ptrace_virtual_x86.rs`.

use std::sync::{PoisonError, RwLock, RwLockReadGuard};

/// `struct perf_event_attr` up to `bp_len` (`PERF_ATTR_SIZE_VER1`, 72 bytes), the part a
/// breakpoint event needs (`include/uapi/linux/perf_event.h`).
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// Bit 0 disabled, bit 2 pinned, bit 5 exclude_kernel, bit 6 exclude_hv.
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    bp_addr: u64,
    bp_len: u64,
}
const _: () = assert!(core::mem::size_of::<PerfEventAttr>() == 72);

/// Forks and open perf breakpoints exclude each other within a test process. A child forked
/// while another test holds perf descriptors inherits them (close-on-exec acts only at exec,
/// and most of these children never exec), and the breakpoints then live until that child
/// exits: the kernel keeps slots the test has just released. (CI once failed "room after perf
/// released a slot" in `real_hw_x86`; this is the explanation that fits.)
static FORKS_VS_PERF: RwLock<()> = RwLock::new(());

/// Held while a test has perf breakpoints open; forks wait for it. Take it once per test,
/// after forking the child and before the first [`perf_breakpoint`], and drop it after the
/// last descriptor. Never fork while holding it.
pub(crate) fn hold_perf() -> RwLockReadGuard<'static, ()> {
    FORKS_VS_PERF.read().unwrap_or_else(PoisonError::into_inner)
}

/// `fork()`, once no test of this process holds perf breakpoints ([`hold_perf`]).
///
/// # Safety
/// As `fork` in a multi-threaded process: the child may run async-signal-safe code only.
pub(crate) unsafe fn fork() -> libc::pid_t {
    let _no_perf_open = FORKS_VS_PERF
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    // SAFETY: the caller's contract.
    unsafe { libc::fork() }
}

/// A perf breakpoint file descriptor, closed however the test ends.
pub(crate) struct PerfEvent(i32);

impl Drop for PerfEvent {
    fn drop(&mut self) {
        // SAFETY: closing a descriptor this test opened and owns.
        unsafe { libc::close(self.0) };
    }
}

/// `perf_event_open(PERF_TYPE_BREAKPOINT)`: a pinned 8-byte user write breakpoint on task
/// `pid` (every CPU).
pub(crate) fn perf_breakpoint(pid: libc::pid_t, addr: u64) -> std::io::Result<PerfEvent> {
    let attr = PerfEventAttr {
        kind: 5, // PERF_TYPE_BREAKPOINT
        size: 72,
        flags: 1 << 2 | 1 << 5 | 1 << 6, // pinned, exclude_kernel, exclude_hv
        bp_type: 2,                      // HW_BREAKPOINT_W
        bp_addr: addr,
        bp_len: 8,
        ..PerfEventAttr::default()
    };
    // SAFETY: the kernel reads `attr.size` bytes of a live, correctly laid out struct.
    let fd = unsafe { libc::syscall(libc::SYS_perf_event_open, &raw const attr, pid, -1, -1, 0) };
    match i32::try_from(fd) {
        Ok(fd) if fd >= 0 => Ok(PerfEvent(fd)),
        _ => Err(std::io::Error::last_os_error()),
    }
}
