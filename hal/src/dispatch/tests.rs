//! Dispatcher behaviour on two toy architectures: one that traps after the access with exact
//! slot bits (x86-like), one that fires before it with only an address (PPC64-like). The
//! real backends and simulated CPUs are exercised in the workspace's `tests/`.

use super::*;
use crate::{
    AccessClass, AccessKind, AddressRange, AddressSpacePolicy, Capabilities, CpuId,
    DebugArchitecture, DecodeError, DecodedAccess, Delivery, EmulateError, ExceptionCause,
    InstructionDecode, InstructionEmulate, MemoryRead, MemoryReadError, Plan, PoolKind,
    PrivilegeFilter, RegisterAccess, Request, RequestError, ReserveError, Scope, SlotId, SlotPool,
    SlotProgram, SlotSet, StringProgress, TaskId, Timing,
};

mod common_case;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ToyProgram {
    range: AddressRange,
    access: AccessKind,
}

impl SlotProgram for ToyProgram {
    fn pool(&self) -> PoolKind {
        PoolKind::Data
    }
    fn hardware_range(&self) -> AddressRange {
        self.range
    }
    fn hardware_access(&self) -> AccessKind {
        self.access
    }
}

#[derive(Debug, Clone, Copy)]
enum ToyStatus {
    /// Exact slot bits (x86 DR6-like), with BS.
    Exact { slots: u8, single_step: bool },
    /// A data match with an address (DSI-like).
    DataMatch { dar: u64 },
    /// A trace interrupt.
    Trace,
}

struct ToyArch {
    capabilities: Capabilities,
    /// Plan a range in doubleword pieces, one slot each (so one request can hold a group of
    /// two slots), instead of one slot for the whole range.
    split_doublewords: bool,
    /// How many images were encoded.
    encodes: core::cell::Cell<u32>,
}

const POOLS: &[SlotPool] = &[SlotPool {
    kind: PoolKind::Data,
    count: 2,
    serves: AccessKind::DATA,
    register: "TOY",
}];

impl ToyArch {
    fn new(timing: Timing) -> Self {
        Self {
            capabilities: Capabilities {
                arch: "toy",
                profile: "toy",
                pools: POOLS,
                data_len_pow2_mask: 0b1111,
                max_data_len: 64,
                granularity: if timing == Timing::Before { 8 } else { 1 },
                data_boundary: None,
                data_timing: timing,
                execute_timing: Timing::Before,
                hardware_privileges: PrivilegeFilter::all(),
                read_only_data: true,
            },
            split_doublewords: false,
            encodes: core::cell::Cell::new(0),
        }
    }

    /// Trigger-before, planning each doubleword of a range in a slot of its own.
    fn splitting() -> Self {
        Self {
            split_doublewords: true,
            ..Self::new(Timing::Before)
        }
    }
}

impl DebugArchitecture for ToyArch {
    type Program = ToyProgram;
    type SlotImage = ToyProgram;
    type Status = ToyStatus;

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
    fn address_space(&self) -> AddressSpacePolicy {
        AddressSpacePolicy {
            user_limit: 0x8000_0000,
            forbidden: &[],
        }
    }
    fn plan(&self, request: &Request) -> Result<Plan<ToyProgram>, RequestError> {
        let range = request
            .range()
            .rounded_out(self.capabilities.granularity)
            .ok_or(RequestError::RangeWraps { addr: 0, len: 0 })?;
        let mut plan = Plan::new();
        let piece = if self.split_doublewords {
            8
        } else {
            range.len()
        };
        let mut start = range.start();
        while start < range.end() {
            plan.push(ToyProgram {
                range: AddressRange::new(start, piece.min(range.end() - start))?,
                access: request.access(),
            })?;
            start += piece;
        }
        Ok(plan)
    }
    fn encode(&self, _slot: SlotId, program: &ToyProgram) -> Result<ToyProgram, RequestError> {
        self.encodes.set(self.encodes.get() + 1);
        Ok(*program)
    }
    fn decode_status(&self, status: &ToyStatus) -> ExceptionCause {
        let data = |i| SlotId::new(PoolKind::Data, i).unwrap();
        match *status {
            ToyStatus::Exact { slots, single_step } => ExceptionCause {
                slots: (0..2)
                    .filter(|i| slots & (1 << i) != 0)
                    .fold(SlotSet::EMPTY, |s, i| s.with(data(i))),
                slots_exact: true,
                single_step,
                ..ExceptionCause::default()
            },
            ToyStatus::DataMatch { dar } => ExceptionCause {
                slots: SlotSet::EMPTY.with(data(0)).with(data(1)),
                slots_exact: false,
                address: Some(dar),
                ..ExceptionCause::default()
            },
            ToyStatus::Trace => ExceptionCause {
                single_step: true,
                ..ExceptionCause::default()
            },
        }
    }
}

#[derive(Debug, Default)]
struct ToyRegs {
    installed: [Option<ToyProgram>; 2],
    single_step: bool,
    resets: u32,
}

#[derive(Debug)]
struct Never;
impl core::fmt::Display for Never {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("never")
    }
}
impl core::error::Error for Never {}

impl RegisterAccess for ToyRegs {
    type Image = ToyProgram;
    type Status = ToyStatus;
    type Error = Never;
    fn install(&mut self, slot: SlotId, image: ToyProgram) -> Result<(), Never> {
        self.installed[usize::from(slot.index())] = Some(image);
        Ok(())
    }
    fn uninstall(&mut self, slot: SlotId) -> Result<(), Never> {
        self.installed[usize::from(slot.index())] = None;
        Ok(())
    }
    fn read_status(&mut self) -> Result<ToyStatus, Never> {
        Ok(ToyStatus::Trace)
    }
    fn reset_status(&mut self) -> Result<(), Never> {
        self.resets += 1;
        Ok(())
    }
    fn set_single_step(&mut self, enabled: bool) -> Result<(), Never> {
        self.single_step = enabled;
        Ok(())
    }
    fn single_step_enabled(&mut self) -> Result<bool, Never> {
        Ok(self.single_step)
    }
}

