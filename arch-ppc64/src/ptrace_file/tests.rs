//! Table tests: Linux's documented answers (`arch/powerpc/kernel/ptrace/ptrace-noadv.c`,
//! `arch/powerpc/kernel/hw_breakpoint.c`) for each request, on each CPU profile. Pure logic:
//! they run on every host, big-endian ppc64 under qemu-user included.

use hwbkpt_hal::{
    AccessKind, DebugArchitecture, Dispatcher, MemoryRead, MemoryReadError, Origin,
    PrivilegeFilter, Request, TaskId, ptrace::Errno,
};

use super::*;
use crate::linux_ptrace::{PPC_BREAKPOINT_MODE_MASK, PPC_BREAKPOINT_MODE_RANGE_EXCLUSIVE};

const TASK: TaskId = TaskId(3);
const A: u64 = 0x1000_0000;
const LIMIT: u64 = crate::BOOK3S64_USER_LIMIT;

struct NoMemory;
impl MemoryRead for NoMemory {
    fn read_memory(&mut self, addr: u64, _: &mut [u8]) -> Result<(), MemoryReadError> {
        Err(MemoryReadError::Unmapped { addr })
    }
}

fn cpus() -> [PowerCpu; 5] {
    [
        PowerCpu::new(PowerProfile::Power7),
        PowerCpu::new(PowerProfile::Power8),
        PowerCpu::new(PowerProfile::Power9),
        PowerCpu::new(PowerProfile::Power9).with_dangerous_dawr(true),
        PowerCpu::new(PowerProfile::Power10),
    ]
}

fn exact(addr: u64, trigger: u32) -> PpcHwBreakpoint {
    PpcHwBreakpoint {
        version: 1,
        trigger_type: trigger,
        addr_mode: PPC_BREAKPOINT_MODE_EXACT,
        condition_mode: PPC_BREAKPOINT_CONDITION_NONE,
        addr,
        addr2: 0,
        condition_value: 0,
    }
}

fn range(addr: u64, addr2: u64) -> PpcHwBreakpoint {
    PpcHwBreakpoint {
        addr_mode: PPC_BREAKPOINT_MODE_RANGE_INCLUSIVE,
        addr2,
        ..exact(addr, PPC_BREAKPOINT_TRIGGER_WRITE)
    }
}

#[test]
fn gethwdbginfo_per_profile() {
    const RANGE: u64 = PPC_DEBUG_FEATURE_DATA_BP_RANGE;
    const DAWR: u64 = PPC_DEBUG_FEATURE_DATA_BP_DAWR;
    const ARCH31: u64 = PPC_DEBUG_FEATURE_DATA_BP_ARCH_31;
    // cpu, num_data_bps, features
    let table = [
        (cpus()[0], 1, RANGE),                 // POWER7: one DABR
        (cpus()[1], 1, RANGE | DAWR),          // POWER8: DAWR0
        (cpus()[2], 0, RANGE),                 // POWER9: DAWR disabled (erratum)
        (cpus()[3], 1, RANGE | DAWR),          // POWER9 + dawr_enable_dangerous
        (cpus()[4], 2, RANGE | DAWR | ARCH31), // POWER10: DAWR0, DAWR1
    ];
    let file = Ppc64PtraceFile::new(TASK);
    for (cpu, data_bps, features) in table {
        let info = file.debug_info(&cpu);
        let name = cpu.profile().name();
        assert_eq!(info.version, 1, "{name}");
        assert_eq!(info.num_instruction_bps, 0, "{name}");
        assert_eq!(info.num_data_bps, data_bps, "{name}");
        assert_eq!(info.num_condition_regs, 0, "{name}");
        assert_eq!(info.data_bp_alignment, 8, "{name}");
        assert_eq!(info.sizeof_condition, 0, "{name}");
        assert_eq!(info.features, features, "{name}");
        // The existing translation agrees on which profile the answer describes.
        if data_bps > 0 {
            let seen = info.profile().unwrap();
            assert_eq!(
                seen.limits().data_slots,
                cpu.profile().limits().data_slots,
                "{name}"
            );
        }
    }
}

