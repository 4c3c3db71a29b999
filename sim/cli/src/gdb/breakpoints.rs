//! gdb's hardware breakpoints and watchpoints as HAL requests: what gdb inserted, the request
//! serving it, and what a hit of that request means for gdb.

use gdbstub::target::ext::breakpoints::WatchKind;
use hwbkpt_hal::{
    AccessKind, Delivery, EventKind, Hit, Origin, PrivilegeFilter, Request, RequestError,
    RequestId, Scope, TaskId, Timing,
};

use super::stop::Stop;

/// One `Z1`–`Z4` packet's breakpoint, as gdb names it (removal names it the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// `watch` (`Z2`), `rwatch` (`Z3`), `awatch` (`Z4`).
    Watch {
        /// First watched byte.
        addr: u64,
        /// Bytes.
        len: u64,
        /// Which accesses gdb wants.
        kind: WatchKind,
    },
    /// `hbreak` (`Z1`).
    Break {
        /// The instruction.
        addr: u64,
    },
}

impl core::fmt::Display for Insertion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Watch { addr, len, kind } => {
                let command = match kind {
                    WatchKind::Write => "watch",
                    WatchKind::Read => "rwatch",
                    WatchKind::ReadWrite => "awatch",
                };
                let unit = if len == 1 { "byte" } else { "bytes" };
                write!(f, "{command} {len} {unit} at {addr:#x}")
            }
            Self::Break { addr } => write!(f, "hbreak at {addr:#x}"),
        }
    }
}

/// How a request for an insertion is built on one CPU model.
#[derive(Debug, Clone, Copy)]
pub struct RequestPolicy {
    /// The debugged task: requests cover it alone.
    pub task: TaskId,
    /// Whose accesses match: the task's privilege level.
    pub privilege: PrivilegeFilter,
    /// A kernel-mode task's debugger is the kernel's (kernel addresses allowed).
    pub origin: Origin,
    /// When data watches are delivered.
    pub delivery: Delivery,
    /// The access kind asked for each watch kind, and whether a hit is a read only when the
    /// value did not change.
    pub watch_access: fn(WatchKind) -> (AccessKind, bool),
}

impl RequestPolicy {
    /// The HAL request for `insertion`, and whether its hits are read-by-value.
    ///
    /// # Errors
    /// The HAL's validation error (a zero length, a range past the address space).
    pub fn request(&self, insertion: Insertion) -> Result<(Request, bool), RequestError> {
        let (addr, len, access, by_value, delivery) = match insertion {
            Insertion::Watch { addr, len, kind } => {
                let (access, by_value) = (self.watch_access)(kind);
                (addr, len, access, by_value, self.delivery)
            }
            // Execute breakpoints keep their native timing; the model refuses the ones whose
            // timing gdb cannot use before asking.
            Insertion::Break { addr } => (addr, 1, AccessKind::EXECUTE, false, Delivery::Native),
        };
        let request = Request::builder(addr, len, access)
            .scope(Scope::Task(self.task))
            .privilege(self.privilege)
            .origin(self.origin)
            .delivery(delivery)
            .build()?;
        Ok((request, by_value))
    }
}

/// An insertion and the request serving it.
#[derive(Debug, Clone, Copy)]
struct Inserted {
    insertion: Insertion,
    id: RequestId,
    /// A hit is a read only if the watched value is unchanged (x86 `rwatch`).
    by_value: bool,
    /// The PC of a one-shot `before` stop that disabled the request until re-armed.
    fired_at: Option<u64>,
}

/// Everything gdb has inserted that the HAL serves.
#[derive(Debug, Default)]
pub struct Insertions {
    entries: Vec<Inserted>,
}

impl Insertions {
    /// Remember that `id` serves `insertion`.
    pub fn add(&mut self, insertion: Insertion, id: RequestId, by_value: bool) {
        self.entries.push(Inserted {
            insertion,
            id,
            by_value,
            fired_at: None,
        });
    }

    /// Forget one insertion equal to `insertion` (gdb may insert the same one twice, and
    /// removes them one at a time); its request id.
    pub fn remove(&mut self, insertion: Insertion) -> Option<RequestId> {
        let index = self.entries.iter().position(|e| e.insertion == insertion)?;
        Some(self.entries.remove(index).id)
    }

