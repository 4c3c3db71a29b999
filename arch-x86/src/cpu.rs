//! The x86 implementation of the HAL's architecture trait.

use hwbkpt_hal::{
    AccessKind, AddressSpacePolicy, Capabilities, DebugArchitecture, Delivery, ExceptionCause,
    Plan, PoolKind, Request, RequestError, SlotId,
};

use crate::cover::AlignedCover;
use crate::program::LEN_FIELD;
use crate::{
    BreakpointLength, Condition, DebugSlot, Dr6, EnableMode, X86Profile, X86Program, X86SlotImage,
};

/// Architecture name in [`RequestError::ReadOnlyUnsupported`].
const ARCH: &str = "x86";

/// An x86 processor's debug hardware, described by a [`X86Profile`], and the enable bits
/// this layer arms slots with. Implements [`DebugArchitecture`]: planning and encoding are
/// pure functions of these two values.
///
/// ```
/// use hwbkpt_hal::{AccessKind, DebugArchitecture, Request, RequestError};
/// use hwbkpt_x86::{X86Cpu, X86Profile};
///
/// let cpu = X86Cpu::new(X86Profile::GENERIC_X86_64);
/// let read_only = Request::builder(0x1000, 4, AccessKind::READ).build()?;
/// let err = cpu.plan(&read_only).unwrap_err();
/// assert_eq!(err.to_string(), "x86 cannot watch reads only; use read|write");
/// # Ok::<(), RequestError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct X86Cpu {
    profile: X86Profile,
    enable: EnableMode,
}

impl X86Cpu {
    /// The CPU described by `profile`, arming slots with global enables and GE (as Linux
    /// does).
    #[must_use]
    pub const fn new(profile: X86Profile) -> Self {
        Self {
            profile,
            enable: EnableMode::Global,
        }
    }

    /// The same CPU, arming slots with `enable`'s bits.
    #[must_use]
    pub const fn with_enable_mode(self, enable: EnableMode) -> Self {
        Self { enable, ..self }
    }

    /// The profile.
    #[must_use]
    pub const fn profile(&self) -> &X86Profile {
        &self.profile
    }

    /// The enable bits slots are armed with.
    #[must_use]
    pub const fn enable_mode(&self) -> EnableMode {
        self.enable
    }

    /// The longest LEN the planner may use on this profile.
    fn max_piece(&self) -> BreakpointLength {
        BreakpointLength::from_bytes(self.profile.max_piece()).unwrap_or(BreakpointLength::One)
    }

    /// Refuse a cover of `pieces` slots when the pool is smaller.
    pub(crate) fn check_slot_count(&self, pieces: u64) -> Result<(), RequestError> {
        let available = self.profile.slot_count();
        if available == 0 {
            return Err(RequestError::NoSlots {
                kind: PoolKind::Shared.name(),
                reason: "this x86 profile has no DR0-DR3 pool",
            });
        }
        if pieces > u64::from(available) {
            return Err(RequestError::TooManySlots {
                needed: u32::try_from(pieces).unwrap_or(u32::MAX),
                available: u32::from(available),
            });
        }
        Ok(())
    }

    /// The plan for `cover`, whose size was already checked against the pool.
    pub(crate) fn plan_cover(
        cover: AlignedCover,
        program: impl Fn(u64, BreakpointLength) -> Result<X86Program, RequestError>,
    ) -> Result<Plan<X86Program>, RequestError> {
        let mut plan = Plan::new();
        for piece in cover {
            plan.push(program(piece.address(), piece.length())?)?;
        }
        Ok(plan)
    }

    /// Refuse addresses DR0–DR3 cannot hold on this profile (bytes above 4 GiB on IA-32).
    fn check_address_width(&self, request: &Request) -> Result<(), RequestError> {
        let range = request.range();
        if range.last() > self.profile.max_linear_address() {
            return Err(RequestError::RangeWraps {
                addr: range.start(),
                len: range.len(),
            });
        }
        Ok(())
    }

    fn plan_execute(&self, request: &Request) -> Result<Plan<X86Program>, RequestError> {
        if request.delivery() == Delivery::After {
            return Err(RequestError::DeliveryUnsupported {
                delivery: Delivery::After,
                reason: "x86 instruction breakpoints fault before the instruction executes",
            });
        }
        let range = request.range();
        // R/W = 00 requires LEN = 00 (Intel SDM Vol. 3B §18.2.4).
        if range.len() != 1 {
            return Err(RequestError::UnsupportedLength {
                register: LEN_FIELD,
                len: range.len(),
            });
        }
        self.check_slot_count(1)?;
        let mut plan = Plan::new();
        plan.push(X86Program::execute(range.start())?)?;
        Ok(plan)
    }