#[test]
fn sethwdebug_refusals_in_linux_order() {
    let base = exact(A, PPC_BREAKPOINT_TRIGGER_WRITE);
    // (what, request, errno) on POWER8.
    let table: [(&str, PpcHwBreakpoint, Errno); 12] = [
        (
            "version 0",
            PpcHwBreakpoint { version: 0, ..base },
            Errno::ENOTSUPP,
        ),
        (
            "version 2",
            PpcHwBreakpoint { version: 2, ..base },
            Errno::ENOTSUPP,
        ),
        (
            "version first, before a bad trigger",
            PpcHwBreakpoint {
                version: 7,
                trigger_type: 0,
                ..base
            },
            Errno::ENOTSUPP,
        ),
        (
            "no trigger",
            PpcHwBreakpoint {
                trigger_type: 0,
                ..base
            },
            Errno::EINVAL,
        ),
        (
            "execute",
            PpcHwBreakpoint {
                trigger_type: 0x1,
                ..base
            },
            Errno::EINVAL,
        ),
        (
            "execute with write",
            PpcHwBreakpoint {
                trigger_type: 0x5,
                ..base
            },
            Errno::EINVAL,
        ),
        (
            "a condition",
            PpcHwBreakpoint {
                condition_mode: 1,
                ..base
            },
            Errno::EINVAL,
        ),
        ("address at the user limit", exact(LIMIT, 0x4), Errno::EIO),
        (
            "kernel address",
            exact(0xc000_0000_0000_0000, 0x2),
            Errno::EIO,
        ),
        (
            "trigger before address",
            PpcHwBreakpoint {
                trigger_type: 0x1,
                ..exact(LIMIT, 0x4)
            },
            Errno::EINVAL,
        ),
        (
            "RANGE_EXCLUSIVE",
            PpcHwBreakpoint {
                addr_mode: PPC_BREAKPOINT_MODE_RANGE_EXCLUSIVE,
                ..base
            },
            Errno::EINVAL,
        ),
        (
            "MASK",
            PpcHwBreakpoint {
                addr_mode: PPC_BREAKPOINT_MODE_MASK,
                ..base
            },
            Errno::EINVAL,
        ),
    ];
    for (what, bp, errno) in table {
        let mut d = Dispatcher::<PowerCpu>::new(cpus()[1]);
        let mut file = Ppc64PtraceFile::new(TASK);
        assert_eq!(
            file.set_hwdebug(&bp, &mut d, &mut NoMemory),
            Err(errno),
            "{what}"
        );
        assert!(file.watch(0).is_none(), "{what}: nothing changed");
    }
}

#[test]
fn sethwdebug_lengths_per_profile() {
    // (cpu index, request, expected)
    let table: [(usize, PpcHwBreakpoint, Result<u32, Errno>); 14] = [
        (0, exact(A + 3, 0x6), Ok(1)), // POWER7: one byte -> its doubleword
        (0, range(A, A + 8), Ok(1)),   // one DABR doubleword
        (0, range(A + 4, A + 12), Err(Errno::EINVAL)), // two doublewords: no DABR can
        (1, range(A, A + 512), Ok(1)), // a whole DAWR
        (1, range(A, A + 513), Err(Errno::EINVAL)), // longer than 512 rounded
        (1, range(A + 0x1F8, A + 0x208), Err(Errno::EINVAL)), // crosses 512 before P10
        (4, range(A + 0x1F8, A + 0x208), Ok(1)), // POWER10 may cross
        (4, range(A + 4, A + 4 + 512), Err(Errno::EINVAL)), // 520 rounded: one DAWR cannot
        (1, range(A, A), Err(Errno::EINVAL)), // length 0
        (1, range(A + 8, A), Err(Errno::EINVAL)), // addr2 below addr (see deviations)
        (2, exact(A, 0x4), Err(Errno::ENODEV)), // POWER9, DAWR disabled
        (2, range(A, A), Err(Errno::EINVAL)), // length 0 is checked before ENODEV
        (3, range(A, A + 16), Ok(1)),  // POWER9 with the dangerous switch
        (1, range(LIMIT - 8, LIMIT + 8), Err(Errno::EINVAL)), // past the user limit (deviation)
    ];
    for (i, (cpu, bp, expected)) in table.into_iter().enumerate() {
        let mut d = Dispatcher::<PowerCpu>::new(cpus()[cpu]);
        let mut file = Ppc64PtraceFile::new(TASK);
        assert_eq!(
            file.set_hwdebug(&bp, &mut d, &mut NoMemory),
            expected,
            "row {i}"
        );
        assert_eq!(file.watch(0).is_some(), expected.is_ok(), "row {i}");
    }
}

