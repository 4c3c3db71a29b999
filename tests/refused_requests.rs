//! Issue 8: "after any refused request, every register image is bit-identical to before".
//!
//! Random sequences of operations mixing valid requests with hostile ones — kernel addresses
//! in user scope, non-canonical addresses, ranges that end at or wrap past the top of the
//! address space, regions registered with `Dispatcher::forbid`, ranges too long for the
//! slots, misaligned and oddly sized ranges, unsupported access kinds and deliveries, more
//! requests than slots, unknown CPUs, releases and re-arms of stale ids, and `modify` of a
//! valid request into an invalid or kernel one (the CVE-2018-1000199 shape) — are driven into a
//! `hwbkpt_hal::Dispatcher` on every CPU profile of both architectures: x86-64 through
//! `hwbkpt-x86` (4-level, 5-level paging, IA-32) and PPC64 through `hwbkpt-ppc64`
//! (POWER7–POWER10, POWER9 both with its checkstop erratum, i.e. no data slot, and in DAWR
//! "dangerous" mode).
//!
//! Two dispatchers run side by side: the *subject* gets every operation, the *twin* only
//! those the subject accepted. After every operation each (task, CPU) pair of a small set is
//! switched in on both, into recording `RegisterAccess` implementations that keep, per CPU,
//! every slot's state (armed with its image, or disarmed), the register file those writes
//! produce (x86: DR0–DR3 and DR7 through `X86SlotImage::install_into`/`uninstall_from`;
//! PPC64: every SPR of `SlotImage::install` and `SlotRegisters::disarm`), the write log and
//! the status/single-step calls. The register images are the ones the arch crates really
//! produce (`X86SlotImage`, `hwbkpt_ppc64::SlotImage`).
//!
//! Properties (`dispatcher_refusals_change_nothing`):
//! - **a refused operation changes nothing**: the subject's register state for every pair is
//!   bit-identical to the twin's (the same history without the refused operation), and so
//!   is its observable state (`request`, `plan`, `is_enabled`, `armed_slots`, `statistics`
//!   and `status` for every id ever issued, stale ones included); the next id issued is
//!   the same; when only pinned requests are live and the registers had settled (two
//!   identical rounds of switch-ins), the registers after the refused operation are also
//!   bit-identical to those before it;
//! - **refusals that are mandatory happen**, for `register` and `modify` alike: a
//!   user-origin request reaching the profile's user limit, one overlapping a forbidden
//!   region (`ForbiddenRange` naming a region it overlaps), a data request on POWER9 without
//!   the opt-in, a stale id; after a refused `modify` the id still names the old request;
//! - **an accepted operation shows in the registers**: every armed slot holds exactly
//!   `encode(slot, program)` for a program of a live, enabled request covering the pair;
//!   every program of every live pinned request covering the pair is armed; every slot of
//!   the profile has been written; `plan(id)` is what `prepare(request(id))` gives.
//!
//! The reservation engine is checked directly too (`engine_refusals_change_nothing`), on
//! `FixedReservations` (x86 programs, small capacities, so `CapacityExhausted` happens) and
//! `HeapReservations` (PPC64 programs; `try_reserve` refusing with `WouldAllocate`):
//! a refused `reserve`/`try_reserve`/`reserve_planned`/`modify`/`release` leaves `loaded()`
//! of every CPU identical to before and to the twin's, and so `status`, `usage`,
//! `task_usage`, `request`, `plan`, `group` and the counts; the `switch_in` assignments
//! that follow are identical to the twin's; and every assignment holds every live pinned
//! group covering the pair and nothing that does not cover it.
//!
//! Case counts: each property runs two passes. First 48 cases from a fixed seed, after
//! which the test asserts that the run exercised what it claims (requests accepted; refusals
//! for the user limit, forbidden regions and full slots; stale ids; a full registry;
//! refusals compared with the registers before them; for the engine `CpuFull`,
//! `CapacityExhausted`, `WouldAllocate`, `EmptyPlan`, `UnknownCpu`, stale ids), so no check
//! can silently stop happening. Then 96 random cases (24 when built for powerpc64;
//! `PROPTEST_CASES` overrides this pass, the qemu-user run sets 64). All four tests together
//! take about 2 s in a debug build on the 2-core development machine. Failures persist in
//! `tests/refused_requests.proptest-regressions`. A longer run:
//!
//! ```text
//! PROPTEST_CASES=20000 cargo test --release -p hwbkpt --test refused_requests
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use hwbkpt_hal::{
    AccessKind, AddressRange, CpuId, DebugArchitecture, Delivery, DispatchError, Dispatcher,
    FixedStorage, ForbiddenRegion, Forbids, HeapStorage, MemoryRead, MemoryReadError, Origin,
    Pinning, Plan, PoolKind, PoolUsage, PrivilegeFilter, RegisterAccess, Request, RequestError,
    RequestId, ReservationId, ReservationStatus, Reservations, ReserveError, Scope, Sharing,
    SlotAssignment, SlotGroupId, SlotId, SlotProgram, SlotSet, Statistics, Storage, TaskId,
};
use hwbkpt_ppc64::{PowerCpu, PowerProfile};
use hwbkpt_x86::{DebugSlot, Dr7, X86Cpu, X86Profile, X86SlotImage};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, RngSeed, TestRunner};

