//! The PPC64 CPU model plugged into the generic machine: fetch, the data-breakpoint check
//! before the access, execution, and the trace/CIABR check after completion.
//!
//! Order of one step (Power ISA Book III, "Interrupt Definitions"):
//! 1. fetch the word at NIP (unmapped: a fault; illegal word: a fault);
//! 2. if it accesses data and a DABR/DAWR matches: a data storage interrupt *before* the
//!    access — `DSISR[41]`, DAR, NIP still at the instruction, memory unchanged (POWER9 with the
//!    dangerous switch: a DAWR match on cache-inhibited memory checkstops the machine instead);
//! 3. execute; memory goes through the recording bus;
//! 4. after completion: a trace interrupt if `MSR[SE]` was set when the instruction started, or
//!    if CIABR matches the completed instruction (NIP = next instruction in both cases).
//!    `sc` and `rfid` are never traced: the system call interrupt clears `MSR[SE]` on entry, and
//!    `rfid` loads a new MSR whose SE applies to the next instruction.

use hwbkpt_hal::{AccessKind, DecodeError, DecodedAccess, EmulateError, MemoryReadError};

use crate::{Bus, Endian, FaultKind, Isa, Memory, MemoryFault, Mode, StepOutcome};

use super::access::{CACHE_BLOCK, access_of};
use super::context::{Ppc64Context, Reservation, cr0};
use super::dsisr::{DSISR_DABRMATCH, DSISR_ISSTORE};
use super::exception::Ppc64Exception;
use super::insn::{Cond, Insn};
use super::msr::{MSR_BE, MSR_EE, MSR_PR, MSR_RI, MSR_SE, PrivilegeState};
use super::{CpuProfile, DebugRegisters};

/// Where `sc` enters the kernel: the system call vector 0xC00 at Linux's relocation-on
/// interrupt base (AIL = 3, `0xc000000000004000`).
pub const SYSCALL_VECTOR: u64 = 0xC000_0000_0000_4C00;

/// Why the machine checkstops on the POWER9 erratum.
pub const CHECKSTOP_REASON: &str = "POWER9 DAWR match on cache-inhibited memory";

/// The PPC64 model: a CPU profile and where system calls enter the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ppc64 {
    profile: CpuProfile,
    syscall_vector: u64,
}

impl Ppc64 {
    /// A model of `profile`, system calls entering at [`SYSCALL_VECTOR`].
    #[must_use]
    pub const fn new(profile: CpuProfile) -> Self {
        Self {
            profile,
            syscall_vector: SYSCALL_VECTOR,
        }
    }

    /// The same model with system calls entering at `vector` (where the test kernel's code is).
    #[must_use]
    pub const fn with_syscall_vector(mut self, vector: u64) -> Self {
        self.syscall_vector = vector & !3;
        self
    }

    /// The CPU profile.
    #[must_use]
    pub const fn profile(&self) -> &CpuProfile {
        &self.profile
    }

    /// The instruction at `pc`, if the word there is one this profile implements.
    ///
    /// # Errors
    /// The fault a fetch of `pc` takes.
    pub fn fetch(&self, memory: &Memory, pc: u64) -> Result<Insn, FaultKind> {
        let mut word = [0u8; 4];
        memory
            .read(pc & !3, &mut word)
            .map_err(|f| FaultKind::Unmapped { addr: f.addr })?;
        match Insn::decode(u32::from_be_bytes(word)) {
            Some(Insn::Lxvp { .. } | Insn::Stxvp { .. }) if !self.profile.has_paired_vector() => {
                Err(FaultKind::InvalidInstruction)
            }
            Some(insn) => Ok(insn),
            None => Err(FaultKind::InvalidInstruction),
        }
    }

    /// The data breakpoint check made before the access: a data storage interrupt, a
    /// checkstop, or nothing.
    fn check_data(
        &self,
        ctx: &mut Ppc64Context,
        access: &DecodedAccess,
        memory: &Memory,
    ) -> Option<StepOutcome<Ppc64Exception>> {
        if !ctx.debug.data_armed(&self.profile) {
            return None;
        }
        let hit = ctx.debug.check_data(access, ctx.msr, &self.profile)?;
        if self.profile.dawr_checkstops_on_cache_inhibited()
            && hit.any_dawr()
            && memory.any_cache_inhibited(access.addr, u64::from(access.size))
        {
            return Some(StepOutcome::Checkstop(CHECKSTOP_REASON));
        }
        let store = if access.kind.contains(AccessKind::WRITE) {
            DSISR_ISSTORE
        } else {
            0
        };
        ctx.dsisr = DSISR_DABRMATCH | store;
        ctx.dar = hit.dar;
        ctx.reservation = None;
        Some(StepOutcome::Exception(Ppc64Exception::DataStorage {
            dsisr: ctx.dsisr,
            dar: ctx.dar,
        }))
    }
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |v, &b| v << 8 | u64::from(b))
}

