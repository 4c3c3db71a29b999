//! [`PowerCpu`]: a POWER profile as a [`DebugArchitecture`].

use hwbkpt_hal::{
    AddressRange, AddressSpacePolicy, Capabilities, DebugArchitecture, DecodedAccess, Delivery,
    ExceptionCause, Plan, PoolKind, Request, RequestError, SlotId, SlotProgram, SlotSet,
};

use crate::encode::{encode_ciabr, encode_dabr, encode_dawr};
use crate::image::{DawrIndex, SlotImage, SlotRegisters, WriteSequence};
use crate::plan::{doubleword_window, slots_needed, split};
use crate::profile::{DOUBLEWORD, DataRegister, PowerProfile};
use crate::program::{DataWatch, InstructionBreak, PowerProgram, Translation};
use crate::registers::{CiabrPrivilege, Dsisr, Srr1};
use crate::status::PowerStatus;

/// Why POWER9's DAWR is refused by default.
pub const POWER9_ERRATUM_REASON: &str =
    "POWER9 DAWR disabled: checkstop erratum (enable dangerous mode to use it)";
const NO_CIABR_REASON: &str = "no CIABR before POWER8";
const ONE_CIABR_REASON: &str = "there is one CIABR, slot 0";
const NO_SUCH_DATA_SLOT_REASON: &str = "the profile has fewer data slots";
const NO_SHARED_REASON: &str = "PPC64 has separate data and instruction slots";
const WRONG_POOL_REASON: &str = "the slot belongs to another pool than the program";
const IMAGE_MISMATCH_REASON: &str = "the image programs other registers than the slot's";
const CIABR_AFTER_REASON: &str =
    "CIABR reports after the instruction completed (NIP is the next instruction)";

/// A POWER CPU's debug facility: a profile plus the POWER9 "dangerous" DAWR switch.
///
/// ```
/// use hwbkpt_hal::{AccessKind, DebugArchitecture, Request, RequestError};
/// use hwbkpt_ppc64::{PowerCpu, PowerProfile};
///
/// let request = Request::builder(0x7fff_0000_1000, 8, AccessKind::WRITE).build()?;
/// let p9 = PowerCpu::new(PowerProfile::Power9);
/// assert!(matches!(p9.plan(&request), Err(RequestError::NoSlots { .. })));
/// let p9 = p9.with_dangerous_dawr(true);
/// assert_eq!(p9.plan(&request)?.len(), 1);
/// # Ok::<(), RequestError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PowerCpu {
    profile: PowerProfile,
    dangerous_dawr: bool,
    /// Derived from the two above once, not on every exception.
    capabilities: &'static Capabilities,
    /// The usable data slots: a DSI reports one of them, without saying which.
    data_slot_set: SlotSet,
}

// Equal when the profile and the switch are: the rest is derived from them.
impl PartialEq for PowerCpu {
    fn eq(&self, other: &Self) -> bool {
        (self.profile, self.dangerous_dawr) == (other.profile, other.dangerous_dawr)
    }
}
impl Eq for PowerCpu {}
impl core::hash::Hash for PowerCpu {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        (self.profile, self.dangerous_dawr).hash(state);
    }
}

impl PowerCpu {
    /// `profile` with the dangerous switch off (Linux's default).
    #[must_use]
    pub const fn new(profile: PowerProfile) -> Self {
        Self::derived(profile, false)
    }

    /// The same CPU with the "dangerous" DAWR switch set, like writing `Y` to Linux's
    /// `/sys/kernel/debug/powerpc/dawr_enable_dangerous`. It only changes POWER9, whose DAWR
    /// then works — and a DAWR match on cache-inhibited memory can checkstop the machine.
    #[must_use]
    pub const fn with_dangerous_dawr(self, enabled: bool) -> Self {
        Self::derived(self.profile, enabled)
    }

    const fn derived(profile: PowerProfile, dangerous_dawr: bool) -> Self {
        let mut data_slot_set = SlotSet::EMPTY;
        let mut index = 0;
        while index < profile.usable_data_slots(dangerous_dawr) {
            if let Some(slot) = SlotId::new(PoolKind::Data, index) {
                data_slot_set = data_slot_set.with(slot);
            }
            index += 1;
        }
        Self {
            profile,
            dangerous_dawr,
            capabilities: profile.capabilities(dangerous_dawr),
            data_slot_set,
        }
    }

    /// The profile.
    #[must_use]
    pub const fn profile(&self) -> PowerProfile {
        self.profile
    }

    /// Whether the dangerous switch is set.
    #[must_use]
    pub const fn dangerous_dawr(&self) -> bool {
        self.dangerous_dawr
    }

    /// Usable data slots.
    #[must_use]
    pub const fn data_slots(&self) -> u8 {
        self.profile.usable_data_slots(self.dangerous_dawr)
    }

