//! Table tests of the x86 virtual debug-register file: each case is a rule of the module
//! documentation (Linux's behaviour), checked on a dispatcher for a generic x86-64.

use hwbkpt_hal::{
    AccessKind, CpuId, DecodeError, DecodedAccess, Dispatcher, EmulateError, ExecutionMode,
    InstructionDecode, InstructionEmulate, MemoryRead, MemoryReadError, Origin, PrivilegeFilter,
    RegisterAccess, Request, Scope, SlotId, TaskId, TrapFrame,
    ptrace::{Errno, TRAP_TRACE},
};

use super::*;
use crate::{BreakpointLength, X86Profile, X86SlotImage};

const TASK: TaskId = TaskId(42);
const A: u64 = 0x7000_1000;

struct NoMemory;
impl MemoryRead for NoMemory {
    fn read_memory(&mut self, addr: u64, _: &mut [u8]) -> Result<(), MemoryReadError> {
        Err(MemoryReadError::Unmapped { addr })
    }
}

fn dispatcher() -> Dispatcher<X86Cpu> {
    Dispatcher::new(X86Cpu::new(X86Profile::GENERIC_X86_64))
}

/// DR7 enabling `slot` (L bit) with R/W and LEN fields.
fn enable(slot: u8, rw: u64, len: u64) -> u64 {
    (1 << (2 * slot)) | (rw | len << 2) << (16 + 4 * slot)
}

/// Disabled fields for `slot`.
fn fields(slot: u8, rw: u64, len: u64) -> u64 {
    (rw | len << 2) << (16 + 4 * slot)
}

const W: u64 = 0b01;
const RW: u64 = 0b11;
const IO: u64 = 0b10;
const X: u64 = 0b00;
/// LEN field values.
const L1: u64 = 0b00;
const L4: u64 = 0b11;
const L8: u64 = 0b10;

struct File {
    file: X86PtraceFile,
    d: Dispatcher<X86Cpu>,
}

impl File {
    fn new() -> Self {
        Self {
            file: X86PtraceFile::new(TASK),
            d: dispatcher(),
        }
    }
    fn poke(&mut self, n: u8, v: u64) -> Result<(), Errno> {
        self.file.poke(n, v, &mut self.d, &mut NoMemory)
    }
    fn regs(&self) -> [u64; 8] {
        self.file.readback()
    }
}

#[test]
fn a_new_task_reads_linux_initial_values() {
    let f = File::new();
    assert_eq!(f.regs(), [0, 0, 0, 0, 0, 0, 0xFFFF_0FF0, 0]);
    assert_eq!(f.file.peek(8), Err(Errno::EIO));
}

#[test]
fn dr4_dr5_and_beyond_refuse_writes_with_eio() {
    let mut f = File::new();
    for n in [4, 5, 8, 200] {
        assert_eq!(f.poke(n, 0), Err(Errno::EIO), "DR{n}");
    }
    assert_eq!(f.regs(), File::new().regs());
}

#[test]
fn dr6_reads_back_whatever_was_written() {
    let mut f = File::new();
    for v in [0, u64::MAX, 0xFFFF_0FF0, 0x1234_5678_9abc_def0] {
        f.poke(6, v).unwrap();
        assert_eq!(f.file.peek(6), Ok(v));
    }
}

#[test]
fn dr7_reads_back_verbatim_including_ignored_bits() {
    let mut f = File::new();
    // GD, LE/GE, reserved bits 10-15 and 32-63, and a disabled slot with I/O fields and
    // no breakpoint (never checked).
    let v = 0xdead_beef_0000_0000 | 1 << 13 | 0x300 | 0x400 | fields(2, IO, L8);
    f.poke(7, v).unwrap();
    assert_eq!(f.file.peek(7), Ok(v));
    assert!(f.file.breakpoint(2).is_none());
}

