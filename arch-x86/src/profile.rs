//! CPU profiles as data: what one family of x86 processors offers.
//!
//! A profile feeds the HAL: [`Capabilities`] (slots, lengths, timing) and an
//! [`AddressSpacePolicy`] (the user/kernel split). The planning and encoding code reads only
//! these numbers, so a new profile is a new constant, not new code.

use hwbkpt_hal::{
    AccessKind, AddressSpacePolicy, Capabilities, PoolKind, PrivilegeFilter, SlotPool, Timing,
};

use crate::DebugSlot;

/// Register family name used in messages and in [`SlotPool::register`].
pub(crate) const DEBUG_ADDRESS_REGISTERS: &str = "DR0-DR3";

/// The one pool of x86: DR0–DR3 serve data and execute breakpoints alike
/// (Intel SDM Vol. 3B §18.2.4: each slot's R/W field chooses execute, write, I/O or
/// read/write).
const SHARED_POOL: [SlotPool; 1] = [SlotPool {
    kind: PoolKind::Shared,
    count: DebugSlot::COUNT,
    serves: AccessKind::all(),
    register: DEBUG_ADDRESS_REGISTERS,
}];

/// Lengths 1, 2, 4 and 8 (bits 0–3), LEN = 00, 01, 11, 10.
const LENGTHS_1_2_4_8: u64 = 0b1111;
/// Lengths 1, 2 and 4: LEN = 10 is undefined before Intel 64 (SDM §18.2.4, note on LEN).
const LENGTHS_1_2_4: u64 = 0b0111;

/// Paging mode of an x86-64 kernel, which decides where user space ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Paging {
    /// 4-level paging: 48-bit linear addresses.
    #[default]
    FourLevel,
    /// 5-level paging (CR4.LA57): 57-bit linear addresses.
    FiveLevel,
}

impl Paging {
    /// First address a user-origin request may not watch. Linux's `TASK_SIZE_MAX`
    /// (`arch/x86/include/asm/page_64_types.h`): the top of the lower canonical half minus
    /// one guard page, `2^47 − 4096` with 4-level paging and `2^56 − 4096` with 5-level.
    /// The guard page keeps user space from ending right at the non-canonical hole, where
    /// a `syscall` return to the first non-canonical address would fault in the kernel.
    #[must_use]
    pub const fn user_limit(self) -> u64 {
        match self {
            Self::FourLevel => 0x7FFF_FFFF_F000,
            Self::FiveLevel => 0x00FF_FFFF_FFFF_F000,
        }
    }
}

/// What one family of x86 processors offers, as data.
///
/// Custom profiles may be built from the public fields; the planner copes with any values
/// (slot counts above four are clamped to DR0–DR3, lengths it has no LEN encoding for are
/// never used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct X86Profile {
    /// Slots, lengths, timing and privilege support, in the HAL's terms.
    pub capabilities: Capabilities,
    /// The user/kernel split and forbidden regions (the HAL applies them).
    pub address_space: AddressSpacePolicy,
    /// Width of a linear address and of DR0–DR3: 64 on x86-64, 32 on IA-32.
    pub linear_address_bits: u32,
}

/// Capabilities shared by every x86 profile; only the name and lengths differ.
const fn x86_capabilities(
    arch: &'static str,
    profile: &'static str,
    lengths: u64,
    max_len: u64,
) -> Capabilities {
    Capabilities {
        arch,
        profile,
        pools: &SHARED_POOL,
        data_len_pow2_mask: lengths,
        max_data_len: max_len,
        // Byte-exact: the planner never widens a range (SDM §18.2.5).
        granularity: 1,
        // Each slot is naturally aligned to its own length; no further boundary rule.
        data_boundary: None,
        // Data breakpoints are traps: reported after the instruction completed
        // (SDM §18.3.1.2 "Data Memory and I/O Breakpoint Exception Conditions").
        data_timing: Timing::After,
        // Instruction breakpoints are faults: reported before the instruction executes
        // (SDM §18.3.1.1 "Instruction-Breakpoint Exception Condition").
        execute_timing: Timing::Before,
        // x86 debug registers do not look at the CPL: a slot matches user and kernel
        // accesses alike, so every privilege filter is applied in software at dispatch.
        hardware_privileges: PrivilegeFilter::empty(),
        // R/W has no reads-only encoding (SDM §18.2.4).
        read_only_data: false,
    }
}

impl X86Profile {
    /// A generic x86-64 processor (Intel 64 or AMD64) under a kernel with the given paging:
    /// four shared slots, lengths 1, 2, 4 and 8, data traps after, execute faults before.
    #[must_use]
    pub const fn generic_x86_64(paging: Paging) -> Self {
        let name = match paging {
            Paging::FourLevel => "generic x86-64 (4-level paging)",
            Paging::FiveLevel => "generic x86-64 (5-level paging)",
        };
        Self {
            capabilities: x86_capabilities("x86-64", name, LENGTHS_1_2_4_8, 8),
            address_space: AddressSpacePolicy {
                user_limit: paging.user_limit(),
                forbidden: &[],
            },
            linear_address_bits: 64,
        }
    }

    /// Generic x86-64 with 4-level paging: the usual case.
    pub const GENERIC_X86_64: Self = Self::generic_x86_64(Paging::FourLevel);

    /// Generic x86-64 with 5-level paging.
    pub const GENERIC_X86_64_LA57: Self = Self::generic_x86_64(Paging::FiveLevel);

