//! The checks. Each prints one line; `run` returns (passed, failed).
//!
//! Every request goes through the HAL ([`crate::register`]: validate, plan, encode, reserve)
//! and is installed by [`crate::switch_to`] ([`Dispatcher::switch_in`] through `BareMetal`);
//! hits arrive through the real #DB and the dispatcher's consumer callback.
//!
//! [`Dispatcher::switch_in`]: hwbkpt_hal::Dispatcher::switch_in

use core::arch::global_asm;
use core::hint::black_box;
use core::sync::atomic::{AtomicU64, Ordering};

use hwbkpt_hal::{
    AccessKind, DispatchError, Event, EventKind, ExecutionMode, Hit, Origin, PrivilegeFilter,
    Request, RequestError, RequestId, ResumeAction, Scope, TaskId, Timing,
};
use hwbkpt_x86::{Condition, DebugSlot, raw};

use crate::cpu::{self, Global};
use crate::{println, register, release, switch_to, take_events};

/// The task everything runs as.
pub const TASK: TaskId = TaskId(1);
/// A task that never runs here (owner of the stale slot in the stray check).
const OTHER_TASK: TaskId = TaskId(7);

/// Pass/fail tally.
struct Tally {
    passed: u32,
    failed: u32,
}

impl Tally {
    fn check(&mut self, ok: bool, what: core::fmt::Arguments<'_>) {
        if ok {
            self.passed += 1;
            println!("ok   {what}");
        } else {
            self.failed += 1;
            println!("FAIL {what}");
        }
    }
}

/// Watched data: slot k's variable is the quadword at index 2k, its neighbour at 2k+1.
#[repr(C, align(64))]
struct WatchArea([u64; 8]);
static WATCH: Global<WatchArea> = Global::new(WatchArea([0; 8]));
/// Watched for ring-3 writes.
static USER_VAR: Global<u64> = Global::new(0);
/// Watched for ring-0 writes.
static KERNEL_VAR: Global<u64> = Global::new(0);
/// For the old→new values.
static OLD_NEW: Global<u32> = Global::new(0x1111_1111);

#[repr(C, align(16))]
struct UserStack([u8; 4096]);
static USER_STACK: Global<UserStack> = Global::new(UserStack([0; 4096]));

fn watch_addr(slot: usize) -> u64 {
    WATCH.as_ptr() as u64 + (slot as u64) * 16
}

/// A compiler barrier: the #DB handler changes the kernel state behind the compiler's back
/// (like a signal handler), so no memory access may be moved or cached across a watched
/// access. An empty `asm!` without `nomem` may read and write any memory.
fn barrier() {
    // SAFETY: an empty instruction sequence.
    unsafe { core::arch::asm!("", options(nostack, preserves_flags)) }
}

/// Store `len` bytes of `value` at `addr` with one instruction of that size.
fn store(addr: u64, len: u64, value: u64) {
    barrier();
    // SAFETY: every caller passes an address inside WATCH, USER_VAR or OLD_NEW, aligned to
    // `len`; the main flow holds no reference to them.
    unsafe {
        match len {
            1 => core::ptr::write_volatile(addr as *mut u8, value as u8),
            2 => core::ptr::write_volatile(addr as *mut u16, value as u16),
            4 => core::ptr::write_volatile(addr as *mut u32, value as u32),
            _ => core::ptr::write_volatile(addr as *mut u64, value),
        }
    }
    barrier();
}

/// Load `len` bytes at `addr` with one instruction of that size.
fn load(addr: u64, len: u64) -> u64 {
    barrier();
    // SAFETY: as `store`.
    let value = unsafe {
        match len {
            1 => u64::from(core::ptr::read_volatile(addr as *const u8)),
            2 => u64::from(core::ptr::read_volatile(addr as *const u16)),
            4 => u64::from(core::ptr::read_volatile(addr as *const u32)),
            _ => core::ptr::read_volatile(addr as *const u64),
        }
    };
    barrier();
    value
}