/// Proptest cases per property: `PROPTEST_CASES` when set, else 96 (24 under qemu-user).
fn cases() -> u32 {
    let default = if cfg!(target_arch = "powerpc64") {
        24
    } else {
        96
    };
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------
// The machines
// ---------------------------------------------------------------------------------------

/// The start of the user memory the valid requests watch (below every profile's user
/// limit, IA-32's 0xC000_0000 included).
const USER_BASE: u64 = 0x1000_0000;

/// Tasks and CPUs switched in after every operation (task 3 has no request of its own).
const TASKS: [u64; 3] = [1, 2, 3];
const CPUS: [u32; 2] = [0, 1];

/// A register file: register name → value.
type RegisterFile = BTreeMap<String, u64>;

/// What the test needs from an architecture beyond `DebugArchitecture`: how one slot's
/// install and uninstall change the CPU's register file, bit for bit, per the arch crate.
trait Hardware: DebugArchitecture + fmt::Debug {
    /// Apply `install(slot, image)` to `file`; `false` when `image` is not an image for
    /// `slot` at all.
    fn file_install(&self, file: &mut RegisterFile, slot: SlotId, image: &Self::SlotImage) -> bool;
    /// Apply `uninstall(slot)` to `file`.
    fn file_uninstall(&self, file: &mut RegisterFile, slot: SlotId) -> bool;
    /// The user-address limit of the profile (policy data).
    fn user_limit(&self) -> u64 {
        self.address_space().user_limit
    }
    /// A kernel address of this architecture.
    fn kernel_base(&self) -> u64;
    /// Whether every data request must be refused (POWER9 without the opt-in).
    fn no_data_slots(&self) -> bool;
}

impl Hardware for X86Cpu {
    fn file_install(&self, file: &mut RegisterFile, slot: SlotId, image: &X86SlotImage) -> bool {
        let Some(debug_slot) = DebugSlot::from_slot_id(slot) else {
            return false;
        };
        if image.slot() != debug_slot {
            return false;
        }
        file.insert(format!("DR{}", debug_slot.index()), image.address());
        let dr7 = Dr7::from_bits_retain(file.get("DR7").copied().unwrap_or(0x400));
        file.insert("DR7".into(), image.install_into(dr7).bits());
        true
    }

    fn file_uninstall(&self, file: &mut RegisterFile, slot: SlotId) -> bool {
        let Some(debug_slot) = DebugSlot::from_slot_id(slot) else {
            return false;
        };
        let dr7 = Dr7::from_bits_retain(file.get("DR7").copied().unwrap_or(0x400));
        file.insert(
            "DR7".into(),
            X86SlotImage::uninstall_from(debug_slot, dr7).bits(),
        );
        true
    }

    fn kernel_base(&self) -> u64 {
        0xffff_8000_0000_0000
    }

    fn no_data_slots(&self) -> bool {
        false
    }
}

impl Hardware for PowerCpu {
    fn file_install(
        &self,
        file: &mut RegisterFile,
        slot: SlotId,
        image: &hwbkpt_ppc64::SlotImage,
    ) -> bool {
        if self.slot_registers(slot) != Ok(image.registers()) {
            return false;
        }
        for write in image.install().iter() {
            file.insert(format!("{:?}", write.spr), write.value);
        }
        true
    }

    fn file_uninstall(&self, file: &mut RegisterFile, slot: SlotId) -> bool {
        let Ok(registers) = self.slot_registers(slot) else {
            return false;
        };
        for write in registers.disarm().iter() {
            file.insert(format!("{:?}", write.spr), write.value);
        }
        true
    }

    fn kernel_base(&self) -> u64 {
        0xc000_0000_0000_0000
    }

    fn no_data_slots(&self) -> bool {
        self.data_slots() == 0
    }
}

/// Every CPU profile of both architectures.
fn x86_cpus() -> Vec<X86Cpu> {
    X86Profile::ALL.into_iter().map(X86Cpu::new).collect()
}

fn power_cpus() -> Vec<PowerCpu> {
    let mut cpus: Vec<PowerCpu> = PowerProfile::ALL.into_iter().map(PowerCpu::new).collect();
    // POWER9 with its checkstop erratum is `PowerCpu::new(Power9)` above; the opt-in too.
    cpus.push(PowerCpu::new(PowerProfile::Power9).with_dangerous_dawr(true));
    cpus
}

// ---------------------------------------------------------------------------------------
// The recording register owner
// ---------------------------------------------------------------------------------------

/// One slot as the registers hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SlotState<I> {
    Armed(I),
    Disarmed,
}

/// Everything one CPU's debug registers went through.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CpuRegisters<I> {
    /// Each slot written so far (absent: never written).
    slots: BTreeMap<SlotId, SlotState<I>>,
    /// The raw register file those writes produce.
    file: RegisterFile,
    /// `reset_status` calls and the last `set_single_step`.
    status_resets: u32,
    single_step: Option<bool>,
    /// Writes an arch crate says do not fit their slot.
    mismatched_writes: u32,
}

impl<I> CpuRegisters<I> {
    fn new() -> Self {
        Self {
            slots: BTreeMap::new(),
            file: RegisterFile::new(),
            status_resets: 0,
            single_step: None,
            mismatched_writes: 0,
        }
    }
}

/// Status reads are never expected at switch-in; the recorder refuses them loudly.
#[derive(Debug)]
struct NotRecorded;

impl fmt::Display for NotRecorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("status read at switch-in")
    }
}

impl std::error::Error for NotRecorded {}

struct Recorder<'a, A: Hardware> {
    arch: &'a A,
    regs: &'a mut CpuRegisters<A::SlotImage>,
    log: Vec<(SlotId, Option<A::SlotImage>)>,
}

impl<A: Hardware> RegisterAccess for Recorder<'_, A> {
    type Image = A::SlotImage;
    type Status = A::Status;
    type Error = NotRecorded;

    fn install(&mut self, slot: SlotId, image: A::SlotImage) -> Result<(), NotRecorded> {
        if !self.arch.file_install(&mut self.regs.file, slot, &image) {
            self.regs.mismatched_writes += 1;
        }
        self.regs.slots.insert(slot, SlotState::Armed(image));
        self.log.push((slot, Some(image)));
        Ok(())
    }

    fn uninstall(&mut self, slot: SlotId) -> Result<(), NotRecorded> {
        if !self.arch.file_uninstall(&mut self.regs.file, slot) {
            self.regs.mismatched_writes += 1;
        }
        self.regs.slots.insert(slot, SlotState::Disarmed);
        self.log.push((slot, None));
        Ok(())
    }

    fn read_status(&mut self) -> Result<A::Status, NotRecorded> {
        Err(NotRecorded)
    }

    fn reset_status(&mut self) -> Result<(), NotRecorded> {
        self.regs.status_resets += 1;
        Ok(())
    }

    fn set_single_step(&mut self, enabled: bool) -> Result<(), NotRecorded> {
        self.regs.single_step = Some(enabled);
        Ok(())
    }
}

/// Memory for the first "last observed" value: deterministic bytes, kernel half unreadable.
struct Memory;

