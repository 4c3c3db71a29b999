//! Why the dispatcher refused to register a request.

use core::fmt;

use crate::{PoolKind, RequestError};

/// Why [`Dispatcher::register`](crate::Dispatcher::register) refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DispatchError {
    /// The request is invalid, forbidden by policy, or impossible on this hardware.
    Request(RequestError),
    /// Not enough free slots in the pool (the fixed slot table does not share slots).
    NoFreeSlot {
        /// The pool.
        pool: PoolKind,
        /// Slots the plan needs.
        needed: u8,
        /// Slots still free.
        free: u8,
    },
    /// The request table is full.
    TableFull {
        /// Its capacity.
        capacity: usize,
    },
    /// The id names no registered request (released, or never issued).
    UnknownRequest,
}

impl fmt::Display for DispatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Request(e) => e.fmt(f),
            Self::NoFreeSlot { pool, needed, free } => write!(
                f,
                "the request needs {needed} {} slots but only {free} are free",
                pool.name()
            ),
            Self::TableFull { capacity } => {
                write!(f, "the request table is full ({capacity} requests)")
            }
            Self::UnknownRequest => f.write_str("no such request (released or never registered)"),
        }
    }
}

impl core::error::Error for DispatchError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Request(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RequestError> for DispatchError {
    fn from(e: RequestError) -> Self {
        Self::Request(e)
    }
}