fn kernel_request(addr: u64, len: u64, access: AccessKind) -> Result<RequestId, DispatchError> {
    let request = Request::builder(addr, len, access)
        .privilege(PrivilegeFilter::KERNEL)
        .origin(Origin::Kernel)
        .build()
        .map_err(DispatchError::Request)?;
    register(request)
}

fn hit_of(event: &Event) -> Option<&Hit> {
    match &event.kind {
        EventKind::Hit(hit) => Some(hit),
        EventKind::Disabled(_) => None,
    }
}

/// Whether `event` is a write hit of `id` whose values went from `old` to `new` (the first
/// `len` little-endian bytes of each).
fn is_value_hit(event: Option<&Event>, id: RequestId, len: u64, old: u64, new: u64) -> bool {
    let Some(event) = event else { return false };
    let Some(values) = hit_of(event).and_then(|h| h.values) else {
        return false;
    };
    let n = len as usize;
    event.request == id
        && values.old().get(..n) == old.to_le_bytes().get(..n)
        && values.new_value().get(..n) == new.to_le_bytes().get(..n)
        && values.old().len() == n
}

fn release_all(ids: &[Option<RequestId>]) {
    for id in ids.iter().flatten() {
        release(*id);
    }
    switch_to(TASK);
}

/// Run every check.
pub fn run(forbid_ok: bool) -> (u32, u32) {
    let mut t = Tally {
        passed: 0,
        failed: 0,
    };
    t.check(
        forbid_ok,
        format_args!("boot: IDT registered as a forbidden region"),
    );
    for access in [AccessKind::WRITE, AccessKind::READ_WRITE] {
        for len in [1, 2, 4, 8] {
            data_slots(&mut t, access, len);
        }
    }
    execute_slots(&mut t);
    execute_resume_flag(&mut t);
    stray_b_bit(&mut t);
    ring3(&mut t);
    old_new(&mut t);
    refusals(&mut t);
    (t.passed, t.failed)
}

/// Data watches of one kind and length on all four slots.
fn data_slots(t: &mut Tally, access: AccessKind, len: u64) {
    // SAFETY: nothing is armed; the main flow is the only user of WATCH.
    unsafe { (*WATCH.as_ptr()).0 = [0; 8] };
    let mut ids = [None; 4];
    for (slot, id) in ids.iter_mut().enumerate() {
        *id = kernel_request(watch_addr(slot), len, access).ok();
    }
    let armed = switch_to(TASK);
    let condition = if access == AccessKind::WRITE {
        Condition::Write
    } else {
        Condition::ReadWrite
    };
    let name = if access == AccessKind::WRITE {
        "write"
    } else {
        "read/write"
    };
    // SAFETY: CPL 0, GD never set.
    let dr7 = unsafe { raw::read_dr7() };
    for (index, slot) in DebugSlot::ALL.into_iter().enumerate() {
        let addr = watch_addr(index);
        // SAFETY: as above.
        let programmed = unsafe { raw::read_address(slot) };
        let installed = armed
            && programmed == addr
            && dr7.is_enabled(slot)
            && dr7.condition(slot) == condition
            && dr7.size(slot).bytes() == len;
        let Some(id) = ids.get(index).copied().flatten() else {
            t.check(
                false,
                format_args!("{name} len {len} {slot:?}: registration refused"),
            );
            continue;
        };
        take_events();
        let value = 0x8877_6655_4433_2211u64.wrapping_add(index as u64);
        store(addr, len, value);
        let write = take_events();
        let write_ok = is_value_hit(write.single(), id, len, 0, value);
        store(addr + len, 1, 0xAA);
        let miss_ok = take_events().is_empty();
        let _ = black_box(load(addr, len));
        let reads = take_events();
        let read_ok = if condition == Condition::ReadWrite {
            reads.single().is_some_and(|e| e.request == id)
        } else {
            reads.is_empty()
        };
        t.check(
            installed && write_ok && miss_ok && read_ok,
            format_args!(
                "{name} len {len} on {slot:?}: installed {installed}, write hit 0->{:#x} {write_ok}, \
                 byte after the range not hit {miss_ok}, read {} {read_ok}",
                value & (u64::MAX >> (64 - 8 * len)),
                if condition == Condition::ReadWrite {
                    "hit"
                } else {
                    "not hit"
                },
            ),
        );
    }
    release_all(&ids);
}