impl MemoryRead for Memory {
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        if addr >= 0x8000_0000_0000_0000 {
            return Err(MemoryReadError::Unmapped { addr });
        }
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (addr.wrapping_add(i as u64) % 251) as u8;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------

/// Where a request points.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// User memory at `USER_BASE + offset` (overlapping each other and the user regions).
    User(u64),
    /// Just below (or at) the profile's user limit: `limit - 16 + k`.
    NearLimit(u64),
    /// Kernel memory.
    Kernel(u64),
    /// x86-64's non-canonical hole (beyond every user limit elsewhere).
    NonCanonical(u64),
    /// `u64::MAX - k`: with the length, ends at the top or wraps past it.
    Top(u64),
    /// Inside forbidden-region candidate `region`, at `offset`.
    InRegion(usize, u64),
}

/// A request, before `build`.
#[derive(Debug, Clone, Copy)]
struct Spec {
    place: Place,
    len: u64,
    access: u8,
    scope: u8,
    privilege: u8,
    kernel_origin: bool,
    delivery: u8,
    flexible: bool,
    exclusive: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Register(Spec),
    /// Modify the id issued `n`-th (stale ones included) to the spec: a refused move, say to
    /// a kernel address, must leave the old watch exactly as it was (CVE-2018-1000199).
    Modify(usize, Spec),
    /// Release / re-arm the id issued `n`-th (mod the ids issued; stale ones included).
    Release(usize),
    Rearm(usize),
    /// Forbid candidate region `n` (`true`: everything; `false`: execution only).
    Forbid(usize, bool),
}

/// Forbidden-region candidates: (offset from `USER_BASE` or, when `kernel`, from the
/// kernel base; length; name; kernel).
const REGIONS: [(u64, u64, &str, bool); 4] = [
    (0x40, 16, "exception stack", false),
    (0x80, 8, "#DB handler data", false),
    (0x100, 0x40, "non-probeable handler code", false),
    (0, 4096, "interrupt descriptor table", true),
];

fn region_range<A: Hardware>(arch: &A, index: usize) -> AddressRange {
    let (offset, len, _, kernel) = REGIONS[index % REGIONS.len()];
    let base = if kernel {
        arch.kernel_base()
    } else {
        USER_BASE
    };
    AddressRange::new(base + offset, len).unwrap()
}

fn build<A: Hardware>(arch: &A, spec: &Spec) -> Result<Request, RequestError> {
    let addr = match spec.place {
        Place::User(off) => USER_BASE + off,
        Place::NearLimit(k) => arch.user_limit() - 16 + k,
        Place::Kernel(off) => arch.kernel_base() + off,
        Place::NonCanonical(off) => 0x0000_8000_0000_0000 + off,
        Place::Top(k) => u64::MAX - k,
        Place::InRegion(r, off) => {
            let range = region_range(arch, r);
            range.start() + off % range.len()
        }
    };
    let scope = match spec.scope % 8 {
        0 => Scope::AllCpus,
        1 => Scope::Cpu(CpuId(0)),
        2 => Scope::Cpu(CpuId(1)),
        3 => Scope::Task(TaskId(1)),
        4 => Scope::Task(TaskId(2)),
        5 => Scope::TaskOnCpu(TaskId(1), CpuId(0)),
        6 => Scope::TaskOnCpu(TaskId(2), CpuId(1)),
        _ => Scope::Cpu(CpuId(7)),
    };
    let mut builder = Request::builder(addr, spec.len, AccessKind::from_bits_truncate(spec.access))
        .scope(scope)
        .privilege(PrivilegeFilter::from_bits_truncate(spec.privilege))
        .origin(if spec.kernel_origin {
            Origin::Kernel
        } else {
            Origin::User
        })
        .pinning(if spec.flexible {
            Pinning::Flexible
        } else {
            Pinning::Pinned
        })
        .sharing(if spec.exclusive {
            Sharing::Exclusive
        } else {
            Sharing::Shared
        });
    builder = match spec.delivery % 4 {
        1 => builder.delivery(Delivery::After),
        2 => builder.delivery(Delivery::Before),
        3 => builder.delivery(Delivery::Native),
        _ => builder,
    };
    builder.build()
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        10 => (0u64..0x180).prop_map(Place::User),
        2 => (0u64..24).prop_map(Place::NearLimit),
        2 => (0u64..0x2000).prop_map(Place::Kernel),
        1 => (0u64..64).prop_map(Place::NonCanonical),
        1 => (0u64..16).prop_map(Place::Top),
        3 => (0usize..REGIONS.len(), 0u64..0x40).prop_map(|(r, o)| Place::InRegion(r, o)),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let len = prop_oneof![
        8 => prop::sample::select(vec![1u64, 2, 4, 8]),
        3 => prop::sample::select(vec![3u64, 5, 6, 7, 12, 16, 24, 32, 64]),
        2 => prop::sample::select(vec![0u64, 9, 256, 512, 513, 1024, 4096]),
    ];
    let access = prop_oneof![
        6 => prop::sample::select(vec![2u8, 3]),
        2 => Just(4u8),
        2 => 0u8..8,
    ];
    let privilege = prop_oneof![4 => Just(1u8), 1 => 0u8..8];
    (
        place(),
        len,
        access,
        0u8..8,
        privilege,
        prop::bool::weighted(0.15),
        prop_oneof![4 => Just(0u8), 1 => 1u8..4],
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(
                place,
                len,
                access,
                scope,
                privilege,
                kernel_origin,
                delivery,
                flexible,
                exclusive,
            )| {
                Spec {
                    place,
                    len,
                    access,
                    scope,
                    privilege,
                    kernel_origin,
                    delivery,
                    flexible,
                    exclusive,
                }
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => spec().prop_map(Op::Register),
        4 => (any::<usize>(), spec()).prop_map(|(n, s)| Op::Modify(n, s)),
        3 => any::<usize>().prop_map(Op::Release),
        1 => any::<usize>().prop_map(Op::Rearm),
        2 => (0usize..REGIONS.len(), any::<bool>()).prop_map(|(r, e)| Op::Forbid(r, e)),
    ]
}

/// A case: filler regions registered at boot (so the registry can be full), then the ops.
fn case() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (
        prop_oneof![2 => Just(0usize), 1 => 14usize..=16],
        prop::collection::vec(op(), 1..28),
    )
}

// ---------------------------------------------------------------------------------------
// The dispatcher property
// ---------------------------------------------------------------------------------------

/// One dispatcher and the registers of each CPU it drives.
struct World<A: Hardware> {
    dispatcher: Dispatcher<A>,
    cpus: BTreeMap<u32, CpuRegisters<A::SlotImage>>,
}