/// 256 bytes of memory at 0x1000, and the access the "instruction at the PC" makes.
struct ToyEnv {
    memory: [u8; 256],
    access: Option<DecodedAccess>,
    emulated: u32,
    /// Where the `rep` at the PC stands, when the trap interrupted one (x86 fast strings).
    rep: Option<StringProgress>,
}

impl ToyEnv {
    fn new() -> Self {
        Self {
            memory: core::array::from_fn(|i| i as u8),
            access: None,
            emulated: 0,
            rep: None,
        }
    }
    /// Perform the decoded access's write (what the CPU does once the step runs).
    fn perform(&mut self, value: u8) {
        let a = self.access.unwrap();
        for i in 0..a.size as usize {
            self.memory[a.addr as usize - 0x1000 + i] = value;
        }
    }
}

impl MemoryRead for ToyEnv {
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        let start = addr
            .checked_sub(0x1000)
            .ok_or(MemoryReadError::Unmapped { addr })? as usize;
        let src = self
            .memory
            .get(start..start + buf.len())
            .ok_or(MemoryReadError::Unmapped { addr })?;
        buf.copy_from_slice(src);
        Ok(())
    }
}
impl InstructionDecode for ToyEnv {
    fn decode_access(&mut self, _pc: u64) -> Result<Option<DecodedAccess>, DecodeError> {
        Ok(self.access)
    }
    fn string_progress(&mut self, _pc: u64) -> Option<StringProgress> {
        self.rep
    }
}
impl InstructionEmulate for ToyEnv {
    fn emulate(&mut self, _pc: u64) -> Result<(), EmulateError> {
        self.emulated += 1;
        self.perform(0xEE);
        Ok(())
    }
}

/// The interrupted context: its registers and its memory, as one object.
struct ToyCpu {
    regs: ToyRegs,
    env: ToyEnv,
}

impl ToyCpu {
    fn new() -> Self {
        Self {
            regs: ToyRegs::default(),
            env: ToyEnv::new(),
        }
    }
}

impl RegisterAccess for ToyCpu {
    type Image = ToyProgram;
    type Status = ToyStatus;
    type Error = Never;
    fn install(&mut self, slot: SlotId, image: ToyProgram) -> Result<(), Never> {
        self.regs.install(slot, image)
    }
    fn uninstall(&mut self, slot: SlotId) -> Result<(), Never> {
        self.regs.uninstall(slot)
    }
    fn read_status(&mut self) -> Result<ToyStatus, Never> {
        self.regs.read_status()
    }
    fn reset_status(&mut self) -> Result<(), Never> {
        self.regs.reset_status()
    }
    fn set_single_step(&mut self, enabled: bool) -> Result<(), Never> {
        self.regs.set_single_step(enabled)
    }
    fn single_step_enabled(&mut self) -> Result<bool, Never> {
        self.regs.single_step_enabled()
    }
}
impl MemoryRead for ToyCpu {
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        self.env.read_memory(addr, buf)
    }
}
impl InstructionDecode for ToyCpu {
    fn decode_access(&mut self, pc: u64) -> Result<Option<DecodedAccess>, DecodeError> {
        self.env.decode_access(pc)
    }
    fn string_progress(&mut self, pc: u64) -> Option<StringProgress> {
        self.env.string_progress(pc)
    }
}
impl InstructionEmulate for ToyCpu {
    fn emulate(&mut self, pc: u64) -> Result<(), EmulateError> {
        self.env.emulate(pc)
    }
}

const T1: TaskId = TaskId(1);
const CPU0: CpuId = CpuId(0);
const CPU1: CpuId = CpuId(1);

fn frame(pc: u64, mode: ExecutionMode) -> TrapFrame {
    TrapFrame {
        task: T1,
        cpu: CPU0,
        pc,
        mode,
    }
}

/// The trace after T1's step over the instruction at `pc` on CPU 0.
fn trace_after(d: &mut Toy, pc: u64, cpu: &mut ToyCpu, sink: &mut Collected) -> Resolution {
    d.handle_exception(
        &frame(pc + 4, ExecutionMode::User),
        ToyStatus::Trace,
        cpu,
        sink,
    )
    .unwrap()
}

fn write_access(addr: u64, size: u32, class: AccessClass) -> DecodedAccess {
    DecodedAccess {
        addr,
        size,
        kind: AccessKind::WRITE,
        class,
    }
}

type Toy = Dispatcher<ToyArch, 4, 2>;

fn watch(d: &mut Toy, env: &mut ToyEnv, addr: u64, len: u64, delivery: Delivery) -> RequestId {
    let request = Request::builder(addr, len, AccessKind::READ_WRITE)
        .scope(Scope::Task(T1))
        .privilege(PrivilegeFilter::USER | PrivilegeFilter::KERNEL)
        .delivery(delivery)
        .build()
        .unwrap();
    d.register(request, env).unwrap()
}

#[derive(Default)]
struct Collected(std::vec::Vec<Event>);
impl EventSink for Collected {
    fn deliver(&mut self, event: &Event) {
        self.0.push(*event);
    }
}

extern crate std;