static EXECUTIONS: AtomicU64 = AtomicU64::new(0);

#[inline(never)]
extern "C" fn target0(x: u64) -> u64 {
    EXECUTIONS.fetch_add(1, Ordering::SeqCst);
    x.wrapping_add(1)
}
#[inline(never)]
extern "C" fn target1(x: u64) -> u64 {
    EXECUTIONS.fetch_add(1, Ordering::SeqCst);
    x.wrapping_mul(3)
}
#[inline(never)]
extern "C" fn target2(x: u64) -> u64 {
    EXECUTIONS.fetch_add(1, Ordering::SeqCst);
    x ^ 0x55
}
#[inline(never)]
extern "C" fn target3(x: u64) -> u64 {
    EXECUTIONS.fetch_add(1, Ordering::SeqCst);
    x.rotate_left(7)
}
#[inline(never)]
extern "C" fn target_stray(x: u64) -> u64 {
    EXECUTIONS.fetch_add(1, Ordering::SeqCst);
    x.wrapping_sub(9)
}

type Target = extern "C" fn(u64) -> u64;
const TARGETS: [Target; 4] = [target0, target1, target2, target3];

fn call(target: Target, x: u64) -> u64 {
    black_box(target)(black_box(x))
}

fn is_execute_hit(event: Option<&Event>, id: RequestId, addr: u64) -> bool {
    event.is_some_and(|e| {
        e.request == id
            && e.pc == addr
            && hit_of(e).is_some_and(|h| {
                h.timing == Timing::Before
                    && h.address == Some(addr)
                    && h.access == Some(AccessKind::EXECUTE)
            })
    })
}

/// Execute breakpoints on all four slots (length 1, the only one execute allows).
fn execute_slots(t: &mut Tally) {
    let mut ids = [None; 4];
    for (target, id) in TARGETS.iter().zip(ids.iter_mut()) {
        *id = kernel_request(*target as *const () as u64, 1, AccessKind::EXECUTE).ok();
    }
    let armed = switch_to(TASK);
    // SAFETY: CPL 0, GD never set.
    let dr7 = unsafe { raw::read_dr7() };
    for (index, slot) in DebugSlot::ALL.into_iter().enumerate() {
        let (Some(target), Some(Some(id))) = (TARGETS.get(index), ids.get(index)) else {
            t.check(
                false,
                format_args!("execute on {slot:?}: registration refused"),
            );
            continue;
        };
        let addr = *target as *const () as u64;
        // SAFETY: as above.
        let installed = armed
            && unsafe { raw::read_address(slot) } == addr
            && dr7.is_enabled(slot)
            && dr7.condition(slot) == Condition::Execute
            && dr7.size(slot).bytes() == 1;
        take_events();
        let before = EXECUTIONS.load(Ordering::SeqCst);
        let result = call(*target, 40);
        let ran_once = EXECUTIONS.load(Ordering::SeqCst) == before + 1;
        let events = take_events();
        let hit = is_execute_hit(events.single(), *id, addr);
        let correct = result == black_box(*target)(40);
        take_events();
        t.check(
            installed && hit && ran_once && correct,
            format_args!(
                "execute len 1 on {slot:?}: installed {installed}, fault-before hit at {addr:#x} {hit}, \
                 function ran once {ran_once}"
            ),
        );
    }
    release_all(&ids);
}

