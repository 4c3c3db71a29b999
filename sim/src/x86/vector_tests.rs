//! The shared test vectors (`vectors/` at the repository root), run on the x86 model at the
//! raw register level.

use hwbkpt_hal::CpuId;

use super::tests::{DATA, RW_EXECUTE, RW_READ_WRITE, RW_WRITE, Rig, dr7_local, len_code};
use super::*;
use crate::StopReason;

const SDM_EXAMPLE: &str = include_str!("../../../vectors/x86-sdm-example.csv");
const SELFTEST: &str = include_str!("../../../vectors/x86-dr7-selftest.csv");

fn rows(csv: &str) -> impl Iterator<Item = Vec<&str>> {
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::trim).collect())
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// SDM vol. 3 §18.2.5, "Breakpoint Field Recognition", example: DR0 = A0001h R/W LEN 1,
/// DR1 = A0002h W LEN 1, DR2 = B0002h R/W LEN 2, DR3 = C0000h W LEN 4. DR7 is built here from
/// the SDM's bit layout (L`n` at bit 2n, R/W`n` at 16+4n, LEN`n` at 18+4n), then each access of
/// the vector runs as one instruction: `r` a load, `w` a store, `rw` an `add [m], r`.
#[test]
fn sdm_breakpoint_field_recognition_example() {
    let dr7 = dr7_local(0, RW_READ_WRITE, 1)
        | dr7_local(1, RW_WRITE, 1)
        | dr7_local(2, RW_READ_WRITE, 2)
        | dr7_local(3, RW_WRITE, 4);
    assert_eq!(dr7, 0xD713_0055, "SDM layout, computed by hand");
    let mut checked = 0;
    for row in rows(SDM_EXAMPLE) {
        let (kind, addr, size) = (row[0], hex(row[1]), row[2].parse::<u32>().unwrap());
        let traps = row[3] == "1";
        let slots: u64 = row[4]
            .split_whitespace()
            .map(|s| 1u64 << s.parse::<u64>().unwrap())
            .sum();
        let width = Width::from_bytes(size).unwrap();
        #[allow(clippy::cast_possible_truncation, reason = "addresses below 1 MiB")]
        let mem = Mem::absolute(addr as i32);
        let prog = |a: &mut Asm| {
            match kind {
                "r" => a.load(width, Reg::Rax, mem),
                "w" => a.store(width, Reg::Rax, mem),
                _ => a.add_mem(width, Reg::Rax, mem),
            };
            a.end();
        };
        let mut r = Rig::generic(prog);
        r.arm([0xA_0001, 0xA_0002, 0xB_0002, 0xC_0000], dr7);
        assert_eq!(r.run(), StopReason::Exited);
        let got: Vec<_> = r.hits().iter().map(RecordedException::b_bits).collect();
        let want: Vec<u64> = if traps { vec![slots] } else { vec![] };
        assert_eq!(got, want, "{row:?}");
        checked += 1;
    }
    assert_eq!(checked, 16);
}

/// Linux `tools/testing/selftests/breakpoints/breakpoint_test.c` at the raw level: execute
/// (length 1), write and read/write (lengths 1, 2, 4, 8) × slots 0–3 × local/global/both. DR7
/// is the vector's value, cross-checked against the SDM layout; each access traps exactly
/// once with the slot's B bit, and a read never trips a write-only slot.
#[test]
fn x86_selftest_matrix() {
    let mut checked = 0;
    for row in rows(SELFTEST) {
        let (slot, access, len, enable, dr7) = (
            row[0].parse::<u64>().unwrap(),
            row[1],
            row[2].parse::<u64>().unwrap(),
            row[3],
            hex(row[4]),
        );
        let rw = match access {
            "x" => RW_EXECUTE,
            "w" => RW_WRITE,
            _ => RW_READ_WRITE,
        };
        let enables = match enable {
            "local" => (1 << (2 * slot)) | (1 << 8),
            "global" => (2 << (2 * slot)) | (1 << 9),
            _ => (3 << (2 * slot)) | (3 << 8),
        };
        assert_eq!(
            dr7,
            enables | ((rw | (len_code(len) << 2)) << (16 + 4 * slot)),
            "{row:?}"
        );

        let target = DATA + 0x200;
        let width = Width::from_bytes(u32::try_from(len).unwrap()).unwrap();
        let watched_insn = std::cell::Cell::new(0);
        let prog = |a: &mut Asm| {
            a.emit(Insn::Nop);
            watched_insn.set(a.here());
            a.emit(Insn::Nop)
                .store(width, Reg::Rax, Mem::base(Reg::Rbx, 0x200))
                .load(width, Reg::Rdx, Mem::base(Reg::Rbx, 0x200))
                .end();
        };
        let mut r = Rig::generic(prog);
        let mut addrs = [0u64; 4];
        addrs[usize::try_from(slot).unwrap()] = if rw == RW_EXECUTE {
            watched_insn.get()
        } else {
            target
        };
        r.arm(addrs, dr7);
        assert_eq!(
            r.m.run(r.task, CpuId(0), 100).unwrap().stop,
            StopReason::Exited
        );
        let got: Vec<_> = r.hits().iter().map(|e| (e.class, e.b_bits())).collect();
        let bit = 1 << slot;
        let want = match rw {
            RW_EXECUTE => vec![(DebugClass::Fault, bit)],
            RW_WRITE => vec![(DebugClass::Trap, bit)],
            _ => vec![(DebugClass::Trap, bit), (DebugClass::Trap, bit)],
        };
        assert_eq!(got, want, "{row:?}");
        checked += 1;
    }
    assert_eq!(checked, 4 * 3 * 9);
}
