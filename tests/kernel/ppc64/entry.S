/*
 * Entry for the PPC64 register check, loaded raw at address 0 by QEMU powernv's -bios.
 * Every thread starts at 0x10 with MSR = 0x9000000000000000 (64-bit, hypervisor, MMU off,
 * big-endian). Thread 0 enables FP/VMX/VSX, sets up a stack (r1) and the TOC (r2) and calls
 * ppc_main through its ELFv1 function descriptor; other threads wait. Interrupt vectors
 * 0x100-0xFE0 report the vector through ppc_trap.
 */
    .section .entry, "ax"
    .globl _start
    .org 0x10
_start:
    b       boot

    /* Interrupt vectors: one stub every 0x20 bytes: r3 = vector, then report. */
    .set    vector, 0x100
    .rept   (0x1000 - 0x100) / 0x20
    .org    vector
    li      3, vector
    b       trap
    .set    vector, vector + 0x20
    .endr

    .org    0x1000
boot:
    mfspr   3, 1023             /* PIR: only thread 0 runs the check */
    cmpdi   3, 0
    bne     park
    mfmsr   3                   /* the compiled code may use FP, VMX and VSX registers */
    oris    3, 3, 0x0280        /* MSR[VEC] (1 << 25) | MSR[VSX] (1 << 23) */
    ori     3, 3, 0x2000        /* MSR[FP] (1 << 13) */
    mtmsrd  3
    isync
    lis     1, stack_top@ha
    addi    1, 1, stack_top@l
    li      0, 0
    stdu    0, -128(1)          /* an empty back chain and an ABI frame */
    lis     12, ppc_main@ha     /* ppc_main's function descriptor */
    addi    12, 12, ppc_main@l
    ld      0, 0(12)
    ld      2, 8(12)
    mtctr   0
    bctrl
park:
    b       park

trap:
    mfsrr0  4
    mfspr   5, 314              /* HSRR0 */
    lis     1, trap_stack_top@ha
    addi    1, 1, trap_stack_top@l
    li      0, 0
    stdu    0, -128(1)
    lis     12, ppc_trap@ha
    addi    12, 12, ppc_trap@l
    ld      0, 0(12)
    ld      2, 8(12)
    mtctr   0
    bctrl
    b       park

    .section .bss
    .balign 16
    .space  65536
stack_top:
    .space  16384
trap_stack_top:
