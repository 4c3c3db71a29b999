//! Descriptor tables and exception entry: the GDT (kernel and user segments, a TSS whose
//! RSP0 is the stack ring-3 exceptions arrive on), the IDT, the #DB entry stub, the ring-3
//! round trip (`iretq` to ring 3, `int 0x80` back), and a stub for every other exception
//! that reports it and stops the machine.

use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;

/// Ring-0 code selector.
pub const KERNEL_CS: u16 = 0x08;
/// Ring-3 data selector (index 3, RPL 3).
pub const USER_DS: u16 = 0x18 | 3;
/// Ring-3 64-bit code selector (index 4, RPL 3).
pub const USER_CS: u16 = 0x20 | 3;
/// TSS selector.
const TSS_SELECTOR: u16 = 0x28;
/// The software interrupt ring-3 code uses to come back to the kernel.
pub const RETURN_VECTOR: usize = 0x80;

/// The registers the CPU pushes on an exception without error code (64-bit mode).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct InterruptFrame {
    /// Where the interrupted context resumes.
    pub rip: u64,
    /// Its code selector (RPL = its privilege level).
    pub cs: u64,
    /// Its RFLAGS (RF and TF are set here before `iretq`).
    pub rflags: u64,
    /// Its stack pointer.
    pub rsp: u64,
    /// Its stack selector.
    pub ss: u64,
}

/// A 64-bit task-state segment (Intel SDM Vol. 3A §8.7 "Task Management in 64-bit Mode").
#[repr(C, packed(4))]
struct TaskStateSegment {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
}

const _: () = assert!(core::mem::size_of::<TaskStateSegment>() == 104);

/// A gate descriptor of the 64-bit IDT, as two quadwords.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Gate([u64; 2]);

impl Gate {
    const EMPTY: Self = Self([0, 0]);

    /// An interrupt gate (interrupts stay disabled in the handler) to `handler` in the kernel
    /// code segment, callable by `int` from privilege `dpl`.
    const fn interrupt(handler: u64, dpl: u64) -> Self {
        let low = (handler & 0xFFFF)
            | ((KERNEL_CS as u64) << 16)
            | ((0x8E | (dpl << 5)) << 40)
            | (((handler >> 16) & 0xFFFF) << 48);
        Self([low, handler >> 32])
    }
}

/// Everything the CPU reads from memory while it runs: GDT, TSS, IDT, and the stack ring-3
/// exceptions switch to.
#[repr(C, align(4096))]
struct Tables {
    gdt: [u64; 7],
    tss: TaskStateSegment,
    idt: [Gate; 256],
    ring0_stack: [u8; 16 * 1024],
}

/// A cell the kernel shares between its main flow and its exception handlers. There is one
/// CPU, interrupts stay disabled, and the only exceptions are the debug exceptions the
/// checks provoke at points where the main flow holds no reference into the cell.
pub struct Global<T>(UnsafeCell<T>);

// SAFETY: one CPU; see the type's documentation for why accesses never overlap.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    /// A cell holding `value`.
    pub const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    /// The raw pointer to the value.
    pub const fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}

static TABLES: Global<Tables> = Global::new(Tables {
    gdt: [0; 7],
    tss: TaskStateSegment {
        reserved0: 0,
        rsp: [0; 3],
        reserved1: 0,
        ist: [0; 7],
        reserved2: 0,
        reserved3: 0,
        iomap_base: 104,
    },
    idt: [Gate::EMPTY; 256],
    ring0_stack: [0; 16 * 1024],
});

unsafe extern "C" {
    /// Entry stubs for vectors 0–31 (`fault_stubs` below); vector 1 is replaced by `db_entry`.
    static fault_stubs: [u64; 32];
    fn db_entry();
    fn user_return_entry();
    fn enter_user_asm(rip: u64, rsp: u64, arg0: u64, arg1: u64, arg2: u64);
}

