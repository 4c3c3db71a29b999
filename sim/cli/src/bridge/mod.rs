//! The HAL as the kernel of a simulated machine.
//!
//! [`SimBinding`] says, per simulated ISA, how the arch backend's images land in the model's
//! raw registers and how the model's exception status reads as the backend's status type.
//! [`HalKernel`] is then one generic [`Kernel`]: `switched_in` installs the task's slots,
//! `exception` dispatches, `pc_changed` cancels a pending interlock step.

mod ppc64;
mod x86;

use hwbkpt_hal::{CpuId, DispatchError, Request, RequestId};
use hwbkpt_hal::{
    DebugArchitecture, DecodeError, DecodedAccess, Dispatcher, EmulateError, Event, ExecutionMode,
    InstructionDecode, InstructionEmulate, MemoryRead, MemoryReadError, RegisterAccess, Resolution,
    ResumeAction, SlotId, StringProgress, SwitchError, TrapFrame,
};
use hwbkpt_sim::{Isa, Kernel, KernelContext, Machine, Memory, Mode, Resume};

/// Why the bridge could not write a simulated register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BridgeError {
    /// The image is for another slot, or the slot does not exist on this model.
    WrongSlot(SlotId),
    /// The simulated CPU refused the register write (x86 GD, reserved bits).
    Refused,
    /// The machine has more CPUs than the dispatcher was built for.
    UnknownCpu(CpuId),
}

impl core::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::WrongSlot(slot) => write!(f, "no such slot on this CPU model: {slot:?}"),
            Self::Refused => f.write_str("the simulated CPU refused the debug-register write"),
            Self::UnknownCpu(cpu) => write!(f, "CPU {} is beyond the dispatcher's CPUs", cpu.0),
        }
    }
}

impl core::error::Error for BridgeError {}

/// How one simulated ISA carries one arch backend's registers.
pub trait SimBinding: Isa + Sized {
    /// The backend describing this CPU.
    type Arch: DebugArchitecture + Copy;

    /// The exception status as the backend's type.
    fn status(exception: &Self::Exception) -> <Self::Arch as DebugArchitecture>::Status;

    /// Write `image` into `slot` of the context's debug registers.
    ///
    /// # Errors
    /// [`BridgeError`] when the slot or write is refused.
    fn install(
        arch: &Self::Arch,
        regs: &mut Self::Context,
        slot: SlotId,
        image: <Self::Arch as DebugArchitecture>::SlotImage,
    ) -> Result<(), BridgeError>;

    /// Disarm `slot`.
    ///
    /// # Errors
    /// [`BridgeError`] when the slot or write is refused.
    fn uninstall(
        arch: &Self::Arch,
        regs: &mut Self::Context,
        slot: SlotId,
    ) -> Result<(), BridgeError>;

    /// The status registers as they are now.
    fn read_status(regs: &Self::Context) -> <Self::Arch as DebugArchitecture>::Status;

    /// Quiet the status registers.
    ///
    /// # Errors
    /// [`BridgeError::Refused`] when the model refuses the write.
    fn reset_status(regs: &mut Self::Context) -> Result<(), BridgeError>;

    /// Apply what dispatch decided to the trap frame (x86: RF for instruction breakpoints).
    fn apply(regs: &mut Self::Context, action: ResumeAction);

    /// Whether `exception` was held across a kernel entry, so it belongs to the user
    /// instruction before it (x86: a #DB delayed by MOV SS / POP SS arriving at the first
    /// instruction of the `syscall` entry — what a kernel's #DB handler checks with the
    /// entry's RIP). The default: never.
    fn held_across_entry(&self, _regs: &Self::Context, _exception: &Self::Exception) -> bool {
        false
    }
}

/// The interrupted context seen through the HAL's traits: registers, memory, the decode
/// hook and the emulation hook — and nothing else (no trace).
pub struct Interrupted<'a, 'b, I: SimBinding> {
    cx: &'a mut KernelContext<'b, I>,
    arch: I::Arch,
}

impl<I: SimBinding> RegisterAccess for Interrupted<'_, '_, I> {
    type Image = <I::Arch as DebugArchitecture>::SlotImage;
    type Status = <I::Arch as DebugArchitecture>::Status;
    type Error = BridgeError;

    fn install(&mut self, slot: SlotId, image: Self::Image) -> Result<(), BridgeError> {
        I::install(&self.arch, self.cx.regs_mut(), slot, image)
    }
    fn uninstall(&mut self, slot: SlotId) -> Result<(), BridgeError> {
        I::uninstall(&self.arch, self.cx.regs_mut(), slot)
    }
    fn read_status(&mut self) -> Result<Self::Status, BridgeError> {
        Ok(I::read_status(self.cx.regs()))
    }
    fn reset_status(&mut self) -> Result<(), BridgeError> {
        I::reset_status(self.cx.regs_mut())
    }
    fn set_single_step(&mut self, enabled: bool) -> Result<(), BridgeError> {
        self.cx.set_single_step(enabled);
        Ok(())
    }
    fn single_step_enabled(&mut self) -> Result<bool, BridgeError> {
        Ok(self.cx.single_step_enabled())
    }
}

impl<I: SimBinding> MemoryRead for Interrupted<'_, '_, I> {
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        self.cx.read_memory(addr, buf)
    }
}

