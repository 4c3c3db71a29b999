//! Layouts and request translation: run on every host, big-endian ppc64 under qemu-user
//! included (the requests themselves need a real POWER machine).

use hwbkpt_hal::{AccessKind, AddressRange, DebugArchitecture, PrivilegeFilter, Request};
use proptest::prelude::*;

use super::*;
use crate::{DataWatch, InstructionBreak, PowerCpu, PowerProfile, PowerProgram, Translation};

fn only_program(cpu: PowerCpu, addr: u64, len: u64, access: AccessKind) -> PowerProgram {
    let plan = cpu
        .prepare(&Request::builder(addr, len, access).build().unwrap())
        .unwrap();
    assert_eq!(plan.len(), 1);
    *plan.iter().next().unwrap()
}

/// The bytes of a value as the kernel reads them (native byte order).
fn bytes_of<T: Copy>(value: &T) -> Vec<u8> {
    let size = core::mem::size_of::<T>();
    // SAFETY: `T` is one of the `#[repr(C)]` uapi structs: plain integers, no padding
    // (asserted in `uapi`), so every byte is initialised.
    unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), size) }.to_vec()
}

#[test]
fn hw_breakpoint_bytes_follow_the_uapi_layout() {
    let bp = PpcHwBreakpoint {
        version: 1,
        trigger_type: 0x6,
        addr_mode: 1,
        condition_mode: 0,
        addr: 0x1122_3344_5566_7788,
        addr2: 0x1122_3344_5566_7798,
        condition_value: 0,
    };
    let b = bytes_of(&bp);
    assert_eq!(b.len(), 40);
    assert_eq!(b[0..4], 1u32.to_ne_bytes());
    assert_eq!(b[4..8], 6u32.to_ne_bytes());
    assert_eq!(b[8..12], 1u32.to_ne_bytes());
    assert_eq!(b[16..24], 0x1122_3344_5566_7788u64.to_ne_bytes());
    assert_eq!(b[24..32], 0x1122_3344_5566_7798u64.to_ne_bytes());
    if cfg!(target_endian = "big") {
        assert_eq!(b[16], 0x11, "big-endian: the high byte first");
    }
    let info = PpcDebugInfo {
        version: 1,
        num_instruction_bps: 0,
        num_data_bps: 2,
        num_condition_regs: 0,
        data_bp_alignment: 8,
        sizeof_condition: 0,
        features: 0x34,
    };
    let b = bytes_of(&info);
    assert_eq!(b.len(), 32);
    assert_eq!(b[8..12], 2u32.to_ne_bytes());
    assert_eq!(b[16..20], 8u32.to_ne_bytes());
    assert_eq!(b[24..32], 0x34u64.to_ne_bytes());
}

#[test]
fn request_numbers() {
    assert_eq!(
        (
            PPC_PTRACE_GETHWDBGINFO,
            PPC_PTRACE_SETHWDEBUG,
            PPC_PTRACE_DELHWDEBUG
        ),
        (0x89, 0x88, 0x87)
    );
    assert_eq!((PTRACE_GET_DEBUGREG, PTRACE_SET_DEBUGREG), (25, 26));
    assert_eq!(PPC_BREAKPOINT_TRIGGER_RW, 0x6);
}

#[test]
fn one_doubleword_is_exact_mode() {
    let cpu = PowerCpu::new(PowerProfile::Power8);
    let program = only_program(cpu, 0x1000_0012, 2, AccessKind::READ_WRITE);
    let bp = hw_breakpoint(&program).unwrap();
    assert_eq!(
        bp,
        PpcHwBreakpoint {
            version: 1,
            trigger_type: PPC_BREAKPOINT_TRIGGER_RW,
            addr_mode: PPC_BREAKPOINT_MODE_EXACT,
            condition_mode: PPC_BREAKPOINT_CONDITION_NONE,
            addr: 0x1000_0010,
            addr2: 0,
            condition_value: 0,
        }
    );
    assert_eq!(
        dabr_word(&program),
        Ok(0x1000_0010 | DABR_BT | DABR_DW | DABR_DR)
    );
}

