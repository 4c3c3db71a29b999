//! PPC64 register check: writes DAWR0, DAWRX0 and CIABR through hwbkpt's `mtspr`/`mfspr`
//! accessors, with values produced by hwbkpt's encoders, and reads them back; on POWER10 it
//! also tries DAWR1/DAWRX1, and everywhere DABR/DABRX, and reports what QEMU does with them.
//! Runs in hypervisor real mode on QEMU `powernv9`/`powernv10`, entered from `entry.S`;
//! prints to the 16550 UART at LPC I/O 0x3F8.
//!
//! QEMU 7.2 stores DAWR0, DAWRX0 and CIABR but raises no match interrupts, and ignores
//! DABR/DABRX (writes are no-ops): this proves that the SPR numbers, the `asm!` and the
//! encodings reach the right registers, nothing more.
#![no_std]

use hwbkpt_hal::{AccessKind, AddressRange, PrivilegeFilter};
use hwbkpt_ppc64::{
    DataWatch, InstructionBreak, Spr, Translation, encode_ciabr, encode_dabr, encode_dawr, raw,
};

/// LPC I/O 0x3F8 (COM1) through the POWER9/10 LPC MMIO window.
const UART: u64 = 0x0006_0300_D001_0000 + 0x3F8;
/// Processor Version Register.
const PVR: u16 = 287;

fn putc(byte: u8) {
    for _ in 0..100_000 {
        // SAFETY: the UART's line status register, MMIO in the LPC window (real mode).
        if unsafe { core::ptr::read_volatile((UART + 5) as *const u8) } & 0x20 != 0 {
            break;
        }
    }
    // SAFETY: the UART's transmit register.
    unsafe { core::ptr::write_volatile(UART as *mut u8, byte) }
}

struct Uart;

impl core::fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                putc(b'\r');
            }
            putc(b);
        }
        Ok(())
    }
}

macro_rules! println {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut Uart, format_args!($($arg)*));
        let _ = core::fmt::Write::write_str(&mut Uart, "\n");
    }};
}

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

/// Write `value` to `spr`.
fn write(spr: Spr, value: u64) {
    // SAFETY: hypervisor state (MSR = 0x9000000000000000 at reset, never changed); `spr` is
    // one of the debug SPRs of POWER9/10 (QEMU turns an mtspr of an SPR it lacks into a
    // no-op); nothing else uses the breakpoint registers, and with translation on (WT) and
    // MSR[DR] = 0 nothing can match.
    unsafe { raw::write(spr, value) };
    // SAFETY: isync is legal in every state.
    unsafe { raw::isync() };
}

/// Read `spr`.
fn read(spr: Spr) -> u64 {
    // SAFETY: as in `write`.
    unsafe { raw::read(spr) }
}

/// One register of a round trip: the SPR, its name, the sentinel and the encoded value.
type Trip<'a> = (Spr, &'a str, u64, u64);

