//! The debug registers, one file each, with LSB masks (see [`crate::ibm`] for the numbering).

mod address;
mod ciabr;
mod dabr;
mod dabrx;
mod dawr;
mod dawrx;
mod dsisr;
mod msr;
mod spr;
mod srr1;

pub use address::{DoublewordAddress, WordAddress};
pub use ciabr::{Ciabr, CiabrPrivilege};
pub use dabr::{Dabr, DabrFlags};
pub use dabrx::Dabrx;
pub use dawr::Dawr;
pub use dawrx::{Dawrx, DawrxFlags, Mrd};
pub use dsisr::Dsisr;
pub use msr::Msr;
pub use spr::Spr;
pub use srr1::Srr1;