#[test]
fn trap_after_delivers_last_observed_old_value_and_drops_unarmed_bits() {
    let mut d = Toy::new(ToyArch::new(Timing::After));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let id = watch(&mut d, &mut cpu.env, 0x1010, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert!(cpu.regs.installed[0].is_some());

    cpu.env.memory[0x10] = 0xAB; // the CPU wrote, then trapped
    let status = ToyStatus::Exact {
        slots: 0b11,
        single_step: false,
    };
    let r = d.handle_exception(
        &frame(0x400, ExecutionMode::User),
        status,
        &mut cpu,
        &mut sink,
    );
    assert_eq!(r.unwrap().action, ResumeAction::Resume);
    assert_eq!(
        sink.0.len(),
        1,
        "slot 1 is not armed: a stray, not an event"
    );
    assert_eq!(d.statistics().stray_hits, 1);
    let EventKind::Hit(hit) = sink.0[0].kind else {
        panic!("expected a hit")
    };
    assert_eq!(sink.0[0].request, id);
    assert_eq!(hit.timing, Timing::After);
    let values = hit.values.unwrap();
    assert!(!values.old_exact);
    assert_eq!(values.old(), &[0x10, 0x11, 0x12, 0x13]);
    assert_eq!(values.new_value(), &[0xAB, 0x11, 0x12, 0x13]);
    assert_eq!(cpu.regs.resets, 1, "status is reset after every exception");
}

#[test]
fn trigger_before_after_delivery_steps_then_delivers_exact_values() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1012, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1013, 2, AccessClass::Plain));

    let dsi = ToyStatus::DataMatch { dar: 0x1013 };
    let r = d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    assert!(
        sink.0.is_empty(),
        "nothing is delivered before the access completes"
    );
    assert!(
        cpu.regs.single_step && cpu.regs.installed[0].is_none(),
        "disarmed and stepping"
    );
    assert_eq!(d.pending_step(T1), Some(0x400));

    cpu.env.perform(0x77);
    let r = d.handle_exception(
        &frame(0x404, ExecutionMode::User),
        ToyStatus::Trace,
        &mut cpu,
        &mut sink,
    );
    assert!(r.unwrap().claimed);
    assert!(
        !cpu.regs.single_step && cpu.regs.installed[0].is_some(),
        "re-armed, step off"
    );
    let EventKind::Hit(hit) = sink.0[0].kind else {
        panic!("expected a hit")
    };
    assert_eq!(hit.address, Some(0x1013));
    let values = hit.values.unwrap();
    assert!(values.old_exact);
    assert_eq!(values.old(), &[0x13, 0x14]);
    assert_eq!(values.new_value(), &[0x77, 0x77]);
}

#[test]
fn access_inside_the_doubleword_but_outside_the_request_is_a_stray() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1012, 4, Delivery::After); // bytes 2..6 of the doubleword
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1016, 2, AccessClass::Plain)); // bytes 6..8

    let dsi = ToyStatus::DataMatch { dar: 0x1016 };
    let r = d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink);
    assert_eq!(
        r.unwrap().action,
        ResumeAction::Step,
        "still stepped past, to not re-fire"
    );
    trace_after(&mut d, 0x400, &mut cpu, &mut sink);
    assert!(sink.0.is_empty());
    assert_eq!(d.statistics().stray_hits, 1);
    assert!(cpu.regs.installed[0].is_some());
}

#[test]
fn a_stale_slot_reported_beside_a_firing_one_is_uninstalled() {
    // Slot 1 holds a program this layer never installed (written behind its back); the DSI
    // reports both slots, and the armed one explains the access. Left installed, the stale
    // one would fire on its own later.
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1012, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.regs.installed[1] = Some(ToyProgram {
        range: AddressRange::new(0x1010, 8).unwrap(),
        access: AccessKind::WRITE,
    });
    cpu.env.access = Some(write_access(0x1013, 2, AccessClass::Plain));

    let dsi = ToyStatus::DataMatch { dar: 0x1013 };
    let r = d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    assert_eq!(
        cpu.regs.installed,
        [None, None],
        "the stale slot is gone too"
    );
    trace_after(&mut d, 0x400, &mut cpu, &mut sink);
    assert_eq!(sink.0.len(), 1);
    assert!(cpu.regs.installed[0].is_some() && cpu.regs.installed[1].is_none());
}

#[test]
fn before_delivery_is_a_one_shot_stop() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let id = watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::Before);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1014, 4, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1014 };
    let r = d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Stop);
    let EventKind::Hit(hit) = sink.0[0].kind else {
        panic!("expected a hit")
    };
    assert_eq!((hit.timing, hit.address), (Timing::Before, Some(0x1014)));
    assert_eq!(sink.0[0].signal_record().unwrap().addr, 0x1014);
    assert!(!d.is_enabled(id) && cpu.regs.installed[0].is_none());
    d.rearm(id).unwrap();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert!(cpu.regs.installed[0].is_some());
}

#[test]
fn store_conditional_disables_with_an_event() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let id = watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 8, AccessClass::StoreConditional));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink)
        .unwrap();
    assert_eq!(
        sink.0[0].kind,
        EventKind::Disabled(DisableReason::AtomicReservation)
    );
    assert!(!d.is_enabled(id) && !cpu.regs.single_step);
    assert_eq!(d.statistics().disabled, 1);
}

#[test]
fn pending_step_follows_the_task_to_another_cpu_and_can_be_cancelled() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut regs1, mut sink) = (ToyCpu::new(), ToyRegs::default(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 1, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink)
        .unwrap();

    // Migrated before the step ran: the new CPU must not arm the disarmed slot.
    d.switch_in(T1, CPU1, &mut regs1).unwrap();
    assert!(regs1.installed[0].is_none());
    // The PC changes (signal delivery): cancel re-arms, nothing is delivered.
    assert!(d.cancel_step(T1, CPU1, &mut regs1).unwrap());
    assert!(regs1.installed[0].is_some() && sink.0.is_empty());
    assert_eq!(d.statistics().cancelled_steps, 1);
}

#[test]
fn kernel_mode_hits_are_emulated_and_delivered_at_once() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    let r = d.handle_exception(
        &frame(0x400, ExecutionMode::Kernel),
        dsi,
        &mut cpu,
        &mut sink,
    );
    assert_eq!(r.unwrap().action, ResumeAction::Resume);
    assert_eq!(cpu.env.emulated, 1);
    let EventKind::Hit(hit) = sink.0[0].kind else {
        panic!("expected a hit")
    };
    assert_eq!(hit.values.unwrap().new_value(), &[0xEE, 0xEE]);
    assert!(cpu.regs.installed[0].is_some() && !cpu.regs.single_step);
}