/// An execute breakpoint stays armed, and the handler resumes each hit with RFLAGS.RF.
fn execute_resume_flag(t: &mut Tally) {
    let addr = target2 as *const () as u64;
    let id = kernel_request(addr, 1, AccessKind::EXECUTE);
    switch_to(TASK);
    let (_, rf_before, _, _) = crate::handler_state();
    let runs_before = EXECUTIONS.load(Ordering::SeqCst);
    take_events();
    let mut sum = 0u64;
    for i in 0..3 {
        sum = sum.wrapping_add(call(target2, i));
    }
    let events = take_events();
    let (_, rf_after, _, last) = crate::handler_state();
    let ok = id.is_ok_and(|id| {
        events.len() == 3 && events.iter().all(|e| is_execute_hit(Some(e), id, addr))
    }) && rf_after == rf_before + 3
        && EXECUTIONS.load(Ordering::SeqCst) == runs_before + 3
        && sum == 0x55 + (1 ^ 0x55) + (2 ^ 0x55)
        && last.is_some_and(|l| l.action == ResumeAction::ResumeWithResumeFlag);
    t.check(
        ok,
        format_args!(
            "execute resumed with RF: 3 calls -> {} events, {} RF resumes, ran {} times",
            events.len(),
            rf_after.wrapping_sub(rf_before),
            EXECUTIONS.load(Ordering::SeqCst) - runs_before
        ),
    );
    release_all(&[id.ok()]);
}

/// QEMU sets a B bit for every slot whose address matches, enabled or not. A slot left
/// programmed but disabled (its request covers another task) on the same address as an
/// enabled one: only the enabled request's event may be delivered, the other B bit is a
/// counted stray.
fn stray_b_bit(t: &mut Tally) {
    let addr = target_stray as *const () as u64;
    let other = register(
        Request::builder(addr, 1, AccessKind::EXECUTE)
            .privilege(PrivilegeFilter::KERNEL)
            .origin(Origin::Kernel)
            .scope(Scope::Task(OTHER_TASK))
            .build()
            .unwrap_or_else(|_| unreachable_request()),
    );
    let mine = kernel_request(addr, 1, AccessKind::EXECUTE);
    // OTHER_TASK runs: both slots are installed; then TASK runs: the other request's slot is
    // disabled, its address stays in DR0.
    switch_to(OTHER_TASK);
    switch_to(TASK);
    // SAFETY: CPL 0, GD never set.
    let (dr0, dr7) = unsafe { (raw::read_address(DebugSlot::Dr0), raw::read_dr7()) };
    let setup = dr0 == addr && !dr7.is_enabled(DebugSlot::Dr0) && dr7.is_enabled(DebugSlot::Dr1);
    let strays_before = crate::statistics().stray_hits;
    take_events();
    let _ = call(target_stray, 1);
    let events = take_events();
    let strays = crate::statistics().stray_hits - strays_before;
    let (_, _, _, last) = crate::handler_state();
    let dr6 = last.map_or(0, |l| l.status.bits());
    let both_bits = dr6 & 0b11 == 0b11;
    let only_mine = mine.is_ok_and(|id| is_execute_hit(events.single(), id, addr));
    t.check(
        other.is_ok() && setup && both_bits && only_mine && strays == 1,
        format_args!(
            "stray B bit: DR6 {dr6:#x} (B0 disabled slot, B1 enabled, same address) -> \
             {} event(s), only the enabled request's {only_mine}, strays counted {strays}",
            events.len()
        ),
    );
    release_all(&[other.ok(), mine.ok()]);
}

/// A request that cannot fail to build; its address is a constant.
fn unreachable_request() -> Request {
    // `Request::builder(0x1000, 1, EXECUTE)` is valid, so this is never reached; keep it
    // panic-free anyway.
    match Request::builder(0x1000, 1, AccessKind::EXECUTE).build() {
        Ok(r) => r,
        Err(_) => unreachable_request(),
    }
}

