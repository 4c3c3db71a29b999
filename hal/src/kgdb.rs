//! A kgdb-style consumer: hardware breakpoints set and removed by a debugger that runs
//! *inside* the debug exception, with every other CPU stopped.
//!
//! Such a debugger must never wait (the context it interrupted may hold the lock that
//! protects the reservations) and never allocate. Linux's kgdb gives up when
//! `dbg_reserve_bp_slot` cannot take the constraints lock; [`KgdbBreakpoints`] does the same
//! through the reservation engine's non-waiting, non-allocating path,
//! [`Reservations::try_reserve`]:
//!
//! - the embedder passes the engine only if its *try*-lock succeeded — `None` means an
//!   update is in progress and the call fails at once with [`ReserveError::Busy`];
//! - a refused breakpoint (no room on some CPU, storage that would have to grow, an address
//!   the architecture cannot watch) changes nothing, neither the table nor the engine;
//! - set breakpoints are pinned, exclusive, on every CPU, and match kernel accesses (the
//!   addresses may be kernel addresses: the requests are kernel-origin). Before resuming,
//!   the debugger programs each CPU from [`Reservations::switch_in`] and
//!   [`SlotAssignment::install`](crate::SlotAssignment::install), as Linux's
//!   `kgdb_correct_hw_break` does.
//!
//! `tests/kgdb_xmon.rs` drives it on x86-64 and checks each of these properties.

use crate::{
    AccessKind, DebugArchitecture, Origin, Pinning, PrivilegeFilter, Request, ReservationId,
    Reservations, ReserveError, Scope, Sharing, Storage,
};

/// One breakpoint kgdb has set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KgdbBreakpoint {
    /// What it watches.
    pub request: Request,
    /// Its reservation.
    pub reservation: ReservationId,
}

/// kgdb's table of hardware breakpoints (Linux: `breakinfo[HBP_NUM]`), `N` places.
#[derive(Debug, Clone)]
pub struct KgdbBreakpoints<const N: usize = 4> {
    entries: [Option<KgdbBreakpoint>; N],
}

impl<const N: usize> Default for KgdbBreakpoints<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> KgdbBreakpoints<N> {
    /// An empty table.
    #[must_use]
    pub const fn new() -> Self {
        Self { entries: [None; N] }
    }

    /// The request kgdb makes for `len` bytes at `addr`: kernel-origin, kernel accesses,
    /// every CPU, pinned, exclusive, native timing.
    ///
    /// # Errors
    /// [`ReserveError::Request`] for a malformed range or access set.
    pub fn request(addr: u64, len: u64, access: AccessKind) -> Result<Request, ReserveError> {
        Request::builder(addr, len, access)
            .scope(Scope::AllCpus)
            .origin(Origin::Kernel)
            .privilege(PrivilegeFilter::KERNEL)
            .pinning(Pinning::Pinned)
            .sharing(Sharing::Exclusive)
            .build()
            .map_err(ReserveError::Request)
    }

    /// Set a breakpoint from exception context. `engine` is the reservation engine if the
    /// embedder's try-lock succeeded, `None` if not. Returns the table index.
    ///
    /// # Errors
    /// [`ReserveError::Busy`] (the lock was taken: never waits),
    /// [`ReserveError::CapacityExhausted`] (the table is full), [`ReserveError::Request`]
    /// (the architecture refuses the request), or the engine's refusal from
    /// [`Reservations::try_reserve`] ([`ReserveError::CpuFull`],
    /// [`ReserveError::WouldAllocate`], …). Nothing changes on error.
    pub fn set<A, S, const CPUS: usize>(
        &mut self,
        engine: Option<&mut Reservations<A::Program, S, CPUS>>,
        arch: &A,
        addr: u64,
        len: u64,
        access: AccessKind,
    ) -> Result<usize, ReserveError>
    where
        A: DebugArchitecture,
        S: Storage,
    {
        let engine = engine.ok_or(ReserveError::Busy)?;
        let index = self.entries.iter().position(Option::is_none).ok_or(
            ReserveError::CapacityExhausted {
                what: "kgdb breakpoints",
            },
        )?;
        let request = Self::request(addr, len, access)?;
        let plan = arch.prepare(&request)?;
        let reservation = engine.try_reserve(request, plan)?;
        if let Some(place) = self.entries.get_mut(index) {
            *place = Some(KgdbBreakpoint {
                request,
                reservation,
            });
        }
        Ok(index)
    }

    /// Remove breakpoint `index` from exception context.
    ///
    /// # Errors
    /// [`ReserveError::Busy`] (the lock was taken; the breakpoint stays),
    /// [`ReserveError::UnknownReservation`] (no breakpoint at `index`).
    pub fn remove<P, S, const CPUS: usize>(
        &mut self,
        engine: Option<&mut Reservations<P, S, CPUS>>,
        index: usize,
    ) -> Result<Request, ReserveError>
    where
        P: crate::SlotProgram,
        S: Storage,
    {
        let engine = engine.ok_or(ReserveError::Busy)?;
        let place = self
            .entries
            .get_mut(index)
            .ok_or(ReserveError::UnknownReservation)?;
        let set = place.ok_or(ReserveError::UnknownReservation)?;
        let request = engine.release(set.reservation)?;
        *place = None;
        Ok(request)
    }

    /// The breakpoint at `index`.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&KgdbBreakpoint> {
        self.entries.get(index)?.as_ref()
    }

    /// Every set breakpoint with its index.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &KgdbBreakpoint)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((i, e.as_ref()?)))
    }
}
