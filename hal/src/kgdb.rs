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
//! ## Sharing a dispatcher with ptrace and perf
//!
//! [`KgdbBreakpoints`] drives a reservation engine of its own. A kernel whose ptrace, perf
//! and kgdb users share one [`Dispatcher`] uses [`KgdbOnDispatcher`] instead: the same
//! breakpoints (kernel-origin, kernel accesses, every CPU, pinned, exclusive), registered
//! with [`Dispatcher::register`], so they are counted against the same four (or two, or
//! one) slots as everyone else's, and their hits come back from
//! [`Dispatcher::handle_exception`] as [`Event`]s that
//! [`KgdbOnDispatcher::index_of`] maps back to kgdb's table. The rules stay those of
//! exception context: the embedder passes the dispatcher only if its *try*-lock succeeded
//! (`None` fails at once with [`KgdbError::Busy`], never waits), and the dispatcher's
//! fixed tables never allocate (a full table is refused, not grown). A refusal changes
//! nothing. Before resuming, kgdb programs each CPU with [`Dispatcher::switch_in`].
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

use core::fmt;

use crate::{
    AccessKind, DebugArchitecture, DispatchError, Dispatcher, Event, MemoryRead, Origin, Pinning,
    PrivilegeFilter, Request, RequestError, RequestId, ReservationId, Reservations, ReserveError,
    Scope, Sharing, Storage,
};

/// The request kgdb makes: kernel-origin, kernel accesses, every CPU, pinned, exclusive,
/// native timing.
fn kgdb_request(addr: u64, len: u64, access: AccessKind) -> Result<Request, RequestError> {
    Request::builder(addr, len, access)
        .scope(Scope::AllCpus)
        .origin(Origin::Kernel)
        .privilege(PrivilegeFilter::KERNEL)
        .pinning(Pinning::Pinned)
        .sharing(Sharing::Exclusive)
        .build()
}

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
        kgdb_request(addr, len, access).map_err(ReserveError::Request)
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

/// Why [`KgdbOnDispatcher`] refused to set or remove a breakpoint. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KgdbError {
    /// The embedder's try-lock on the dispatcher failed: the interrupted context (or another
    /// CPU) is updating it. kgdb gives up instead of waiting, as Linux's kgdb does when
    /// `dbg_reserve_bp_slot` cannot take its lock.
    Busy,
    /// kgdb's own table has no free place.
    TableFull {
        /// Places in the table.
        places: usize,
    },
    /// No breakpoint at this index of kgdb's table.
    UnknownBreakpoint {
        /// The index asked for.
        index: usize,
    },
    /// The dispatcher refused the request: no free slot on some CPU
    /// ([`DispatchError::is_out_of_slots`] — say "could not insert"), a forbidden region, an
    /// address or length the architecture cannot watch, or its tables are full.
    Dispatch(DispatchError),
}

impl KgdbError {
    /// Whether the refusal means "no debug-register slot is free".
    #[must_use]
    pub const fn is_out_of_slots(&self) -> bool {
        matches!(self, Self::Dispatch(e) if e.is_out_of_slots())
    }
}