global_asm!(
    r#"
    .section .text
    /* Ring-3 code: store rcx to [rdx] and to [r8], then go back to the kernel. */
    .global user_store
    user_store:
    mov qword ptr [rdx], rcx
    mov qword ptr [r8], rcx
    int 0x80
    .global user_store_end
    user_store_end:
    "#
);

unsafe extern "C" {
    fn user_store();
    fn user_store_end();
}

/// Breakpoints armed in ring 0, hit by ring-3 code, caught by the ring-0 handler; the
/// privilege filter decides which request sees a hit.
///
/// Two variables, one request each: `USER_VAR` with the user filter, `KERNEL_VAR` with the
/// kernel filter. Ring 3 writes both, then ring 0 writes both: each time exactly one event
/// (the request whose filter matches the writer), and one counted stray. (Two enabled slots
/// on one address would not test this under QEMU: for an access that matches several
/// enabled data slots, QEMU's TCG reports only the first slot's B bit.)
fn ring3(t: &mut Tally) {
    let user_addr = USER_VAR.as_ptr() as u64;
    let kernel_addr = KERNEL_VAR.as_ptr() as u64;
    // SAFETY: nothing is armed.
    unsafe {
        USER_VAR.as_ptr().write_volatile(0);
        KERNEL_VAR.as_ptr().write_volatile(0);
    }
    let user = Request::builder(user_addr, 8, AccessKind::WRITE)
        .privilege(PrivilegeFilter::USER)
        .origin(Origin::User)
        .build()
        .map_err(DispatchError::Request)
        .and_then(register);
    let kernel = kernel_request(kernel_addr, 8, AccessKind::WRITE);
    switch_to(TASK);
    let strays_before = crate::statistics().stray_hits;
    let (exceptions_before, _, _, _) = crate::handler_state();
    take_events();
    let code = user_store as *const () as u64;
    // SAFETY: only the address of the stack is taken.
    let stack_top = unsafe { (&raw const (*USER_STACK.as_ptr()).0) as u64 } + 4096;
    // SAFETY: user_store is user-accessible code ending with int 0x80; it writes USER_VAR
    // and KERNEL_VAR, which are user-accessible (the whole identity map is).
    unsafe { cpu::enter_user(code, stack_top, user_addr, 0x1234_5678, kernel_addr) };
    let events = take_events();
    let strays = crate::statistics().stray_hits - strays_before;
    let (exceptions, _, _, last) = crate::handler_state();
    let end = user_store_end as *const () as u64;
    let from_user =
        last.is_some_and(|l| l.mode == ExecutionMode::User && l.rip > code && l.rip < end);
    // SAFETY: nothing watches reads of these variables.
    let stored = unsafe {
        USER_VAR.as_ptr().read_volatile() == 0x1234_5678
            && KERNEL_VAR.as_ptr().read_volatile() == 0x1234_5678
    };
    let user_ok = user.is_ok_and(|id| is_value_hit(events.single(), id, 8, 0, 0x1234_5678));
    t.check(
        from_user && stored && user_ok && exceptions == exceptions_before + 2,
        format_args!(
            "ring-3 writes caught by the ring-0 handler: 2 #DB from CPL 3 (last at {:#x}) {from_user}, \
             user-filtered request hit 0->0x12345678 {user_ok}",
            last.map_or(0, |l| l.rip)
        ),
    );
    t.check(
        events.len() == 1 && strays == 1,
        format_args!(
            "privilege filter, ring-3 writes: kernel-filtered request not delivered \
             ({} event(s), {strays} stray)",
            events.len()
        ),
    );
    let strays_before = crate::statistics().stray_hits;
    store(user_addr, 8, 0x9999);
    store(kernel_addr, 8, 0x9999);
    let events = take_events();
    let strays = crate::statistics().stray_hits - strays_before;
    let (_, _, _, last) = crate::handler_state();
    let kernel_ok = kernel.is_ok_and(|id| is_value_hit(events.single(), id, 8, 0, 0x9999))
        && last.is_some_and(|l| l.mode == ExecutionMode::Kernel)
        && strays == 1;
    t.check(
        kernel_ok,
        format_args!(
            "privilege filter, ring-0 writes: only the kernel-filtered request delivered \
             ({} event(s), {strays} stray)",
            events.len()
        ),
    );
    release_all(&[user.ok(), kernel.ok()]);
}