#[test]
fn longer_ranges_are_inclusive_ranges_ending_at_addr2() {
    // perf-hwbreak's "4-byte RW watch at target+2" on a doubleword-aligned target.
    let cpu = PowerCpu::new(PowerProfile::Power10);
    let program = only_program(cpu, 0x1000_0006, 4, AccessKind::WRITE);
    let bp = hw_breakpoint(&program).unwrap();
    assert_eq!(bp.addr_mode, PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE);
    assert_eq!((bp.addr, bp.addr2), (0x1000_0000, 0x1000_0010));
    assert_eq!(bp.trigger_type, PPC_BREAKPOINT_TRIGGER_WRITE);
    assert_eq!(
        dabr_word(&program),
        Err(TranslateError::NotOneDoubleword { len: 16 })
    );
    // Reads only: PPC64 can watch them.
    let read = only_program(cpu, 0x1000_0100, 512, AccessKind::READ);
    let bp = hw_breakpoint(&read).unwrap();
    assert_eq!(bp.trigger_type, PPC_BREAKPOINT_TRIGGER_READ);
    assert_eq!(bp.addr2 - bp.addr, 512);
}

#[test]
fn what_linux_ptrace_cannot_carry() {
    let exec = PowerProgram::Instruction(
        InstructionBreak::new(0x1000_0000, PrivilegeFilter::USER).unwrap(),
    );
    assert_eq!(
        hw_breakpoint(&exec),
        Err(TranslateError::InstructionBreakpoint)
    );
    let range = AddressRange::new(0x2000, 8).unwrap();
    let real_mode = PowerProgram::Data(
        DataWatch::new(
            range,
            AccessKind::WRITE,
            PrivilegeFilter::KERNEL,
            Translation::Off,
        )
        .unwrap(),
    );
    assert_eq!(
        hw_breakpoint(&real_mode),
        Err(TranslateError::Translation(Translation::Off))
    );
    assert_eq!(
        TranslateError::InstructionBreakpoint.to_string(),
        "Linux ptrace on Book3S PowerPC has no instruction breakpoints"
    );
}

#[test]
fn profiles_from_the_kernels_answer() {
    let mut info = PpcDebugInfo {
        version: 1,
        num_data_bps: 1,
        data_bp_alignment: 8,
        features: PPC_DEBUG_FEATURE_DATA_BP_RANGE | PPC_DEBUG_FEATURE_DATA_BP_DAWR,
        ..PpcDebugInfo::default()
    };
    assert_eq!(info.profile(), Some(PowerProfile::Power8));
    info.features |= PPC_DEBUG_FEATURE_DATA_BP_ARCH_31;
    info.num_data_bps = 2;
    assert_eq!(info.profile(), Some(PowerProfile::Power10));
    info.features = PPC_DEBUG_FEATURE_DATA_BP_RANGE;
    info.num_data_bps = 1;
    assert_eq!(info.profile(), Some(PowerProfile::Power7));
    // POWER9 with its DAWR disabled: no data breakpoint at all.
    info.num_data_bps = 0;
    assert_eq!(info.profile(), None);
}

proptest! {
    /// Every plan of every profile translates into a request the kernel's rules accept:
    /// doubleword-aligned, the program's exact range, at most 512 bytes (8 on DABR), no
    /// 512-byte crossing before POWER10, the program's access as trigger.
    #[test]
    fn translation_keeps_the_program(
        profile in prop_oneof![Just(PowerProfile::Power7), Just(PowerProfile::Power8), Just(PowerProfile::Power10)],
        addr in 0x1000_0000u64..0x1000_1000,
        len in 1u64..600,
        access in prop_oneof![Just(AccessKind::READ), Just(AccessKind::WRITE), Just(AccessKind::READ_WRITE)],
    ) {
        let cpu = PowerCpu::new(profile);
        let Ok(request) = Request::builder(addr, len, access).build() else { return Ok(()) };
        let Ok(plan) = cpu.prepare(&request) else { return Ok(()) };
        for program in plan.iter() {
            let bp = hw_breakpoint(program).unwrap();
            let PowerProgram::Data(watch) = program else { unreachable!() };
            let (start, plen) = (watch.range().start(), watch.range().len());
            prop_assert_eq!(bp.addr, start);
            prop_assert_eq!(bp.addr % 8, 0);
            let len = if bp.addr_mode == PPC_BREAKPOINT_MODE_EXACT { 8 } else { bp.addr2 - bp.addr };
            prop_assert_eq!(len, plen);
            let max = if profile == PowerProfile::Power7 { 8 } else { 512 };
            prop_assert!(len <= max);
            if profile != PowerProfile::Power10 {
                prop_assert_eq!(start / 512, (start + len - 1) / 512);
            }
            let mut trigger = 0;
            if access.contains(AccessKind::READ) { trigger |= PPC_BREAKPOINT_TRIGGER_READ; }
            if access.contains(AccessKind::WRITE) { trigger |= PPC_BREAKPOINT_TRIGGER_WRITE; }
            prop_assert_eq!(bp.trigger_type, trigger);
        }
    }
}
