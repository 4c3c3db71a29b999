//! Multiboot entry and the 32→64-bit trampoline.
//!
//! QEMU's `-kernel` loader accepts a multiboot (version 1) image in ELF32 form (the build
//! converts the 64-bit ELF with `objcopy -O elf32-i386`). It enters `_start` in 32-bit
//! protected mode with paging off. The trampoline identity-maps the first 1 GiB with 2 MiB
//! pages (user-accessible, so the ring-3 check can run code and touch data in the kernel
//! image), enables PAE and long mode, loads a GDT with a 64-bit code segment and jumps to
//! `kernel_main` on the boot stack.

use core::arch::global_asm;

/// Bytes of the boot (and kernel) stack.
pub const BOOT_STACK_BYTES: usize = 64 * 1024;

global_asm!(
    r#"
    .section .multiboot_header, "a"
    .balign 4
    .long 0x1BADB002            /* multiboot magic */
    .long 0                     /* flags: nothing asked of the loader */
    .long -(0x1BADB002)         /* checksum: magic + flags + checksum = 0 */

    .section .bss
    .balign 4096
    boot_pml4: .skip 4096
    boot_pdpt: .skip 4096
    boot_pd:   .skip 4096
    .global boot_stack_bottom
    boot_stack_bottom: .skip {stack}
    .global boot_stack_top
    boot_stack_top:

    .section .rodata
    .balign 8
    boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: ring-0 64-bit code */
    .quad 0x00CF92000000FFFF    /* 0x10: ring-0 data */
    boot_gdt_end:
    boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .boot32, "ax"
    .code32
    .global _start
    _start:
    cli
    mov esp, offset boot_stack_top
    /* PML4[0] -> PDPT, PDPT[0] -> PD: present, writable, user */
    mov eax, offset boot_pdpt
    or eax, 7
    mov dword ptr [boot_pml4], eax
    mov eax, offset boot_pd
    or eax, 7
    mov dword ptr [boot_pdpt], eax
    /* PD[i] = i * 2 MiB: present, writable, user, 2 MiB page */
    xor ecx, ecx
    2:
    mov eax, ecx
    shl eax, 21
    or eax, 0x87
    mov dword ptr [boot_pd + ecx * 8], eax
    mov dword ptr [boot_pd + ecx * 8 + 4], 0
    inc ecx
    cmp ecx, 512
    jne 2b
    mov eax, offset boot_pml4
    mov cr3, eax
    mov eax, cr4
    or eax, 0x20                /* CR4.PAE */
    mov cr4, eax
    mov ecx, 0xC0000080         /* IA32_EFER */
    rdmsr
    or eax, 0x100               /* EFER.LME */
    wrmsr
    mov eax, cr0
    or eax, 0x80000001          /* CR0.PG | CR0.PE */
    mov cr0, eax
    lgdt [boot_gdt_pointer]
    /* far return into the 64-bit code segment */
    push 0x08
    mov eax, offset long_mode_entry
    push eax
    retf

    .code64
    long_mode_entry:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov rsp, offset boot_stack_top
    call kernel_main
    3:
    hlt
    jmp 3b
    "#,
    stack = const BOOT_STACK_BYTES,
);
