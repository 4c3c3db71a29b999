//! Table tests against the independently computed vectors in the repository's `vectors/`
//! (see its README for their sources: Linux's `encode_dr7`, the kernel selftest
//! `breakpoints/breakpoint_test.c`, and the SDM's breakpoint-field-recognition example).

use hwbkpt_hal::{AccessKind, DebugArchitecture, Origin, Plan, Request, SlotProgram};

use crate::{DebugSlot, Dr7, EnableMode, X86Cpu, X86Profile, X86Program, X86SlotImage};

const LINUX: &str = include_str!("../../vectors/x86-dr7-linux.csv");
const SELFTEST: &str = include_str!("../../vectors/x86-dr7-selftest.csv");
const SDM_EXAMPLE: &str = include_str!("../../vectors/x86-sdm-example.csv");

/// Data rows of a CSV file (header skipped), split on commas.
fn rows(csv: &str) -> impl Iterator<Item = Vec<&str>> {
    csv.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split(',').map(str::trim).collect())
}

fn hex(field: &str) -> u64 {
    u64::from_str_radix(field.trim_start_matches("0x"), 16).unwrap()
}

fn access(field: &str) -> AccessKind {
    match field {
        "x" => AccessKind::EXECUTE,
        "w" => AccessKind::WRITE,
        "r" => AccessKind::READ,
        "rw" => AccessKind::READ_WRITE,
        other => panic!("unknown access {other}"),
    }
}

fn enable(field: &str) -> EnableMode {
    match field {
        "local" => EnableMode::Local,
        "global" => EnableMode::Global,
        "both" => EnableMode::Both,
        other => panic!("unknown enable {other}"),
    }
}

/// Plan a request that fits one slot and return that slot's program.
fn single_program(cpu: &X86Cpu, addr: u64, len: u64, access: AccessKind) -> X86Program {
    let request = Request::builder(addr, len, access)
        .origin(Origin::Kernel)
        .build()
        .unwrap();
    let plan: Plan<X86Program> = cpu.prepare(&request).unwrap();
    assert_eq!(plan.len(), 1, "{addr:#x}+{len} {access}");
    *plan.iter().next().unwrap()
}

/// The image of one vector row, built the way a user would: request → plan → encode.
fn encode_row(slot: &str, access_field: &str, len: &str, mode: EnableMode) -> X86SlotImage {
    let cpu = X86Cpu::new(X86Profile::GENERIC_X86_64).with_enable_mode(mode);
    let slot = DebugSlot::new(slot.parse().unwrap()).unwrap();
    let len: u64 = len.parse().unwrap();
    // Any address aligned to the length; the vectors do not depend on it.
    let program = single_program(&cpu, 0x7000_1000, len, access(access_field));
    cpu.encode(slot.slot_id(), &program).unwrap()
}

#[test]
fn every_linux_encode_dr7_row() {
    let mut count = 0;
    for row in rows(LINUX) {
        let [slot, access, len, dr7] = row[..] else {
            panic!("bad row {row:?}")
        };
        let image = encode_row(slot, access, len, EnableMode::Global);
        assert_eq!(image.dr7_bits(), hex(dr7), "{row:?}");
        // The full register adds only the reads-as-1 bit 10.
        let full = image.install_into(Dr7::RESET);
        assert_eq!(full.bits(), hex(dr7) | 0x400, "{row:?}");
        assert!(full.is_valid());
        count += 1;
    }
    // 4 slots × (execute + write and read/write × 4 lengths).
    assert_eq!(count, 36);
}

#[test]
fn every_selftest_row_local_global_both() {
    let mut count = 0;
    for row in rows(SELFTEST) {
        let [slot, access, len, mode, dr7] = row[..] else {
            panic!("bad row {row:?}")
        };
        let image = encode_row(slot, access, len, enable(mode));
        assert_eq!(image.dr7_bits(), hex(dr7), "{row:?}");
        assert_eq!(image.enable_mode(), enable(mode));
        count += 1;
    }
    assert_eq!(count, 108);
}

/// The SDM's example (Vol. 3B §18.2.5 "Breakpoint Field Recognition"): DR0 = A0001H RW 1 byte,
/// DR1 = A0002H W 1 byte, DR2 = B0002H RW 2 bytes, DR3 = C0000H W 4 bytes.
#[test]
fn sdm_breakpoint_field_recognition_example() {
    let cpu = X86Cpu::new(X86Profile::GENERIC_X86_64);
    let setup = [
        (0xA0001, 1, AccessKind::READ_WRITE),
        (0xA0002, 1, AccessKind::WRITE),
        (0xB0002, 2, AccessKind::READ_WRITE),
        (0xC0000, 4, AccessKind::WRITE),
    ];
    let mut dr7 = Dr7::RESET;
    let mut addresses = [0u64; 4];
    for (slot, (addr, len, kind)) in DebugSlot::ALL.into_iter().zip(setup) {
        let program = single_program(&cpu, addr, len, kind);
        let image = cpu.encode(slot.slot_id(), &program).unwrap();
        dr7 = image.install_into(dr7);
        addresses[usize::from(slot.index())] = image.address();
    }

    // Decode what the registers now hold, and match accesses against that alone.
    let armed: Vec<(DebugSlot, X86Program)> = DebugSlot::ALL
        .into_iter()
        .map(|slot| {
            let image =
                X86SlotImage::from_registers(slot, addresses[usize::from(slot.index())], dr7)
                    .unwrap()
                    .unwrap();
            (slot, image.program())
        })
        .collect();

    let mut count = 0;
    for row in rows(SDM_EXAMPLE) {
        let [kind, addr, size, traps, slots_hit] = row[..] else {
            panic!("bad row {row:?}")
        };
        let access_range = hwbkpt_hal::AddressRange::new(hex(addr), size.parse().unwrap()).unwrap();
        let kind = access(kind);
        // Any byte of the access inside the slot's LEN-aligned range, and the kind matches
        // (a read matches only read/write slots; a write matches write and read/write).
        let hit: Vec<u8> = armed
            .iter()
            .filter(|(_, p)| {
                p.hardware_range().overlaps(&access_range) && p.hardware_access().intersects(kind)
            })
            .map(|(slot, _)| slot.index())
            .collect();
        let expected: Vec<u8> = slots_hit
            .split_whitespace()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(hit, expected, "{row:?}");
        assert_eq!(!hit.is_empty(), traps == "1", "{row:?}");
        count += 1;
    }
    assert_eq!(count, 16);
}