#[test]
fn a_kernel_hit_between_a_user_hit_and_its_step_re_arms_only_its_own_watch() {
    // An interrupt comes between the user store's DSI and its step, and the handler's store
    // hits another watch: emulated at once, that watch is armed again; the user step's watch
    // stays disarmed until its trace.
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let user = watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    let kernel = watch(&mut d, &mut cpu.env, 0x1030, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink)
        .unwrap();

    cpu.env.access = Some(write_access(0x1030, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1030 };
    let r = d.handle_exception(
        &frame(0x8000, ExecutionMode::Kernel),
        dsi,
        &mut cpu,
        &mut sink,
    );
    assert_eq!(r.unwrap().action, ResumeAction::Resume);
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].request, kernel);
    assert!(cpu.regs.installed[0].is_none() && cpu.regs.installed[1].is_some());
    assert_eq!(d.pending_step(T1), Some(0x400));

    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));
    cpu.env.perform(0x5E);
    trace_after(&mut d, 0x400, &mut cpu, &mut sink);
    assert_eq!(sink.0.len(), 2);
    assert_eq!(sink.0[1].request, user);
    assert!(cpu.regs.installed.iter().all(Option::is_some));
}

#[test]
fn a_pinned_request_that_does_not_fit_is_refused_naming_the_full_cpu() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let mut cpu = ToyCpu::new();
    watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    watch(&mut d, &mut cpu.env, 0x1020, 8, Delivery::After);
    let third = Request::builder(0x1030, 8, AccessKind::WRITE)
        .build()
        .unwrap();
    let refused = d.register(third, &mut cpu.env).unwrap_err();
    assert!(refused.is_out_of_slots(), "{refused}");
    assert!(
        matches!(
            refused,
            DispatchError::Reserve(ReserveError::CpuFull {
                pool: PoolKind::Data,
                weight: 1,
                slots: 2,
                ..
            })
        ),
        "{refused:?}"
    );
}

#[test]
fn foreign_single_step_is_left_to_the_kernel() {
    let mut d = Toy::new(ToyArch::new(Timing::After));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let status = ToyStatus::Exact {
        slots: 0,
        single_step: true,
    };
    let r = d
        .handle_exception(
            &frame(0x400, ExecutionMode::User),
            status,
            &mut cpu,
            &mut sink,
        )
        .unwrap();
    assert!(r.foreign_single_step && !r.claimed);
}

#[test]
fn a_watch_on_a_registered_exception_stack_is_refused_and_changes_nothing() {
    use crate::{ForbiddenRegion, Forbids};
    let mut d = Toy::new(ToyArch::new(Timing::After));
    let mut cpu = ToyCpu::new();
    let stack = AddressRange::new(0x1080, 0x40).unwrap();
    d.forbid(
        ForbiddenRegion {
            range: stack,
            what: "#DB exception stack",
        },
        Forbids::Everything,
    )
    .unwrap();
    watch(&mut d, &mut cpu.env, 0x1010, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    let before = cpu.regs.installed;
    let on_stack = Request::builder(0x10B8, 8, AccessKind::WRITE)
        .scope(Scope::Task(T1))
        .build()
        .unwrap();
    assert_eq!(
        d.register(on_stack, &mut cpu.env),
        Err(DispatchError::Request(RequestError::ForbiddenRange {
            addr: 0x10B8,
            len: 8,
            region: "#DB exception stack"
        }))
    );
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert_eq!(
        cpu.regs.installed, before,
        "a refused request leaves every register as it was"
    );
}

const T2: TaskId = TaskId(2);

fn request(addr: u64, len: u64, scope: Scope) -> crate::RequestBuilder {
    Request::builder(addr, len, AccessKind::READ_WRITE)
        .scope(scope)
        .privilege(PrivilegeFilter::USER | PrivilegeFilter::KERNEL)
}

#[test]
fn identical_programs_share_one_slot_and_each_consumer_gets_its_event() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let ptrace = watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::Before);
    let perf = watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    assert_eq!(d.status(perf).unwrap().sharers, 2);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert!(cpu.regs.installed[0].is_some() && cpu.regs.installed[1].is_none());

    // The stop comes first; the shared slot stays armed for the continuous consumer.
    cpu.env.access = Some(write_access(0x1012, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1012 };
    let r = d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Stop);
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].request, ptrace);
    assert!(!d.is_enabled(ptrace) && cpu.regs.installed[0].is_some());

    // Resumed, the instruction matches again: now only perf, through the interlock.
    let r = d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    cpu.env.perform(0x55);
    trace_after(&mut d, 0x400, &mut cpu, &mut sink);
    assert_eq!(sink.0.len(), 2);
    assert_eq!(sink.0[1].request, perf);
    assert!(cpu.regs.installed[0].is_some(), "re-armed for perf");

    // Once perf is gone too, the slot is uninstalled at the next switch-in.
    d.release(perf).unwrap();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert!(
        cpu.regs.installed[0].is_none(),
        "only a disabled consumer is left"
    );
    d.rearm(ptrace).unwrap();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert!(cpu.regs.installed[0].is_some());
}

#[test]
fn an_exclusive_request_never_shares() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let mut cpu = ToyCpu::new();
    watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    let own = request(0x1010, 8, Scope::Task(T1))
        .sharing(crate::Sharing::Exclusive)
        .build()
        .unwrap();
    let id = d.register(own, &mut cpu.env).unwrap();
    assert_eq!(d.status(id).unwrap().sharers, 1);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert!(cpu.regs.installed[0].is_some() && cpu.regs.installed[1].is_some());
}