#[test]
fn address_then_enable_registers_one_hal_request() {
    let mut f = File::new();
    f.poke(1, A).unwrap();
    let placeholder = f.file.breakpoint(1).unwrap();
    assert_eq!(placeholder.kind, SlotKind::Write(BreakpointLength::One));
    assert!(!placeholder.enabled);
    assert!(f.file.request_id(1).is_none());
    // The placeholder holds its slot already: a disabled one-byte write request.
    let held = f.file.held_request(1).unwrap();
    assert!(!f.d.is_enabled(held));
    assert_eq!(f.d.request(held).unwrap().range().len(), 1);
    f.poke(7, enable(1, RW, L8)).unwrap();
    let id = f.file.request_id(1).unwrap();
    assert_eq!(id, held, "enabling keeps the reservation");
    assert!(f.d.is_enabled(id));
    let r = f.d.request(id).copied().unwrap();
    assert_eq!((r.range().start(), r.range().len()), (A, 8));
    assert_eq!(r.access(), AccessKind::READ_WRITE);
    assert_eq!(r.scope(), Scope::Task(TASK));
    assert_eq!(r.origin(), Origin::User);
    assert_eq!(r.privilege(), PrivilegeFilter::USER);
    assert_eq!(f.file.slot_of(id), Some(DebugSlot::Dr1));
    // Disabling keeps the request and its slot, disabled (Linux keeps the event).
    f.poke(7, fields(1, RW, L8)).unwrap();
    assert!(f.file.request_id(1).is_none());
    assert_eq!(f.file.held_request(1), Some(id));
    assert_eq!(f.d.request(id).copied(), Some(r));
    assert!(!f.d.is_enabled(id));
    assert_eq!(f.file.peek(1), Ok(A));
}

#[test]
fn enable_first_then_address_moves_the_armed_request() {
    let mut f = File::new();
    f.poke(7, enable(0, W, L4)).unwrap();
    assert_eq!(f.file.peek(0), Ok(0));
    let before = f.d.request(f.file.request_id(0).unwrap()).copied().unwrap();
    assert_eq!(before.range().start(), 0);
    f.poke(0, A + 4).unwrap();
    let after = f.d.request(f.file.request_id(0).unwrap()).copied().unwrap();
    assert_eq!((after.range().start(), after.range().len()), (A + 4, 4));
}

#[test]
fn user_address_limits() {
    let mut f = File::new();
    // One byte: the last user byte is fine, the limit is not.
    f.poke(0, 0x7FFF_FFFF_EFFF).unwrap();
    for bad in [
        0x7FFF_FFFF_F000,
        0x8000_0000_0000_0000,
        0xffff_8000_0000_0000,
        0xffff_ffff_ff60_0000, // vsyscall
        u64::MAX,
    ] {
        assert_eq!(f.poke(1, bad), Err(Errno::EINVAL), "{bad:#x}");
        assert_eq!(f.file.peek(1), Ok(0));
        assert!(f.file.breakpoint(1).is_none());
    }
    // Eight bytes ending on the last user byte, enabled.
    f.poke(0, 0x7FFF_FFFF_EFF8).unwrap();
    f.poke(7, enable(0, W, L8)).unwrap();
    assert_eq!(f.poke(0, 0x7FFF_FFFF_F000), Err(Errno::EINVAL));
    assert_eq!(f.file.peek(0), Ok(0x7FFF_FFFF_EFF8));
}

#[test]
fn a_disabled_slot_is_still_checked_against_its_fields() {
    let mut f = File::new();
    f.poke(2, A).unwrap();
    f.poke(7, fields(2, W, L8)).unwrap(); // disabled, 8 bytes
    assert_eq!(f.poke(2, A + 4), Err(Errno::EINVAL));
    assert_eq!(f.file.peek(2), Ok(A));
    f.poke(2, A + 8).unwrap();
    // Fields the kernel cannot take fail in a disabled slot that exists.
    assert_eq!(f.poke(7, fields(2, IO, L1)), Err(Errno::EINVAL));
    assert_eq!(f.poke(7, fields(2, X, L4)), Err(Errno::EINVAL));
    assert_eq!(f.file.peek(7), Ok(fields(2, W, L8)));
}

