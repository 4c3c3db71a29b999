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
}

impl X86Profile {
    /// What the SDM guarantees and nothing more.
    pub const GENERIC: Self = Self {
        name: "generic x86-64",
        reports_disabled_matches: false,
        fast_strings: None,
    };

    /// QEMU's TCG: B bits for matching disabled slots.
    pub const QEMU: Self = Self {
        name: "QEMU TCG x86-64",
        reports_disabled_matches: true,
        fast_strings: None,
    };

    /// Intel family 6 model 0xCF, with the measured fast-string grouping.
    pub const INTEL_FAST_STRINGS: Self = Self {
        name: "Intel family 6 model 0xCF (fast strings)",
        reports_disabled_matches: false,
        fast_strings: Some(FastStrings {
            precise_bytes: 256,
            block: 128,
        }),
    };

    /// Every profile.
    pub const ALL: [Self; 3] = [Self::GENERIC, Self::QEMU, Self::INTEL_FAST_STRINGS];
}