/// Old and new values of successive write hits: old is the value the layer last observed.
fn old_new(t: &mut Tally) {
    let addr = OLD_NEW.as_ptr() as u64;
    let id = kernel_request(addr, 4, AccessKind::WRITE);
    switch_to(TASK);
    take_events();
    store(addr, 4, 0x2222_2222);
    let first = take_events();
    store(addr, 4, 0x3333_3333);
    let second = take_events();
    let last_observed = |e: Option<&Event>| {
        e.and_then(hit_of)
            .and_then(|h| h.values)
            .is_some_and(|v| !v.old_exact && !v.truncated && v.addr == addr)
    };
    let first_ok = id.is_ok_and(|id| is_value_hit(first.single(), id, 4, 0x1111_1111, 0x2222_2222))
        && last_observed(first.single());
    let second_ok =
        id.is_ok_and(|id| is_value_hit(second.single(), id, 4, 0x2222_2222, 0x3333_3333));
    t.check(
        first_ok,
        format_args!("old->new on write hit: 0x11111111 -> 0x22222222 (old = last observed)"),
    );
    t.check(
        second_ok,
        format_args!("old->new on the next hit: 0x22222222 -> 0x33333333"),
    );
    release_all(&[id.ok()]);
}

/// Requests the policy or the hardware rules refuse, with nothing installed.
fn refusals(t: &mut Tally) {
    // SAFETY: CPL 0, GD never set.
    let dr7_before = unsafe { raw::read_dr7() };
    let (idt, _) = cpu::idt_range();
    let forbidden = kernel_request(idt + 16, 8, AccessKind::WRITE);
    t.check(
        matches!(
            forbidden,
            Err(DispatchError::Request(RequestError::ForbiddenRange { .. }))
        ),
        format_args!(
            "policy refuses a watch on the IDT (forbidden region): {}",
            outcome(&forbidden)
        ),
    );
    let kernel_addr = Request::builder(0xFFFF_8000_0000_1000, 8, AccessKind::WRITE)
        .origin(Origin::User)
        .build()
        .map_err(DispatchError::Request)
        .and_then(register);
    t.check(
        matches!(
            kernel_addr,
            Err(DispatchError::Request(RequestError::NotUserAddress { .. }))
        ),
        format_args!(
            "policy refuses a user request on a kernel address: {}",
            outcome(&kernel_addr)
        ),
    );
    let read_only = kernel_request(watch_addr(0), 4, AccessKind::READ);
    t.check(
        matches!(
            read_only,
            Err(DispatchError::Request(
                RequestError::ReadOnlyUnsupported { .. }
            ))
        ),
        format_args!(
            "hardware rule refuses a read-only watch: {}",
            outcome(&read_only)
        ),
    );
    switch_to(TASK);
    // SAFETY: as above.
    let dr7_after = unsafe { raw::read_dr7() };
    t.check(
        dr7_before.enabled_slots().count() == 0 && dr7_after.enabled_slots().count() == 0,
        format_args!(
            "refused requests installed nothing: DR7 {:#x}",
            dr7_after.bits()
        ),
    );
}

/// A registration outcome for a check line (the error's `Display`).
fn outcome(result: &Result<RequestId, DispatchError>) -> OutcomeText<'_> {
    OutcomeText(result)
}

struct OutcomeText<'a>(&'a Result<RequestId, DispatchError>);

impl core::fmt::Display for OutcomeText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Ok(id) => write!(f, "accepted as request {}", id.index()),
            Err(e) => write!(f, "refused: {e}"),
        }
    }
}