#[test]
fn handles_fill_and_free_slot_by_slot() {
    for cpu in cpus() {
        let mut d = Dispatcher::<PowerCpu>::new(cpu);
        let mut file = Ppc64PtraceFile::new(TASK);
        let slots = cpu.profile().limits().data_slots;
        let name = cpu.profile().name();
        let bp = exact(
            A,
            PPC_BREAKPOINT_TRIGGER_READ | PPC_BREAKPOINT_TRIGGER_WRITE,
        );
        if file.debug_info(&cpu).num_data_bps == 0 {
            assert_eq!(
                file.set_hwdebug(&bp, &mut d, &mut NoMemory),
                Err(Errno::ENODEV)
            );
        } else {
            for handle in 1..=u32::from(slots) {
                assert_eq!(
                    file.set_hwdebug(&bp, &mut d, &mut NoMemory),
                    Ok(handle),
                    "{name}"
                );
            }
            assert_eq!(
                file.set_hwdebug(&bp, &mut d, &mut NoMemory),
                Err(Errno::ENOSPC),
                "{name}"
            );
            assert_eq!(file.del_hwdebug(1, &mut d), Ok(()), "{name}");
            // The lowest free slot is reused.
            assert_eq!(
                file.set_hwdebug(&bp, &mut d, &mut NoMemory),
                Ok(1),
                "{name}"
            );
        }
        // DELHWDEBUG: out of range, empty.
        assert_eq!(file.del_hwdebug(0, &mut d), Err(Errno::EINVAL), "{name}");
        assert_eq!(file.del_hwdebug(-1, &mut d), Err(Errno::EINVAL), "{name}");
        assert_eq!(
            file.del_hwdebug(i64::MIN, &mut d),
            Err(Errno::EINVAL),
            "{name}"
        );
        assert_eq!(
            file.del_hwdebug(i64::MAX, &mut d),
            Err(Errno::EINVAL),
            "{name}"
        );
        assert_eq!(
            file.del_hwdebug(i64::from(slots) + 1, &mut d),
            Err(Errno::EINVAL),
            "{name}"
        );
        file.flush(&mut d);
        assert_eq!(file.del_hwdebug(1, &mut d), Err(Errno::ENOENT), "{name}");
    }
}

#[test]
fn set_debugreg_rules() {
    let w = DABR_BT | DABR_DW;
    // (cpu, addr, data, expected)
    let table: [(usize, u64, u64, Result<(), Errno>); 10] = [
        (1, 1, A | w, Err(Errno::EINVAL)),    // addr must be 0
        (1, 0, LIMIT | w, Err(Errno::EIO)),   // at the user limit
        (1, 0, (LIMIT - 8) | w, Ok(())),      // the last user doubleword
        (1, 0, A | DABR_DW, Err(Errno::EIO)), // no translation bit
        (1, 0, DABR_DW, Err(Errno::EIO)),     // non-zero without BT, address 0
        (1, 0, 0, Ok(())),                    // clears (nothing to clear)
        (1, 0, A | DABR_BT, Ok(())),          // BT only: clears
        (0, 0, A | 5 | DABR_BT, Ok(())),      // POWER7: DABR
        (2, 0, A | w, Err(Errno::ENODEV)),    // POWER9 without the switch
        (4, 0, A | 3 | 4, Ok(())),            // POWER10, read and write
    ];
    for (i, (cpu, addr, data, expected)) in table.into_iter().enumerate() {
        let mut d = Dispatcher::<PowerCpu>::new(cpus()[cpu]);
        let mut file = Ppc64PtraceFile::new(TASK);
        assert_eq!(
            file.set_debugreg(addr, data, &mut d, &mut NoMemory),
            expected,
            "row {i}"
        );
        let watching = expected.is_ok() && data & 3 != 0;
        assert_eq!(file.watch(0).is_some(), watching, "row {i}");
        if watching {
            let watch = file.watch(0).unwrap();
            assert_eq!((watch.addr, watch.len), (data & !7, 8), "row {i}");
            let request = d.request(file.request_id(0).unwrap()).copied().unwrap();
            // Every privilege, as Linux's PPC64 ptrace; a one-shot stop before the access.
            assert_eq!(request.privilege(), PrivilegeFilter::all(), "row {i}");
            assert_eq!(request.delivery(), Delivery::Before, "row {i}");
            assert_eq!(file.get_debugreg(0), Ok(data), "row {i}");
        }
    }
}

