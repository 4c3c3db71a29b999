//! `encode`, `decode` and `plan`: requests to register values and register values to
//! fields, on both architectures, with the backends' own types doing the work.

use hwbkpt_hal::{
    AccessKind, DebugArchitecture, Origin, PoolKind, PrivilegeFilter, Request, RequestError, SlotId,
};
use hwbkpt_ppc64::{
    Ciabr, Dabr, Dawr, Dawrx, PowerCpu, PowerProfile, PowerProgram, SlotImage, Translation,
};
use hwbkpt_x86::{Dr6, Dr7, X86Cpu, X86Profile, X86Program, merge_images};
use serde::Serialize;

use crate::report::Hex;
use crate::scenario::{AccessName, Arch, PrivilegeName, Profile};

/// Registers `decode` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterName {
    /// x86 debug control.
    Dr7,
    /// x86 debug status.
    Dr6,
    /// PPC64 data address breakpoint (POWER7 and earlier).
    Dabr,
    /// PPC64 DABR extension: privilege bits.
    Dabrx,
    /// PPC64 data address watchpoint (POWER8 and later).
    Dawr,
    /// PPC64 DAWR extension: length, access, privilege, translation.
    Dawrx,
    /// PPC64 completed instruction address breakpoint.
    Ciabr,
    /// PPC64 data storage interrupt status.
    Dsisr,
}

/// One field of a register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// Bits, least-significant numbering (`"16-17"`).
    pub bits: String,
    /// IBM numbering for PPC64 registers (`"0:60"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ibm: Option<String>,
    /// The field's value.
    pub value: Hex,
    /// What it means.
    pub meaning: String,
    /// A reserved field with a value the architecture does not allow.
    pub flagged: bool,
}

/// A decoded register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decoded {
    /// Register name.
    pub register: String,
    /// Raw value.
    pub value: Hex,
    /// The backend's one-line reading, where it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Fields, low bits first.
    pub fields: Vec<Field>,
    /// Things a reader must know (reserved bits, a watch that can never fire).
    pub warnings: Vec<String>,
}

fn bits_text(lo: u32, hi: u32) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

fn ibm_text(lo: u32, hi: u32) -> String {
    if lo == hi {
        (63 - lo).to_string()
    } else {
        format!("{}:{}", 63 - hi, 63 - lo)
    }
}

struct Builder {
    value: u64,
    ppc: bool,
    fields: Vec<Field>,
    warnings: Vec<String>,
}

