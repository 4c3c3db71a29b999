//! The simulated machine's kernel while gdb debugs it: the bridge's [`HalKernel`] does all the
//! breakpoint work (install at switch-in, dispatch at the exception, cancel a pending step when
//! the PC moves); this wrapper only decides, from the events the HAL delivered, whether the
//! task stops for gdb and why.

use gdbstub::common::Signal;
use hwbkpt_hal::EventKind;
use hwbkpt_sim::{Fault, Kernel, KernelContext, Resume};

use super::breakpoints::Insertions;
use super::model::GdbModel;
use super::stop::Stop;
use crate::bridge::HalKernel;

/// [`HalKernel`] plus gdb's view of its requests.
pub struct GdbKernel<I: GdbModel> {
    /// The HAL as the kernel.
    pub hal: HalKernel<I>,
    /// What gdb inserted, by request.
    pub insertions: Insertions,
    /// Why the task stopped, set when a hook returns [`Resume::Stop`].
    pub stop: Option<Stop>,
    /// Things gdb does not hear about but a person should (a request disabled by the HAL, a
    /// register write the simulated CPU refused), for the stub's log.
    pub notes: Vec<String>,
}

impl<I: GdbModel> GdbKernel<I> {
    /// A kernel dispatching for `arch`, with nothing inserted.
    pub fn new(arch: I::Arch) -> Self {
        Self {
            hal: HalKernel::new(arch),
            insertions: Insertions::default(),
            stop: None,
            notes: Vec::new(),
        }
    }
}

impl<I: GdbModel> Kernel<I> for GdbKernel<I> {
    fn exception(&mut self, cx: &mut KernelContext<'_, I>, exception: &I::Exception) -> Resume {
        let events_before = self.hal.events.len();
        let errors_before = self.hal.errors.len();
        let resume = self.hal.exception(cx, exception);
        let mut stop = None;
        // Events are consumed here: nothing else reads them, and a long session must not
        // accumulate them.
        for event in self.hal.events.drain(events_before..) {
            if let EventKind::Disabled(reason) = event.kind {
                self.notes.push(format!(
                    "the HAL disabled a request at pc {:#x}: {reason:?}",
                    event.pc
                ));
            }
            let seen = self
                .insertions
                .classify(event.request, &event.kind, event.pc);
            // The first of several hits of one instruction is the one gdb hears about.
            stop = stop.or(seen);
        }
        for error in self.hal.errors.drain(errors_before..) {
            self.notes.push(format!("bridge error: {error}"));
        }
        match (stop, resume) {
            (Some(stop), _) => {
                self.stop = Some(stop);
                Resume::Stop
            }
            (None, Resume::Stop) => {
                // The HAL stopped the task for a hit gdb did not ask about: still a trap.
                self.stop = Some(Stop::Signal(Signal::SIGTRAP));
                Resume::Stop
            }
            (None, other) => other,
        }
    }

    fn fault(&mut self, _cx: &mut KernelContext<'_, I>, fault: &Fault) -> Resume {
        // Stop at the faulting instruction with the signal Linux would send; gdb decides
        // whether to pass it on (which ends the task) or to change the state and retry.
        self.stop = Some(Stop::Signal(I::fault_signal(fault.kind)));
        Resume::Stop
    }

    fn interrupt(&mut self, cx: &mut KernelContext<'_, I>) {
        self.hal.interrupt(cx);
    }

    fn switched_in(&mut self, cx: &mut KernelContext<'_, I>) {
        let errors_before = self.hal.errors.len();
        self.hal.switched_in(cx);
        for error in self.hal.errors.drain(errors_before..) {
            self.notes
                .push(format!("bridge error at switch-in: {error}"));
        }
    }

    fn switched_out(&mut self, cx: &mut KernelContext<'_, I>) {
        self.hal.switched_out(cx);
    }

    fn pc_changed(&mut self, cx: &mut KernelContext<'_, I>, old_pc: u64) {
        self.hal.pc_changed(cx, old_pc);
    }
}