/// What one switch-in of (task, cpu) left: the CPU's registers, the writes, the armed set.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PairState<I> {
    task: u64,
    cpu: u32,
    regs: CpuRegisters<I>,
    log: Vec<(SlotId, Option<I>)>,
    armed: SlotSet,
}

type Round<I> = Vec<PairState<I>>;

/// What the dispatcher shows about every id ever issued, and its counters.
#[derive(Debug, PartialEq)]
struct Observed<P> {
    ids: Vec<ObservedId<P>>,
    statistics: Statistics,
}

/// One id: its request, plan, whether it is enabled, and its scheduling state.
#[derive(Debug, PartialEq)]
struct ObservedId<P> {
    id: RequestId,
    request: Option<Request>,
    plan: Option<Plan<P>>,
    enabled: bool,
    status: Option<ReservationStatus>,
}

impl<A: Hardware + Clone> World<A> {
    fn new(arch: &A) -> Self {
        Self {
            dispatcher: Dispatcher::new(arch.clone()),
            cpus: CPUS.iter().map(|&c| (c, CpuRegisters::new())).collect(),
        }
    }

    /// Switch in every (task, cpu) pair, in a fixed order.
    fn round(&mut self, arch: &A) -> Round<A::SlotImage> {
        let mut states = Vec::new();
        for &cpu in &CPUS {
            for &task in &TASKS {
                let regs = self.cpus.get_mut(&cpu).unwrap();
                let mut recorder = Recorder {
                    arch,
                    regs,
                    log: Vec::new(),
                };
                self.dispatcher
                    .switch_in(TaskId(task), CpuId(cpu), &mut recorder)
                    .unwrap();
                let log = recorder.log;
                states.push(PairState {
                    task,
                    cpu,
                    regs: self.cpus[&cpu].clone(),
                    log,
                    armed: self.dispatcher.armed_slots(TaskId(task), CpuId(cpu)),
                });
            }
        }
        states
    }

    fn observed(&self, ids: &[RequestId]) -> Observed<A::Program> {
        Observed {
            ids: ids
                .iter()
                .map(|&id| ObservedId {
                    id,
                    request: self.dispatcher.request(id).copied(),
                    plan: self.dispatcher.plan(id).copied(),
                    enabled: self.dispatcher.is_enabled(id),
                    status: self.dispatcher.status(id),
                })
                .collect(),
            statistics: self.dispatcher.statistics(),
        }
    }
}

/// What a run exercised: each kind of step must have happened, or the run proves nothing.
#[derive(Debug, Default)]
struct Coverage {
    accepted: u32,
    modified: u32,
    refused_by_build: u32,
    refused_by_dispatcher: BTreeMap<String, u32>,
    /// Refused modifies of live requests, by error.
    refused_modifies: BTreeMap<String, u32>,
    stale_ids: u32,
    registry_full: u32,
    compared_with_before: u32,
}

impl Coverage {
    fn modify_refusal(&mut self, error: &DispatchError) {
        let name = format!("{error:?}");
        let kind = name
            .split(['(', '{'])
            .nth(1)
            .unwrap_or(&name)
            .trim()
            .to_owned();
        *self.refused_modifies.entry(kind).or_default() += 1;
    }