impl fmt::Display for KgdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Busy => f.write_str(
                "the dispatcher is being updated (its lock is taken): not waiting in the debugger",
            ),
            Self::TableFull { places } => {
                write!(f, "kgdb's breakpoint table is full ({places} places)")
            }
            Self::UnknownBreakpoint { index } => write!(f, "no kgdb breakpoint at index {index}"),
            Self::Dispatch(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for KgdbError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Dispatch(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DispatchError> for KgdbError {
    fn from(e: DispatchError) -> Self {
        Self::Dispatch(e)
    }
}

/// kgdb's table of hardware breakpoints (`N` places) as requests on a shared
/// [`Dispatcher`]: slot accounting with every other consumer, hits as [`Event`]s. See the
/// [module documentation](self).
///
/// ```
/// use std::sync::Mutex;
/// use hwbkpt_hal::kgdb::{KgdbError, KgdbOnDispatcher};
/// use hwbkpt_hal::{AccessKind, Dispatcher, MemoryRead, MemoryReadError, Request, Scope, TaskId};
/// # use hwbkpt_hal::{AddressRange, AddressSpacePolicy, Capabilities, DebugArchitecture};
/// # use hwbkpt_hal::{ExceptionCause, Plan, PoolKind, PrivilegeFilter, RequestError};
/// # use hwbkpt_hal::{SlotId, SlotPool, SlotProgram, Timing};
/// # #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// # struct Program(AddressRange, AccessKind);
/// # impl SlotProgram for Program {
/// #     fn pool(&self) -> PoolKind { PoolKind::Shared }
/// #     fn hardware_range(&self) -> AddressRange { self.0 }
/// #     fn hardware_access(&self) -> AccessKind { self.1 }
/// # }
/// # static POOLS: [SlotPool; 1] =
/// #     [SlotPool { kind: PoolKind::Shared, count: 4, serves: AccessKind::all(), register: "DR0-DR3" }];
/// # static CAPS: Capabilities = Capabilities {
/// #     arch: "toy", profile: "toy", pools: &POOLS, data_len_pow2_mask: 0b1111,
/// #     max_data_len: 8, granularity: 1, data_boundary: None, data_timing: Timing::After,
/// #     execute_timing: Timing::Before, hardware_privileges: PrivilegeFilter::all(),
/// #     read_only_data: true,
/// # };
/// # /// One slot per request, any range up to 8 bytes.
/// # struct Toy;
/// # impl DebugArchitecture for Toy {
/// #     type Program = Program;
/// #     type SlotImage = Program;
/// #     type Status = ();
/// #     fn capabilities(&self) -> &Capabilities { &CAPS }
/// #     fn address_space(&self) -> AddressSpacePolicy {
/// #         AddressSpacePolicy { user_limit: 0x7FFF_FFFF_F000, forbidden: &[] }
/// #     }
/// #     fn plan(&self, r: &Request) -> Result<Plan<Program>, RequestError> {
/// #         let mut plan = Plan::new();
/// #         plan.push(Program(r.range(), r.access()))?;
/// #         Ok(plan)
/// #     }
/// #     fn encode(&self, _: SlotId, p: &Program) -> Result<Program, RequestError> { Ok(*p) }
/// #     fn decode_status(&self, _: &()) -> ExceptionCause { ExceptionCause::default() }
/// # }
/// struct KernelMemory;
/// impl MemoryRead for KernelMemory {
///     fn read_memory(&mut self, _: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
///         buf.fill(0);
///         Ok(())
///     }
/// }
/// // One dispatcher (four slots) for everyone, behind the kernel's lock.
/// let dispatcher: Mutex<Dispatcher<Toy>> = Mutex::new(Dispatcher::new(Toy));
/// // A traced task's watch takes one slot everywhere it runs.
/// let watch = Request::builder(0x7000_1000, 8, AccessKind::WRITE)
///     .scope(Scope::Task(TaskId(7)))
///     .build()?;
/// dispatcher.lock().unwrap().register(watch, &mut KernelMemory)?;
///
/// // Inside the debug exception: kgdb tries the lock and never waits.
/// let mut kgdb = KgdbOnDispatcher::<4>::new();
/// let mut set = |kgdb: &mut KgdbOnDispatcher<4>, addr| {
///     let mut guard = dispatcher.try_lock().ok();
///     kgdb.set(guard.as_deref_mut(), addr, 8, AccessKind::WRITE, &mut KernelMemory)
/// };
/// for i in 0..3 {
///     set(&mut kgdb, 0xffff_8000_0010_0000 + 8 * i)?;
/// }
/// // The fourth does not fit next to the task's watch: one accounting for both.
/// let refused = set(&mut kgdb, 0xffff_8000_0010_0100).unwrap_err();
/// assert!(refused.is_out_of_slots());
///
/// // The interrupted context holds the lock: kgdb fails at once, changing nothing.
/// let held = dispatcher.lock().unwrap();
/// assert_eq!(kgdb.remove(dispatcher.try_lock().ok().as_deref_mut(), 0), Err(KgdbError::Busy));
/// drop(held);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct KgdbOnDispatcher<const N: usize = 4> {
    entries: [Option<RequestId>; N],
}

impl<const N: usize> Default for KgdbOnDispatcher<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> KgdbOnDispatcher<N> {
    /// An empty table.
    #[must_use]
    pub const fn new() -> Self {
        Self { entries: [None; N] }
    }

    /// Set a breakpoint on `len` bytes at `addr` from exception context, as
    /// [`KgdbBreakpoints::request`] describes it. `dispatcher` is the shared dispatcher if
    /// the embedder's try-lock succeeded, `None` if not; `memory` reads the watched bytes
    /// for the first "last observed" value. Returns the table index.
    ///
    /// Never waits and never allocates: the dispatcher's tables are fixed
    /// ([`Dispatcher::register`]).
    ///
    /// # Errors
    /// [`KgdbError::Busy`] (the lock was taken), [`KgdbError::TableFull`], or
    /// [`KgdbError::Dispatch`] with the dispatcher's refusal (no room on some CPU, a
    /// forbidden region, an impossible request, full tables). Nothing changes on error.
    pub fn set<A, const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        dispatcher: Option<&mut Dispatcher<A, REQUESTS, TASKS, CPUS>>,
        addr: u64,
        len: u64,
        access: AccessKind,
        memory: &mut impl MemoryRead,
    ) -> Result<usize, KgdbError>
    where
        A: DebugArchitecture,
    {
        let dispatcher = dispatcher.ok_or(KgdbError::Busy)?;
        let (index, place) = self
            .entries
            .iter_mut()
            .enumerate()
            .find(|(_, e)| e.is_none())
            .ok_or(KgdbError::TableFull { places: N })?;
        let request = kgdb_request(addr, len, access).map_err(DispatchError::Request)?;
        *place = Some(dispatcher.register(request, memory)?);
        Ok(index)
    }

    /// Remove breakpoint `index` from exception context; returns what it watched.
    ///
    /// # Errors
    /// [`KgdbError::Busy`] (the lock was taken; the breakpoint stays),
    /// [`KgdbError::UnknownBreakpoint`] (no breakpoint at `index`, or the dispatcher no
    /// longer has it — the place is freed then).
    pub fn remove<A, const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        dispatcher: Option<&mut Dispatcher<A, REQUESTS, TASKS, CPUS>>,
        index: usize,
    ) -> Result<Request, KgdbError>
    where
        A: DebugArchitecture,
    {
        let dispatcher = dispatcher.ok_or(KgdbError::Busy)?;
        let unknown = KgdbError::UnknownBreakpoint { index };
        let place = self.entries.get_mut(index).ok_or(unknown)?;
        let id = place.take().ok_or(unknown)?;
        dispatcher.release(id).map_err(|_| unknown)
    }

    /// Remove every breakpoint (kgdb's "remove all" when the debugger detaches); returns
    /// how many were removed.
    ///
    /// # Errors
    /// [`KgdbError::Busy`] (the lock was taken; every breakpoint stays).
    pub fn clear<A, const REQUESTS: usize, const TASKS: usize, const CPUS: usize>(
        &mut self,
        dispatcher: Option<&mut Dispatcher<A, REQUESTS, TASKS, CPUS>>,
    ) -> Result<usize, KgdbError>
    where
        A: DebugArchitecture,
    {
        let dispatcher = dispatcher.ok_or(KgdbError::Busy)?;
        let mut removed = 0;
        for id in self.entries.iter_mut().filter_map(Option::take) {
            // An id this table registered; a stale one is already gone.
            removed += usize::from(dispatcher.release(id).is_ok());
        }
        Ok(removed)
    }

    /// The dispatcher's id of breakpoint `index`.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<RequestId> {
        *self.entries.get(index)?
    }

    /// The table index of a dispatcher request, if it is one of kgdb's: how kgdb recognises
    /// its own hits among the events [`Dispatcher::handle_exception`] delivers.
    #[must_use]
    pub fn index_of(&self, id: RequestId) -> Option<usize> {
        self.entries.iter().position(|e| *e == Some(id))
    }

    /// The table index `event` is for, if it is one of kgdb's.
    #[must_use]
    pub fn event_index(&self, event: &Event) -> Option<usize> {
        self.index_of(event.request)
    }

    /// Every set breakpoint: table index and dispatcher id.
    pub fn iter(&self) -> impl Iterator<Item = (usize, RequestId)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((i, (*e)?)))
    }
}

static_assertions::assert_impl_all!(KgdbOnDispatcher<4>: Send, Sync, Clone);
static_assertions::assert_impl_all!(KgdbError: Send, Sync, Copy, core::error::Error);
