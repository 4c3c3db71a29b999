//! # hwbkpt-sim
//!
//! Simulated CPUs that behave like the hardware when given raw debug-register images: an
//! x86-64 model ([`x86`]) and a PowerPC 64 model ([`ppc64`]), both running on one generic
//! machine. Their debug hardware is decoded here, from the manuals, with code of this crate
//! only — never by calling `hwbkpt-x86` or `hwbkpt-ppc64` — so that property tests comparing
//! the backends with the simulator do not check the code against itself.
//!
//! ## The framework
//!
//! - [`Memory`] — sparse byte-addressable memory in 4 KiB pages, in the simulated ISA's
//!   byte order ([`Endian`]), with per-page [`RegionAttributes`] (cache-inhibited, for the
//!   POWER9 DAWR checkstop hazard). Unmapped accesses are [`MemoryFault`]s, never panics.
//! - [`Trace`] — every architectural step as a [`TraceEvent`]: instructions retired, each
//!   [`MemoryAccess`] with its bytes before and after, exceptions with their raw status,
//!   faults, kernel entries and exits, interrupts, context switches, migrations, task exits,
//!   checkstops. The reference model of the exception-pipeline issue is computed from it; the
//!   kernel hooks cannot see it.
//! - [`Isa`] — one CPU model: its per-task register [`Isa::Context`] (debug registers
//!   included), its raw [`Isa::Exception`] status, [`Isa::step`] (one instruction or one `rep`
//!   iteration, memory through a recording [`Bus`]), and [`Isa::decode_access`], the
//!   `analyse_instr`-style decoder over the machine's own program memory.
//! - [`Kernel`] — what runs on kernel entry: [`Kernel::exception`], [`Kernel::fault`],
//!   [`Kernel::interrupt`], [`Kernel::switched_in`]/[`Kernel::switched_out`],
//!   [`Kernel::pc_changed`]. Each gets a [`KernelContext`]: the CPU, the task, its registers
//!   (the trap frame plus debug and status registers), memory through the HAL's
//!   [`MemoryRead`](hwbkpt_hal::MemoryRead), the decoder through the HAL's
//!   [`InstructionDecode`](hwbkpt_hal::InstructionDecode), and kernel-mode emulation through
//!   the HAL's [`InstructionEmulate`](hwbkpt_hal::InstructionEmulate) ([`Isa::emulate`]; the
//!   emulated accesses are traced). That is all a kernel has at an exception (DESIGN §1); the
//!   HAL's pipeline implements [`Kernel`], wrapping the context in a `RegisterAccess` that
//!   turns the backend's slot images into raw register writes (the sim cannot name those
//!   types: it does not depend on the arch crates).
//! - [`Machine`] — N CPUs, tasks, one memory, one trace, one kernel. Tests drive it with
//!   explicit [`ScheduleAction`]s ([`Machine::run`] a task on a CPU for k steps,
//!   [`Machine::preempt`], [`Machine::migrate`], [`Machine::interrupt`]) or hand it to a
//!   seeded [`RandomPolicy`] ([`Machine::run_random`]). A context switch saves the whole
//!   register context into the outgoing task and restores the incoming one's, as a kernel
//!   does, then calls the kernel's switch hooks. [`Machine::with_task`] lets kernel code
//!   (a debugger, the HAL installing slots) act on a task between instructions, and
//!   [`Machine::set_pc`] moves a task's PC as signal delivery or ptrace would, telling the
//!   kernel through [`Kernel::pc_changed`].
//!
//! ## Plugging in a CPU model
//!
//! A model is a type holding its profile that implements [`Isa`]; a test kernel implements
//! [`Kernel`] for it (each model ships a default one that records exceptions, quiets the
//! status registers and continues). `Machine::new(model, kernel, cpus)`, load a program into
//! [`Machine::memory_mut`], [`Machine::spawn`] a task with its initial registers, run.
//!
//! ```
//! use hwbkpt_hal::CpuId;
//! use hwbkpt_sim::x86::{Asm, Mem, RecordingKernel, Reg, Width, X86, X86Context};
//! use hwbkpt_sim::{Machine, RegionAttributes, StopReason};
//!
//! let mut asm = Asm::new(0x40_0000);
//! asm.mov_imm(Reg::Rax, 0x1234)
//!     .store(Width::B8, Reg::Rax, Mem::base(Reg::Rbx, 0))
//!     .end();
//! let mut m = Machine::new(X86::generic(), RecordingKernel::default(), 1);
//! m.memory_mut().map(0x40_0000, 0x1000, RegionAttributes::default());
//! m.memory_mut().map(0x60_0000, 0x1000, RegionAttributes::default());
//! asm.finish()?.load(m.memory_mut())?;
//! let mut regs = X86Context::user(0x40_0000);
//! regs.set_gpr(Reg::Rbx, 0x60_0000);
//! let task = m.spawn(regs);
//! let run = m.run(task, CpuId(0), 100)?;
//! assert_eq!(run.stop, StopReason::Exited);
//! assert_eq!(m.memory().read_uint(0x60_0000, 8)?, 0x1234);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bus;
mod isa;
mod kernel;
mod machine;
mod memory;
mod scheduler;
mod task;
mod trace;

pub mod ppc64;
pub mod x86;

pub use bus::{Bus, MAX_ACCESS};
pub use isa::{Isa, Mode, StepOutcome};
pub use kernel::{Kernel, KernelContext, Resume};
pub use machine::{Machine, MachineError, RunOutcome, StopReason};
pub use memory::{Endian, Memory, MemoryFault, PAGE_SIZE, RegionAttributes};
pub use scheduler::{RandomPolicy, ScheduleAction, SplitMix64};
pub use task::{Task, TaskState};
pub use trace::{EntryReason, Fault, FaultKind, MemoryAccess, Trace, TraceEvent};