    fn plan_data(&self, request: &Request) -> Result<Plan<X86Program>, RequestError> {
        let condition = if request.access().contains(AccessKind::READ) {
            Condition::ReadWrite
        } else {
            Condition::Write
        };
        if !request.access().contains(AccessKind::WRITE) {
            // R/W has write and read-or-write, no read-only encoding (SDM §18.2.4).
            return Err(RequestError::ReadOnlyUnsupported { arch: ARCH });
        }
        if request.delivery() == Delivery::Before {
            return Err(RequestError::DeliveryUnsupported {
                delivery: Delivery::Before,
                reason: "x86 data breakpoints trap after the access has completed",
            });
        }
        let cover = AlignedCover::new(request.range(), self.max_piece());
        self.check_slot_count(cover.piece_count())?;
        Self::plan_cover(cover, |address, length| {
            X86Program::new(address, length, condition)
        })
    }

    /// Check that `program` can run on this profile.
    fn check_program(&self, program: &X86Program) -> Result<(), RequestError> {
        if !self.profile.supports_length(program.length().bytes()) {
            return Err(RequestError::UnsupportedLength {
                register: LEN_FIELD,
                len: program.length().bytes(),
            });
        }
        let range = hwbkpt_hal::SlotProgram::hardware_range(program);
        if !program.is_io() && range.last() > self.profile.max_linear_address() {
            return Err(RequestError::RangeWraps {
                addr: range.start(),
                len: range.len(),
            });
        }
        Ok(())
    }
}

impl Default for X86Cpu {
    /// Generic x86-64 with 4-level paging, global enables.
    fn default() -> Self {
        Self::new(X86Profile::GENERIC_X86_64)
    }
}

impl DebugArchitecture for X86Cpu {
    type Program = X86Program;
    type SlotImage = X86SlotImage;
    type Status = Dr6;

    fn capabilities(&self) -> &Capabilities {
        &self.profile.capabilities
    }

    fn address_space(&self) -> AddressSpacePolicy {
        self.profile.address_space
    }

    /// Execute requests take one slot (length 1, delivery `Native` or `Before`). Data
    /// requests are covered exactly by the fewest aligned 1/2/4/8-byte pieces (see
    /// [`AlignedCover`]), each a slot watching writes (`write`) or reads and writes
    /// (`read|write`); delivery `After` or `Native`.
    ///
    /// # Errors
    /// [`RequestError::ReadOnlyUnsupported`], [`RequestError::DeliveryUnsupported`],
    /// [`RequestError::UnsupportedLength`] (execute longer than 1 byte),
    /// [`RequestError::TooManySlots`], [`RequestError::RangeWraps`] (bytes DR0–DR3 cannot
    /// address on a 32-bit profile), [`RequestError::NoSlots`] (a profile without slots).
    fn plan(&self, request: &Request) -> Result<Plan<X86Program>, RequestError> {
        self.check_address_width(request)?;
        if request.is_execute() {
            self.plan_execute(request)
        } else {
            self.plan_data(request)
        }
    }

    /// # Errors
    /// [`RequestError::NoSlots`] when `slot` is not one of this profile's DR0–DR3;
    /// [`RequestError::UnsupportedLength`] for an 8-byte program on a profile without LEN 8;
    /// [`RequestError::RangeWraps`] for an address DR0–DR3 cannot hold on this profile.
    fn encode(&self, slot: SlotId, program: &X86Program) -> Result<X86SlotImage, RequestError> {
        let x86_slot = DebugSlot::from_slot_id(slot)
            .filter(|s| s.index() < self.profile.slot_count())
            .ok_or(RequestError::NoSlots {
                kind: slot.pool().name(),
                reason: "x86 has only the shared DR0-DR3 pool",
            })?;
        self.check_program(program)?;
        Ok(X86SlotImage::new(x86_slot, *program, self.enable))
    }

