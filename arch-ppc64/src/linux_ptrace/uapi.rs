//! The kernel's ptrace ABI for PowerPC hardware breakpoints, laid out exactly as
//! `arch/powerpc/include/uapi/asm/ptrace.h` defines it (checked at compile time below).

/// `PPC_PTRACE_GETHWDBGINFO`: fill a [`PpcDebugInfo`] (`data` points to it).
pub const PPC_PTRACE_GETHWDBGINFO: u32 = 0x89;
/// `PPC_PTRACE_SETHWDEBUG`: install a [`PpcHwBreakpoint`] (`data` points to it); returns a
/// handle ≥ 1.
pub const PPC_PTRACE_SETHWDEBUG: u32 = 0x88;
/// `PPC_PTRACE_DELHWDEBUG`: remove the breakpoint whose handle is `data`.
pub const PPC_PTRACE_DELHWDEBUG: u32 = 0x87;
/// `PTRACE_GET_DEBUGREG`: the old one-DABR interface; `addr` 0, the DABR-style value is
/// stored at `data`.
pub const PTRACE_GET_DEBUGREG: u32 = 25;
/// `PTRACE_SET_DEBUGREG`: `addr` 0, `data` = address | BT (4, required) | DW (2) | DR (1);
/// 0 clears it.
pub const PTRACE_SET_DEBUGREG: u32 = 26;

/// The only version of both structures (`PPC_DEBUG_CURRENT_VERSION`).
pub const PPC_DEBUG_CURRENT_VERSION: u32 = 1;

/// `PPC_DEBUG_FEATURE_INSN_BP_RANGE`.
pub const PPC_DEBUG_FEATURE_INSN_BP_RANGE: u64 = 0x01;
/// `PPC_DEBUG_FEATURE_INSN_BP_MASK`.
pub const PPC_DEBUG_FEATURE_INSN_BP_MASK: u64 = 0x02;
/// `PPC_DEBUG_FEATURE_DATA_BP_RANGE`: ranged data breakpoints (`RANGE_INCLUSIVE`).
pub const PPC_DEBUG_FEATURE_DATA_BP_RANGE: u64 = 0x04;
/// `PPC_DEBUG_FEATURE_DATA_BP_MASK`.
pub const PPC_DEBUG_FEATURE_DATA_BP_MASK: u64 = 0x08;
/// `PPC_DEBUG_FEATURE_DATA_BP_DAWR`: the data slots are DAWRs (up to 512 bytes).
pub const PPC_DEBUG_FEATURE_DATA_BP_DAWR: u64 = 0x10;
/// `PPC_DEBUG_FEATURE_DATA_BP_ARCH_31`: ISA 3.1 (POWER10): DAWR ranges may cross 512 bytes.
pub const PPC_DEBUG_FEATURE_DATA_BP_ARCH_31: u64 = 0x20;

/// `PPC_BREAKPOINT_TRIGGER_EXECUTE`.
pub const PPC_BREAKPOINT_TRIGGER_EXECUTE: u32 = 0x1;
/// `PPC_BREAKPOINT_TRIGGER_READ`.
pub const PPC_BREAKPOINT_TRIGGER_READ: u32 = 0x2;
/// `PPC_BREAKPOINT_TRIGGER_WRITE`.
pub const PPC_BREAKPOINT_TRIGGER_WRITE: u32 = 0x4;
/// `PPC_BREAKPOINT_TRIGGER_RW`.
pub const PPC_BREAKPOINT_TRIGGER_RW: u32 =
    PPC_BREAKPOINT_TRIGGER_READ | PPC_BREAKPOINT_TRIGGER_WRITE;

/// `PPC_BREAKPOINT_MODE_EXACT`: one address (the kernel watches its doubleword).
pub const PPC_BREAKPOINT_MODE_EXACT: u32 = 0x0;
/// `PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE`: `[addr, addr2)` — despite the name the kernel takes
/// the length as `addr2 - addr` (Linux `ppc_set_hwdebug`; the selftests pass
/// `addr2 = addr + len`).
pub const PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE: u32 = 0x1;
/// `PPC_BREAKPOINT_MODE_RANGE_EXCLUSIVE` (BookE only).
pub const PPC_BREAKPOINT_MODE_RANGE_EXCLUSIVE: u32 = 0x2;
/// `PPC_BREAKPOINT_MODE_MASK` (BookE only).
pub const PPC_BREAKPOINT_MODE_MASK: u32 = 0x3;

/// `PPC_BREAKPOINT_CONDITION_NONE`: the only condition mode Book3S accepts.
pub const PPC_BREAKPOINT_CONDITION_NONE: u32 = 0x0;

/// `struct ppc_debug_info`: what `PPC_PTRACE_GETHWDBGINFO` reports.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PpcDebugInfo {
    /// Structure version (1).
    pub version: u32,
    /// Instruction breakpoints ptrace offers (0 on Book3S: CIABR is not exposed).
    pub num_instruction_bps: u32,
    /// Data breakpoints (POWER8/9: 1, POWER10: 2, POWER9 without the dangerous DAWR switch:
    /// 0 unless DABR exists).
    pub num_data_bps: u32,
    /// DVC registers (0 on Book3S).
    pub num_condition_regs: u32,
    /// Required alignment of a data breakpoint address (8 on Book3S).
    pub data_bp_alignment: u32,
    /// Size of the DVC register (0 on Book3S).
    pub sizeof_condition: u32,
    /// `PPC_DEBUG_FEATURE_*` bits.
    pub features: u64,
}

/// `struct ppc_hw_breakpoint`: one request for `PPC_PTRACE_SETHWDEBUG`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PpcHwBreakpoint {
    /// Structure version (1).
    pub version: u32,
    /// `PPC_BREAKPOINT_TRIGGER_*`.
    pub trigger_type: u32,
    /// `PPC_BREAKPOINT_MODE_*`.
    pub addr_mode: u32,
    /// `PPC_BREAKPOINT_CONDITION_*`.
    pub condition_mode: u32,
    /// Break/watch address.
    pub addr: u64,
    /// Range end (exclusive, see [`PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE`]) or mask.
    pub addr2: u64,
    /// Contents of the DVC register.
    pub condition_value: u64,
}

// The uapi layout: natural alignment, no padding.
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<PpcDebugInfo>() == 32);
    assert!(align_of::<PpcDebugInfo>() == 8);
    assert!(offset_of!(PpcDebugInfo, version) == 0);
    assert!(offset_of!(PpcDebugInfo, num_instruction_bps) == 4);
    assert!(offset_of!(PpcDebugInfo, num_data_bps) == 8);
    assert!(offset_of!(PpcDebugInfo, num_condition_regs) == 12);
    assert!(offset_of!(PpcDebugInfo, data_bp_alignment) == 16);
    assert!(offset_of!(PpcDebugInfo, sizeof_condition) == 20);
    assert!(offset_of!(PpcDebugInfo, features) == 24);

    assert!(size_of::<PpcHwBreakpoint>() == 40);
    assert!(align_of::<PpcHwBreakpoint>() == 8);
    assert!(offset_of!(PpcHwBreakpoint, version) == 0);
    assert!(offset_of!(PpcHwBreakpoint, trigger_type) == 4);
    assert!(offset_of!(PpcHwBreakpoint, addr_mode) == 8);
    assert!(offset_of!(PpcHwBreakpoint, condition_mode) == 12);
    assert!(offset_of!(PpcHwBreakpoint, addr) == 16);
    assert!(offset_of!(PpcHwBreakpoint, addr2) == 24);
    assert!(offset_of!(PpcHwBreakpoint, condition_value) == 32);
};
