//! Whose accesses a request matches, and who asked for it.

use bitflags::bitflags;

bitflags! {
    /// Privilege levels whose accesses match (x86: the CPL is not filtered by hardware,
    /// so the layer filters in software; PPC64: DABRX/DAWRX PR, PNH, HYP).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    #[repr(transparent)]
    pub struct PrivilegeFilter: u8 {
        /// Problem state / ring 3.
        const USER = 1 << 0;
        /// Supervisor / ring 0 (privileged non-hypervisor).
        const KERNEL = 1 << 1;
        /// Hypervisor state (PPC64 HV=1, PR=0).
        const HYPERVISOR = 1 << 2;
    }
}

/// Who asked for the breakpoint. This decides which *addresses* it may watch
/// (the security rule), independently of the [`PrivilegeFilter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Origin {
    /// A user-space requester (ptrace, perf from an unprivileged process): may watch only
    /// user addresses and never reach kernel-only debug state.
    #[default]
    User,
    /// The kernel itself (kgdb, xmon, in-kernel perf): any address the policy does not forbid.
    Kernel,
}