    /// Every request serving an insertion.
    pub fn ids(&self) -> impl Iterator<Item = RequestId> + '_ {
        self.entries.iter().map(|e| e.id)
    }

    /// Requests that fired as one-shot `before` stops, with the PC they stopped at.
    pub fn fired(&self) -> impl Iterator<Item = (RequestId, u64)> + '_ {
        self.entries
            .iter()
            .filter_map(|e| e.fired_at.map(|pc| (e.id, pc)))
    }

    /// The request was re-armed.
    pub fn rearmed(&mut self, id: RequestId) {
        for e in self.entries.iter_mut().filter(|e| e.id == id) {
            e.fired_at = None;
        }
    }

    /// What an event of the HAL means for gdb: `Some` stop, or `None` when gdb must not hear
    /// of it (not one of gdb's requests, a disabled event, or a write seen by an x86 `rwatch`).
    pub fn classify(&mut self, request: RequestId, kind: &EventKind, pc: u64) -> Option<Stop> {
        let EventKind::Hit(hit) = kind else {
            return None;
        };
        let entry = self.entries.iter_mut().find(|e| e.id == request)?;
        if hit.timing == Timing::Before && matches!(entry.insertion, Insertion::Watch { .. }) {
            // A data watch delivered before the access is one-shot: it stays disabled until
            // the stub re-arms it past the access.
            entry.fired_at = Some(pc);
        }
        match entry.insertion {
            Insertion::Break { .. } => Some(Stop::HwBreak),
            Insertion::Watch { addr, kind, .. } => {
                if entry.by_value && !unchanged(hit) {
                    // The read/write slot saw a write that changed the value: not a read.
                    return None;
                }
                Some(Stop::Watch { kind, addr })
            }
        }
    }
}

/// Whether the watched bytes are the same after the access as before it. A hit without
/// values (none is expected on a read/write watch) counts as unchanged.
fn unchanged(hit: &Hit) -> bool {
    hit.values.is_none_or(|v| v.old() == v.new_value())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwbkpt_hal::{Dispatcher, MemoryRead, MemoryReadError};
    use hwbkpt_x86::{X86Cpu, X86Profile};

    struct Zeros;
    impl MemoryRead for Zeros {
        fn read_memory(&mut self, _: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
            buf.fill(0);
            Ok(())
        }
    }

    fn policy(delivery: Delivery) -> RequestPolicy {
        RequestPolicy {
            task: TaskId(0),
            privilege: PrivilegeFilter::USER,
            origin: Origin::User,
            delivery,
            watch_access: |kind| match kind {
                WatchKind::Read => (AccessKind::READ_WRITE, true),
                WatchKind::Write => (AccessKind::WRITE, false),
                WatchKind::ReadWrite => (AccessKind::READ_WRITE, false),
            },
        }
    }

    fn id() -> RequestId {
        let mut d: Dispatcher<X86Cpu> = Dispatcher::new(X86Cpu::new(X86Profile::GENERIC_X86_64));
        let (request, _) = policy(Delivery::After)
            .request(Insertion::Break { addr: 0x40_0000 })
            .unwrap();
        d.register(request, &mut Zeros).unwrap()
    }

    fn hit(timing: Timing) -> EventKind {
        EventKind::Hit(Hit {
            timing,
            access: None,
            address: None,
            values: None,
            iterations: None,
        })
    }

    #[test]
    fn read_watch_by_value_reports_gdbs_address() {
        let rwatch = Insertion::Watch {
            addr: 0x2000_0012,
            len: 2,
            kind: WatchKind::Read,
        };
        let (request, by_value) = policy(Delivery::After).request(rwatch).unwrap();
        assert!(by_value);
        assert_eq!(request.access(), AccessKind::READ_WRITE);
        let mut table = Insertions::default();
        let id = id();
        table.add(rwatch, id, by_value);
        assert_eq!(
            table.classify(id, &hit(Timing::After), 0x40_0010),
            Some(Stop::Watch {
                kind: WatchKind::Read,
                addr: 0x2000_0012
            })
        );
        assert_eq!(table.fired().count(), 0);
        assert_eq!(table.remove(rwatch), Some(id));
        assert_eq!(table.classify(id, &hit(Timing::After), 0x40_0010), None);
    }

    #[test]
    fn before_hits_are_one_shot_until_rearmed() {
        let watch = Insertion::Watch {
            addr: 0x2000_0010,
            len: 4,
            kind: WatchKind::Write,
        };
        let mut table = Insertions::default();
        let id = id();
        table.add(watch, id, false);
        assert!(
            table
                .classify(id, &hit(Timing::Before), 0x1000_000c)
                .is_some()
        );
        assert_eq!(table.fired().collect::<Vec<_>>(), [(id, 0x1000_000c)]);
        table.rearmed(id);
        assert_eq!(table.fired().count(), 0);
    }
}