#[test]
fn dr7_checks_each_slots_address_against_the_new_fields() {
    let mut f = File::new();
    f.poke(3, A + 2).unwrap();
    assert_eq!(f.poke(7, enable(3, W, L4)), Err(Errno::EINVAL));
    assert_eq!(f.file.peek(7), Ok(0));
    assert!(f.file.request_id(3).is_none());
    f.poke(7, enable(3, W, 0b01)).unwrap(); // 2 bytes: aligned
    assert!(f.file.request_id(3).is_some());
}

#[test]
fn a_refused_dr7_write_leaves_disabled_slots_as_execute_breakpoints() {
    let mut f = File::new();
    f.poke(0, A).unwrap();
    f.poke(7, fields(0, W, L8)).unwrap();
    assert_eq!(f.poke(0, A + 1), Err(Errno::EINVAL));
    // Slot 1 is enabled with I/O fields: the write fails, slot 0 goes through the
    // kernel's restore pass.
    assert_eq!(
        f.poke(7, fields(0, W, L8) | enable(1, IO, L1)),
        Err(Errno::EINVAL)
    );
    assert_eq!(f.file.peek(7), Ok(fields(0, W, L8)));
    assert_eq!(f.file.breakpoint(0).unwrap().kind, SlotKind::Execute);
    // So now any alignment is accepted.
    f.poke(0, A + 1).unwrap();
}

#[test]
fn a_refused_dr7_write_keeps_slots_it_created_and_restores_armed_ones() {
    let mut f = File::new();
    f.poke(1, A).unwrap();
    f.poke(7, enable(1, RW, L4)).unwrap();
    let armed = f.d.request(f.file.request_id(1).unwrap()).copied().unwrap();
    // Slot 0 (no breakpoint) is enabled first, slot 1 changed, slot 2 has an I/O field.
    let bad = enable(0, W, L1) | enable(1, W, L8) | enable(2, IO, L1);
    assert_eq!(f.poke(7, bad), Err(Errno::EINVAL));
    assert_eq!(f.file.peek(7), Ok(enable(1, RW, L4)));
    // Slot 0 exists now (address 0, disabled execute); slot 1 is armed as before.
    let created = f.file.breakpoint(0).unwrap();
    assert_eq!(
        (created.address, created.kind, created.enabled),
        (0, SlotKind::Execute, false)
    );
    assert!(f.file.request_id(0).is_none());
    let created = f.file.held_request(0).unwrap();
    assert!(!f.d.is_enabled(created));
    assert_eq!(f.d.request(created).unwrap().access(), AccessKind::EXECUTE);
    let again = f.d.request(f.file.request_id(1).unwrap()).copied().unwrap();
    assert_eq!(again, armed);
    assert!(f.file.breakpoint(2).is_none());
}

/// Three pinned CPU-bound kernel consumers (kgdb-style) on every CPU: one slot is left.
fn with_three_kernel_consumers() -> File {
    let mut f = File::new();
    for i in 0..3 {
        let r = Request::builder(0xffff_8000_0000_1000 + 8 * i, 8, AccessKind::WRITE)
            .scope(Scope::AllCpus)
            .origin(Origin::Kernel)
            .privilege(PrivilegeFilter::KERNEL)
            .build()
            .unwrap();
        f.d.register(r, &mut NoMemory).unwrap();
    }
    f
}

#[test]
fn enospc_comes_at_the_first_address_write() {
    let mut f = with_three_kernel_consumers();
    // The first placeholder takes the last slot, disabled.
    f.poke(0, A).unwrap();
    assert!(f.file.held_request(0).is_some());
    // The second has no room: refused at the address write, as Linux refuses it, and
    // nothing changes.
    let before = f.regs();
    assert_eq!(f.poke(1, A + 8), Err(Errno::ENOSPC));
    assert_eq!(f.regs(), before);
    assert!(f.file.breakpoint(1).is_none());
    assert!(f.file.held_request(1).is_none());
    // Linux reserves before it checks the address: invalid and out of room is ENOSPC.
    assert_eq!(f.poke(1, A + 0x10), Err(Errno::ENOSPC));
    assert_eq!(f.poke(1, 0xffff_8000_0000_0000), Err(Errno::ENOSPC));
    // A DR7 write enabling a slot with no breakpoint is refused the same way.
    assert_eq!(f.poke(7, enable(2, W, L8)), Err(Errno::ENOSPC));
    assert_eq!(f.file.peek(7), Ok(0));
    assert!(f.file.breakpoint(2).is_none());
    // Enabling the placeholder needs no new slot: it cannot run out of room.
    f.poke(7, enable(0, W, L8)).unwrap();
    let id = f.file.request_id(0).unwrap();
    assert_eq!(f.d.request(id).unwrap().range().start(), A);
    // Nor can disabling and enabling it again, or changing its type and length.
    f.poke(7, fields(0, W, L8)).unwrap();
    f.poke(7, enable(0, RW, L4)).unwrap();
    assert_eq!(f.file.request_id(0), Some(id));
    // Its address moves in place.
    f.poke(0, A + 0x40).unwrap();
    assert_eq!(f.d.request(id).unwrap().range().start(), A + 0x40);
}