fn put_be(value: u64, out: &mut [u8]) {
    let n = out.len();
    for (i, b) in out.iter_mut().enumerate() {
        let shift = 8 * (n - 1 - i);
        *b = if shift < 64 {
            (value >> shift) as u8
        } else {
            0
        };
    }
}

const fn cond_holds(cond: Cond, cr: u8) -> bool {
    match cond {
        Cond::Eq => cr & cr0::EQ != 0,
        Cond::Ne => cr & cr0::EQ == 0,
        Cond::Lt => cr & cr0::LT != 0,
        Cond::Ge => cr & cr0::LT == 0,
        Cond::Gt => cr & cr0::GT != 0,
        Cond::Le => cr & cr0::GT == 0,
    }
}

const fn branch(pc: u64, words: i64) -> u64 {
    pc.wrapping_add(words.wrapping_mul(4) as u64)
}

const fn unmapped(f: MemoryFault) -> FaultKind {
    FaultKind::Unmapped { addr: f.addr }
}

/// Execute `insn` at `pc`, whose data access (from [`access_of`]) is `access` (the breakpoint
/// check already passed); the NIP to continue at.
fn execute(
    vector: u64,
    insn: Insn,
    access: Option<DecodedAccess>,
    ctx: &mut Ppc64Context,
    bus: &mut Bus<'_, Ppc64Exception>,
    pc: u64,
) -> Result<u64, FaultKind> {
    let next = pc.wrapping_add(4);
    let ea = access.map_or(0, |a| a.addr);
    match insn {
        Insn::Halt | Insn::Nop => {}
        Insn::Addi { rt, ra, d } => ctx.set_gpr(rt, ctx.base(ra).wrapping_add(d as i64 as u64)),
        Insn::Addis { rt, ra, d } => {
            ctx.set_gpr(rt, ctx.base(ra).wrapping_add(((d as i64) << 16) as u64));
        }
        Insn::Ori { rt, ra, imm } => ctx.set_gpr(rt, ctx.gpr(ra) | u64::from(imm)),
        Insn::Sldi { rt, ra, sh } => ctx.set_gpr(rt, ctx.gpr(ra) << (sh & 63)),
        Insn::Add { rt, ra, rb } => ctx.set_gpr(rt, ctx.gpr(ra).wrapping_add(ctx.gpr(rb))),
        Insn::Cmpd { ra, rb } => {
            let (a, b) = (ctx.gpr(ra) as i64, ctx.gpr(rb) as i64);
            ctx.cr0 = match a.cmp(&b) {
                core::cmp::Ordering::Less => cr0::LT,
                core::cmp::Ordering::Greater => cr0::GT,
                core::cmp::Ordering::Equal => cr0::EQ,
            };
        }
        Insn::Load { size, rt, .. } => {
            let mut buf = [0u8; 8];
            let buf = &mut buf[..size.bytes() as usize];
            bus.read(ea, buf).map_err(unmapped)?;
            ctx.set_gpr(rt, be(buf));
        }
        Insn::Store { size, rs, .. } => {
            let mut buf = [0u8; 8];
            let buf = &mut buf[..size.bytes() as usize];
            put_be(ctx.gpr(rs), buf);
            bus.write(ea, buf).map_err(unmapped)?;
        }
        Insn::Lq { rtp, .. } => {
            let mut buf = [0u8; 16];
            bus.read(ea, &mut buf).map_err(unmapped)?;
            ctx.set_gpr(rtp, be(&buf[..8]));
            ctx.set_gpr(rtp + 1, be(&buf[8..]));
        }
        Insn::Stq { rsp, .. } => {
            let mut buf = [0u8; 16];
            put_be(ctx.gpr(rsp), &mut buf[..8]);
            put_be(ctx.gpr(rsp + 1), &mut buf[8..]);
            bus.write(ea, &buf).map_err(unmapped)?;
        }
        Insn::Lxv { vt, .. } => {
            let mut buf = [0u8; 16];
            bus.read(ea, &mut buf).map_err(unmapped)?;
            ctx.vr[(vt & 31) as usize] = u128::from_be_bytes(buf);
        }
        Insn::Stxv { vs, .. } => {
            let buf = ctx.vr[(vs & 31) as usize].to_be_bytes();
            bus.write(ea, &buf).map_err(unmapped)?;
        }
        Insn::Lxvp { vtp, .. } => {
            let mut buf = [0u8; 32];
            bus.read(ea, &mut buf).map_err(unmapped)?;
            let (hi, lo) = buf.split_at(16);
            let v = (vtp & 30) as usize;
            ctx.vr[v] = u128::from_be_bytes(hi.try_into().unwrap_or_default());
            ctx.vr[v + 1] = u128::from_be_bytes(lo.try_into().unwrap_or_default());
        }
        Insn::Stxvp { vsp, .. } => {
            let v = (vsp & 30) as usize;
            let mut buf = [0u8; 32];
            buf[..16].copy_from_slice(&ctx.vr[v].to_be_bytes());
            buf[16..].copy_from_slice(&ctx.vr[v + 1].to_be_bytes());
            bus.write(ea, &buf).map_err(unmapped)?;
        }
        Insn::FetchAdd { size, rt, rb, .. } => {
            let addend = ctx.gpr(rb);
            let mut old = 0;
            bus.read_modify_write(ea, size.bytes() as usize, |bytes| {
                old = be(bytes);
                put_be(old.wrapping_add(addend), bytes);
            })
            .map_err(unmapped)?;
            ctx.set_gpr(rt, old);
        }
        Insn::CmpXchg { size, rt, rb, .. } => {
            let n = size.bytes() as usize;
            let mut expected_bytes = [0u8; 8];
            put_be(ctx.gpr(rt), &mut expected_bytes[..n]);
            let expected = be(&expected_bytes[..n]);
            let new = ctx.gpr(rb);
            let mut old = 0;
            bus.read_modify_write(ea, n, |bytes| {
                old = be(bytes);
                if old == expected {
                    put_be(new, bytes);
                }
            })
            .map_err(unmapped)?;
            ctx.set_gpr(rt, old);
            ctx.cr0 = if old == expected { cr0::EQ } else { 0 };
        }
        Insn::Larx { size, rt, .. } => {
            let mut buf = [0u8; 8];
            let buf = &mut buf[..size.bytes() as usize];
            bus.read(ea, buf).map_err(unmapped)?;
            let value = be(buf);
            ctx.set_gpr(rt, value);
            ctx.reservation = Some(Reservation {
                addr: ea,
                size: size.bytes(),
                value,
            });
        }
        Insn::Stcx { size, rs, .. } => {
            let n = size.bytes() as usize;
            let mut now = [0u8; 8];
            // The reservation check is the hardware's, not a data access: it is not traced.
            bus.memory().read(ea, &mut now[..n]).map_err(unmapped)?;
            let holds = ctx.reservation.take().is_some_and(|r| {
                r.addr == ea && r.size == size.bytes() && r.value == be(&now[..n])
            });
            if holds {
                let mut buf = [0u8; 8];
                put_be(ctx.gpr(rs), &mut buf[..n]);
                bus.write(ea, &buf[..n]).map_err(unmapped)?;
            }
            ctx.cr0 = if holds { cr0::EQ } else { 0 };
        }
        Insn::Dcbz { .. } => {
            bus.write(ea, &[0u8; CACHE_BLOCK as usize])
                .map_err(unmapped)?;
        }
        Insn::Sc => {
            bus.kernel_entry(crate::EntryReason::SystemCall);
            ctx.srr0 = next;
            ctx.srr1 = ctx.msr;
            // System call interrupt: privileged, no trace, external interrupts off; SF, HV
            // and the relocation bits stay (relocation-on interrupts, as Linux runs).
            ctx.msr &= !(MSR_PR | MSR_SE | MSR_BE | MSR_EE | MSR_RI);
            return Ok(vector);
        }
        Insn::Rfid => {
            bus.kernel_exit();
            // Linux's interrupt exit clears the reservation (a dummy stdcx.).
            ctx.reservation = None;
            ctx.msr = ctx.srr1;
            return Ok(ctx.srr0 & !3);
        }
        Insn::B { offset } => return Ok(branch(pc, i64::from(offset))),
        Insn::Bl { offset } => {
            ctx.lr = next;
            return Ok(branch(pc, i64::from(offset)));
        }
        Insn::Blr => return Ok(ctx.lr & !3),
        Insn::Bc { cond, offset } => {
            if cond_holds(cond, ctx.cr0) {
                return Ok(branch(pc, i64::from(offset)));
            }
        }
        Insn::Mtlr { rs } => ctx.lr = ctx.gpr(rs),
        Insn::Mflr { rt } => ctx.set_gpr(rt, ctx.lr),
    }
    Ok(next)
}