/// Checked round trips for several SPRs at once: every sentinel is written, then every
/// register read back; then every encoded value written, then every register read back. All
/// values are distinct, so a wrong SPR number reads another register's value and a no-op
/// `mtspr` leaves the sentinel behind.
fn round_trips(t: &mut Tally, registers: &[Trip<'_>]) {
    let mut read_back = [(0u64, 0u64); 4];
    for (spr, _, sentinel, _) in registers {
        write(*spr, *sentinel);
    }
    for ((spr, _, _, _), (first, _)) in registers.iter().zip(read_back.iter_mut()) {
        *first = read(*spr);
    }
    for (spr, _, _, value) in registers {
        write(*spr, *value);
    }
    for ((spr, _, _, _), (_, second)) in registers.iter().zip(read_back.iter_mut()) {
        *second = read(*spr);
    }
    for ((_, name, sentinel, value), (first, second)) in registers.iter().zip(read_back.iter()) {
        t.check(
            first == sentinel && second == value,
            format_args!(
                "{name}: sentinel {sentinel:#018x} read {first:#018x}, encoded {value:#018x} read {second:#018x}"
            ),
        );
    }
}

/// An unchecked round trip, reported as information.
fn probe((spr, name, sentinel, value): Trip<'_>) {
    write(spr, sentinel);
    let first = read(spr);
    write(spr, value);
    let second = read(spr);
    let stored = first == sentinel && second == value;
    println!(
        "info {name} (not checked): sentinel {sentinel:#018x} read {first:#018x}, encoded {value:#018x} read {second:#018x}: {}",
        if stored {
            "stored"
        } else {
            "not stored: QEMU 7.2 treats mtspr and mfspr of it as no-ops"
        }
    );
}

fn watch(addr: u64, len: u64, access: AccessKind) -> Option<DataWatch> {
    AddressRange::new(addr, len)
        .and_then(|range| {
            DataWatch::new(
                range,
                access,
                PrivilegeFilter::HYPERVISOR | PrivilegeFilter::KERNEL,
                Translation::On,
            )
        })
        .ok()
}

/// Called by entry.S on its stack, with the TOC set.
#[unsafe(no_mangle)]
pub extern "C" fn ppc_main() -> ! {
    // SAFETY: hypervisor state; PVR is readable in every privileged state.
    let pvr = unsafe { raw::mfspr::<PVR>() };
    let power10 = pvr >> 16 == 0x80;
    println!(
        "hwbkpt PPC64 register check: PVR {pvr:#010x} ({})",
        if power10 { "POWER10" } else { "POWER9" }
    );
    println!(
        "note: QEMU 7.2 stores DAWR0/DAWRX0/CIABR but raises no match interrupts, and ignores \
         DABR/DABRX: this checks SPR numbers, asm and encodings, nothing more"
    );
    let mut t = Tally {
        passed: 0,
        failed: 0,
    };
    let data = watch(0x0012_3440, 64, AccessKind::READ_WRITE);
    let instruction = InstructionBreak::new(0x0045_6788, PrivilegeFilter::HYPERVISOR).ok();
    match (data, instruction) {
        (Some(w), Some(b)) => {
            let (dawr, dawrx) = encode_dawr(&w);
            round_trips(
                &mut t,
                &[
                    (Spr::Dawr0, "DAWR0", 0x5A5A_0000_0000_1008, dawr.bits()),
                    (Spr::Dawrx0, "DAWRX0", 0x0000_0000_0000_A425, dawrx.bits()),
                    (
                        Spr::Ciabr,
                        "CIABR",
                        0x0000_0000_0BAD_F00C,
                        encode_ciabr(&b).bits(),
                    ),
                ],
            );
        }
        _ => t.check(
            false,
            format_args!("the encoders refused the DAWR0 watch or the CIABR breakpoint"),
        ),
    }
    if power10 && let Some(w) = watch(0x0078_9A00, 16, AccessKind::WRITE) {
        let (dawr, dawrx) = encode_dawr(&w);
        probe((Spr::Dawr1, "DAWR1", 0x3C3C_0000_0000_2010, dawr.bits()));
        probe((Spr::Dawrx1, "DAWRX1", 0x0000_0000_0000_0C3C, dawrx.bits()));
    }
    if let Some(w) = watch(0x0012_3440, 8, AccessKind::WRITE) {
        let (dabr, dabrx) = encode_dabr(&w);
        probe((Spr::Dabr, "DABR", 0x0000_0000_00C0_FFE0, dabr.bits()));
        probe((Spr::Dabrx, "DABRX", 0x0000_0000_0000_0005, dabrx.bits()));
    }
    println!("{} passed, {} failed", t.passed, t.failed);
    loop {
        core::hint::spin_loop();
    }
}

/// Called by entry.S for any interrupt: report it and stop.
#[unsafe(no_mangle)]
pub extern "C" fn ppc_trap(vector: u64, srr0: u64, hsrr0: u64) -> ! {
    println!("unexpected interrupt at vector {vector:#x} (SRR0 {srr0:#x}, HSRR0 {hsrr0:#x})");
    println!("0 passed, 1 failed");
    loop {
        core::hint::spin_loop();
    }
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    println!("panic");
    println!("0 passed, 1 failed");
    loop {
        core::hint::spin_loop();
    }
}