#[test]
fn each_task_has_the_whole_pool_and_a_cpu_request_must_fit_beside_the_busiest() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let mut cpu = ToyCpu::new();
    for task in [T1, T2] {
        for addr in [0x1010, 0x1020] {
            let r = request(addr, 8, Scope::Task(task)).build().unwrap();
            d.register(r, &mut cpu.env).unwrap();
        }
    }
    let on_cpu = request(0x1030, 8, Scope::Cpu(CPU0)).build().unwrap();
    let refused = d.register(on_cpu, &mut cpu.env).unwrap_err();
    assert!(
        matches!(
            refused,
            DispatchError::Reserve(ReserveError::CpuFull {
                cpu: CPU0,
                task_term: 2,
                ..
            })
        ),
        "{refused:?}"
    );
    d.switch_in(T2, CPU1, &mut cpu.regs).unwrap();
    assert!(cpu.regs.installed.iter().take(2).all(Option::is_some));
}

#[test]
fn flexible_requests_rotate_and_report_the_windows_they_missed() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let mut cpu = ToyCpu::new();
    let ids: std::vec::Vec<RequestId> = [0x1010, 0x1020, 0x1030]
        .into_iter()
        .map(|addr| {
            let r = request(addr, 8, Scope::Task(T1))
                .pinning(crate::Pinning::Flexible)
                .build()
                .unwrap();
            d.register(r, &mut cpu.env).unwrap()
        })
        .collect();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    let armed: std::vec::Vec<bool> = ids.iter().map(|&i| d.status(i).unwrap().armed).collect();
    assert_eq!(armed, [true, true, false]);
    assert_eq!(d.status(ids[2]).unwrap().missed_windows, 1);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert!(
        d.status(ids[2]).unwrap().armed,
        "the waiting one goes first"
    );
    assert_eq!(d.armed_slots(T1, CPU0).iter().count(), 2);
    let missed: u64 = ids
        .iter()
        .map(|&i| d.status(i).unwrap().missed_windows)
        .sum();
    assert_eq!(missed, 2, "two windows missed in all: one per switch-in");
}

#[test]
fn a_step_pending_across_migration_disarms_the_group_wherever_it_lands() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut regs1, mut sink) = (ToyCpu::new(), ToyRegs::default(), Collected::default());
    // On CPU 1 a CPU-bound request is loaded first, so the task's group lands in slot 1.
    let on_cpu1 = request(0x1030, 8, Scope::Cpu(CPU1)).build().unwrap();
    d.register(on_cpu1, &mut cpu.env).unwrap();
    let id = watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 1, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink)
        .unwrap();

    d.switch_in(T1, CPU1, &mut regs1).unwrap();
    assert!(
        regs1.installed[0].is_some(),
        "the CPU-bound request is armed"
    );
    assert!(
        regs1.installed[1].is_none(),
        "the stepping task's group stays disarmed"
    );
    // The step completes on CPU 1: re-armed there, in its slot there, and delivered.
    cpu.env.perform(0x66);
    let mut on_cpu1 = ToyCpu {
        regs: regs1,
        env: cpu.env,
    };
    let trace = TrapFrame {
        cpu: CPU1,
        ..frame(0x404, ExecutionMode::User)
    };
    d.handle_exception(&trace, ToyStatus::Trace, &mut on_cpu1, &mut sink)
        .unwrap();
    assert!(on_cpu1.regs.installed[1].is_some());
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].request, id);
}

#[test]
fn a_moved_watch_is_installed_at_its_new_address_at_the_next_switch_in() {
    // Its slot group may stay the same; the image must not (switch-in keeps an image only
    // for the same group with the same program).
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let mut cpu = ToyCpu::new();
    let id = watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    let moved = request(0x1030, 8, Scope::Task(T1))
        .delivery(Delivery::After)
        .build()
        .unwrap();
    d.modify(id, moved, &mut cpu.env).unwrap();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    let installed: std::vec::Vec<u64> = cpu
        .regs
        .installed
        .iter()
        .flatten()
        .map(|program| program.range.start())
        .collect();
    assert_eq!(installed, [0x1030]);
}

#[test]
fn switching_in_again_keeps_the_images_of_unchanged_slots() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let mut cpu = ToyCpu::new();
    let id = watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    watch(&mut d, &mut cpu.env, 0x1030, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    let first = d.arch.encodes.get();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert_eq!(
        d.arch.encodes.get(),
        first,
        "nothing changed: nothing encoded again"
    );
    let moved = request(0x1050, 8, Scope::Task(T1))
        .delivery(Delivery::After)
        .build()
        .unwrap();
    d.modify(id, moved, &mut cpu.env).unwrap();
    let before = d.arch.encodes.get();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert_eq!(
        d.arch.encodes.get(),
        before + 1,
        "only the moved watch's slot"
    );
}