impl Builder {
    const fn new(value: u64, ppc: bool) -> Self {
        Self {
            value,
            ppc,
            fields: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn get(&self, lo: u32, hi: u32) -> u64 {
        let width = hi - lo + 1;
        let mask = if width == 64 {
            u64::MAX
        } else {
            (1 << width) - 1
        };
        (self.value >> lo) & mask
    }

    fn field(&mut self, name: &str, lo: u32, hi: u32, meaning: impl Into<String>) -> u64 {
        let v = self.get(lo, hi);
        self.fields.push(Field {
            name: name.to_owned(),
            bits: bits_text(lo, hi),
            ibm: self.ppc.then(|| ibm_text(lo, hi)),
            value: Hex(v),
            meaning: meaning.into(),
            flagged: false,
        });
        v
    }

    fn flag(&mut self, name: &str, lo: u32, hi: u32, meaning: &str) {
        let v = self.get(lo, hi);
        self.fields.push(Field {
            name: name.to_owned(),
            bits: bits_text(lo, hi),
            ibm: self.ppc.then(|| ibm_text(lo, hi)),
            value: Hex(v),
            meaning: if v == 0 {
                "clear".to_owned()
            } else {
                meaning.to_owned()
            },
            flagged: false,
        });
    }

    /// A reserved field that must read `expected` (all ones or zero).
    fn reserved(&mut self, lo: u32, hi: u32, ones: bool, why: &str) {
        let v = self.get(lo, hi);
        let width = hi - lo + 1;
        let all = if width == 64 {
            u64::MAX
        } else {
            (1 << width) - 1
        };
        let expected = if ones { all } else { 0 };
        let flagged = v != expected;
        if flagged {
            self.warnings.push(format!(
                "reserved bits {} are {v:#x}, expected {expected:#x}: {why}",
                bits_text(lo, hi)
            ));
        }
        self.fields.push(Field {
            name: "reserved".to_owned(),
            bits: bits_text(lo, hi),
            ibm: self.ppc.then(|| ibm_text(lo, hi)),
            value: Hex(v),
            meaning: format!(
                "reserved, {} ({why}){}",
                if ones { "reads as 1" } else { "must be 0" },
                if flagged { " — FLAGGED" } else { "" }
            ),
            flagged,
        });
    }

    fn finish(self, register: &str, summary: Option<String>) -> Decoded {
        Decoded {
            register: register.to_owned(),
            value: Hex(self.value),
            summary,
            fields: self.fields,
            warnings: self.warnings,
        }
    }
}

const fn yes(v: u64, what: &'static str) -> &'static str {
    if v == 0 { "clear" } else { what }
}

/// Decode `value` as `register`.
#[must_use]
pub fn decode(register: RegisterName, value: u64) -> Decoded {
    match register {
        RegisterName::Dr7 => decode_dr7(value),
        RegisterName::Dr6 => decode_dr6(value),
        RegisterName::Dabr => decode_dabr(value),
        RegisterName::Dabrx => decode_dabrx(value),
        RegisterName::Dawr => decode_dawr(value),
        RegisterName::Dawrx => decode_dawrx(value),
        RegisterName::Ciabr => decode_ciabr(value),
        RegisterName::Dsisr => decode_dsisr(value),
    }
}

fn decode_dr7(value: u64) -> Decoded {
    let mut b = Builder::new(value, false);
    for n in 0..4u32 {
        let l = b.get(2 * n, 2 * n);
        b.field(
            &format!("L{n}"),
            2 * n,
            2 * n,
            yes(l, "slot enabled for the current task"),
        );
        let g = b.get(2 * n + 1, 2 * n + 1);
        b.field(
            &format!("G{n}"),
            2 * n + 1,
            2 * n + 1,
            yes(g, "slot enabled for all tasks"),
        );
    }
    b.flag("LE", 8, 8, "local exact (ignored since P6)");
    b.flag("GE", 9, 9, "global exact (Linux sets it)");
    b.reserved(10, 10, true, "the CPU forces it to 1");
    b.flag("RTM", 11, 11, "advanced debugging of RTM regions");
    b.reserved(12, 12, false, "reads as 0");
    b.flag(
        "GD",
        13,
        13,
        "general detect: the next debug-register access faults with BD",
    );
    b.reserved(14, 15, false, "read as 0");
    for n in 0..4u32 {
        let rw = b.get(16 + 4 * n, 17 + 4 * n);
        let meaning = match rw {
            0 => "00 execute",
            1 => "01 write",
            2 => "10 I/O (needs CR4.DE)",
            _ => "11 read or write (no read-only encoding)",
        };
        b.field(&format!("R/W{n}"), 16 + 4 * n, 17 + 4 * n, meaning);
        let len = b.get(18 + 4 * n, 19 + 4 * n);
        let meaning = match len {
            0 => "00 1 byte",
            1 => "01 2 bytes",
            2 => "10 8 bytes (Intel 64 / AMD64)",
            _ => "11 4 bytes",
        };
        b.field(&format!("LEN{n}"), 18 + 4 * n, 19 + 4 * n, meaning);
        if rw == 0 && len != 0 && b.get(2 * n, 2 * n + 1) != 0 {
            b.warnings.push(format!(
                "slot {n}: an execute breakpoint needs LEN 00; LEN {len:02b} is undefined"
            ));
        }
    }
    b.reserved(32, 63, false, "a 1 here makes MOV to DR7 raise #GP");
    let summary = Dr7::from_bits_retain(value).to_string();
    b.finish("DR7", Some(summary))
}

fn decode_dr6(value: u64) -> Decoded {
    let mut b = Builder::new(value, false);
    for n in 0..4u32 {
        let v = b.get(n, n);
        b.field(
            &format!("B{n}"),
            n,
            n,
            yes(
                v,
                "slot's condition was met (may be set for a matching but disabled slot)",
            ),
        );
    }
    b.reserved(4, 10, true, "read as 1");
    let bld = b.get(11, 11);
    b.field(
        "BLD",
        11,
        11,
        if bld == 0 {
            "0: bus-lock detection raised this #DB (active low)"
        } else {
            "1: no bus lock (active low)"
        },
    );
    b.reserved(12, 12, false, "reads as 0");
    let bd = b.get(13, 13);
    b.field("BD", 13, 13, yes(bd, "debug-register access with GD set"));
    let bs = b.get(14, 14);
    b.field("BS", 14, 14, yes(bs, "single step (TF)"));
    let bt = b.get(15, 15);
    b.field("BT", 15, 15, yes(bt, "task switch (not in 64-bit mode)"));
    let rtm = b.get(16, 16);
    b.field(
        "RTM",
        16,
        16,
        if rtm == 0 {
            "0: inside an RTM region (active low)"
        } else {
            "1: not in RTM (active low)"
        },
    );
    b.reserved(17, 31, true, "read as 1");
    b.reserved(32, 63, false, "a 1 here makes MOV to DR6 raise #GP");
    let dr6 = Dr6::from_bits_retain(value);
    if dr6.hit_slots().is_empty() && !dr6.single_step() && !dr6.debug_register_access() {
        b.warnings
            .push("no event bit set: this is a quiet DR6 (reset value 0xffff0ff0)".to_owned());
    }
    if value & 0xFFFF_FFFF == 0 {
        b.warnings.push(
            "written as zero: the active-low BLD and RTM bits now claim a bus lock and an RTM region; write 0xffff0ff0 instead"
                .to_owned(),
        );
    }
    b.finish("DR6", None)
}

fn privilege_bits(b: &mut Builder, hyp: u32, pnh: u32, pr: u32) -> bool {
    let h = b.get(hyp, hyp);
    b.field("HYP", hyp, hyp, yes(h, "match in hypervisor state"));
    let k = b.get(pnh, pnh);
    b.field(
        "PNH",
        pnh,
        pnh,
        yes(k, "match in privileged non-hypervisor state (kernel)"),
    );
    let u = b.get(pr, pr);
    b.field("PR", pr, pr, yes(u, "match in problem state (user)"));
    h | k | u != 0
}

fn decode_dabr(value: u64) -> Decoded {
    let mut b = Builder::new(value, true);
    let dr = b.get(0, 0);
    b.field("DR", 0, 0, yes(dr, "match reads"));
    let dw = b.get(1, 1);
    b.field("DW", 1, 1, yes(dw, "match writes"));
    let bt = b.get(2, 2);
    b.field(
        "BT",
        2,
        2,
        if bt == 0 {
            "0: match when MSR[DR] = 0 (translation off) unless DABRX[BTI]"
        } else {
            "1: match when MSR[DR] = 1 (translation on) unless DABRX[BTI]"
        },
    );
    b.field(
        "address",
        3,
        63,
        format!("doubleword {:#x}", Dabr::from_bits(value).address().get()),
    );
    if dr | dw == 0 {
        b.warnings
            .push("neither DR nor DW: never matches".to_owned());
    }
    b.finish("DABR", None)
}

fn decode_dabrx(value: u64) -> Decoded {
    let mut b = Builder::new(value, true);
    let any = privilege_bits(&mut b, 2, 1, 0);
    let bti = b.get(3, 3);
    b.field(
        "BTI",
        3,
        3,
        yes(bti, "ignore DABR[BT]: match in both translation modes"),
    );
    b.reserved(4, 63, false, "not defined");
    if !any {
        b.warnings
            .push("no privilege bit: never matches".to_owned());
    }
    b.finish("DABRX", None)
}

fn decode_dawr(value: u64) -> Decoded {
    let mut b = Builder::new(value, true);
    b.reserved(0, 2, false, "the address is a doubleword");
    b.field(
        "address",
        3,
        63,
        format!("doubleword {:#x}", Dawr::from_bits(value).address().get()),
    );
    b.finish("DAWR", None)
}

fn decode_dawrx(value: u64) -> Decoded {
    let mut b = Builder::new(value, true);
    let dawrx = Dawrx::from_bits(value);
    let any = privilege_bits(&mut b, 2, 1, 0);
    let wti = b.get(3, 3);
    b.field(
        "WTI",
        3,
        3,
        yes(wti, "ignore WT: match in both translation modes"),
    );
    let wt = b.get(4, 4);
    b.field(
        "WT",
        4,
        4,
        if wt == 0 {
            "0: match when MSR[DR] = 0 (translation off)"
        } else {
            "1: match when MSR[DR] = 1 (translation on, as Linux sets)"
        },
    );
    let dr = b.get(5, 5);
    b.field("DR", 5, 5, yes(dr, "match reads"));
    let dw = b.get(6, 6);
    b.field("DW", 6, 6, yes(dw, "match writes"));
    b.reserved(7, 9, false, "not defined");
    let mrd = b.get(10, 15);
    b.field(
        "MRD",
        10,
        15,
        format!("{mrd}: {} doublewords = {} bytes", mrd + 1, dawrx.length()),
    );
    b.reserved(16, 63, false, "not defined");
    if !any {
        b.warnings
            .push("no privilege bit (HYP, PNH, PR): never matches".to_owned());
    }
    if dr | dw == 0 {
        b.warnings
            .push("neither DR nor DW: never matches".to_owned());
    }
    if wt == 0 && wti == 0 {
        b.warnings.push(
            "WT and WTI clear: matches only with translation off, so never for ordinary user code"
                .to_owned(),
        );
    }
    b.finish("DAWRX", None)
}

fn decode_ciabr(value: u64) -> Decoded {
    let mut b = Builder::new(value, true);
    let ciabr = Ciabr::from_bits(value);
    let p = b.get(0, 1);
    let meaning = match p {
        0 => "0: disabled",
        1 => "1: match in problem state (user)",
        2 => "2: match in privileged non-hypervisor state (kernel)",
        _ => "3: match in hypervisor state",
    };
    b.field("PRIV", 0, 1, meaning);
    b.field(
        "address",
        2,
        63,
        format!(
            "word {:#x}; fires after the instruction completes",
            ciabr.address().get()
        ),
    );
    b.finish("CIABR", None)
}

fn decode_dsisr(value: u64) -> Decoded {
    let mut b = Builder::new(value, true);
    let m = b.get(22, 22);
    b.field(
        "DABRMATCH",
        22,
        22,
        yes(m, "a DABR/DAWR matched: the access has not happened"),
    );
    let st = b.get(25, 25);
    b.field("STORE", 25, 25, yes(st, "the access is a store"));
    let other = value & 0xFFFF_FFFF & !(0x0040_0000 | 0x0200_0000);
    b.fields.push(Field {
        name: "other causes".to_owned(),
        bits: "0-31 (the rest)".to_owned(),
        ibm: Some("32:63 (the rest)".to_owned()),
        value: Hex(other),
        meaning: if other == 0 {
            "none".to_owned()
        } else {
            "set: not a debug cause (page fault, protection, …)".to_owned()
        },
        flagged: false,
    });
    b.reserved(32, 63, false, "DSISR is a 32-bit register");
    b.finish("DSISR", None)
}

// ---- plan and encode ---------------------------------------------------------------------

/// A request as the `encode` and `plan` commands take it.
#[derive(Debug, Clone, Copy)]
pub struct RequestArgs {
    /// First byte.
    pub addr: u64,
    /// Bytes.
    pub len: u64,
    /// Access kinds.
    pub access: AccessName,
    /// Privilege filter bits.
    pub privilege: PrivilegeFilter,
    /// Kernel origin.
    pub kernel: bool,
}

impl RequestArgs {
    /// The privilege filter from names.
    #[must_use]
    pub fn privilege_from(names: &[PrivilegeName]) -> PrivilegeFilter {
        if names.is_empty() {
            return PrivilegeFilter::USER;
        }
        names.iter().fold(PrivilegeFilter::empty(), |acc, p| {
            acc | match p {
                PrivilegeName::User => PrivilegeFilter::USER,
                PrivilegeName::Kernel => PrivilegeFilter::KERNEL,
                PrivilegeName::Hypervisor => PrivilegeFilter::HYPERVISOR,
            }
        })
    }

    /// The HAL request.
    ///
    /// # Errors
    /// The HAL's validation error.
    pub fn request(&self) -> Result<Request, RequestError> {
        let access = match self.access {
            AccessName::R => AccessKind::READ,
            AccessName::W => AccessKind::WRITE,
            AccessName::Rw => AccessKind::READ_WRITE,
            AccessName::X => AccessKind::EXECUTE,
        };
        Request::builder(self.addr, self.len, access)
            .privilege(self.privilege)
            .origin(if self.kernel {
                Origin::Kernel
            } else {
                Origin::User
            })
            .build()
    }
}

/// One CPU profile's answer for a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanRow {
    /// Architecture.
    pub arch: &'static str,
    /// Profile.
    pub profile: String,
    /// Slots in the profile's pool for this access.
    pub slots_available: u8,
    /// The slot programs, if the range can be covered.
    pub programs: Vec<String>,
    /// Why it cannot be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// How one x86 program reads.
#[must_use]
pub fn x86_program_text(p: &X86Program) -> String {
    let condition = match p.condition() {
        hwbkpt_x86::Condition::Execute => "execute",
        hwbkpt_x86::Condition::Write => "write",
        hwbkpt_x86::Condition::Io => "I/O",
        hwbkpt_x86::Condition::ReadWrite => "read|write",
    };
    format!(
        "{condition} {} bytes at {:#x}",
        p.length().bytes(),
        p.address()
    )
}

/// How one PPC64 program reads.
#[must_use]
pub fn power_program_text(p: &PowerProgram) -> String {
    match p {
        PowerProgram::Data(w) => {
            let translation = match w.translation() {
                Translation::On => "translation on",
                Translation::Off => "translation off",
                Translation::Ignore => "any translation",
            };
            format!(
                "{} {} bytes at {:#x} ({}, {translation})",
                w.access(),
                w.range().len(),
                w.range().start(),
                privilege_text(w.privilege())
            )
        }
        PowerProgram::Instruction(i) => {
            format!("execute at {:#x} ({:?})", i.address().get(), i.privilege())
        }
    }
}

fn privilege_text(p: PrivilegeFilter) -> String {
    let mut parts = Vec::new();
    if p.contains(PrivilegeFilter::USER) {
        parts.push("user");
    }
    if p.contains(PrivilegeFilter::KERNEL) {
        parts.push("kernel");
    }
    if p.contains(PrivilegeFilter::HYPERVISOR) {
        parts.push("hypervisor");
    }
    parts.join("+")
}

fn pool_slots(caps: &hwbkpt_hal::Capabilities, access: AccessKind) -> u8 {
    caps.pool_for(access).map_or(0, |p| p.count)
}

fn access_kind(access: AccessName) -> AccessKind {
    match access {
        AccessName::R => AccessKind::READ,
        AccessName::W => AccessKind::WRITE,
        AccessName::Rw => AccessKind::READ_WRITE,
        AccessName::X => AccessKind::EXECUTE,
    }
}

fn power_cpu(profile: Profile) -> PowerCpu {
    match profile {
        Profile::Power7 => PowerCpu::new(PowerProfile::Power7),
        Profile::Power8 => PowerCpu::new(PowerProfile::Power8),
        Profile::Power9 => PowerCpu::new(PowerProfile::Power9),
        Profile::Power9Dangerous => PowerCpu::new(PowerProfile::Power9).with_dangerous_dawr(true),
        _ => PowerCpu::new(PowerProfile::Power10),
    }
}

/// Plan the range on every profile of `arch` (or both architectures).
#[must_use]
pub fn plan(args: &RequestArgs, arch: Option<Arch>, profile: Option<Profile>) -> Vec<PlanRow> {
    let mut rows = Vec::new();
    let request = args.request();
    let kind = access_kind(args.access);
    let want = |a: Arch| arch.is_none_or(|x| x == a) && profile.is_none_or(|p| p.arch() == a);
    if want(Arch::X86) {
        for p in X86Profile::ALL {
            let cpu = X86Cpu::new(p);
            let caps = cpu.capabilities();
            let mut row = PlanRow {
                arch: "x86",
                profile: caps.profile.to_owned(),
                slots_available: pool_slots(caps, kind),
                programs: Vec::new(),
                refused: None,
            };
            match request.and_then(|r| cpu.prepare(&r)) {
                Ok(plan) => row.programs = plan.iter().map(x86_program_text).collect(),
                Err(e) => row.refused = Some(e.to_string()),
            }
            rows.push(row);
        }
    }
    if want(Arch::Ppc64) {
        for p in [
            Profile::Power7,
            Profile::Power8,
            Profile::Power9,
            Profile::Power9Dangerous,
            Profile::Power10,
        ] {
            if profile.is_some_and(|x| x != p) {
                continue;
            }
            let cpu = power_cpu(p);
            let caps = cpu.capabilities();
            let mut row = PlanRow {
                arch: "ppc64",
                profile: p.name().to_owned(),
                slots_available: pool_slots(caps, kind),
                programs: Vec::new(),
                refused: None,
            };
            match request.and_then(|r| cpu.prepare(&r)) {
                Ok(plan) => row.programs = plan.iter().map(power_program_text).collect(),
                Err(e) => row.refused = Some(e.to_string()),
            }
            rows.push(row);
        }
    }
    rows
}

/// One slot's registers after `encode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EncodedSlot {
    /// Slot name (`DR2`, `DAWR0`, `CIABR`).
    pub slot: String,
    /// The program it runs.
    pub program: String,
}

/// `encode`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Encoded {
    /// Architecture.
    pub arch: &'static str,
    /// Profile.
    pub profile: String,
    /// Slots used.
    pub slots: Vec<EncodedSlot>,
    /// Every register written, decoded.
    pub registers: Vec<Decoded>,
}

/// Why `encode` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// The HAL or backend refused the request.
    Refused(String),
    /// The plan needs more slots than exist from `--slot` on.
    NotEnoughSlots {
        /// Slots needed.
        needed: usize,
        /// Slots from the first one to the end of the pool.
        available: usize,
    },
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Refused(e) => write!(f, "refused: {e}"),
            Self::NotEnoughSlots { needed, available } => write!(
                f,
                "the plan needs {needed} slots but only {available} remain from the chosen slot on"
            ),
        }
    }
}