#[test]
fn with_room_an_invalid_first_address_is_einval_and_reserves_nothing() {
    let mut f = File::new();
    assert_eq!(f.poke(1, 0xffff_8000_0000_0000), Err(Errno::EINVAL));
    assert!(f.file.held_request(1).is_none());
    // The probe that looked for room left none of it taken: four placeholders fit.
    for n in 0..4 {
        f.poke(n, A + 8 * u64::from(n)).unwrap();
    }
    assert!((0..4).all(|n| f.file.held_request(n).is_some()));
}

#[test]
fn a_placeholder_keeps_a_kernel_consumer_out() {
    // The other direction: four placeholders (none enabled) hold all four slots of the
    // task, so a pinned per-CPU kernel breakpoint no longer fits — as with Linux, where
    // ptrace's disabled breakpoints count against perf's.
    let mut f = File::new();
    for n in 0..4 {
        f.poke(n, A + 8 * u64::from(n)).unwrap();
    }
    let kernel = Request::builder(0xffff_8000_0000_1000, 8, AccessKind::WRITE)
        .scope(Scope::Cpu(CpuId(0)))
        .origin(Origin::Kernel)
        .privilege(PrivilegeFilter::KERNEL)
        .build()
        .unwrap();
    let refused = f.d.register(kernel, &mut NoMemory).unwrap_err();
    assert!(refused.is_out_of_slots(), "{refused:?}");
    // Exec releases them: room again.
    f.file.flush(&mut f.d);
    assert!(f.d.register(kernel, &mut NoMemory).is_ok());
}

#[test]
fn a_refused_dr7_write_keeps_the_reservations_it_made() {
    // Linux's restore pass keeps a slot the failed write created, and so its register.
    let mut f = with_three_kernel_consumers();
    // Slot 0 is created enabled (taking the last slot), slot 1 has I/O fields: refused.
    assert_eq!(
        f.poke(7, enable(0, W, L1) | enable(1, IO, L1)),
        Err(Errno::EINVAL)
    );
    let created = f.file.held_request(0).unwrap();
    assert!(!f.d.is_enabled(created));
    // So the next first address write has no room.
    assert_eq!(f.poke(1, A), Err(Errno::ENOSPC));
    // And a refused DR7 write never leaves a slot armed that it did not arm before.
    f.poke(0, A).unwrap();
    f.poke(7, enable(0, W, L1)).unwrap();
    assert_eq!(
        f.poke(7, enable(0, W, L8) | enable(1, W, L1)),
        Err(Errno::ENOSPC)
    );
    let r = f.d.request(created).copied().unwrap();
    assert_eq!((r.range().start(), r.range().len()), (A, 1));
    assert!(f.d.is_enabled(created));
}

