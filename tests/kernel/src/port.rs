//! Port I/O: the serial console and QEMU's `isa-debug-exit` device.

use core::arch::asm;

/// COM1.
const COM1: u16 = 0x3F8;
/// Line status register: bit 5 = transmit holding register empty.
const COM1_LSR: u16 = COM1 + 5;
/// `-device isa-debug-exit,iobase=0xf4,iosize=0x04`.
const DEBUG_EXIT: u16 = 0xF4;

fn outb(port: u16, value: u8) {
    // SAFETY: the kernel runs at CPL 0; the ports used here are COM1 and QEMU's exit
    // device, which have no effect on memory.
    unsafe { asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack)) }
}

fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: as `outb`: CPL 0, reading COM1's status register has no side effect.
    unsafe { asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack)) }
    value
}

/// The serial console (QEMU `-serial stdio`).
pub struct Serial;

impl Serial {
    fn byte(b: u8) {
        while inb(COM1_LSR) & 0x20 == 0 {}
        outb(COM1, b);
    }
}

impl core::fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                Self::byte(b'\r');
            }
            Self::byte(b);
        }
        Ok(())
    }
}

/// Print to the serial console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::port::Serial, format_args!($($arg)*));
    }};
}

/// Print a line to the serial console.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        $crate::print!($($arg)*);
        $crate::print!("\n");
    }};
}

/// Exit status QEMU reports when every check passed: `(0x10 << 1) | 1`.
pub const EXIT_SUCCESS: u32 = 0x10;
/// Exit code for a failed run: QEMU exits with `(0x11 << 1) | 1`.
pub const EXIT_FAILURE: u32 = 0x11;

/// Stop QEMU with `code`; its exit status becomes `(code << 1) | 1`.
pub fn exit_qemu(code: u32) -> ! {
    // SAFETY: CPL 0; writing the isa-debug-exit port ends the virtual machine.
    unsafe { asm!("out dx, eax", in("dx") DEBUG_EXIT, in("eax") code, options(nomem, nostack)) }
    loop {
        // SAFETY: halting with interrupts disabled only stops this CPU (QEMU without the
        // exit device).
        unsafe { asm!("cli; hlt", options(nomem, nostack)) }
    }
}