    /// The registers behind `slot` on this CPU.
    ///
    /// # Errors
    /// [`RequestError::NoSlots`] when the slot does not exist or is not usable (POWER9's
    /// DAWR without the dangerous switch).
    pub const fn slot_registers(&self, slot: SlotId) -> Result<SlotRegisters, RequestError> {
        let limits = self.profile.limits();
        match slot.pool() {
            PoolKind::Shared => Err(RequestError::NoSlots {
                kind: PoolKind::Shared.name(),
                reason: NO_SHARED_REASON,
            }),
            PoolKind::Instruction => {
                if !limits.ciabr {
                    Err(RequestError::NoSlots {
                        kind: PoolKind::Instruction.name(),
                        reason: NO_CIABR_REASON,
                    })
                } else if slot.index() != 0 {
                    Err(RequestError::NoSlots {
                        kind: PoolKind::Instruction.name(),
                        reason: ONE_CIABR_REASON,
                    })
                } else {
                    Ok(SlotRegisters::Ciabr)
                }
            }
            PoolKind::Data => {
                if slot.index() >= self.data_slots() {
                    return Err(self.no_data_slot());
                }
                match limits.data_register {
                    DataRegister::Dabr => Ok(SlotRegisters::Dabr),
                    DataRegister::Dawr => match DawrIndex::new(slot.index()) {
                        Some(i) => Ok(SlotRegisters::Dawr(i)),
                        None => Err(self.no_data_slot()),
                    },
                }
            }
        }
    }

    /// The `mtspr`s that install `image` in `slot`, in order ([`SlotImage::install`]).
    ///
    /// # Errors
    /// [`RequestError::NoSlots`] when the slot does not exist or is not usable on this CPU,
    /// or when the image programs other registers than the ones behind the slot.
    pub fn install_sequence(
        &self,
        slot: SlotId,
        image: &SlotImage,
    ) -> Result<WriteSequence, RequestError> {
        if self.slot_registers(slot)? != image.registers() {
            return Err(RequestError::NoSlots {
                kind: slot.pool().name(),
                reason: IMAGE_MISMATCH_REASON,
            });
        }
        Ok(image.install())
    }

    /// The `mtspr` that disarms `slot` ([`SlotRegisters::disarm`]).
    ///
    /// # Errors
    /// [`RequestError::NoSlots`] when the slot does not exist or is not usable on this CPU.
    pub fn disarm_sequence(&self, slot: SlotId) -> Result<WriteSequence, RequestError> {
        Ok(self.slot_registers(slot)?.disarm())
    }

    const fn no_data_slot(&self) -> RequestError {
        RequestError::NoSlots {
            kind: PoolKind::Data.name(),
            reason: if self.data_slots() == 0 && self.profile.limits().checkstop_erratum {
                POWER9_ERRATUM_REASON
            } else {
                NO_SUCH_DATA_SLOT_REASON
            },
        }
    }

    fn plan_data(&self, request: &Request) -> Result<Plan<PowerProgram>, RequestError> {
        let limits = self.profile.limits();
        let available = self.data_slots();
        if available == 0 {
            return Err(self.no_data_slot());
        }
        let window = doubleword_window(request.range())?;
        let needed = slots_needed(window, limits.max_data_len, limits.data_boundary);
        if needed > u64::from(available) {
            return Err(
                match (limits.data_register, available, limits.data_boundary) {
                    // One DAWR: say what it cannot do.
                    (DataRegister::Dawr, 1, _) if window.len() > limits.max_data_len => {
                        RequestError::RangeTooLong {
                            register: DataRegister::Dawr.name(),
                            addr: window.start(),
                            len: window.len(),
                            max: limits.max_data_len,
                        }
                    }
                    (DataRegister::Dawr, 1, Some(boundary)) => RequestError::CrossesBoundary {
                        register: DataRegister::Dawr.name(),
                        addr: window.start(),
                        len: window.len(),
                        boundary,
                    },
                    _ => RequestError::TooManySlots {
                        needed: u32::try_from(needed).unwrap_or(u32::MAX),
                        available: u32::from(available),
                    },
                },
            );
        }
        let mut plan = Plan::new();
        for piece in split(window, limits.max_data_len, limits.data_boundary) {
            let watch = DataWatch::new(
                piece,
                request.access(),
                request.privilege(),
                Translation::On,
            )?;
            plan.push(PowerProgram::Data(watch))?;
        }
        Ok(plan)
    }

    fn plan_execute(&self, request: &Request) -> Result<Plan<PowerProgram>, RequestError> {
        if !self.profile.limits().ciabr {
            return Err(RequestError::NoSlots {
                kind: PoolKind::Instruction.name(),
                reason: NO_CIABR_REASON,
            });
        }
        if request.delivery() == Delivery::Before {
            return Err(RequestError::DeliveryUnsupported {
                delivery: Delivery::Before,
                reason: CIABR_AFTER_REASON,
            });
        }
        let range = request.range();
        if CiabrPrivilege::from_filter(request.privilege()).is_none() {
            return Err(RequestError::PrivilegeUnsupported {
                privilege: request.privilege(),
                register: "CIABR",
            });
        }
        let brk = InstructionBreak::new(range.start(), request.privilege())?;
        if range.len() > InstructionBreak::WORD {
            return Err(RequestError::RangeTooLong {
                register: "CIABR",
                addr: range.start(),
                len: range.len(),
                max: InstructionBreak::WORD,
            });
        }
        let mut plan = Plan::new();
        plan.push(PowerProgram::Instruction(brk))?;
        Ok(plan)
    }
}