#[test]
fn a_refused_modify_keeps_the_old_request_armed() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let id = watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    let other = watch(&mut d, &mut cpu.env, 0x1020, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    let before = cpu.regs.installed;

    // Task 2 fills the pool: moving the watch to a CPU-bound one cannot fit beside it.
    for addr in [0x1040, 0x1050] {
        let r = request(addr, 8, Scope::Task(T2)).build().unwrap();
        d.register(r, &mut cpu.env).unwrap();
    }
    let on_cpu = request(0x1030, 8, Scope::Cpu(CPU0)).build().unwrap();
    let refused = d.modify(id, on_cpu, &mut cpu.env).unwrap_err();
    assert!(refused.is_out_of_slots(), "{refused:?}");
    assert_eq!(d.request(id).unwrap().range().len(), 8);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert_eq!(cpu.regs.installed, before, "bit-identical registers");

    // It still fires.
    cpu.env.access = Some(write_access(0x1010, 1, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink)
        .unwrap();
    assert_eq!(d.pending_step(T1), Some(0x400));

    // A modify that fits moves it.
    d.release(other).unwrap();
    let moved = request(0x1020, 8, Scope::Task(T1)).build().unwrap();
    d.modify(id, moved, &mut cpu.env).unwrap();
    assert_eq!(d.request(id).unwrap().range().start(), 0x1020);
}

#[test]
fn a_disabled_request_keeps_its_slot_and_observe_moves_the_old_value() {
    let mut d = Toy::new(ToyArch::new(Timing::After));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let id = watch(&mut d, &mut cpu.env, 0x1010, 2, Delivery::After);
    d.disable(id).unwrap();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert!(cpu.regs.installed[0].is_none(), "disabled: not armed");
    // Its reservation stays: the pool still counts it.
    let other = request(0x1020, 2, Scope::Task(T1)).build().unwrap();
    d.register(other, &mut cpu.env).unwrap();
    let third = request(0x1030, 2, Scope::Task(T1)).build().unwrap();
    assert!(
        d.register(third, &mut cpu.env)
            .unwrap_err()
            .is_out_of_slots()
    );

    d.rearm(id).unwrap();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    assert!(cpu.regs.installed[0].is_some());
    // The debugger writes the watched bytes while the task is stopped, then says so.
    cpu.env.memory[0x10] = 0x99;
    d.observe(id, &mut cpu.env).unwrap();
    cpu.env.memory[0x10] = 0xAB; // the task's own write, then the trap
    let status = ToyStatus::Exact {
        slots: 0b01,
        single_step: false,
    };
    d.handle_exception(
        &frame(0x400, ExecutionMode::User),
        status,
        &mut cpu,
        &mut sink,
    )
    .unwrap();
    let EventKind::Hit(hit) = sink.0[0].kind else {
        panic!("expected a hit")
    };
    assert_eq!(hit.values.unwrap().old(), &[0x99, 0x11]);
}

#[test]
fn a_held_exception_is_attributed_to_user_and_delivered_on_return_to_user() {
    let mut d = Toy::new(ToyArch::new(Timing::After));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let user_only = request(0x1010, 2, Scope::Task(T1))
        .privilege(PrivilegeFilter::USER)
        .build()
        .unwrap();
    let id = d.register(user_only, &mut cpu.env).unwrap();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.memory[0x10] = 0x42;
    let status = ToyStatus::Exact {
        slots: 0b01,
        single_step: false,
    };
    // Taken at the kernel entry, CPL 0: through the plain path a user-only request is a stray.
    let entry = frame(0xFFFF_8000_0000_0000, ExecutionMode::Kernel);
    d.handle_held_exception(&entry, status, &mut cpu, &mut sink)
        .unwrap();
    assert!(sink.0.is_empty(), "nothing delivered in kernel context");
    assert_eq!(d.statistics().held_events, 1);
    assert_eq!(d.statistics().stray_hits, 0);
    assert_eq!(
        d.return_to_user(TaskId(9), &mut sink),
        0,
        "another task's return"
    );
    assert_eq!(d.return_to_user(T1, &mut sink), 1);
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].request, id);
    let EventKind::Hit(hit) = sink.0[0].kind else {
        panic!("expected a hit")
    };
    assert_eq!(hit.values.unwrap().new_value(), &[0x42, 0x11]);
    assert_eq!(d.return_to_user(T1, &mut sink), 0, "delivered once");
}

#[test]
fn a_debuggers_single_step_over_an_interlocked_store_is_still_reported() {
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.regs.single_step = true; // the debugger steps the task
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    let r = d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    cpu.env.perform(0x31);
    let r = d
        .handle_exception(
            &frame(0x404, ExecutionMode::User),
            ToyStatus::Trace,
            &mut cpu,
            &mut sink,
        )
        .unwrap();
    assert!(
        r.claimed && r.foreign_single_step,
        "the trace is the debugger's stop too"
    );
    assert!(cpu.regs.single_step, "the debugger's step stays on");
    assert_eq!(sink.0.len(), 1, "and the hit is delivered");

    // Without the debugger, the layer's own step is not reported and is turned off.
    cpu.regs.single_step = false;
    d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink)
        .unwrap();
    let r = d
        .handle_exception(
            &frame(0x404, ExecutionMode::User),
            ToyStatus::Trace,
            &mut cpu,
            &mut sink,
        )
        .unwrap();
    assert!(r.claimed && !r.foreign_single_step && !cpu.regs.single_step);
}

#[test]
fn a_match_no_armed_slot_explains_is_one_stray_and_still_stepped() {
    // The decoder names an access the armed slot does not cover (hardware and decoder
    // disagree): nothing is delivered, and the step runs with the candidates disarmed so the
    // instruction cannot re-fire forever.
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1040, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    let r = d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    assert_eq!(d.statistics().stray_hits, 1);
    assert!(cpu.regs.installed[0].is_none(), "disarmed for the step");
    trace_after(&mut d, 0x400, &mut cpu, &mut sink);
    assert!(sink.0.is_empty());
    assert!(cpu.regs.installed[0].is_some(), "re-armed after it");
}

#[test]
fn a_request_enabled_for_another_task_leaves_a_pending_step_alone() {
    // A step starts over at the next switch-in only if a request that covers the task there
    // was enabled meanwhile (it must see the access too); one for another task changes
    // nothing.
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let id = watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink)
        .unwrap();

    let elsewhere = request(0x1040, 8, Scope::Task(T2)).build().unwrap();
    d.register(elsewhere, &mut cpu.env).unwrap();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap(); // back from an interrupt
    assert_eq!(d.pending_step(T1), Some(0x400));
    assert_eq!(d.statistics().cancelled_steps, 0);
    assert!(cpu.regs.single_step && cpu.regs.installed[0].is_none());

    cpu.env.perform(0x24);
    trace_after(&mut d, 0x400, &mut cpu, &mut sink);
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].request, id);
}