    /// A 32-bit IA-32 processor from before Intel 64 (e.g. Pentium III): LEN = 10 is
    /// undefined, so the longest slot is 4 bytes; 32-bit linear addresses; user space below
    /// `0xC000_0000` (Linux i386's default 3 GiB/1 GiB split, `CONFIG_VMSPLIT_3G`).
    pub const IA32: Self = Self {
        capabilities: x86_capabilities("IA-32", "IA-32 (no 8-byte length)", LENGTHS_1_2_4, 4),
        address_space: AddressSpacePolicy {
            user_limit: 0xC000_0000,
            forbidden: &[],
        },
        linear_address_bits: 32,
    };

    /// Every built-in profile.
    pub const ALL: [Self; 3] = [Self::GENERIC_X86_64, Self::GENERIC_X86_64_LA57, Self::IA32];

    /// Whether LEN = 10 means 8 bytes on this profile.
    #[must_use]
    pub const fn has_eight_byte_length(&self) -> bool {
        self.supports_length(8)
    }

    /// Whether one slot can watch `bytes` bytes (1, 2, 4, or 8 where the profile has it).
    #[must_use]
    pub const fn supports_length(&self, bytes: u64) -> bool {
        bytes.is_power_of_two()
            && bytes <= 8
            && bytes <= self.capabilities.max_data_len
            // Bit n of the mask stands for 2^n bytes.
            && self.capabilities.data_len_pow2_mask & (1 << bytes.trailing_zeros()) != 0
    }

    /// The longest piece the planner uses: the largest supported length (at least 1).
    #[must_use]
    pub const fn max_piece(&self) -> u64 {
        let mut bytes = 8;
        while bytes > 1 && !self.supports_length(bytes) {
            bytes /= 2;
        }
        bytes
    }

    /// Usable slots: the shared pool's count, at most DR0–DR3; zero if the profile has no
    /// shared pool.
    #[must_use]
    pub fn slot_count(&self) -> u8 {
        self.capabilities
            .pools
            .iter()
            .find(|pool| pool.kind == PoolKind::Shared)
            .map_or(0, |pool| pool.count.min(DebugSlot::COUNT))
    }

    /// Highest linear address DR0–DR3 can hold.
    #[must_use]
    pub const fn max_linear_address(&self) -> u64 {
        if self.linear_address_bits >= 64 {
            u64::MAX
        } else {
            (1 << self.linear_address_bits) - 1
        }
    }
}

impl Default for X86Profile {
    /// [`X86Profile::GENERIC_X86_64`].
    fn default() -> Self {
        Self::GENERIC_X86_64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_x86_64_capabilities() {
        let caps = X86Profile::GENERIC_X86_64.capabilities;
        assert_eq!(caps.pools.len(), 1);
        let pool = caps.pools[0];
        assert_eq!(pool.kind, PoolKind::Shared);
        assert_eq!(pool.count, 4);
        assert!(
            pool.serves
                .contains(AccessKind::READ_WRITE | AccessKind::EXECUTE)
        );
        assert_eq!(caps.data_timing, Timing::After);
        assert_eq!(caps.execute_timing, Timing::Before);
        assert!(caps.hardware_privileges.is_empty());
        assert!(!caps.read_only_data);
        assert_eq!(caps.granularity, 1);
        assert_eq!(caps.max_data_len, 8);
        assert_eq!(caps.native_timing(AccessKind::EXECUTE), Timing::Before);
        assert_eq!(caps.native_timing(AccessKind::WRITE), Timing::After);
    }

    #[test]
    fn user_limits() {
        assert_eq!(
            X86Profile::GENERIC_X86_64.address_space.user_limit,
            (1 << 47) - 4096
        );
        assert_eq!(
            X86Profile::GENERIC_X86_64_LA57.address_space.user_limit,
            (1 << 56) - 4096
        );
        assert_eq!(X86Profile::IA32.address_space.user_limit, 0xC000_0000);
    }

    #[test]
    fn lengths_per_profile() {
        let x64 = X86Profile::GENERIC_X86_64;
        assert!(x64.has_eight_byte_length());
        assert_eq!(x64.max_piece(), 8);
        let ia32 = X86Profile::IA32;
        assert!(!ia32.has_eight_byte_length());
        assert_eq!(ia32.max_piece(), 4);
        for bytes in [0, 3, 5, 6, 7, 9, 16] {
            assert!(!x64.supports_length(bytes), "{bytes}");
        }
    }

    #[test]
    fn odd_custom_profiles_are_clamped_not_trusted() {
        let mut profile = X86Profile::GENERIC_X86_64;
        profile.capabilities.data_len_pow2_mask = 0;
        assert_eq!(profile.max_piece(), 1);
        profile.capabilities.pools = &[];
        assert_eq!(profile.slot_count(), 0);
        const NINE: [SlotPool; 1] = [SlotPool {
            kind: PoolKind::Shared,
            count: 9,
            serves: AccessKind::all(),
            register: "DR0-DR3",
        }];
        profile.capabilities.pools = &NINE;
        assert_eq!(profile.slot_count(), 4);
    }

    #[test]
    fn address_widths() {
        assert_eq!(X86Profile::GENERIC_X86_64.max_linear_address(), u64::MAX);
        assert_eq!(X86Profile::IA32.max_linear_address(), 0xFFFF_FFFF);
    }
}