#[test]
fn set_debugreg_shares_slot_zero_with_handle_one() {
    let mut d = Dispatcher::<PowerCpu>::new(cpus()[4]);
    let mut file = Ppc64PtraceFile::new(TASK);
    assert_eq!(
        file.set_hwdebug(&range(A, A + 64), &mut d, &mut NoMemory),
        Ok(1)
    );
    // SET_DEBUGREG modifies slot 0 in place: one doubleword now.
    file.set_debugreg(0, (A + 0x100) | DABR_BT | DABR_DR, &mut d, &mut NoMemory)
        .unwrap();
    let watch = file.watch(0).unwrap();
    assert_eq!(
        (watch.addr, watch.len, watch.access),
        (A + 0x100, 8, AccessKind::READ)
    );
    assert_eq!(
        file.set_hwdebug(&range(A, A + 8), &mut d, &mut NoMemory),
        Ok(2)
    );
    // A refused modification keeps the old watch.
    assert_eq!(
        file.set_debugreg(0, LIMIT | DABR_BT | DABR_DR, &mut d, &mut NoMemory),
        Err(Errno::EIO)
    );
    assert_eq!(file.watch(0), Some(watch));
    // Clearing with data 0 frees slot 0; GET_DEBUGREG keeps its last value (Linux).
    file.set_debugreg(0, 0, &mut d, &mut NoMemory).unwrap();
    assert!(file.watch(0).is_none());
    assert_eq!(file.get_debugreg(0), Ok((A + 0x100) | DABR_BT | DABR_DR));
    assert_eq!(file.get_debugreg(8), Err(Errno::EINVAL));
    assert_eq!(file.del_hwdebug(1, &mut d), Err(Errno::ENOENT));
    assert_eq!(file.del_hwdebug(2, &mut d), Ok(()));
}

#[test]
fn no_free_hardware_slot_is_enospc() {
    // Another (perf-style, per-CPU) user holds POWER8's only DAWR.
    let mut d = Dispatcher::<PowerCpu>::new(cpus()[1]);
    let perf = Request::builder(A + 0x1000, 8, AccessKind::WRITE)
        .origin(Origin::Kernel)
        .privilege(PrivilegeFilter::KERNEL)
        .build()
        .unwrap();
    assert!(d.arch().prepare(&perf).is_ok());
    d.register(perf, &mut NoMemory).unwrap();
    let mut file = Ppc64PtraceFile::new(TASK);
    assert_eq!(
        file.set_hwdebug(&exact(A, 0x4), &mut d, &mut NoMemory),
        Err(Errno::ENOSPC)
    );
    assert_eq!(
        file.set_debugreg(0, A | DABR_BT | DABR_DW, &mut d, &mut NoMemory),
        Err(Errno::ENOSPC)
    );
    assert!(file.watch(0).is_none());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        SetDebugreg(u64, u64),
        SetHwDebug(PpcHwBreakpoint),
        DelHwDebug(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let addr = prop_oneof![A..A + 0x400, Just(LIMIT - 8), any::<u64>()];
        let hw = (
            0u32..3,
            0u32..8,
            0u32..4,
            0u32..2,
            addr.clone(),
            0u64..0x300,
        )
            .prop_map(
                |(version, trigger_type, addr_mode, condition_mode, addr, len)| PpcHwBreakpoint {
                    version,
                    trigger_type,
                    addr_mode,
                    condition_mode,
                    addr,
                    addr2: addr.wrapping_add(len),
                    condition_value: 0,
                },
            );
        prop_oneof![
            (0u64..2, addr.prop_map(|a| a | DABR_BT | DABR_DW))
                .prop_map(|(a, d)| Op::SetDebugreg(a, d)),
            (0u64..2, any::<u64>()).prop_map(|(a, d)| Op::SetDebugreg(a, d)),
            hw.prop_map(Op::SetHwDebug),
            prop_oneof![-1i64..4, any::<i64>()].prop_map(Op::DelHwDebug),
        ]
    }

    proptest! {
        /// Any request sequence on any profile: no panic, a refused request leaves every
        /// slot as it was, and each occupied slot holds its own HAL request.
        #[test]
        fn refusals_change_nothing(cpu in 0usize..5, ops in prop::collection::vec(op(), 1..16)) {
            let mut d = Dispatcher::<PowerCpu>::new(cpus()[cpu]);
            let mut file = Ppc64PtraceFile::new(TASK);
            for op in ops {
                let before: Vec<_> = (0..MAX_PTRACE_SLOTS).map(|i| file.watch(i)).collect();
                let refused = match op {
                    Op::SetDebugreg(a, data) => file.set_debugreg(a, data, &mut d, &mut NoMemory).is_err(),
                    Op::SetHwDebug(bp) => file.set_hwdebug(&bp, &mut d, &mut NoMemory).is_err(),
                    Op::DelHwDebug(h) => file.del_hwdebug(h, &mut d).is_err(),
                };
                let after: Vec<_> = (0..MAX_PTRACE_SLOTS).map(|i| file.watch(i)).collect();
                if refused {
                    prop_assert_eq!(&before, &after);
                }
                for i in 0..MAX_PTRACE_SLOTS {
                    let id = file.request_id(i);
                    prop_assert_eq!(id.is_some(), file.watch(i).is_some());
                    if let Some(id) = id {
                        prop_assert!(d.request(id).is_some());
                        prop_assert_eq!(file.slot_of(id), Some(i));
                    }
                }
            }
        }
    }
}