/// Plan and encode on `profile`, putting the first slot program on `slot`.
///
/// # Errors
/// [`EncodeError`].
pub fn encode(args: &RequestArgs, profile: Profile, slot: u8) -> Result<Encoded, EncodeError> {
    let request = args
        .request()
        .map_err(|e| EncodeError::Refused(e.to_string()))?;
    match profile.arch() {
        Arch::X86 => {
            let cpu = X86Cpu::new(X86Profile::GENERIC_X86_64);
            let plan = cpu
                .prepare(&request)
                .map_err(|e| EncodeError::Refused(e.to_string()))?;
            let available = 4usize.saturating_sub(usize::from(slot));
            if plan.len() > available {
                return Err(EncodeError::NotEnoughSlots {
                    needed: plan.len(),
                    available,
                });
            }
            let mut slots = Vec::new();
            let mut images = Vec::new();
            let mut registers = Vec::new();
            for (n, program) in (slot..).zip(plan.iter()) {
                let id = SlotId::new(PoolKind::Data, n)
                    .or_else(|| SlotId::new(PoolKind::Instruction, n));
                let id = hwbkpt_x86::DebugSlot::new(n)
                    .map(hwbkpt_x86::DebugSlot::slot_id)
                    .or(id);
                let Some(id) = id else {
                    return Err(EncodeError::NotEnoughSlots {
                        needed: plan.len(),
                        available,
                    });
                };
                let image = cpu
                    .encode(id, program)
                    .map_err(|e| EncodeError::Refused(e.to_string()))?;
                slots.push(EncodedSlot {
                    slot: format!("DR{n}"),
                    program: x86_program_text(program),
                });
                registers.push(Decoded {
                    register: format!("DR{n}"),
                    value: Hex(image.address()),
                    summary: Some("linear address of the breakpoint".to_owned()),
                    fields: Vec::new(),
                    warnings: Vec::new(),
                });
                images.push(image);
            }
            let dr7 = merge_images(images);
            registers.push(decode_dr7(dr7.bits()));
            Ok(Encoded {
                arch: "x86",
                profile: "generic x86-64 (4-level paging)".to_owned(),
                slots,
                registers,
            })
        }
        Arch::Ppc64 => {
            let cpu = power_cpu(profile);
            let plan = cpu
                .prepare(&request)
                .map_err(|e| EncodeError::Refused(e.to_string()))?;
            let pool = if request.is_execute() {
                PoolKind::Instruction
            } else {
                PoolKind::Data
            };
            let count = cpu
                .capabilities()
                .pool_for(request.access())
                .map_or(0, |p| p.count);
            let available = usize::from(count).saturating_sub(usize::from(slot));
            if plan.len() > available {
                return Err(EncodeError::NotEnoughSlots {
                    needed: plan.len(),
                    available,
                });
            }
            let mut slots = Vec::new();
            let mut registers = Vec::new();
            for (n, program) in (slot..).zip(plan.iter()) {
                let Some(id) = SlotId::new(pool, n) else {
                    return Err(EncodeError::NotEnoughSlots {
                        needed: plan.len(),
                        available,
                    });
                };
                let image = cpu
                    .encode(id, program)
                    .map_err(|e| EncodeError::Refused(e.to_string()))?;
                let name = match image {
                    SlotImage::Dabr { dabr, dabrx } => {
                        let mut d = decode_dabr(dabr.bits());
                        d.register = "DABR".to_owned();
                        registers.push(d);
                        registers.push(decode_dabrx(dabrx.bits()));
                        "DABR".to_owned()
                    }
                    SlotImage::Dawr { index, dawr, dawrx } => {
                        let i = index.index();
                        let mut d = decode_dawr(dawr.bits());
                        d.register = format!("DAWR{i}");
                        registers.push(d);
                        let mut x = decode_dawrx(dawrx.bits());
                        x.register = format!("DAWRX{i}");
                        registers.push(x);
                        format!("DAWR{i}")
                    }
                    SlotImage::Ciabr(c) => {
                        registers.push(decode_ciabr(c.bits()));
                        "CIABR".to_owned()
                    }
                };
                slots.push(EncodedSlot {
                    slot: name,
                    program: power_program_text(program),
                });
            }
            Ok(Encoded {
                arch: "ppc64",
                profile: profile.name().to_owned(),
                slots,
                registers,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(d: &'a Decoded, name: &str) -> &'a Field {
        d.fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| unreachable!("no field {name}"))
    }

    #[test]
    fn dr7_fields_follow_the_fact_sheet() {
        // Linux's slot-1 4-byte write: (len|type) << (16+4n) | 2 << 2n | 0x200, plus bit 10.
        let d = decode(RegisterName::Dr7, 0x00d0_0608);
        assert_eq!(field(&d, "G1").value, Hex(1));
        assert_eq!(field(&d, "R/W1").value, Hex(0b01));
        assert_eq!(field(&d, "LEN1").value, Hex(0b11));
        assert_eq!(field(&d, "GE").value, Hex(1));
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }

    #[test]
    fn reserved_bits_are_flagged() {
        let d = decode(RegisterName::Dr7, 0x1_0000_0400);
        assert!(d.fields.iter().any(|f| f.flagged && f.bits == "32-63"));
        let d = decode(RegisterName::Dawr, 0x1003);
        assert!(d.fields.iter().any(|f| f.flagged && f.bits == "0-2"));
        let d = decode(RegisterName::Dr6, 0);
        assert!(d.warnings.iter().any(|w| w.contains("active-low")));
    }

    #[test]
    fn dawrx_length_and_never_firing_images() {
        let d = decode(RegisterName::Dawrx, 0xfc60);
        assert!(field(&d, "MRD").meaning.contains("512 bytes"));
        assert!(d.warnings.iter().any(|w| w.contains("no privilege bit")));
        assert!(d.warnings.iter().any(|w| w.contains("WT and WTI clear")));
    }

    #[test]
    fn encode_then_decode_agrees_with_the_backend() {
        let args = RequestArgs {
            addr: 0x1000,
            len: 40,
            access: AccessName::W,
            privilege: PrivilegeFilter::USER,
            kernel: false,
        };
        let e = encode(&args, Profile::Power10, 1).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(e.slots[0].slot, "DAWR1");
        let dawrx = e
            .registers
            .iter()
            .find(|d| d.register == "DAWRX1")
            .unwrap_or_else(|| unreachable!());
        assert_eq!(Dawrx::from_bits(dawrx.value.0).length(), 40);
        assert!(dawrx.warnings.is_empty());
        let x86 = encode(
            &RequestArgs {
                access: AccessName::Rw,
                len: 4,
                ..args
            },
            Profile::Generic,
            2,
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let dr7 = x86.registers.last().unwrap_or_else(|| unreachable!());
        assert_eq!(
            dr7.value,
            Hex(0x0f00_0620),
            "G2, R/W2 = 11, LEN2 = 11, GE, bit 10"
        );
    }

    #[test]
    fn plan_reports_every_profile() {
        let args = RequestArgs {
            addr: 0x2000_0100,
            len: 512,
            access: AccessName::W,
            privilege: PrivilegeFilter::USER,
            kernel: false,
        };
        let rows = plan(&args, None, None);
        assert_eq!(rows.len(), 3 + 5);
        let p10 = rows
            .iter()
            .find(|r| r.profile == "power10")
            .unwrap_or_else(|| unreachable!());
        assert_eq!(p10.programs.len(), 1);
        let p9 = rows
            .iter()
            .find(|r| r.profile == "power9")
            .unwrap_or_else(|| unreachable!());
        assert!(p9.refused.is_some());
    }
}
