//! The stub's target driven in-process, the way `gdbstub` drives it, on the example program:
//! what the real-gdb tests (`tests/gdb.rs`) cannot reach — resuming over a PPC64 one-shot
//! watch that gdb did not remove, signals, refusals — and everything on any host, big-endian
//! PPC64 under qemu-user included.

use std::collections::HashMap;

use gdbstub::common::Signal;
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadSingleStep,
};
use gdbstub::target::ext::breakpoints::{HwBreakpoint, HwWatchpoint, SwBreakpoint, WatchKind};
use hwbkpt_sim::ppc64::Ppc64;
use hwbkpt_sim::x86::X86;

use super::model::GdbModel;
use super::run_loop::RunEvent;
use super::stop::Stop;
use super::target::SimTarget;
use super::{ppc64_arch::Ppc64Regs, prepare};
use crate::scenario::{Profile, parse};

/// `TargetError` has no `Debug`: tests unwrap through this.
fn ok<T, E>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(_) => panic!("the target refused"),
    }
}

const EXAMPLE: &str = include_str!("../../examples/gdb-watch.toml");
const COUNTER: u64 = 0x2000_0010;

fn target<I: GdbModel>(profile: Profile) -> (SimTarget<I>, HashMap<String, u64>) {
    let source = parse("gdb-watch.toml", EXAMPLE).unwrap();
    prepare::<I>(&source, profile, Box::new(std::io::sink())).unwrap()
}

fn cont<I: GdbModel>(t: &mut SimTarget<I>) -> Stop {
    SingleThreadResume::resume(t, None).unwrap();
    match t.run(|| false) {
        RunEvent::Stopped(stop) => stop,
        RunEvent::IncomingData => panic!("nothing was sent"),
    }
}

fn step<I: GdbModel>(t: &mut SimTarget<I>) -> Stop {
    SingleThreadSingleStep::step(t, None).unwrap();
    match t.run(|| false) {
        RunEvent::Stopped(stop) => stop,
        RunEvent::IncomingData => panic!("nothing was sent"),
    }
}

fn counter<I: GdbModel>(t: &SimTarget<I>) -> u64 {
    t.machine.memory().read_uint(COUNTER, 4).unwrap()
}

const WATCH_COUNTER: Stop = Stop::Watch {
    kind: WatchKind::Write,
    addr: COUNTER,
};

#[test]
fn ppc64_one_shot_watch_left_in_is_stepped_over_and_rearmed() {
    let (mut t, labels) = target::<Ppc64>(Profile::Power10);
    assert!(ok(t.add_hw_watchpoint(COUNTER, 4, WatchKind::Write)));
    // Stopped before the store: the PC is at it and memory is unchanged.
    assert_eq!(cont(&mut t), WATCH_COUNTER);
    assert_eq!(t.pc(), labels["set_counter"]);
    assert_eq!(counter(&t), 0);
    // gdb resumes without removing the watch: the stub steps the store with the one-shot
    // request disabled, re-arms it, and the same-value store later fires it again.
    assert_eq!(cont(&mut t), WATCH_COUNTER);
    assert_eq!(t.pc(), labels["rewrite_counter"]);
    assert_eq!(counter(&t), 0x1234);
    // A single step over the fired store is that store, then the watch is armed again.
    assert_eq!(step(&mut t), Stop::DoneStep);
    assert_eq!(t.pc(), labels["rewrite_counter"] + 4);
    assert_eq!(cont(&mut t), Stop::Exited);
}

#[test]
fn ppc64_registers_and_set_pc() {
    let (mut t, labels) = target::<Ppc64>(Profile::Power10);
    let mut regs = Ppc64Regs::default();
    ok(t.read_registers(&mut regs));
    assert_eq!(regs.gpr[3], 0x2000_0000, "r3 holds the first region");
    regs.pc = labels["read_counter"];
    ok(t.write_registers(&regs));
    assert_eq!(t.pc(), labels["read_counter"]);
    // Jumping past the stores: the load reads the initial zero.
    assert_eq!(step(&mut t), Stop::DoneStep);
    ok(t.read_registers(&mut regs));
    assert_eq!(regs.gpr[5], 0);
    // hbreak is refused on PPC64 (CIABR reports after the instruction).
    assert!(!ok(t.add_hw_breakpoint(labels["done"], 4)));
}

#[test]
fn x86_read_watch_ignores_changing_writes() {
    let (mut t, labels) = target::<X86>(Profile::Generic);
    assert!(ok(t.add_hw_watchpoint(COUNTER, 4, WatchKind::Read)));
    let read = Stop::Watch {
        kind: WatchKind::Read,
        addr: COUNTER,
    };
    // The store of 0x1234 changed the value: not a read. The load is.
    assert_eq!(cont(&mut t), read);
    assert_eq!(t.pc(), labels["rewrite_counter"]);
    // The store of the same value looks like a read: the documented consequence.
    assert_eq!(cont(&mut t), read);
    assert!(t.pc() > labels["rewrite_counter"]);
    assert_eq!(cont(&mut t), Stop::Exited);
}