#[test]
fn a_step_whose_instruction_was_left_is_void_when_the_next_one_stops() {
    // The kernel moved the PC (to a signal handler, say) without `cancel_step`, and the new
    // code stops on another watch: the stepped access never happened, so its hit is dropped
    // and the step counted as cancelled; both watches are armed again after the new step.
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    let handlers = watch(&mut d, &mut cpu.env, 0x1030, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink)
        .unwrap();

    cpu.env.access = Some(write_access(0x1034, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1034 };
    let r = d.handle_exception(&frame(0x900, ExecutionMode::User), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    assert_eq!(d.statistics().cancelled_steps, 1);
    assert_eq!(d.pending_step(T1), Some(0x900));
    cpu.env.perform(0x71);
    trace_after(&mut d, 0x900, &mut cpu, &mut sink);
    let [event] = sink.0.as_slice() else {
        panic!("one hit, the completed access's: {:?}", sink.0);
    };
    assert_eq!(event.request, handlers);
    assert!(
        cpu.regs.installed.iter().all(Option::is_some),
        "{:?}",
        cpu.regs.installed
    );
}

#[test]
fn a_debuggers_single_step_is_kept_when_the_general_path_steps() {
    // A group of two slots is the general path's; it too must notice the debugger's step.
    let mut d = Toy::new(ToyArch::splitting());
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    watch(&mut d, &mut cpu.env, 0x1014, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.regs.single_step = true;
    cpu.env.access = Some(write_access(0x1016, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1016 };
    let r = d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    assert!(
        d.pending[0].as_ref().is_some_and(|s| s.lone_slot.is_none()),
        "the general path's step"
    );
    cpu.env.perform(0x13);
    let r = d
        .handle_exception(
            &frame(0x404, ExecutionMode::User),
            ToyStatus::Trace,
            &mut cpu,
            &mut sink,
        )
        .unwrap();
    assert!(r.claimed && r.foreign_single_step && cpu.regs.single_step);
    assert_eq!(sink.0.len(), 1);
    assert_eq!(d.stepping_tasks, 0);
}

#[test]
fn a_watch_disabled_during_a_step_of_its_group_of_two_slots_is_not_re_armed() {
    let mut d = Toy::new(ToyArch::splitting());
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let id = watch(&mut d, &mut cpu.env, 0x1014, 8, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.env.access = Some(write_access(0x1016, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1016 };
    d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink)
        .unwrap();
    d.disable(id).unwrap();
    cpu.env.perform(0x3C);
    trace_after(&mut d, 0x400, &mut cpu, &mut sink);
    assert!(sink.0.is_empty());
    assert_eq!(cpu.regs.installed, [None, None]);
}

#[test]
fn a_write_over_exactly_the_value_buffer_is_complete_and_one_more_byte_is_truncated() {
    // A cache-block zeroing (`dcbz`, 128 bytes) over a 64-byte watch: the values carry all 64
    // bytes, so they are not truncated; over a 72-byte watch they carry the first 64 only.
    for (addr, len, truncated) in [(0x1040, 64, false), (0x1030, 72, true)] {
        let mut d = Toy::new(ToyArch::new(Timing::Before));
        let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
        let request = request(addr, len, Scope::Task(T1))
            .delivery(Delivery::After)
            .build()
            .unwrap();
        d.register(request, &mut cpu.env).unwrap();
        d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
        cpu.env.access = Some(write_access(0x1000, 128, AccessClass::Plain));
        let dsi = ToyStatus::DataMatch { dar: 0x1000 };
        d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink)
            .unwrap();
        cpu.env.perform(0);
        d.handle_exception(
            &frame(0x404, ExecutionMode::User),
            ToyStatus::Trace,
            &mut cpu,
            &mut sink,
        )
        .unwrap();
        let EventKind::Hit(hit) = sink.0[0].kind else {
            panic!("expected a hit")
        };
        let values = hit.values.unwrap();
        assert_eq!(values.truncated, truncated, "{len}-byte watch");
        assert_eq!(values.old().len(), 64);
        assert_eq!(
            u64::from(values.old()[0]),
            addr - 0x1000,
            "its first byte, before"
        );
        assert!(values.new_value().iter().all(|&b| b == 0), "zeroed");
    }
}

#[test]
fn trap_after_values_over_exactly_64_bytes_are_complete_and_over_more_truncated() {
    // The old value is the last one observed; the new one is read at the trap.
    for (len, truncated) in [(64, false), (72, true)] {
        let mut d = Toy::new(ToyArch::new(Timing::After));
        let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
        let request = request(0x1000, len, Scope::Task(T1))
            .delivery(Delivery::After)
            .build()
            .unwrap();
        d.register(request, &mut cpu.env).unwrap();
        d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
        cpu.env.memory[0] = 0xF0;
        let status = ToyStatus::Exact {
            slots: 0b1,
            single_step: false,
        };
        d.handle_exception(
            &frame(0x404, ExecutionMode::User),
            status,
            &mut cpu,
            &mut sink,
        )
        .unwrap();
        let EventKind::Hit(hit) = sink.0[0].kind else {
            panic!("expected a hit")
        };
        let values = hit.values.unwrap();
        assert_eq!(values.truncated, truncated, "{len}-byte watch");
        assert_eq!((values.old()[0], values.new_value()[0]), (0x00, 0xF0));
        assert_eq!(values.new_value().len(), 64);
    }
}

#[test]
fn a_debuggers_single_step_survives_a_step_merged_on_another_cpu() {
    // The debugger steps the task; its store stops on CPU 0, the task moves to CPU 1 before
    // the step, where a CPU-bound watch stops the same store again: one step for both, and
    // its trace is still the debugger's stop.
    let mut d = Toy::new(ToyArch::new(Timing::Before));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let everywhere = watch(&mut d, &mut cpu.env, 0x1010, 8, Delivery::After);
    let on_cpu1 = request(0x1010, 8, Scope::Cpu(CPU1))
        .delivery(Delivery::After)
        .sharing(crate::Sharing::Exclusive)
        .build()
        .unwrap();
    let on_cpu1 = d.register(on_cpu1, &mut cpu.env).unwrap();
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    cpu.regs.single_step = true;
    cpu.env.access = Some(write_access(0x1010, 2, AccessClass::Plain));
    let dsi = ToyStatus::DataMatch { dar: 0x1010 };
    let r = d.handle_exception(&frame(0x400, ExecutionMode::User), dsi, &mut cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);

    let mut regs1 = ToyRegs {
        single_step: true, // the task's own state moves with it
        ..ToyRegs::default()
    };
    d.switch_in(T1, CPU1, &mut regs1).unwrap();
    let mut on_cpu1_cpu = ToyCpu {
        regs: regs1,
        env: cpu.env,
    };
    let there = |pc| TrapFrame {
        cpu: CPU1,
        ..frame(pc, ExecutionMode::User)
    };
    let r = d.handle_exception(&there(0x400), dsi, &mut on_cpu1_cpu, &mut sink);
    assert_eq!(r.unwrap().action, ResumeAction::Step);
    assert_eq!(d.statistics().steps, 2);
    on_cpu1_cpu.env.perform(0x42);
    let r = d
        .handle_exception(&there(0x404), ToyStatus::Trace, &mut on_cpu1_cpu, &mut sink)
        .unwrap();
    assert!(
        r.claimed && r.foreign_single_step,
        "the merged step's trace is the debugger's stop too"
    );
    assert!(on_cpu1_cpu.regs.single_step, "the debugger's step stays on");
    let delivered: std::vec::Vec<RequestId> = sink.0.iter().map(|e| e.request).collect();
    assert_eq!(delivered, [everywhere, on_cpu1]);
    assert_eq!(d.stepping_tasks, 0, "no step in flight is left counted");
}

/// x86 fast strings: a data trap inside a `rep` names the iterations since the task's previous
/// trap in the same instruction; a trap anywhere else, a PC change by the kernel, or a trap
/// at another instruction starts over.
#[test]
fn rep_traps_name_the_iterations_since_the_previous_one() {
    let mut d = Toy::new(ToyArch::new(Timing::After));
    let (mut cpu, mut sink) = (ToyCpu::new(), Collected::default());
    let id = watch(&mut d, &mut cpu.env, 0x1010, 4, Delivery::After);
    d.switch_in(T1, CPU0, &mut cpu.regs).unwrap();
    let hit = ToyStatus::Exact {
        slots: 0b1,
        single_step: false,
    };
    let mut trap = |d: &mut Toy, cpu: &mut ToyCpu, pc: u64, rep: Option<u64>| {
        cpu.env.rep = rep.map(|remaining| StringProgress { remaining });
        sink.0.clear();
        d.handle_exception(&frame(pc, ExecutionMode::User), hit, cpu, &mut sink)
            .unwrap();
        assert_eq!(sink.0.len(), 1, "{:?}", sink.0);
        assert_eq!(sink.0[0].request, id);
        match sink.0[0].kind {
            EventKind::Hit(hit) => hit.iterations,
            EventKind::Disabled(reason) => panic!("disabled: {reason:?}"),
        }
    };
    let window = |remaining, since| {
        Some(StringIterations {
            remaining,
            since: Some(since),
        })
    };
    let first = Some(StringIterations {
        remaining: 200,
        since: None,
    });
    // First trap inside the `rep`: since the instruction started.
    assert_eq!(trap(&mut d, &mut cpu, 0x40, Some(200)), first);
    // The next group: exactly the iterations between the two traps.
    assert_eq!(trap(&mut d, &mut cpu, 0x40, Some(72)), window(72, 200));
    assert_eq!(window(72, 200).unwrap().count(), Some(128));
    assert_eq!(trap(&mut d, &mut cpu, 0x40, Some(71)), window(71, 72));
    // The trap after the last iteration (RIP past the instruction): nothing to name, and the
    // position is forgotten.
    assert_eq!(trap(&mut d, &mut cpu, 0x42, None), None);
    assert_eq!(
        trap(&mut d, &mut cpu, 0x40, Some(50)),
        Some(StringIterations {
            remaining: 50,
            since: None,
        })
    );
    // Another instruction starts over.
    assert_eq!(
        trap(&mut d, &mut cpu, 0x80, Some(40)),
        Some(StringIterations {
            remaining: 40,
            since: None,
        })
    );
    // More iterations left than last time at this PC: a new run of it.
    assert_eq!(
        trap(&mut d, &mut cpu, 0x80, Some(90)),
        Some(StringIterations {
            remaining: 90,
            since: None,
        })
    );
    assert_eq!(trap(&mut d, &mut cpu, 0x80, Some(10)), window(10, 90));
    // The kernel moved the PC (a signal, a debugger): the next trap starts over, though the
    // instruction and count look the same.
    assert!(!d.cancel_step(T1, CPU0, &mut cpu).unwrap());
    assert_eq!(
        trap(&mut d, &mut cpu, 0x80, Some(5)),
        Some(StringIterations {
            remaining: 5,
            since: None,
        })
    );
    assert_eq!(trap(&mut d, &mut cpu, 0x80, Some(4)), window(4, 5));
    // As many left as last time: no iteration ran in between, so it is a new run of the
    // instruction, not an empty window.
    assert_eq!(
        trap(&mut d, &mut cpu, 0x80, Some(4)),
        Some(StringIterations {
            remaining: 4,
            since: None,
        })
    );
}

/// The window names the iterations that may have hit, and no others.
#[test]
fn string_window_contains_the_iterations_after_since_through_remaining() {
    let window = StringIterations {
        remaining: 72,
        since: Some(200),
    };
    assert!(window.contains(72) && window.contains(199));
    assert!(!window.contains(71) && !window.contains(200));
    let open = StringIterations {
        remaining: 72,
        since: None,
    };
    assert!(open.contains(u64::MAX) && !open.contains(71));
    assert_eq!(open.count(), None);
}