impl DebugArchitecture for PowerCpu {
    type Program = PowerProgram;
    type SlotImage = SlotImage;
    type Status = PowerStatus;

    fn capabilities(&self) -> &Capabilities {
        self.capabilities
    }

    /// The access rounded out to doublewords — or, before POWER10, a 16-byte access to
    /// quadwords ([`ProfileLimits::quadword_granule`](crate::ProfileLimits::quadword_granule)):
    /// the bytes a DABR/DAWR compares.
    #[inline(always)]
    fn match_window(&self, access: &DecodedAccess) -> Option<AddressRange> {
        let granule = if access.size == 16 {
            self.profile.limits().quadword_granule
        } else {
            DOUBLEWORD
        };
        AddressRange::new(access.addr, u64::from(access.size))
            .ok()?
            .rounded_out(granule)
    }

    fn address_space(&self) -> AddressSpacePolicy {
        AddressSpacePolicy {
            user_limit: self.profile.limits().user_limit,
            forbidden: &[],
        }
    }

    /// Data: the request rounded out to doublewords, in the fewest slots (DABR: one
    /// doubleword; DAWR: ≤ 512 bytes, not across a 512-byte boundary before POWER10),
    /// matching with translation on (DAWRX\[WT\] / DABR\[BT\]) like Linux. Execute: one
    /// CIABR on a word-aligned instruction, one privilege state, native (after) delivery.
    fn plan(&self, request: &Request) -> Result<Plan<PowerProgram>, RequestError> {
        if request.is_execute() {
            self.plan_execute(request)
        } else {
            self.plan_data(request)
        }
    }

    fn encode(&self, slot: SlotId, program: &PowerProgram) -> Result<SlotImage, RequestError> {
        let registers = self.slot_registers(slot)?;
        if program.pool() != slot.pool() {
            return Err(RequestError::NoSlots {
                kind: program.pool().name(),
                reason: WRONG_POOL_REASON,
            });
        }
        let limits = self.profile.limits();
        match (registers, program) {
            (SlotRegisters::Dabr, PowerProgram::Data(watch)) => {
                let range = watch.range();
                if range.len() > limits.max_data_len {
                    return Err(RequestError::RangeTooLong {
                        register: DataRegister::Dabr.name(),
                        addr: range.start(),
                        len: range.len(),
                        max: limits.max_data_len,
                    });
                }
                let (dabr, dabrx) = encode_dabr(watch);
                Ok(SlotImage::Dabr { dabr, dabrx })
            }
            (SlotRegisters::Dawr(index), PowerProgram::Data(watch)) => {
                let range = watch.range();
                if let Some(boundary) = limits.data_boundary
                    && range.start() / boundary != range.last() / boundary
                {
                    return Err(RequestError::CrossesBoundary {
                        register: DataRegister::Dawr.name(),
                        addr: range.start(),
                        len: range.len(),
                        boundary,
                    });
                }
                let (dawr, dawrx) = encode_dawr(watch);
                Ok(SlotImage::Dawr { index, dawr, dawrx })
            }
            (SlotRegisters::Ciabr, PowerProgram::Instruction(brk)) => {
                Ok(SlotImage::Ciabr(encode_ciabr(brk)))
            }
            // The pool check above makes these unreachable; refuse rather than panic.
            _ => Err(RequestError::NoSlots {
                kind: program.pool().name(),
                reason: WRONG_POOL_REASON,
            }),
        }
    }

    /// DSI with the match bit: every usable data slot is a candidate (DSISR does not say
    /// which DAWR matched), `address` = DAR. Trace: `single_step` from the saved MSR\[SE\],
    /// the CIABR slot (exactly) when SRR1 reports a CIABR match. A DSI without the match bit
    /// is a page fault: no debug cause.
    #[inline]
    fn decode_status(&self, status: &PowerStatus) -> ExceptionCause {
        match *status {
            PowerStatus::DataStorage { dsisr, dar } => {
                if !dsisr.contains(Dsisr::DABR_MATCH) {
                    return ExceptionCause::default();
                }
                ExceptionCause {
                    slots: self.data_slot_set,
                    slots_exact: false,
                    single_step: false,
                    debug_register_access: false,
                    address: Some(dar),
                }
            }
            PowerStatus::Trace { srr1 } => {
                let mut slots = SlotSet::EMPTY;
                if srr1.contains(Srr1::CIABR_MATCH)
                    && self.profile.limits().ciabr
                    && let Some(ciabr) = SlotId::new(PoolKind::Instruction, 0)
                {
                    slots = slots.with(ciabr);
                }
                ExceptionCause {
                    slots,
                    slots_exact: true,
                    single_step: srr1.contains(Srr1::SE),
                    debug_register_access: false,
                    address: None,
                }
            }
        }
    }
}
