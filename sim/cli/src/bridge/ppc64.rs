//! The PPC64 model carrying `hwbkpt-ppc64`'s images: each `mtspr` of the backend's install
//! and disarm sequences lands in the model's raw debug registers.

use hwbkpt_hal::{ResumeAction, SlotId};
use hwbkpt_ppc64::{Dsisr, PowerCpu, PowerStatus, SlotImage, Spr, SprWrite, Srr1};
use hwbkpt_sim::ppc64::{Ppc64, Ppc64Context, Ppc64Exception};

use super::{BridgeError, SimBinding};

fn mtspr(regs: &mut Ppc64Context, write: SprWrite) -> Result<(), BridgeError> {
    let debug = &mut regs.debug;
    let register = match write.spr {
        Spr::Dabr => &mut debug.dabr,
        Spr::Dabrx => &mut debug.dabrx,
        Spr::Dawr0 => &mut debug.dawr[0],
        Spr::Dawr1 => &mut debug.dawr[1],
        Spr::Dawrx0 => &mut debug.dawrx[0],
        Spr::Dawrx1 => &mut debug.dawrx[1],
        Spr::Ciabr => &mut debug.ciabr,
        Spr::Dsisr => &mut regs.dsisr,
        Spr::Dar => &mut regs.dar,
    };
    *register = write.value;
    Ok(())
}

impl SimBinding for Ppc64 {
    type Arch = PowerCpu;

    fn status(exception: &Ppc64Exception) -> PowerStatus {
        match *exception {
            Ppc64Exception::DataStorage { dsisr, dar } => PowerStatus::DataStorage {
                dsisr: Dsisr::from_bits_retain(dsisr),
                dar,
            },
            Ppc64Exception::Trace { single_step, ciabr } => {
                let mut srr1 = Srr1::empty();
                if single_step {
                    srr1 |= Srr1::SE;
                }
                if ciabr {
                    srr1 |= Srr1::CIABR_MATCH;
                }
                PowerStatus::Trace { srr1 }
            }
        }
    }

    fn install(
        arch: &PowerCpu,
        regs: &mut Ppc64Context,
        slot: SlotId,
        image: SlotImage,
    ) -> Result<(), BridgeError> {
        let sequence = arch
            .install_sequence(slot, &image)
            .map_err(|_| BridgeError::WrongSlot(slot))?;
        sequence.iter().try_for_each(|write| mtspr(regs, write))
    }

    fn uninstall(
        arch: &PowerCpu,
        regs: &mut Ppc64Context,
        slot: SlotId,
    ) -> Result<(), BridgeError> {
        let sequence = arch
            .disarm_sequence(slot)
            .map_err(|_| BridgeError::WrongSlot(slot))?;
        sequence.iter().try_for_each(|write| mtspr(regs, write))
    }

    fn read_status(regs: &Ppc64Context) -> PowerStatus {
        PowerStatus::DataStorage {
            dsisr: Dsisr::from_bits_retain(regs.dsisr),
            dar: regs.dar,
        }
    }

    fn reset_status(regs: &mut Ppc64Context) -> Result<(), BridgeError> {
        // DSISR is rewritten by every data storage interrupt; clearing it keeps a stale match
        // bit from being read twice.
        regs.dsisr = 0;
        Ok(())
    }

    fn apply(_regs: &mut Ppc64Context, _action: ResumeAction) {}
}
