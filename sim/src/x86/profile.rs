//! x86 CPU profiles: where real CPUs differ within what the SDM allows.

/// Intel fast-string grouping of `rep movsb`/`rep stosb` data breakpoints.
///
/// Measured on an Intel family 6 model 0xCF: a long `rep movsb`/`stosb` trapped precisely
/// (after the iteration that hit) while within the first `precise_bytes` bytes, and otherwise
/// only at the end of the `block`-byte destination-aligned block containing the watched byte:
/// never early, at most `block - 1` bytes late, one stop per block. Fast strings need DF = 0
/// (SDM vol. 1 §7.3.9.3), apply only to the byte forms here, and are off while TF is set
/// (then every iteration is stepped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FastStrings {
    /// Bytes at the start of the operation that trap precisely (256 measured).
    pub precise_bytes: u64,
    /// Destination-aligned block after which grouped hits are reported (128 measured).
    pub block: u64,
    /// `None` (model 0xCF): a grouped step ends at a `block`-aligned destination. `Some(a)`
    /// (measured on Intel family 6 model 0x55): the precise prefix runs on past
    /// `precise_bytes` to the first `a`-aligned destination, and from there groups are
    /// `block` bytes long, counted from that point rather than aligned to the destination.
    pub phase_align: Option<u64>,
}

impl FastStrings {
    /// Bytes done (by this `rep`) at which grouping starts, for a destination that started
    /// at `dst0` (forward direction).
    #[must_use]
    pub const fn fast_start(&self, dst0: u64) -> u64 {
        match self.phase_align {
            None => self.precise_bytes,
            Some(align) if align > 1 => {
                let at = dst0.wrapping_add(self.precise_bytes);
                self.precise_bytes + (align - at % align) % align
            }
            Some(_) => self.precise_bytes,
        }
    }

    /// Whether a grouped step ends after an iteration that left `progress` bytes done, the
    /// destination at `rdi` and grouping started at `start` bytes.
    #[must_use]
    pub const fn ends_group(&self, progress: u64, rdi: u64, start: u64) -> bool {
        if self.block == 0 {
            return true;
        }
        match self.phase_align {
            None => rdi.is_multiple_of(self.block),
            Some(_) => (progress - start).is_multiple_of(self.block),
        }
    }
}

/// Behaviour switches of one x86 CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct X86Profile {
    /// Name, for messages.
    pub name: &'static str,
    /// Every #DB also sets the B bits of slots whose condition matched but which are not
    /// enabled (SDM §18.2.3 allows it; QEMU does it).
    pub reports_disabled_matches: bool,
    /// `rep` string grouping; `None` means precise (after each iteration).
    pub fast_strings: Option<FastStrings>,
    /// `rep movsb` grouping where it differs from `rep stosb` (`None`: as
    /// [`fast_strings`](Self::fast_strings)).
    pub fast_movs: Option<FastStrings>,
    /// A data-breakpoint trap also carries the B bit of an enabled execute breakpoint on the
    /// *next* instruction (RF clear): one #DB for both, as measured on Intel family 6 model
    /// 0x55 — but not when the trap is a single-step (TF), with or without data hits. Without
    /// the switch the execute breakpoint faults on its own afterwards. Either way it faults
    /// again unless the handler sets RF.
    pub merges_execute_into_traps: bool,
}

impl X86Profile {
    /// The grouping of `rep movsb` (`movs`) or `rep stosb`.
    #[must_use]
    pub const fn fast_strings_for(&self, movs: bool) -> Option<FastStrings> {
        match (movs, self.fast_movs) {
            (true, Some(fs)) => Some(fs),
            _ => self.fast_strings,
        }
    }
}

impl X86Profile {
    /// What the SDM guarantees and nothing more.
    pub const GENERIC: Self = Self {
        name: "generic x86-64",
        reports_disabled_matches: false,
        fast_strings: None,
        fast_movs: None,
        merges_execute_into_traps: false,
    };

    /// QEMU's TCG: B bits for matching disabled slots.
    pub const QEMU: Self = Self {
        name: "QEMU TCG x86-64",
        reports_disabled_matches: true,
        fast_strings: None,
        fast_movs: None,
        merges_execute_into_traps: false,
    };

    /// Intel family 6 model 0xCF, with the measured fast-string grouping.
    pub const INTEL_FAST_STRINGS: Self = Self {
        name: "Intel family 6 model 0xCF (fast strings)",
        reports_disabled_matches: false,
        fast_strings: Some(FastStrings {
            precise_bytes: 256,
            block: 128,
            phase_align: None,
        }),
        fast_movs: None,
        merges_execute_into_traps: false,
    };

    /// Intel family 6 model 0x55 (Skylake-SP / Cascade Lake), measured through ptrace by
    /// `tests/real_hw_x86.rs` (`rep_timing_survey`) with destinations at several alignments:
    ///
    /// - `rep stosb` traps precisely until more than 128 bytes are done *and* the destination
    ///   is 64-byte aligned; from there it reports once per 128 bytes, counted from that
    ///   point (not destination-aligned). Deterministic.
    /// - `rep movsb` traps precisely for about the first 64–128 bytes, then at the end of
    ///   the 64-byte destination block holding the hit — or, from run to run, at a 32-byte
    ///   boundary before it. Not deterministic: the profile predicts the latest stop
    ///   (precise for 64 bytes, then 64-byte destination blocks), which the real CPU never
    ///   passes.
    /// - A data trap on one instruction and an execute breakpoint on the next are one #DB
    ///   ([`merges_execute_into_traps`](Self::merges_execute_into_traps)).
    pub const INTEL_SKX_FAST_STRINGS: Self = Self {
        name: "Intel family 6 model 0x55 (fast strings)",
        reports_disabled_matches: false,
        fast_strings: Some(FastStrings {
            precise_bytes: 129,
            block: 128,
            phase_align: Some(64),
        }),
        fast_movs: Some(FastStrings {
            precise_bytes: 64,
            block: 64,
            phase_align: None,
        }),
        merges_execute_into_traps: true,
    };

    /// The profiles whose #DB reports one exception per instruction.
    /// [`Self::INTEL_SKX_FAST_STRINGS`] is kept apart because it
    /// [`merges_execute_into_traps`](Self::merges_execute_into_traps) (a merged #DB delivers
    /// the next instruction's execute hit at the data trap): the root differential test
    /// (`tests/differential_x86.rs`) samples these and that one, with a reference model that
    /// knows the merge, and `tests/real_hw_x86.rs` checks it against the real CPU.
    pub const ALL: [Self; 3] = [Self::GENERIC, Self::QEMU, Self::INTEL_FAST_STRINGS];
}
