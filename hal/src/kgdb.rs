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
//!
//! ```
//! use std::sync::Mutex;
//! use hwbkpt_hal::kgdb::KgdbBreakpoints;
//! use hwbkpt_hal::{AccessKind, CpuId, FixedReservations, ReserveError, TaskId};
//! # use hwbkpt_hal::{AddressRange, AddressSpacePolicy, Capabilities, DebugArchitecture};
//! # use hwbkpt_hal::{ExceptionCause, Plan, PoolKind, PrivilegeFilter, Request, RequestError};
//! # use hwbkpt_hal::{SlotId, SlotPool, SlotProgram, Timing};
//! # #[derive(Debug, Clone, Copy, PartialEq, Eq)]
//! # struct Program(AddressRange, AccessKind);
//! # impl SlotProgram for Program {
//! #     fn pool(&self) -> PoolKind { PoolKind::Shared }
//! #     fn hardware_range(&self) -> AddressRange { self.0 }
//! #     fn hardware_access(&self) -> AccessKind { self.1 }
//! # }
//! # static POOLS: [SlotPool; 1] =
//! #     [SlotPool { kind: PoolKind::Shared, count: 4, serves: AccessKind::all(), register: "DR0-DR3" }];
//! # static CAPS: Capabilities = Capabilities {
//! #     arch: "toy", profile: "toy", pools: &POOLS, data_len_pow2_mask: 0b1111,
//! #     max_data_len: 8, granularity: 1, data_boundary: None, data_timing: Timing::After,
//! #     execute_timing: Timing::Before, hardware_privileges: PrivilegeFilter::all(),
//! #     read_only_data: true,
//! # };
//! # /// One slot per request, any range up to 8 bytes.
//! # struct Toy;
//! # impl DebugArchitecture for Toy {
//! #     type Program = Program;
//! #     type SlotImage = Program;
//! #     type Status = ();
//! #     fn capabilities(&self) -> &Capabilities { &CAPS }
//! #     fn address_space(&self) -> AddressSpacePolicy {
//! #         AddressSpacePolicy { user_limit: 0x7FFF_FFFF_F000, forbidden: &[] }
//! #     }
//! #     fn plan(&self, r: &Request) -> Result<Plan<Program>, RequestError> {
//! #         let mut plan = Plan::new();
//! #         plan.push(Program(r.range(), r.access()))?;
//! #         Ok(plan)
//! #     }
//! #     fn encode(&self, _: SlotId, p: &Program) -> Result<Program, RequestError> { Ok(*p) }
//! #     fn decode_status(&self, _: &()) -> ExceptionCause { ExceptionCause::default() }
//! # }
//! // The reservations of a 2-CPU machine, behind the kernel's lock.
//! let engine: Mutex<FixedReservations<Program, 2, 16, 16>> =
//!     Mutex::new(FixedReservations::new(Toy.capabilities(), 2).unwrap());
//! let mut kgdb = KgdbBreakpoints::<4>::new();
//!
//! // Inside the debug exception: try the lock, never wait.
//! let mut guard = engine.try_lock().ok();
//! let index = kgdb.set(guard.as_deref_mut(), &Toy, 0xffff_8000_0010_0000, 8, AccessKind::WRITE)?;
//! // Before resuming, every CPU gets its slots (here: the kgdb watch).
//! let cpu1 = guard.as_deref_mut().unwrap().switch_in(TaskId(0), CpuId(1))?;
//! assert_eq!(cpu1.count(PoolKind::Shared), 1);
//! drop(guard);
//!
//! // Later, the interrupted context happens to hold the lock: kgdb fails at once.
//! let held = engine.lock().unwrap();
//! assert_eq!(kgdb.remove(engine.try_lock().ok().as_deref_mut(), index), Err(ReserveError::Busy));
//! drop(held);
//! # Ok::<(), ReserveError>(())
//! ```

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

static_assertions::assert_impl_all!(KgdbBreakpoints<4>: Send, Sync, Clone);