/// Load the GDT (with user segments and the TSS), the task register and the IDT.
pub fn init() {
    let tables = TABLES.as_ptr();
    // SAFETY: called once at boot, before any exception can happen; nothing else holds a
    // reference to TABLES. `lgdt`/`ltr`/`lidt` get tables that live forever (a static).
    unsafe {
        let t = &mut *tables;
        let stack_top = (t.ring0_stack.as_ptr() as u64 + t.ring0_stack.len() as u64) & !0xF;
        t.tss.rsp = [stack_top, 0, 0];
        let tss = &raw const t.tss as u64;
        let limit = core::mem::size_of::<TaskStateSegment>() as u64 - 1;
        t.gdt = [
            0,
            0x00AF_9A00_0000_FFFF, // 0x08 ring-0 64-bit code
            0x00CF_9200_0000_FFFF, // 0x10 ring-0 data
            0x00CF_F200_0000_FFFF, // 0x18 ring-3 data
            0x00AF_FA00_0000_FFFF, // 0x20 ring-3 64-bit code
            // 0x28 available 64-bit TSS (type 9), present
            (limit & 0xFFFF)
                | ((tss & 0xFF_FFFF) << 16)
                | (0x89 << 40)
                | (((limit >> 16) & 0xF) << 48)
                | (((tss >> 24) & 0xFF) << 56),
            tss >> 32,
        ];
        for (gate, stub) in t.idt.iter_mut().zip(fault_stubs.iter()) {
            *gate = Gate::interrupt(*stub, 0);
        }
        if let Some(gate) = t.idt.get_mut(1) {
            *gate = Gate::interrupt(db_entry as *const () as u64, 0);
        }
        if let Some(gate) = t.idt.get_mut(RETURN_VECTOR) {
            *gate = Gate::interrupt(user_return_entry as *const () as u64, 3);
        }
        let gdt_pointer = DescriptorPointer {
            limit: (core::mem::size_of_val(&t.gdt) - 1) as u16,
            base: t.gdt.as_ptr() as u64,
        };
        let idt_pointer = DescriptorPointer {
            limit: (core::mem::size_of_val(&t.idt) - 1) as u16,
            base: t.idt.as_ptr() as u64,
        };
        asm!("lgdt [{}]", in(reg) &gdt_pointer, options(readonly, nostack));
        asm!("ltr {0:x}", in(reg) TSS_SELECTOR, options(nostack));
        asm!("lidt [{}]", in(reg) &idt_pointer, options(readonly, nostack));
    }
}

/// The operand of `lgdt`/`lidt`.
#[repr(C, packed)]
struct DescriptorPointer {
    limit: u16,
    base: u64,
}

/// The address range of the IDT, for the policy's forbidden regions.
pub fn idt_range() -> (u64, u64) {
    // SAFETY: only the address is taken, no reference is created.
    let idt = unsafe { &raw const (*TABLES.as_ptr()).idt };
    (idt as u64, core::mem::size_of::<[Gate; 256]>() as u64)
}

/// Run `code` in ring 3 with `rdx = arg0`, `rcx = arg1`, `r8 = arg2`, on the stack ending at
/// `stack_top`, until it executes `int 0x80`; then return here.
///
/// # Safety
/// `code` must be ring-3-runnable code (mapped user-accessible, as everything is here) that
/// ends with `int 0x80` and touches only memory it is allowed to.
pub unsafe fn enter_user(code: u64, stack_top: u64, arg0: u64, arg1: u64, arg2: u64) {
    // SAFETY: the caller's contract; enter_user_asm saves the callee-saved registers and the
    // kernel stack pointer and restores them when ring 3 comes back through int 0x80.
    unsafe { enter_user_asm(code, stack_top, arg0, arg1, arg2) }
}

global_asm!(
    r#"
    .section .text
    /* fault_stub_N: report vector N and stop (fault_common never returns). */
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    fault_stub_\n:
    mov edi, \n
    mov rsi, rsp
    and rsp, -16
    call {fault}
    .endr

    .section .rodata
    .balign 8
    .global fault_stubs
    fault_stubs:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad fault_stub_\n
    .endr

    .section .text
    /* #DB: save the caller-saved registers and rbp, call the handler with the interrupt frame. */
    .global db_entry
    db_entry:
    push rbp
    push rax
    push rcx
    push rdx
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    lea rdi, [rsp + 80]
    mov rbp, rsp
    and rsp, -16
    call {debug}
    mov rsp, rbp
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rax
    pop rbp
    iretq

    /* enter_user_asm(rip, rsp, arg0 = rdx, arg1 = rcx, arg2 = r8): save the kernel context, iretq to ring 3. */
    .global enter_user_asm
    enter_user_asm:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov [rip + saved_kernel_rsp], rsp
    push {user_ds}
    push rsi
    push 0x2
    push {user_cs}
    push rdi
    iretq

    /* int 0x80 from ring 3: drop the frame, return from enter_user_asm. */
    .global user_return_entry
    user_return_entry:
    mov rsp, [rip + saved_kernel_rsp]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

    .section .bss
    .balign 8
    saved_kernel_rsp: .quad 0
    "#,
    fault = sym crate::fault,
    debug = sym crate::debug_exception,
    user_ds = const USER_DS,
    user_cs = const USER_CS,
);