/// gdb writing the watched variable while the program is stopped moves the "last observed"
/// value: the program's next store changes the value again, so an `rwatch` does not report it
/// as a read (without the refresh it compared with the value before gdb's write, saw no
/// change, and stopped).
#[test]
fn x86_read_watch_sees_the_debuggers_own_write() {
    let (mut t, labels) = target::<X86>(Profile::Generic);
    assert!(ok(t.add_hw_watchpoint(COUNTER, 4, WatchKind::Read)));
    let read = Stop::Watch {
        kind: WatchKind::Read,
        addr: COUNTER,
    };
    assert_eq!(cont(&mut t), read);
    assert_eq!(t.pc(), labels["rewrite_counter"]);
    ok(t.write_addrs(COUNTER, &0x9999_u32.to_le_bytes()));
    assert_eq!(counter(&t), 0x9999);
    // `rewrite_counter` stores 0x1234 over gdb's 0x9999: a changing write, not a read.
    assert_eq!(cont(&mut t), Stop::Exited);
    assert_eq!(counter(&t), 0x1234);
}

#[test]
fn x86_fifth_watch_is_refused_and_removal_frees_a_slot() {
    let (mut t, _) = target::<X86>(Profile::Generic);
    for addr in [0x2000_0000, 0x2000_0010, 0x2000_0020, 0x2000_0040] {
        assert!(ok(t.add_hw_watchpoint(addr, 8, WatchKind::Write)));
    }
    assert!(!ok(t.add_hw_watchpoint(0x2000_0058, 1, WatchKind::Write)));
    assert!(!ok(t.remove_hw_watchpoint(
        0x2000_0058,
        1,
        WatchKind::Write
    )));
    assert!(ok(t.remove_hw_watchpoint(0x2000_0040, 8, WatchKind::Write)));
    assert!(ok(t.add_hw_watchpoint(0x2000_0058, 1, WatchKind::Write)));
    // The 32-byte buffer would need four slots: refused while all four are taken.
    assert!(!ok(t.add_hw_watchpoint(
        0x2000_0040,
        32,
        WatchKind::ReadWrite
    )));
}

#[test]
fn software_breakpoints_and_faults() {
    let (mut t, labels) = target::<X86>(Profile::Generic);
    assert!(ok(t.add_sw_breakpoint(labels["set_total"], 1)));
    assert_eq!(cont(&mut t), Stop::SwBreak);
    assert_eq!(t.pc(), labels["set_total"]);
    assert!(ok(t.remove_sw_breakpoint(labels["set_total"], 1)));
    // A PC in unmapped memory faults: SIGSEGV, and passing it on ends the task.
    let mut regs = gdbstub_arch::x86::reg::X86_64CoreRegs::default();
    ok(t.read_registers(&mut regs));
    regs.rip = 0x10;
    ok(t.write_registers(&regs));
    assert_eq!(cont(&mut t), Stop::Signal(Signal::SIGSEGV));
    assert!(SingleThreadResume::resume(&mut t, Some(Signal::SIGINT)).is_err());
    SingleThreadResume::resume(&mut t, Some(Signal::SIGSEGV)).unwrap();
    assert_eq!(
        t.run(|| false),
        RunEvent::Stopped(Stop::Terminated(Signal::SIGSEGV))
    );
}

#[test]
fn memory_reads_stop_at_the_first_unmapped_byte() {
    let (mut t, _) = target::<X86>(Profile::Generic);
    let mut buf = [0xAA; 8];
    // The data page ends at 0x2000_1000.
    assert_eq!(ok(t.read_addrs(0x2000_0ffc, &mut buf)), 4);
    assert!(t.read_addrs(0x10, &mut buf).is_err());
    ok(t.write_addrs(COUNTER, &[1, 2, 3, 4]));
    assert_eq!(counter(&t), 0x0403_0201);
}

/// A `rep stosb` of 8 KiB: one machine step per byte, long enough to poll for gdb.
const LONG_FILL: &str = r#"
version = 1
name = "long fill"
teaches = "polling"
arch = "x86"
[[memory]]
addr = 0x2000_0000
size = 0x2000
[[program]]
op = "rep_stosb"
dst = 0x2000_0000
count = 0x2000
value = 0xee
"#;

#[test]
fn gdbs_interrupt_stops_a_long_continue() {
    let source = parse("long-fill.toml", LONG_FILL).unwrap();
    let (mut t, _) = prepare::<X86>(&source, Profile::Generic, Box::new(std::io::sink())).unwrap();
    SingleThreadResume::resume(&mut t, None).unwrap();
    // gdb sent a byte (Ctrl-C) while the fill ran: the loop hands it over mid-way.
    assert_eq!(t.run(|| true), RunEvent::IncomingData);
    let filled = t.machine.memory().read_uint(0x2000_1000, 1).unwrap();
    assert_eq!(filled, 0, "stopped before the fill's second half");
    assert_eq!(t.interrupted(), Stop::Signal(Signal::SIGINT));
    assert_eq!(cont(&mut t), Stop::Exited);
    assert_eq!(t.machine.memory().read_uint(0x2000_1fff, 1).unwrap(), 0xee);
}

#[test]
fn ppc64_stray_match_in_the_doubleword_does_not_stop_and_power9_has_no_slot() {
    // The DAWR matches whole doublewords: the store to the byte before the watched one is a
    // stray, which the HAL steps over without a stop.
    let (mut t, _) = target::<Ppc64>(Profile::Power10);
    assert!(ok(t.add_hw_watchpoint(0x2000_0001, 1, WatchKind::Write)));
    assert_eq!(cont(&mut t), Stop::Exited);
    assert_eq!(t.machine.memory().read_uint(0x2000_0000, 1).unwrap(), 1);
    // POWER9 as Linux runs it has no usable DAWR: every watch is refused.
    let (mut t, _) = target::<Ppc64>(Profile::Power9);
    assert!(!ok(t.add_hw_watchpoint(COUNTER, 4, WatchKind::Write)));
}
