//! A ring-0 x86-64 test kernel that embeds hwbkpt end to end.
//!
//! Booted by QEMU (`-kernel`, multiboot), it runs every breakpoint request through the HAL —
//! validate, plan, encode ([`Dispatcher::register`]), install into DR0–DR3/DR7 through
//! `BareMetal` (`Dispatcher::switch_in`) — and takes the real #DB in its own handler,
//! which hands DR6 and the trap frame to [`Dispatcher::handle_exception`]; the events reach
//! a consumer callback that logs them for the checks. See `cases.rs` for the checks,
//! `debug_exception` below for the exception path, and `machine.rs` for the context the
//! handler gives the dispatcher (DR7 is disarmed while the handler runs, as Linux does).
#![no_std]
#![no_main]

mod boot;
mod cases;
mod cpu;
mod machine;
mod port;

use hwbkpt_hal::{
    AddressRange, CpuId, DispatchError, Dispatcher, Event, ExecutionMode, ForbiddenRegion, Forbids,
    RegisterAccess, Request, RequestId, ResumeAction, Statistics, TaskId, TrapFrame,
};
use hwbkpt_x86::{BareMetal, Dr6, X86Cpu, X86Profile, raw};

use cpu::{Global, InterruptFrame};
use machine::{KernelMemory, Machine};

/// RFLAGS.RF (bit 16): the instruction at RIP does not raise an instruction breakpoint again.
const RFLAGS_RF: u64 = 1 << 16;
/// The only CPU.
pub const CPU0: CpuId = CpuId(0);
/// Most events one check collects.
const EVENT_LOG: usize = 16;

/// Events the consumer callback received, in order.
#[derive(Clone, Copy)]
pub struct EventLog {
    events: [Option<Event>; EVENT_LOG],
    len: usize,
    /// Events that did not fit.
    pub overflow: usize,
}

impl EventLog {
    const EMPTY: Self = Self {
        events: [None; EVENT_LOG],
        len: 0,
        overflow: 0,
    };

    fn push(&mut self, event: Event) {
        match self.events.get_mut(self.len) {
            Some(place) => {
                *place = Some(event);
                self.len += 1;
            }
            None => self.overflow += 1,
        }
    }

    /// The events, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().flatten()
    }

    /// How many events were received.
    pub const fn len(&self) -> usize {
        self.len + self.overflow
    }

    /// Whether no event arrived.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The only event, if exactly one arrived.
    pub fn single(&self) -> Option<&Event> {
        if self.len() == 1 {
            self.iter().next()
        } else {
            None
        }
    }
}

/// What one #DB saw.
#[derive(Clone, Copy, Debug)]
pub struct LastException {
    /// DR6 as read on entry.
    pub status: Dr6,
    /// The privilege level of the interrupted code.
    pub mode: ExecutionMode,
    /// RIP of the interrupted code.
    pub rip: u64,
    /// How the handler resumed.
    pub action: ResumeAction,
}

/// The kernel's breakpoint state: the HAL's dispatcher and what the handler recorded.
pub struct Kernel {
    dispatcher: Dispatcher<X86Cpu, 16, 4>,
    events: EventLog,
    current_task: TaskId,
    /// Debug exceptions taken.
    pub exceptions: u32,
    /// Debug exceptions the dispatcher did not claim.
    pub unclaimed: u32,
    /// Returns with RFLAGS.RF set.
    pub rf_resumes: u32,
    /// The latest exception.
    pub last: Option<LastException>,
}

static KERNEL: Global<Option<Kernel>> = Global::new(None);

/// Run `f` on the kernel state (`None` before `kernel_main` created it).
///
/// The main flow calls this only around HAL calls, never around an access a breakpoint
/// watches, so the #DB handler's own call never overlaps with one of the main flow.
pub fn with_kernel<R>(f: impl FnOnce(&mut Kernel) -> R) -> Option<R> {
    // SAFETY: one CPU with interrupts disabled; the only exception that re-enters is #DB,
    // raised by watched accesses and breakpointed instructions, which the main flow never
    // performs inside this function (see above). So no two `&mut` to KERNEL are ever live.
    unsafe { (*KERNEL.as_ptr()).as_mut().map(f) }
}

/// Validate, plan, encode and reserve slots for `request` (nothing is installed yet).
pub fn register(request: Request) -> Result<RequestId, DispatchError> {
    with_kernel(|k| k.dispatcher.register(request, &mut KernelMemory))
        .unwrap_or(Err(DispatchError::UnknownRequest))
}

/// Forget a request (its slots are uninstalled at the next [`switch_to`]).
pub fn release(id: RequestId) {
    let _ = with_kernel(|k| k.dispatcher.release(id));
}

/// "Context switch" to `task`: install exactly the slots of the requests that cover it.
pub fn switch_to(task: TaskId) -> bool {
    with_kernel(|k| {
        k.current_task = task;
        // SAFETY: CPL 0 on the only CPU; DR7.GD is never set; the #DB handler below expects
        // the hits of every slot the dispatcher arms.
        let mut regs = unsafe { BareMetal::new() };
        k.dispatcher.switch_in(task, CPU0, &mut regs).is_ok()
    })
    .unwrap_or(false)
}