    /// B0–B3 name the matching slots exactly (possibly including matching slots that are
    /// not enabled); BS is a single-step; BD a debug-register access under DR7.GD. x86
    /// reports no address.
    #[inline]
    fn decode_status(&self, status: &Dr6) -> ExceptionCause {
        ExceptionCause {
            slots: status.hit_slots(),
            slots_exact: true,
            single_step: status.single_step(),
            debug_register_access: status.debug_register_access(),
            address: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwbkpt_hal::{Origin, SlotProgram, SlotSet};
    use proptest::prelude::*;

    fn cpu() -> X86Cpu {
        X86Cpu::new(X86Profile::GENERIC_X86_64)
    }

    fn request(addr: u64, len: u64, access: AccessKind) -> Request {
        Request::builder(addr, len, access).build().unwrap()
    }

    fn pieces(plan: &Plan<X86Program>) -> Vec<(u64, u64)> {
        plan.iter()
            .map(|p| (p.address(), p.length().bytes()))
            .collect()
    }

    #[test]
    fn aligned_data_request_takes_one_slot() {
        let plan = cpu().plan(&request(0x1000, 8, AccessKind::WRITE)).unwrap();
        assert_eq!(pieces(&plan), [(0x1000, 8)]);
        let only = plan.iter().next().unwrap();
        assert_eq!(only.condition(), Condition::Write);
        assert_eq!(only.hardware_access(), AccessKind::WRITE);
        assert_eq!(plan.pool(), Some(PoolKind::Shared));
    }

    #[test]
    fn unaligned_data_request_is_split_exactly() {
        let plan = cpu()
            .plan(&request(0x1003, 10, AccessKind::READ_WRITE))
            .unwrap();
        assert_eq!(
            pieces(&plan),
            [(0x1003, 1), (0x1004, 4), (0x1008, 4), (0x100c, 1)]
        );
        assert!(plan.iter().all(|p| p.condition() == Condition::ReadWrite));
        assert!(!plan.hardware_covers(0x1002));
        assert!(!plan.hardware_covers(0x100d));
    }

    #[test]
    fn too_many_slots_reports_the_full_count() {
        // 0x1001+40: 1 + 2 + 4 + 8 * 4 + 1 = 8 pieces.
        assert_eq!(
            cpu().plan(&request(0x1001, 40, AccessKind::WRITE)),
            Err(RequestError::TooManySlots {
                needed: 8,
                available: 4
            })
        );
        assert_eq!(
            cpu().plan(&request(0, u64::MAX, AccessKind::WRITE)),
            Err(RequestError::TooManySlots {
                needed: u32::MAX,
                available: 4
            })
        );
    }

    #[test]
    fn read_only_is_refused_with_a_clear_message() {
        let err = cpu()
            .plan(&request(0x1000, 4, AccessKind::READ))
            .unwrap_err();
        assert_eq!(err, RequestError::ReadOnlyUnsupported { arch: "x86" });
        assert_eq!(
            err.to_string(),
            "x86 cannot watch reads only; use read|write"
        );
    }

    #[test]
    fn data_before_delivery_is_refused() {
        let r = Request::builder(0x1000, 4, AccessKind::WRITE)
            .delivery(Delivery::Before)
            .build()
            .unwrap();
        let err = cpu().plan(&r).unwrap_err();
        assert!(matches!(
            err,
            RequestError::DeliveryUnsupported {
                delivery: Delivery::Before,
                ..
            }
        ));
        assert!(err.to_string().contains("trap after the access"));
        for delivery in [Delivery::After, Delivery::Native] {
            let r = Request::builder(0x1000, 4, AccessKind::WRITE)
                .delivery(delivery)
                .build()
                .unwrap();
            assert!(cpu().plan(&r).is_ok());
        }
    }

    #[test]
    fn execute_rules() {
        let plan = cpu()
            .plan(&request(0x40_1123, 1, AccessKind::EXECUTE))
            .unwrap();
        assert_eq!(pieces(&plan), [(0x40_1123, 1)]);
        assert_eq!(
            plan.iter().next().unwrap().hardware_access(),
            AccessKind::EXECUTE
        );
        assert_eq!(
            cpu().plan(&request(0x40_1120, 4, AccessKind::EXECUTE)),
            Err(RequestError::UnsupportedLength {
                register: "DR7 LEN",
                len: 4
            })
        );
        let after = Request::builder(0x40_1123, 1, AccessKind::EXECUTE)
            .delivery(Delivery::After)
            .build()
            .unwrap();
        assert!(matches!(
            cpu().plan(&after),
            Err(RequestError::DeliveryUnsupported {
                delivery: Delivery::After,
                ..
            })
        ));
        let before = Request::builder(0x40_1123, 1, AccessKind::EXECUTE)
            .delivery(Delivery::Before)
            .build()
            .unwrap();
        assert!(cpu().plan(&before).is_ok());
    }

    #[test]
    fn ia32_profile_never_uses_eight_bytes_or_high_addresses() {
        let ia32 = X86Cpu::new(X86Profile::IA32);
        let plan = ia32.plan(&request(0x1000, 8, AccessKind::WRITE)).unwrap();
        assert_eq!(pieces(&plan), [(0x1000, 4), (0x1004, 4)]);
        assert_eq!(
            ia32.plan(&request(0xFFFF_FFFE, 4, AccessKind::WRITE)),
            Err(RequestError::RangeWraps {
                addr: 0xFFFF_FFFE,
                len: 4
            })
        );
        let eight = X86Program::new(0x1000, BreakpointLength::Eight, Condition::Write).unwrap();
        assert_eq!(
            ia32.encode(DebugSlot::Dr0.slot_id(), &eight),
            Err(RequestError::UnsupportedLength {
                register: "DR7 LEN",
                len: 8
            })
        );
        let high =
            X86Program::new(0x1_0000_0000, BreakpointLength::Four, Condition::Write).unwrap();
        assert!(matches!(
            ia32.encode(DebugSlot::Dr0.slot_id(), &high),
            Err(RequestError::RangeWraps { .. })
        ));
    }

    #[test]
    fn ia32_profile_reaches_the_last_byte_below_4_gib() {
        let ia32 = X86Cpu::new(X86Profile::IA32);
        let plan = ia32
            .plan(&request(0xFFFF_FFFC, 4, AccessKind::WRITE))
            .unwrap();
        assert_eq!(pieces(&plan), [(0xFFFF_FFFC, 4)]);
        let top = X86Program::new(0xFFFF_FFFC, BreakpointLength::Four, Condition::Write).unwrap();
        assert!(ia32.encode(DebugSlot::Dr0.slot_id(), &top).is_ok());
    }

    #[test]
    fn encode_refuses_foreign_slots() {
        let program = X86Program::execute(0x1000).unwrap();
        for pool in [PoolKind::Data, PoolKind::Instruction] {
            let slot = SlotId::new(pool, 0).unwrap();
            assert_eq!(
                cpu().encode(slot, &program),
                Err(RequestError::NoSlots {
                    kind: pool.name(),
                    reason: "x86 has only the shared DR0-DR3 pool"
                })
            );
        }
    }

    #[test]
    fn profile_without_slots_says_so() {
        let mut profile = X86Profile::GENERIC_X86_64;
        profile.capabilities.pools = &[];
        let cpu = X86Cpu::new(profile);
        assert!(matches!(
            cpu.plan(&request(0x1000, 1, AccessKind::WRITE)),
            Err(RequestError::NoSlots { .. })
        ));
        let program = X86Program::execute(0x1000).unwrap();
        assert!(matches!(
            cpu.encode(DebugSlot::Dr0.slot_id(), &program),
            Err(RequestError::NoSlots { .. })
        ));
    }

    #[test]
    fn prepare_applies_the_user_limit_first() {
        let limit = X86Profile::GENERIC_X86_64.address_space.user_limit;
        // The last user byte is fine; one more is not, even though the hardware could.
        let ok = request(limit - 8, 8, AccessKind::WRITE);
        assert!(cpu().prepare(&ok).is_ok());
        let over = request(limit - 4, 8, AccessKind::WRITE);
        assert!(matches!(
            cpu().prepare(&over),
            Err(RequestError::NotUserAddress { .. })
        ));
        let kernel = Request::builder(0xFFFF_8000_0000_0000, 8, AccessKind::WRITE)
            .origin(Origin::Kernel)
            .build()
            .unwrap();
        assert!(cpu().prepare(&kernel).is_ok());
        // 5-level paging moves the limit.
        let la57 = X86Cpu::new(X86Profile::GENERIC_X86_64_LA57);
        assert!(la57.prepare(&over).is_ok());
    }

    #[test]
    fn decode_status_is_exact() {
        let dr6 = Dr6::from_bits_retain(0xFFFF_4FF0 | 0b1010);
        let cause = cpu().decode_status(&dr6);
        let expected = SlotSet::EMPTY
            .with(DebugSlot::Dr1.slot_id())
            .with(DebugSlot::Dr3.slot_id());
        assert_eq!(
            cause,
            ExceptionCause {
                slots: expected,
                slots_exact: true,
                single_step: true,
                debug_register_access: false,
                address: None,
            }
        );
        let gd = cpu().decode_status(&Dr6::from_bits_retain(0xFFFF_2FF0));
        assert!(gd.debug_register_access && gd.slots.is_empty() && !gd.single_step);
        assert_eq!(
            cpu().decode_status(&Dr6::RESET),
            ExceptionCause {
                slots_exact: true,
                ..ExceptionCause::default()
            }
        );
    }

    #[test]
    fn enable_mode_is_carried_into_images() {
        let program = X86Program::execute(0x1000).unwrap();
        let local = cpu().with_enable_mode(EnableMode::Local);
        assert_eq!(local.enable_mode(), EnableMode::Local);
        let image = local.encode(DebugSlot::Dr0.slot_id(), &program).unwrap();
        assert_eq!(image.dr7_bits(), 0x101);
        assert_eq!(X86Cpu::default().enable_mode(), EnableMode::Global);
    }

    fn any_profile() -> impl Strategy<Value = X86Profile> {
        proptest::sample::select(X86Profile::ALL.to_vec())
    }

    fn any_delivery() -> impl Strategy<Value = Delivery> {
        prop_oneof![
            Just(Delivery::After),
            Just(Delivery::Before),
            Just(Delivery::Native)
        ]
    }

    /// Addresses that are sometimes small, sometimes anywhere, sometimes near the top.
    fn any_addr() -> impl Strategy<Value = u64> {
        prop_oneof![0u64..0x1_0000, any::<u64>(), (u64::MAX - 0x100)..=u64::MAX]
    }

    fn any_len() -> impl Strategy<Value = u64> {
        prop_oneof![0u64..80, any::<u64>()]
    }

    proptest! {
        #[test]
        fn plan_never_panics_and_successful_plans_are_exact(
            profile in any_profile(),
            addr in any_addr(),
            len in any_len(),
            access in 0u8..8,
            delivery in any_delivery(),
        ) {
            let Ok(request) = Request::builder(addr, len, AccessKind::from_bits_truncate(access))
                .delivery(delivery)
                .origin(Origin::Kernel)
                .build()
            else {
                return Ok(());
            };
            let cpu = X86Cpu::new(profile);
            let Ok(plan) = cpu.plan(&request) else { return Ok(()) };
            // Exact: ascending, contiguous, aligned, starting and ending with the request.
            let range = request.range();
            let mut at = range.start();
            for program in &plan {
                let hw = program.hardware_range();
                prop_assert_eq!(hw.start(), at);
                prop_assert!(program.length().is_aligned(hw.start()));
                prop_assert!(profile.supports_length(hw.len()));
                prop_assert!(program.hardware_access().contains(request.access()));
                at = hw.end();
            }
            prop_assert_eq!(at, range.end());
            prop_assert!(plan.len() <= 4);
            // Every program encodes on every slot.
            for (slot, program) in DebugSlot::ALL.into_iter().zip(&plan) {
                let image = cpu.encode(slot.slot_id(), program).unwrap();
                prop_assert_eq!(image.program(), *program);
            }
        }

        #[test]
        fn plan_matches_the_cover_count(addr in 0u64..0x1_0000, len in 1u64..64) {
            let result = cpu().plan(&request(addr, len, AccessKind::WRITE));
            let count = AlignedCover::new(request(addr, len, AccessKind::WRITE).range(), BreakpointLength::Eight).piece_count();
            match result {
                Ok(plan) => prop_assert_eq!(plan.len() as u64, count),
                Err(e) => prop_assert_eq!(e, RequestError::TooManySlots { needed: u32::try_from(count).unwrap(), available: 4 }),
            }
        }

        #[test]
        fn decode_status_never_panics(raw: u64) {
            let cause = cpu().decode_status(&Dr6::from_bits_retain(raw));
            prop_assert_eq!(cause.slots.len(), (raw & 0xF).count_ones());
            prop_assert!(cause.slots_exact);
            prop_assert_eq!(cause.address, None);
        }
    }
}