impl Isa for Ppc64 {
    type Context = Ppc64Context;
    type Exception = Ppc64Exception;

    fn endian(&self) -> Endian {
        Endian::Big
    }

    fn pc(&self, ctx: &Ppc64Context) -> u64 {
        ctx.nip
    }

    fn set_pc(&self, ctx: &mut Ppc64Context, pc: u64) {
        ctx.nip = pc & !3;
    }

    fn mode(&self, ctx: &Ppc64Context) -> Mode {
        match PrivilegeState::of(ctx.msr) {
            PrivilegeState::Problem => Mode::User,
            PrivilegeState::PrivilegedNonHypervisor => Mode::Supervisor,
            PrivilegeState::Hypervisor => Mode::Hypervisor,
        }
    }

    fn single_step_enabled(&self, ctx: &Ppc64Context) -> bool {
        ctx.msr & MSR_SE != 0
    }

    fn set_single_step(&self, ctx: &mut Ppc64Context, enabled: bool) {
        if enabled {
            ctx.msr |= MSR_SE;
        } else {
            ctx.msr &= !MSR_SE;
        }
    }

    fn step(
        &self,
        ctx: &mut Ppc64Context,
        bus: &mut Bus<'_, Ppc64Exception>,
    ) -> StepOutcome<Ppc64Exception> {
        let pc = ctx.nip & !3;
        let msr = ctx.msr;
        let insn = match self.fetch(bus.memory(), pc) {
            Ok(insn) => insn,
            Err(kind) => return fault(ctx, kind),
        };
        if insn == Insn::Halt {
            return StepOutcome::Exited;
        }
        if insn == Insn::Rfid && msr & MSR_PR != 0 {
            return fault(ctx, FaultKind::Privileged);
        }
        let access = access_of(&insn, ctx);
        if let Some(access) = &access
            && let Some(outcome) = self.check_data(ctx, access, bus.memory())
        {
            return outcome;
        }
        let nip = match execute(self.syscall_vector, insn, access, ctx, bus, pc) {
            Ok(nip) => nip,
            Err(kind) => return fault(ctx, kind),
        };
        ctx.nip = nip;
        bus.retired(nip);
        if matches!(insn, Insn::Sc | Insn::Rfid) {
            return StepOutcome::Retired;
        }
        let single_step = msr & MSR_SE != 0;
        let ciabr = ctx.debug.check_completed(pc, msr, &self.profile);
        if single_step || ciabr {
            ctx.reservation = None;
            return StepOutcome::Exception(Ppc64Exception::Trace { single_step, ciabr });
        }
        StepOutcome::Retired
    }

