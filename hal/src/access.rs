//! What kind of access a breakpoint watches.

use bitflags::bitflags;

bitflags! {
    /// Access kinds a request watches, or an access performs.
    ///
    /// Data watches combine [`READ`](Self::READ) and [`WRITE`](Self::WRITE);
    /// [`EXECUTE`](Self::EXECUTE) stands alone (an instruction breakpoint).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[repr(transparent)]
    pub struct AccessKind: u8 {
        /// A data load.
        const READ = 1 << 0;
        /// A data store (including a failed locked compare-exchange on x86, which writes back).
        const WRITE = 1 << 1;
        /// An instruction fetch that executes.
        const EXECUTE = 1 << 2;
    }
}

impl AccessKind {
    /// Reads or writes.
    pub const READ_WRITE: Self = Self::READ.union(Self::WRITE);
    /// Read and write bits only.
    pub const DATA: Self = Self::READ_WRITE;

    /// Whether this watches data (reads or writes) rather than execution.
    #[must_use]
    pub const fn is_data(self) -> bool {
        self.intersects(Self::DATA)
    }

    /// Short lowercase name: `r`, `w`, `rw`, `x`, or a combination.
    #[must_use]
    pub const fn short_name(self) -> &'static str {
        match self.bits() {
            0 => "none",
            1 => "r",
            2 => "w",
            3 => "rw",
            4 => "x",
            5 => "rx",
            6 => "wx",
            _ => "rwx",
        }
    }
}

impl core::fmt::Display for AccessKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match *self {
            Self::READ => "read",
            Self::WRITE => "write",
            Self::READ_WRITE => "read|write",
            Self::EXECUTE => "execute",
            other => other.short_name(),
        })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::AccessKind;

    #[test]
    fn every_combination_has_its_own_short_name() {
        let names: [(AccessKind, &str); 8] = [
            (AccessKind::empty(), "none"),
            (AccessKind::READ, "r"),
            (AccessKind::WRITE, "w"),
            (AccessKind::READ_WRITE, "rw"),
            (AccessKind::EXECUTE, "x"),
            (AccessKind::READ | AccessKind::EXECUTE, "rx"),
            (AccessKind::WRITE | AccessKind::EXECUTE, "wx"),
            (AccessKind::all(), "rwx"),
        ];
        for (kind, name) in names {
            assert_eq!(kind.short_name(), name, "{kind:?}");
        }
    }

    #[test]
    fn display_spells_out_the_kinds_a_request_can_watch() {
        assert_eq!(AccessKind::READ.to_string(), "read");
        assert_eq!(AccessKind::WRITE.to_string(), "write");
        assert_eq!(AccessKind::READ_WRITE.to_string(), "read|write");
        assert_eq!(AccessKind::EXECUTE.to_string(), "execute");
        // Combinations no request can ask for fall back to the short name.
        assert_eq!((AccessKind::WRITE | AccessKind::EXECUTE).to_string(), "wx");
    }
}