#[test]
fn enabling_again_reads_the_last_observed_value_again() {
    struct Word(u64);
    impl MemoryRead for Word {
        fn read_memory(&mut self, _: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
            for (b, v) in buf.iter_mut().zip(self.0.to_le_bytes()) {
                *b = v;
            }
            Ok(())
        }
    }
    let mut d = dispatcher();
    let mut file = X86PtraceFile::new(TASK);
    file.poke(0, A, &mut d, &mut Word(1)).unwrap();
    file.poke(7, enable(0, W, L8), &mut d, &mut Word(1))
        .unwrap();
    file.poke(7, fields(0, W, L8), &mut d, &mut Word(1))
        .unwrap();
    // The task ran with the slot off and changed the word; enabling it again must not
    // report the old 1 as the value before the next hit.
    file.poke(7, enable(0, W, L8), &mut d, &mut Word(2))
        .unwrap();
    let mut cpu = FakeCpu::default();
    assert!(d.switch_in(TASK, CpuId(0), &mut cpu).is_ok());
    let physical = cpu.installed.iter().position(Option::is_some).unwrap();
    let status = Dr6::from_bits_retain(Dr6::RESET.bits() | 1 << physical);
    let frame = TrapFrame {
        task: TASK,
        cpu: CpuId(0),
        pc: 0x40_1234,
        mode: ExecutionMode::User,
    };
    let mut events = Vec::new();
    let mut sink = |e: &Event| events.push(*e);
    d.handle_exception(&frame, status, &mut cpu, &mut sink)
        .unwrap();
    let EventKind::Hit(hit) = events[0].kind else {
        panic!("{events:?}")
    };
    assert_eq!(hit.values.unwrap().old(), &2u64.to_le_bytes());
}

#[test]
fn every_task_has_its_own_four_slots() {
    // Linux accounts ptrace breakpoints per task: two tracees each use all four.
    let mut d = dispatcher();
    let mut files = [X86PtraceFile::new(TaskId(1)), X86PtraceFile::new(TaskId(2))];
    let all_four = (0..4).fold(0, |v, n| v | enable(n, W, L8));
    for file in &mut files {
        for n in 0..4 {
            file.poke(n, A + 8 * u64::from(n), &mut d, &mut NoMemory)
                .unwrap();
        }
        file.poke(7, all_four, &mut d, &mut NoMemory).unwrap();
    }
    // A pinned per-CPU breakpoint (a kernel user) no longer fits anywhere.
    let kernel = Request::builder(0xffff_8000_0000_1000, 8, AccessKind::WRITE)
        .scope(Scope::Cpu(CpuId(0)))
        .origin(Origin::Kernel)
        .privilege(PrivilegeFilter::KERNEL)
        .build()
        .unwrap();
    let refused = d.register(kernel, &mut NoMemory).unwrap_err();
    assert!(refused.is_out_of_slots(), "{refused:?}");
}

#[test]
fn flush_forgets_everything() {
    let mut f = File::new();
    f.poke(0, A).unwrap();
    f.poke(7, enable(0, W, L8)).unwrap();
    let id = f.file.request_id(0).unwrap();
    f.file.flush(&mut f.d);
    assert!(f.d.request(id).is_none());
    assert_eq!(f.regs(), File::new().regs());
}

/// A CPU whose registers the test reads back: which physical slot holds which image.
#[derive(Default)]
struct FakeCpu {
    installed: [Option<X86SlotImage>; 4],
}

impl RegisterAccess for FakeCpu {
    type Image = X86SlotImage;
    type Status = Dr6;
    type Error = Errno;
    fn install(&mut self, slot: SlotId, image: X86SlotImage) -> Result<(), Errno> {
        self.installed[usize::from(slot.index())] = Some(image);
        Ok(())
    }
    fn uninstall(&mut self, slot: SlotId) -> Result<(), Errno> {
        self.installed[usize::from(slot.index())] = None;
        Ok(())
    }
    fn read_status(&mut self) -> Result<Dr6, Errno> {
        Ok(Dr6::RESET)
    }
    fn reset_status(&mut self) -> Result<(), Errno> {
        Ok(())
    }
    fn set_single_step(&mut self, _: bool) -> Result<(), Errno> {
        Ok(())
    }
}
impl MemoryRead for FakeCpu {
    fn read_memory(&mut self, _: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        buf.fill(0);
        Ok(())
    }
}
impl InstructionDecode for FakeCpu {
    fn decode_access(&mut self, pc: u64) -> Result<Option<DecodedAccess>, DecodeError> {
        Err(DecodeError::Unknown { pc })
    }
}
impl InstructionEmulate for FakeCpu {
    fn emulate(&mut self, pc: u64) -> Result<(), EmulateError> {
        Err(EmulateError::Unsupported { pc })
    }
}