/// Take the events logged since the last call.
pub fn take_events() -> EventLog {
    with_kernel(|k| core::mem::replace(&mut k.events, EventLog::EMPTY)).unwrap_or(EventLog::EMPTY)
}

/// The dispatcher's counters.
pub fn statistics() -> Statistics {
    with_kernel(|k| k.dispatcher.statistics()).unwrap_or_default()
}

/// Handler-side counters: (exceptions, RF resumes, unclaimed, latest exception).
pub fn handler_state() -> (u32, u32, u32, Option<LastException>) {
    with_kernel(|k| (k.exceptions, k.rf_resumes, k.unclaimed, k.last)).unwrap_or((0, 0, 0, None))
}

/// The #DB handler, called by `db_entry` (cpu.rs) with the interrupt frame on the stack.
///
/// This is the whole integration on the exception side: read DR6, describe the interrupted
/// context in a [`TrapFrame`], let the dispatcher match B bits to requests (it drops strays,
/// applies the privilege filter, reads old/new values, resets DR6 to 0xFFFF0FF0) and deliver
/// events to the consumer callback, then apply the resume action to the saved RFLAGS.
extern "sysv64" fn debug_exception(frame: &mut InterruptFrame) {
    // SAFETY: #DB handlers run at CPL 0; the CPU cleared DR7.GD on entry.
    let status = unsafe { raw::read_dr6() };
    let mode = if frame.cs & 3 == 3 {
        ExecutionMode::User
    } else {
        ExecutionMode::Kernel
    };
    let handled = with_kernel(|k| {
        k.exceptions += 1;
        let trap = TrapFrame {
            task: k.current_task,
            cpu: CPU0,
            pc: frame.rip,
            mode,
        };
        // SAFETY: the #DB handler; `leave` follows below on every path.
        let mut machine = unsafe { Machine::enter() };
        let events = &mut k.events;
        let mut consumer = |event: &Event| events.push(*event);
        let resolution = k
            .dispatcher
            .handle_exception(&trap, status, &mut machine, &mut consumer);
        let single_step = machine.leave();
        let Ok(resolution) = resolution else {
            return false;
        };
        if resolution.action == ResumeAction::ResumeWithResumeFlag {
            frame.rflags |= RFLAGS_RF;
            k.rf_resumes += 1;
        }
        frame.rflags = single_step.apply(frame.rflags);
        if !resolution.claimed {
            k.unclaimed += 1;
        }
        k.last = Some(LastException {
            status,
            mode,
            rip: frame.rip,
            action: resolution.action,
        });
        true
    });
    if handled != Some(true) {
        // SAFETY: CPL 0: quiet DR6 so a #DB before initialisation does not repeat.
        let _ = unsafe { BareMetal::new() }.reset_status();
        println!(
            "#DB at {:#x} not handled (DR6 {:#x})",
            frame.rip,
            status.bits()
        );
        port::exit_qemu(port::EXIT_FAILURE);
    }
}

/// Any exception but #DB: report it and stop.
extern "sysv64" fn fault(vector: u64, stack: *const u64) -> ! {
    // SAFETY: `stack` is the stack pointer at the stub's entry: the CPU's exception frame
    // (possibly after an error code), readable kernel memory.
    let (a, b) = unsafe { (stack.read(), stack.add(1).read()) };
    println!("unexpected exception {vector} (stack: {a:#x} {b:#x})");
    port::exit_qemu(port::EXIT_FAILURE);
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    println!("panic");
    port::exit_qemu(port::EXIT_FAILURE);
}

/// Called by the boot trampoline in 64-bit mode on the boot stack.
#[unsafe(no_mangle)]
extern "C" fn kernel_main() -> ! {
    println!("hwbkpt test kernel: long mode, ring 0");
    cpu::init();
    let mut dispatcher = Dispatcher::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
    // The kernel forbids watches on its own exception machinery (here: the IDT).
    let (idt, idt_len) = cpu::idt_range();
    let forbidden = AddressRange::new(idt, idt_len).map(|range| ForbiddenRegion {
        range,
        what: "interrupt descriptor table",
    });
    let forbid_ok = match forbidden {
        Ok(region) => dispatcher.forbid(region, Forbids::Everything).is_ok(),
        Err(_) => false,
    };
    // SAFETY: boot, before any exception; nobody else references KERNEL yet.
    unsafe {
        *KERNEL.as_ptr() = Some(Kernel {
            dispatcher,
            events: EventLog::EMPTY,
            current_task: cases::TASK,
            exceptions: 0,
            unclaimed: 0,
            rf_resumes: 0,
            last: None,
        });
    }
    let (passed, failed) = cases::run(forbid_ok);
    println!("{passed} passed, {failed} failed");
    port::exit_qemu(if failed == 0 {
        port::EXIT_SUCCESS
    } else {
        port::EXIT_FAILURE
    });
}