impl<I: SimBinding> InstructionDecode for Interrupted<'_, '_, I> {
    fn decode_access(&mut self, pc: u64) -> Result<Option<DecodedAccess>, DecodeError> {
        self.cx.decode_access(pc)
    }
    fn string_progress(&mut self, pc: u64) -> Option<StringProgress> {
        self.cx.string_progress(pc)
    }
}

impl<I: SimBinding> InstructionEmulate for Interrupted<'_, '_, I> {
    fn emulate(&mut self, pc: u64) -> Result<(), EmulateError> {
        self.cx.emulate(pc)
    }
}

/// The HAL's dispatcher as the machine's kernel, logging every delivered event.
pub struct HalKernel<I: SimBinding> {
    /// The pipeline.
    pub dispatcher: Dispatcher<I::Arch>,
    /// Every event delivered, in order.
    pub events: Vec<Event>,
    /// Debug exceptions no part of which was this layer's (foreign single steps, GD).
    pub unclaimed: u64,
    /// Register writes the simulated CPU refused.
    pub errors: Vec<BridgeError>,
    /// What the dispatcher decided at the most recent debug exception.
    pub last_resolution: Option<Resolution>,
}

impl<I: SimBinding> HalKernel<I> {
    /// A kernel dispatching for `arch`, with no request yet.
    pub fn new(arch: I::Arch) -> Self {
        Self {
            dispatcher: Dispatcher::new(arch),
            events: Vec::new(),
            unclaimed: 0,
            errors: Vec::new(),
            last_resolution: None,
        }
    }

    fn interrupted<'a, 'b>(&self, cx: &'a mut KernelContext<'b, I>) -> Interrupted<'a, 'b, I> {
        Interrupted {
            cx,
            arch: *self.dispatcher.arch(),
        }
    }
}

/// The HAL's name for the simulator's privilege mode.
#[must_use]
pub const fn execution_mode(mode: Mode) -> ExecutionMode {
    match mode {
        Mode::User => ExecutionMode::User,
        Mode::Supervisor => ExecutionMode::Kernel,
        Mode::Hypervisor => ExecutionMode::Hypervisor,
    }
}

impl<I: SimBinding> Kernel<I> for HalKernel<I> {
    fn exception(&mut self, cx: &mut KernelContext<'_, I>, exception: &I::Exception) -> Resume {
        let frame = TrapFrame {
            task: cx.task(),
            cpu: cx.cpu(),
            pc: cx.pc(),
            mode: execution_mode(cx.isa().mode(cx.regs())),
        };
        self.last_resolution = None;
        let status = I::status(exception);
        let held = cx.isa().held_across_entry(cx.regs(), exception);
        let mut interrupted = self.interrupted(cx);
        let events = &mut self.events;
        let mut sink = |event: &Event| events.push(*event);
        let handled = if held {
            self.dispatcher
                .handle_held_exception(&frame, status, &mut interrupted, &mut sink)
        } else {
            self.dispatcher
                .handle_exception(&frame, status, &mut interrupted, &mut sink)
        };
        match handled {
            Ok(resolution) => {
                self.last_resolution = Some(resolution);
                if !resolution.claimed {
                    self.unclaimed += 1;
                }
                I::apply(cx.regs_mut(), resolution.action);
                if resolution.action == ResumeAction::Stop {
                    Resume::Stop
                } else {
                    Resume::Continue
                }
            }
            Err(error) => {
                self.errors.push(error);
                Resume::Continue
            }
        }
    }

    fn returned_to_user(&mut self, cx: &mut KernelContext<'_, I>) {
        let events = &mut self.events;
        let mut sink = |event: &Event| events.push(*event);
        self.dispatcher.return_to_user(cx.task(), &mut sink);
    }

    fn switched_in(&mut self, cx: &mut KernelContext<'_, I>) {
        let (task, cpu) = (cx.task(), cx.cpu());
        let mut interrupted = self.interrupted(cx);
        if let Err(error) = self.dispatcher.switch_in(task, cpu, &mut interrupted) {
            self.errors.push(match error {
                SwitchError::Register(error) => error,
                _ => BridgeError::UnknownCpu(cpu),
            });
        }
    }

    fn pc_changed(&mut self, cx: &mut KernelContext<'_, I>, _old_pc: u64) {
        let (task, cpu) = (cx.task(), cx.cpu());
        let mut interrupted = self.interrupted(cx);
        if let Err(error) = self.dispatcher.cancel_step(task, cpu, &mut interrupted) {
            self.errors.push(error);
        }
    }
}

/// Simulated memory read the way the HAL reads it (at registration: the first
/// "last observed" value of a watch).
pub struct MemoryView<'a>(pub &'a Memory);

impl MemoryRead for MemoryView<'_> {
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        self.0
            .read(addr, buf)
            .map_err(|fault| MemoryReadError::Unmapped { addr: fault.addr })
    }
}

/// Register `request` with the machine's HAL kernel; it is installed when a task it covers
/// is next switched in.
///
/// # Errors
/// The dispatcher's refusal.
pub fn register<I: SimBinding>(
    machine: &mut Machine<I, HalKernel<I>>,
    request: Request,
) -> Result<RequestId, DispatchError> {
    let memory = machine.memory().clone();
    machine
        .kernel_mut()
        .dispatcher
        .register(request, &mut MemoryView(&memory))
}