    /// Linux's `emulate_step` for the kernel-mode interlock: the instruction at NIP runs with
    /// the debug registers and `MSR[SE]` set aside (no data storage or trace interrupt), and both
    /// are put back afterwards. `sc`, `rfid` and the end instruction change privilege or end
    /// the task: they are not emulated.
    fn emulate(
        &self,
        ctx: &mut Ppc64Context,
        bus: &mut Bus<'_, Ppc64Exception>,
    ) -> Result<(), EmulateError> {
        let pc = ctx.nip & !3;
        match self.fetch(bus.memory(), pc) {
            Ok(Insn::Halt | Insn::Sc | Insn::Rfid) | Err(_) => {
                return Err(EmulateError::Unsupported { pc });
            }
            Ok(_) => {}
        }
        let debug = ctx.debug;
        let se = ctx.msr & MSR_SE;
        ctx.debug = DebugRegisters::CLEAR;
        ctx.msr &= !MSR_SE;
        let outcome = self.step(ctx, bus);
        ctx.debug = debug;
        ctx.msr |= se;
        match outcome {
            StepOutcome::Retired => Ok(()),
            StepOutcome::Fault(FaultKind::Unmapped { addr }) => Err(EmulateError::Fault { addr }),
            _ => Err(EmulateError::Unsupported { pc }),
        }
    }

    fn decode_access(
        &self,
        ctx: &Ppc64Context,
        memory: &Memory,
        pc: u64,
    ) -> Result<Option<DecodedAccess>, DecodeError> {
        match self.fetch(memory, pc) {
            Ok(insn) => Ok(access_of(&insn, ctx)),
            Err(FaultKind::Unmapped { addr }) => {
                Err(DecodeError::Fetch(MemoryReadError::Unmapped { addr }))
            }
            Err(_) => Err(DecodeError::Unknown { pc }),
        }
    }
}

/// A fault: the instruction did not complete; the kernel entry clears the reservation.
const fn fault(ctx: &mut Ppc64Context, kind: FaultKind) -> StepOutcome<Ppc64Exception> {
    ctx.reservation = None;
    StepOutcome::Fault(kind)
}