#[test]
fn a_hit_sets_the_ptrace_slots_bit_not_the_physical_ones() {
    let mut f = File::new();
    // Only ptrace slot 3 is used; the dispatcher puts it in physical slot 0.
    f.poke(3, A).unwrap();
    f.poke(7, enable(3, W, L4)).unwrap();
    let mut cpu = FakeCpu::default();
    assert!(f.d.switch_in(TASK, CpuId(0), &mut cpu).is_ok());
    let physical = cpu
        .installed
        .iter()
        .position(|i| i.is_some_and(|i| i.address() == A))
        .unwrap();
    let status = Dr6::from_bits_retain(Dr6::RESET.bits() | 1 << physical);
    let frame = TrapFrame {
        task: TASK,
        cpu: CpuId(0),
        pc: 0x40_1234,
        mode: ExecutionMode::User,
    };
    let mut events = Vec::new();
    let mut sink = |e: &Event| events.push(*e);
    f.d.handle_exception(&frame, status, &mut cpu, &mut sink)
        .unwrap();
    let stop = f.file.debug_exception(false, frame.pc, &events).unwrap();
    assert_eq!(
        stop,
        SignalRecord {
            signo: 5,
            code: 4,
            addr: 0x40_1234
        }
    );
    assert_eq!(f.file.peek(6), Ok(0xFFFF_0FF8));
    // A single step in the same exception: TRAP_TRACE, both bits.
    let stop = f.file.debug_exception(true, frame.pc, &events).unwrap();
    assert_eq!(stop.code, TRAP_TRACE);
    assert_eq!(f.file.peek(6), Ok(0xFFFF_4FF8));
    // An exception with nothing for ptrace: no stop, DR6 quiet.
    assert_eq!(f.file.debug_exception(false, 0, []), None);
    assert_eq!(f.file.peek(6), Ok(0xFFFF_0FF0));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn write() -> impl Strategy<Value = (u8, u64)> {
        prop_oneof![
            (
                0u8..4,
                prop_oneof![0u64..0x100, any::<u64>(), Just(A), Just(A + 3)]
            ),
            (Just(7u8), any::<u64>()),
            (
                Just(7u8),
                any::<u32>().prop_map(|v| u64::from(v) & 0xFFFF_00FF)
            ),
            (Just(6u8), any::<u64>()),
            (any::<u8>(), any::<u64>()),
        ]
    }

    proptest! {
        /// Any write sequence: no panic; a refused write changes no register a tracer can
        /// read; exactly the enabled slots have a HAL request, and the dispatcher holds
        /// exactly the request the slot stands for.
        #[test]
        fn refusals_change_nothing_readable(writes in prop::collection::vec(write(), 1..24)) {
            let mut f = File::new();
            for (n, v) in writes {
                let before = f.regs();
                match f.poke(n, v) {
                    Ok(()) => {}
                    Err(e) => {
                        prop_assert!(matches!(e, Errno::EINVAL | Errno::EIO), "{:?}", e);
                        prop_assert_eq!(f.regs(), before);
                    }
                }
                for slot in 0..4u8 {
                    let bp = f.file.breakpoint(slot);
                    let id = f.file.request_id(slot);
                    let held = f.file.held_request(slot);
                    prop_assert_eq!(bp.is_some_and(|b| b.enabled), id.is_some());
                    prop_assert_eq!(bp.is_some(), held.is_some());
                    if let (Some(bp), Some(held)) = (bp, held) {
                        let request = f.d.request(held).copied();
                        prop_assert_eq!(request, Some(bp.request(TASK).unwrap()));
                        prop_assert_eq!(f.d.is_enabled(held), bp.enabled);
                    }
                }
                // Nothing else is registered: the file leaks no reservation.
                let registered = (0..4u8).filter(|&n| f.file.held_request(n).is_some()).count();
                prop_assert_eq!(f.d.reservations().len(), registered);
            }
        }
    }
}