    fn refusal(&mut self, error: &DispatchError) {
        let name = format!("{error:?}");
        let kind = name
            .split([' ', '(', '{'])
            .next()
            .unwrap_or_default()
            .to_owned();
        let detail = match error {
            DispatchError::Request(e) => format!(
                "{kind}({})",
                format!("{e:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap_or_default()
            ),
            _ => kind,
        };
        *self.refused_by_dispatcher.entry(detail).or_default() += 1;
    }
}

/// The test's own record of what should be live.
struct Model {
    /// Every id issued, with its request; `live` false once released.
    issued: Vec<(RequestId, Request, bool)>,
    /// Forbidden regions registered successfully.
    forbidden: Vec<(AddressRange, &'static str, Forbids)>,
}

/// Check the registers of one round against the live requests (an accepted operation shows).
fn check_round<A: Hardware>(
    arch: &A,
    world: &World<A>,
    model: &Model,
    round: &Round<A::SlotImage>,
) -> Result<(), TestCaseError> {
    let slots_of_profile: Vec<SlotId> = arch
        .capabilities()
        .pools
        .iter()
        .flat_map(|p| (0..p.count).filter_map(move |i| SlotId::new(p.kind, i)))
        .collect();
    for state in round {
        let (task, cpu) = (TaskId(state.task), CpuId(state.cpu));
        prop_assert_eq!(
            state.regs.mismatched_writes,
            0,
            "an image was installed into a slot it was not encoded for"
        );
        for slot in &slots_of_profile {
            prop_assert!(
                state.regs.slots.contains_key(slot),
                "switch-in never wrote {:?}",
                slot
            );
        }
        let covering: Vec<&(RequestId, Request, bool)> = model
            .issued
            .iter()
            .filter(|(id, r, live)| {
                *live && r.scope().covers(task, cpu) && world.dispatcher.is_enabled(*id)
            })
            .collect();
        for (slot, slot_state) in &state.regs.slots {
            let SlotState::Armed(image) = slot_state else {
                continue;
            };
            let explained = covering.iter().any(|(id, _, _)| {
                world.dispatcher.plan(*id).is_some_and(|plan| {
                    plan.iter()
                        .any(|p| arch.encode(*slot, p).as_ref() == Ok(image))
                })
            });
            prop_assert!(
                explained,
                "task {} on CPU {}: {:?} holds {:?}, which no live request covering them \
                 programs",
                state.task,
                state.cpu,
                slot,
                image
            );
        }
        for (id, request, _) in &covering {
            if request.pinning() != Pinning::Pinned {
                continue;
            }
            let plan = world.dispatcher.plan(*id).unwrap();
            for program in plan {
                let installed = state.regs.slots.iter().any(|(slot, s)| {
                    matches!(s, SlotState::Armed(image)
                        if arch.encode(*slot, program).as_ref() == Ok(image))
                });
                prop_assert!(
                    installed,
                    "task {} on CPU {}: pinned request {:?} has {:?} armed nowhere",
                    state.task,
                    state.cpu,
                    request,
                    program
                );
            }
        }
    }
    Ok(())
}

/// Refusals the policy makes mandatory, decided from the profile's data and the test's own
/// record of forbidden regions (never from the dispatcher).
fn check_mandatory_refusal<A: Hardware, T: fmt::Debug>(
    arch: &A,
    model: &Model,
    request: &Request,
    result: &Result<T, DispatchError>,
) -> Result<(), TestCaseError> {
    let range = request.range();
    if request.origin() == Origin::User && range.last() >= arch.user_limit() {
        prop_assert!(
            result.is_err(),
            "user request beyond the user limit accepted: {:?}",
            request
        );
    }
    let forbidding: Vec<&'static str> = model
        .forbidden
        .iter()
        .filter(|(r, _, forbids)| {
            r.overlaps(&range) && (*forbids == Forbids::Everything || request.is_execute())
        })
        .map(|(_, what, _)| *what)
        .collect();
    if !forbidding.is_empty() {
        match result {
            Err(DispatchError::Request(RequestError::ForbiddenRange { region, .. })) => {
                prop_assert!(
                    forbidding.contains(region),
                    "refused naming {}, which it does not overlap",
                    region
                );
            }
            other => prop_assert!(
                false,
                "request over a forbidden region {:?} not refused as such: {:?}",
                forbidding,
                other
            ),
        }
    }
    if arch.no_data_slots() && !request.is_execute() {
        prop_assert!(result.is_err(), "data request accepted without data slots");
    }
    Ok(())
}

/// Rounds on both worlds until the subject's registers settle (two identical rounds),
/// comparing the worlds round by round. Returns the last round and whether it settled.
fn settle<A: Hardware + Clone>(
    arch: &A,
    subject: &mut World<A>,
    twin: &mut World<A>,
    context: &str,
) -> Result<(Round<A::SlotImage>, bool), TestCaseError> {
    let mut last: Option<Round<A::SlotImage>> = None;
    for _ in 0..3 {
        let mine = subject.round(arch);
        let theirs = twin.round(arch);
        prop_assert_eq!(
            &mine,
            &theirs,
            "{}: registers differ from the twin that never saw the refused operations",
            context
        );
        if last.as_ref() == Some(&mine) {
            return Ok((mine, true));
        }
        last = Some(mine);
    }
    Ok((last.unwrap(), false))
}

fn run_dispatcher<A: Hardware + Clone>(
    arch: &A,
    filler: usize,
    ops: &[Op],
    coverage: &mut Coverage,
) -> Result<(), TestCaseError> {
    let mut subject = World::new(arch);
    let mut twin = World::new(arch);
    let mut model = Model {
        issued: Vec::new(),
        forbidden: Vec::new(),
    };
    for i in 0..filler {
        // Far away from every request: only fills the registry.
        let range =
            AddressRange::new(arch.kernel_base() + 0x100_0000 + 0x1000 * i as u64, 8).unwrap();
        let region = ForbiddenRegion {
            range,
            what: "filler",
        };
        let a = subject.dispatcher.forbid(region, Forbids::Everything);
        let b = twin.dispatcher.forbid(region, Forbids::Everything);
        prop_assert_eq!(a, b);
        if a.is_ok() {
            model.forbidden.push((range, "filler", Forbids::Everything));
        }
    }
    let (mut before, mut settled) = settle(arch, &mut subject, &mut twin, "boot")?;

    for (step, op) in ops.iter().enumerate() {
        let ids: Vec<RequestId> = model.issued.iter().map(|(id, _, _)| *id).collect();
        let observed_before = subject.observed(&ids);
        let pinned_only = model
            .issued
            .iter()
            .all(|(_, r, live)| !*live || r.pinning() == Pinning::Pinned);
        let context = format!("step {step} ({op:?})");

        let refused = match op {
            Op::Register(spec) => match build(arch, spec) {
                Err(_) => {
                    // Refused by `build`: the dispatcher never sees it (still checked below).
                    coverage.refused_by_build += 1;
                    true
                }
                Ok(request) => {
                    let result = subject.dispatcher.register(request, &mut Memory);
                    check_mandatory_refusal(arch, &model, &request, &result)?;
                    match result {
                        Ok(id) => {
                            let twin_id = twin.dispatcher.register(request, &mut Memory);
                            prop_assert_eq!(
                                twin_id,
                                Ok(id),
                                "{}: the twin issued another id (a refusal changed state)",
                                &context
                            );
                            prop_assert_eq!(subject.dispatcher.request(id), Some(&request));
                            prop_assert_eq!(
                                subject.dispatcher.plan(id).copied(),
                                arch.prepare(&request).ok(),
                                "{}: the plan is not the request's",
                                &context
                            );
                            prop_assert!(subject.dispatcher.is_enabled(id));
                            model.issued.push((id, request, true));
                            coverage.accepted += 1;
                            false
                        }
                        Err(e) => {
                            coverage.refusal(&e);
                            true
                        }
                    }
                }
            },
            Op::Modify(n, spec) => {
                if model.issued.is_empty() {
                    continue;
                }
                let index = n % model.issued.len();
                let (id, old, live) = model.issued[index];
                match build(arch, spec) {
                    Err(_) => {
                        coverage.refused_by_build += 1;
                        true
                    }
                    Ok(request) => {
                        let result = subject.dispatcher.modify(id, request, &mut Memory);
                        if live {
                            check_mandatory_refusal(arch, &model, &request, &result)?;
                        } else {
                            prop_assert_eq!(
                                result,
                                Err(DispatchError::UnknownRequest),
                                "{}: a stale id was modified",
                                &context
                            );
                        }
                        match result {
                            Ok(()) => {
                                prop_assert_eq!(
                                    twin.dispatcher.modify(id, request, &mut Memory),
                                    Ok(())
                                );
                                prop_assert_eq!(subject.dispatcher.request(id), Some(&request));
                                prop_assert_eq!(
                                    subject.dispatcher.plan(id).copied(),
                                    arch.prepare(&request).ok(),
                                    "{}: the plan is not the modified request's",
                                    &context
                                );
                                prop_assert!(subject.dispatcher.is_enabled(id));
                                model.issued[index].1 = request;
                                coverage.modified += 1;
                                false
                            }
                            Err(e) => {
                                if live {
                                    // CVE-2018-1000199: the old watch is still there.
                                    prop_assert_eq!(
                                        subject.dispatcher.request(id),
                                        Some(&old),
                                        "{}: a refused modify lost the old request",
                                        &context
                                    );
                                    coverage.modify_refusal(&e);
                                } else {
                                    coverage.stale_ids += 1;
                                }
                                true
                            }
                        }
                    }
                }
            }
            Op::Release(n) | Op::Rearm(n) => {
                if model.issued.is_empty() {
                    continue;
                }
                let index = n % model.issued.len();
                let (id, request, live) = model.issued[index];
                let release = matches!(op, Op::Release(_));
                let result = if release {
                    subject.dispatcher.release(id).map(|_| ())
                } else {
                    subject.dispatcher.rearm(id)
                };
                if live {
                    prop_assert_eq!(result, Ok(()), "{}: a live id was refused", &context);
                    if release {
                        prop_assert_eq!(twin.dispatcher.release(id), Ok(request));
                        model.issued[index].2 = false;
                        prop_assert_eq!(subject.dispatcher.request(id), None);
                        prop_assert!(!subject.dispatcher.is_enabled(id));
                    } else {
                        prop_assert_eq!(twin.dispatcher.rearm(id), Ok(()));
                    }
                    false
                } else {
                    prop_assert_eq!(
                        result,
                        Err(DispatchError::UnknownRequest),
                        "{}: a stale id was accepted",
                        &context
                    );
                    coverage.stale_ids += 1;
                    true
                }
            }
            Op::Forbid(r, everything) => {
                let range = region_range(arch, *r);
                let (_, _, what, _) = REGIONS[r % REGIONS.len()];
                let forbids = if *everything {
                    Forbids::Everything
                } else {
                    Forbids::Execution
                };
                let region = ForbiddenRegion { range, what };
                let result = subject.dispatcher.forbid(region, forbids);
                prop_assert_eq!(
                    result.is_err(),
                    model.forbidden.len() >= hwbkpt_hal::MAX_FORBIDDEN_REGIONS,
                    "{}: forbid's answer does not follow the registry's capacity",
                    &context
                );
                if result.is_ok() {
                    prop_assert_eq!(twin.dispatcher.forbid(region, forbids), Ok(()));
                    model.forbidden.push((range, what, forbids));
                    false
                } else {
                    coverage.registry_full += 1;
                    true
                }
            }
        };

        if refused {
            prop_assert_eq!(
                &subject.observed(&ids),
                &observed_before,
                "{}: a refused operation changed the dispatcher's observable state",
                &context
            );
        }
        prop_assert_eq!(
            &subject.observed(&ids),
            &twin.observed(&ids),
            "{}: observable state differs from the twin's",
            &context
        );
        let (after, now_settled) = settle(arch, &mut subject, &mut twin, &context)?;
        if refused && settled && pinned_only {
            prop_assert_eq!(
                &after,
                &before,
                "{}: registers after a refused operation differ from before",
                &context
            );
            coverage.compared_with_before += 1;
        }
        check_round(arch, &subject, &model, &after)?;
        before = after;
        settled = now_settled;
    }
    Ok(())
}

/// Cases of the fixed-seed pass, whose coverage is asserted (so that it cannot depend on
/// luck or on `PROPTEST_CASES`).
const COVERAGE_CASES: u32 = 48;
const COVERAGE_SEED: u64 = 0x0201_8100_0199;

/// The two passes of each property: a fixed seed whose coverage is asserted, then
/// `cases()` random cases. Failures persist in `tests/refused_requests.proptest-regressions`.
fn passes() -> [(bool, TestRunner); 2] {
    let config = |cases, rng_seed| Config {
        cases,
        rng_seed,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    [
        (
            true,
            TestRunner::new(config(COVERAGE_CASES, RngSeed::Fixed(COVERAGE_SEED))),
        ),
        (false, TestRunner::new(config(cases(), RngSeed::Random))),
    ]
}

/// Run the property on `cpus` (a random profile per case); check that the fixed-seed pass
/// exercised every kind of step.
fn run_profiles<A: Hardware + Clone>(name: &str, cpus: &[A]) {
    for (check_coverage, mut runner) in passes() {
        let coverage = RefCell::new(Coverage::default());
        let result = runner.run(&(0..cpus.len(), case()), |(profile, (filler, ops))| {
            run_dispatcher(&cpus[profile], filler, &ops, &mut coverage.borrow_mut())
        });
        if let Err(e) = result {
            panic!("{name}: {e}");
        }
        let coverage = coverage.into_inner();
        eprintln!("{name}: {coverage:#?}");
        if check_coverage {
            dispatcher_coverage(name, &coverage);
        }
    }
}

fn dispatcher_coverage(name: &str, coverage: &Coverage) {
    assert!(coverage.accepted > 0, "{name}: nothing accepted");
    assert!(coverage.modified > 0, "{name}: nothing modified");
    for kind in ["NotUserAddress", "ForbiddenRange"] {
        assert!(
            coverage.refused_modifies.keys().any(|k| k.contains(kind)),
            "{name}: no modify of a live request refused with {kind}"
        );
    }
    assert!(
        coverage.refused_by_build > 0,
        "{name}: no request refused by build"
    );
    assert!(coverage.stale_ids > 0, "{name}: no stale id");
    assert!(
        coverage.registry_full > 0,
        "{name}: the registry was never full"
    );
    assert!(
        coverage.compared_with_before > 0,
        "{name}: no refusal compared with before"
    );
    for kind in ["NotUserAddress", "ForbiddenRange", "Reserve"] {
        assert!(
            coverage
                .refused_by_dispatcher
                .keys()
                .any(|k| k.contains(kind)),
            "{name}: no request refused with {kind}"
        );
    }
}

#[test]
fn dispatcher_refusals_change_nothing_x86() {
    run_profiles("x86-64", &x86_cpus());
}

#[test]
fn dispatcher_refusals_change_nothing_ppc64() {
    run_profiles("PPC64", &power_cpus());
}

// ---------------------------------------------------------------------------------------
// The reservation engine, directly
// ---------------------------------------------------------------------------------------

/// CPUs the engines account for (scope `Cpu(7)` names an unknown one).
const ENGINE_CPUS: usize = 2;

#[derive(Debug, Clone)]
enum EngineOp {
    /// `reserve` (0), `try_reserve` (1) or `reserve_planned` (2); an unplannable request
    /// goes to the first two with an empty plan.
    Reserve(Spec, u8),
    /// Modify the reservation issued `n`-th (stale ones included) to the spec.
    Modify(usize, Spec),
    Release(usize),
}

/// Mostly plannable requests (the engine's refusals are about room), some hostile ones.
fn engine_spec() -> impl Strategy<Value = Spec> {
    let plannable = (
        0u64..0x40,
        prop::sample::select(vec![1u64, 2, 4, 8, 16]),
        prop::sample::select(vec![2u8, 3]),
        0u8..8,
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(offset, len, access, scope, flexible, exclusive)| Spec {
            place: Place::User(offset & !7),
            len,
            access,
            scope,
            privilege: 1,
            kernel_origin: false,
            delivery: 0,
            flexible,
            exclusive,
        });
    prop_oneof![3 => plannable, 1 => spec()]
}

fn engine_op() -> impl Strategy<Value = EngineOp> {
    prop_oneof![
        6 => (engine_spec(), 0u8..3).prop_map(|(s, how)| EngineOp::Reserve(s, how)),
        4 => (any::<usize>(), engine_spec()).prop_map(|(n, s)| EngineOp::Modify(n, s)),
        2 => any::<usize>().prop_map(EngineOp::Release),
    ]
}

/// Everything an engine answers without changing: compared before and after a refused
/// operation, and with the twin.
#[derive(Debug, PartialEq)]
struct EngineView<P> {
    loaded: Vec<Option<SlotAssignment<P>>>,
    running: Vec<Option<TaskId>>,
    ids: Vec<EngineId<P>>,
    usage: Vec<Option<PoolUsage>>,
    task_usage: Vec<u8>,
    counts: (usize, usize, usize, bool),
}

/// One reservation as the engine describes it.
#[derive(Debug, PartialEq)]
struct EngineId<P> {
    id: ReservationId,
    request: Option<Request>,
    plan: Option<Plan<P>>,
    group: Option<SlotGroupId>,
    status: Option<ReservationStatus>,
}

const POOL_KINDS: [PoolKind; 3] = [PoolKind::Shared, PoolKind::Data, PoolKind::Instruction];

fn view<P: SlotProgram, S: Storage>(
    engine: &Reservations<P, S, ENGINE_CPUS>,
    ids: &[ReservationId],
) -> EngineView<P> {
    let cpus = || (0..ENGINE_CPUS as u32 + 1).map(CpuId);
    EngineView {
        loaded: cpus().map(|c| engine.loaded(c)).collect(),
        running: cpus().map(|c| engine.running(c)).collect(),
        ids: ids
            .iter()
            .map(|&id| EngineId {
                id,
                request: engine.request(id).copied(),
                plan: engine.plan(id).copied(),
                group: engine.group(id),
                status: engine.status(id),
            })
            .collect(),
        usage: POOL_KINDS
            .iter()
            .flat_map(|&pool| cpus().map(move |c| (pool, c)))
            .map(|(pool, c)| engine.usage(pool, c))
            .collect(),
        task_usage: POOL_KINDS
            .iter()
            .flat_map(|&pool| {
                TASKS
                    .iter()
                    .flat_map(move |&t| cpus().map(move |c| (pool, TaskId(t), c)))
            })
            .map(|(pool, t, c)| engine.task_usage(pool, t, c))
            .collect(),
        counts: (
            engine.len(),
            engine.group_count(),
            engine.task_count(),
            engine.accounting_is_empty(),
        ),
    }
}

/// What an engine run exercised.
#[derive(Debug, Default)]
struct EngineCoverage {
    accepted: u32,
    refused: BTreeMap<String, u32>,
}

impl EngineCoverage {
    fn refusal(&mut self, how: &str, error: &ReserveError) {
        let name = format!("{error:?}");
        let kind = name.split([' ', '(', '{']).next().unwrap_or_default();
        *self.refused.entry(format!("{how}: {kind}")).or_default() += 1;
    }
}

/// Switch every pair in on both engines: identical assignments, and each holds exactly the
/// live groups covering the pair, every live pinned one among them.
fn engine_round<A: Hardware, S: Storage>(
    arch: &A,
    subject: &mut Reservations<A::Program, S, ENGINE_CPUS>,
    twin: &mut Reservations<A::Program, S, ENGINE_CPUS>,
    live: &[(ReservationId, Request)],
    context: &str,
) -> Result<(), TestCaseError> {
    for &cpu in &CPUS {
        for &task in &TASKS {
            let (task, cpu) = (TaskId(task), CpuId(cpu));
            let mine = subject.switch_in(task, cpu).unwrap();
            let theirs = twin.switch_in(task, cpu).unwrap();
            prop_assert_eq!(
                &mine,
                &theirs,
                "{}: switch-in of {:?} on {:?} differs from the twin's",
                context,
                task,
                cpu
            );
            let covering: Vec<(SlotGroupId, Request)> = live
                .iter()
                .filter(|(_, r)| r.scope().covers(task, cpu))
                .map(|(id, r)| (subject.group(*id).unwrap(), *r))
                .collect();
            for loaded in mine.iter() {
                prop_assert!(
                    covering.iter().any(|(g, _)| *g == loaded.group),
                    "{}: {:?} loaded for {:?} on {:?}, which no live reservation covering \
                     them holds",
                    context,
                    loaded,
                    task,
                    cpu
                );
                let plan = subject.group_plan(loaded.group).unwrap();
                prop_assert!(plan.iter().any(|p| *p == loaded.program));
                prop_assert_eq!(loaded.slot.pool(), loaded.program.pool());
            }
            for pool in POOL_KINDS {
                prop_assert!(mine.count(pool) <= usize::from(subject.slots(pool)));
            }
            for (group, request) in &covering {
                if request.pinning() != Pinning::Pinned {
                    continue;
                }
                let plan = subject.group_plan(*group).unwrap();
                let mut wanted: Vec<String> = plan.iter().map(|p| format!("{p:?}")).collect();
                let mut got: Vec<String> = mine
                    .iter()
                    .filter(|l| l.group == *group)
                    .map(|l| format!("{:?}", l.program))
                    .collect();
                wanted.sort();
                got.sort();
                prop_assert_eq!(
                    got,
                    wanted,
                    "{}: pinned {:?} not wholly loaded for {:?} on {:?}",
                    context,
                    request,
                    task,
                    cpu
                );
            }
            let _ = arch;
        }
    }
    Ok(())
}

fn run_engine<A: Hardware, S: Storage>(
    arch: &A,
    ops: &[EngineOp],
    coverage: &mut EngineCoverage,
) -> Result<(), TestCaseError> {
    let online = ENGINE_CPUS as u32;
    let mut subject =
        Reservations::<A::Program, S, ENGINE_CPUS>::new(arch.capabilities(), online).unwrap();
    let mut twin =
        Reservations::<A::Program, S, ENGINE_CPUS>::new(arch.capabilities(), online).unwrap();
    // Every id issued, with its request while live.
    let mut issued: Vec<(ReservationId, Option<Request>)> = Vec::new();

    for (step, op) in ops.iter().enumerate() {
        let ids: Vec<ReservationId> = issued.iter().map(|(id, _)| *id).collect();
        let before = view(&subject, &ids);
        let context = format!("step {step} ({op:?})");
        let (how, result): (&str, Result<(), ReserveError>) = match op {
            EngineOp::Reserve(spec, how) => {
                let Ok(request) = build(arch, spec) else {
                    continue;
                };
                let plan = arch.prepare(&request).unwrap_or_default();
                let (name, mine) = match how {
                    0 => ("reserve", subject.reserve(request, plan)),
                    1 => ("try_reserve", subject.try_reserve(request, plan)),
                    _ => ("reserve_planned", subject.reserve_planned(arch, request)),
                };
                if arch.prepare(&request).is_err() {
                    prop_assert!(
                        mine.is_err(),
                        "{}: an unplannable request was reserved",
                        &context
                    );
                }
                match mine {
                    Ok(id) => {
                        let theirs = match how {
                            0 => twin.reserve(request, plan),
                            1 => twin.try_reserve(request, plan),
                            _ => twin.reserve_planned(arch, request),
                        };
                        prop_assert_eq!(
                            theirs,
                            Ok(id),
                            "{}: the twin answered otherwise (a refusal changed state)",
                            &context
                        );
                        prop_assert_eq!(subject.request(id), Some(&request));
                        prop_assert_eq!(subject.plan(id), Some(&plan));
                        issued.push((id, Some(request)));
                        (name, Ok(()))
                    }
                    Err(e) => (name, Err(e)),
                }
            }
            EngineOp::Modify(n, spec) => {
                if issued.is_empty() {
                    continue;
                }
                let index = n % issued.len();
                let (id, live) = issued[index];
                let Ok(request) = build(arch, spec) else {
                    continue;
                };
                let plan = arch.prepare(&request).unwrap_or_default();
                let mine = subject.modify(id, request, plan);
                if live.is_none() {
                    prop_assert_eq!(
                        mine,
                        Err(ReserveError::UnknownReservation),
                        "{}: a stale id was modified",
                        &context
                    );
                }
                if plan.is_empty() {
                    prop_assert!(mine.is_err(), "{}: modified to an empty plan", &context);
                }
                if mine.is_ok() {
                    prop_assert_eq!(twin.modify(id, request, plan), Ok(()));
                    prop_assert_eq!(subject.request(id), Some(&request));
                    prop_assert_eq!(subject.plan(id), Some(&plan));
                    issued[index].1 = Some(request);
                }
                ("modify", mine)
            }
            EngineOp::Release(n) => {
                if issued.is_empty() {
                    continue;
                }
                let index = n % issued.len();
                let (id, live) = issued[index];
                let mine = subject.release(id).map(|_| ());
                match live {
                    Some(request) => {
                        prop_assert_eq!(mine, Ok(()), "{}: a live id was refused", &context);
                        prop_assert_eq!(twin.release(id), Ok(request));
                        issued[index].1 = None;
                    }
                    None => prop_assert_eq!(
                        mine,
                        Err(ReserveError::UnknownReservation),
                        "{}: a stale id was released",
                        &context
                    ),
                }
                ("release", mine)
            }
        };
        match &result {
            Ok(()) => coverage.accepted += 1,
            Err(e) => {
                coverage.refusal(how, e);
                prop_assert_eq!(
                    &view(&subject, &ids),
                    &before,
                    "{}: a refused operation changed what the engine answers",
                    &context
                );
            }
        }
        prop_assert_eq!(
            &view(&subject, &ids),
            &view(&twin, &ids),
            "{}: the engine answers otherwise than the twin",
            &context
        );
        let live: Vec<(ReservationId, Request)> = issued
            .iter()
            .filter_map(|(id, r)| r.map(|r| (*id, r)))
            .collect();
        engine_round(arch, &mut subject, &mut twin, &live, &context)?;
    }
    Ok(())
}

fn run_engines<A: Hardware, S: Storage>(name: &str, cpus: &[A], expected: &[&str]) {
    for (check_coverage, mut runner) in passes() {
        let coverage = RefCell::new(EngineCoverage::default());
        let ops = prop::collection::vec(engine_op(), 1..28);
        let result = runner.run(&(0..cpus.len(), ops), |(profile, ops)| {
            run_engine::<A, S>(&cpus[profile], &ops, &mut coverage.borrow_mut())
        });
        if let Err(e) = result {
            panic!("{name}: {e}");
        }
        let coverage = coverage.into_inner();
        eprintln!("{name}: {coverage:#?}");
        if check_coverage {
            engine_coverage(name, &coverage, expected);
        }
    }
}

fn engine_coverage(name: &str, coverage: &EngineCoverage, expected: &[&str]) {
    assert!(coverage.accepted > 0, "{name}: nothing accepted");
    let common = [
        "reserve: CpuFull",
        "modify: CpuFull",
        "modify: UnknownReservation",
        "release: UnknownReservation",
        "EmptyPlan",
        "UnknownCpu",
        "reserve_planned: Request",
    ];
    for kind in common.iter().chain(expected) {
        assert!(
            coverage.refused.keys().any(|k| k.contains(kind)),
            "{name}: no refusal \"{kind}\""
        );
    }
}

/// x86 programs in fixed storage: 5 reservations and 1 task place, so capacity runs out.
#[test]
fn engine_refusals_change_nothing_fixed_x86() {
    run_engines::<X86Cpu, FixedStorage<5, 1>>("fixed x86", &x86_cpus(), &["CapacityExhausted"]);
}

/// PPC64 programs in heap storage (`try_reserve` refuses to grow it).
#[test]
fn engine_refusals_change_nothing_heap_ppc64() {
    run_engines::<PowerCpu, HeapStorage>("heap PPC64", &power_cpus(), &["WouldAllocate"]);
}
