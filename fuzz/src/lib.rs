//! Shared pieces of the fuzz targets: arbitrary requests, every CPU profile, and an
//! in-memory interrupted context for dispatch.

use libfuzzer_sys::arbitrary::{self, Arbitrary};

use hwbkpt_hal::{
    AccessClass, AccessKind, DecodeError, DecodedAccess, Delivery, EmulateError, InstructionDecode,
    InstructionEmulate, MemoryRead, MemoryReadError, Origin, PrivilegeFilter, RegisterAccess,
    Request, RequestError, Scope, SlotId, TaskId,
};

/// A request as raw fields, so every combination reaches validation.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub struct RawRequest {
    pub addr: u64,
    pub len: u16,
    pub access: u8,
    pub privilege: u8,
    pub delivery: u8,
    pub kernel_origin: bool,
    pub task: Option<u8>,
}

impl RawRequest {
    /// Build it; the builder's own errors are a valid outcome.
    pub fn build(&self) -> Result<Request, RequestError> {
        let delivery = match self.delivery % 3 {
            0 => Delivery::After,
            1 => Delivery::Before,
            _ => Delivery::Native,
        };
        let scope = self
            .task
            .map_or(Scope::AllCpus, |t| Scope::Task(TaskId(u64::from(t % 4))));
        Request::builder(
            self.addr,
            u64::from(self.len),
            AccessKind::from_bits_truncate(self.access),
        )
        .privilege(PrivilegeFilter::from_bits_truncate(self.privilege))
        .delivery(delivery)
        .origin(if self.kernel_origin {
            Origin::Kernel
        } else {
            Origin::User
        })
        .scope(scope)
        .build()
    }
}

/// The access the "instruction at the PC" makes, for the PPC64 decode hook.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub struct RawAccess {
    pub addr: u64,
    pub size: u8,
    pub kind: u8,
    pub class: u8,
}

impl RawAccess {
    pub fn decoded(&self) -> Option<DecodedAccess> {
        let class = match self.class % 4 {
            0 => AccessClass::Plain,
            1 => AccessClass::LoadReserve,
            2 => AccessClass::StoreConditional,
            _ => AccessClass::CacheBlock,
        };
        let kind = AccessKind::from_bits_truncate(self.kind) & AccessKind::DATA;
        (self.size != 0 && !kind.is_empty()).then_some(DecodedAccess {
            addr: self.addr,
            size: u32::from(self.size),
            kind,
            class,
        })
    }
}

#[derive(Debug)]
pub struct Never;
impl core::fmt::Display for Never {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("never")
    }
}
impl core::error::Error for Never {}

/// Registers and memory of an interrupted context, in memory; every address reads as its low
/// byte, so memory reads never fail.
pub struct Context<Image, Status> {
    pub installed: [Option<Image>; 12],
    pub status: Status,
    pub single_step: bool,
    pub access: Option<DecodedAccess>,
}

impl<Image: Copy, Status: Copy> Context<Image, Status> {
    pub fn new(status: Status) -> Self {
        Self {
            installed: [None; 12],
            status,
            single_step: false,
            access: None,
        }
    }
}

fn ordinal(slot: SlotId) -> usize {
    let pool = match slot.pool() {
        hwbkpt_hal::PoolKind::Shared => 0,
        hwbkpt_hal::PoolKind::Data => 1,
        hwbkpt_hal::PoolKind::Instruction => 2,
    };
    pool * 4 + usize::from(slot.index())
}

impl<Image: Copy, Status: Copy> RegisterAccess for Context<Image, Status> {
    type Image = Image;
    type Status = Status;
    type Error = Never;
    fn install(&mut self, slot: SlotId, image: Image) -> Result<(), Never> {
        self.installed[ordinal(slot)] = Some(image);
        Ok(())
    }
    fn uninstall(&mut self, slot: SlotId) -> Result<(), Never> {
        self.installed[ordinal(slot)] = None;
        Ok(())
    }
    fn read_status(&mut self) -> Result<Status, Never> {
        Ok(self.status)
    }
    fn reset_status(&mut self) -> Result<(), Never> {
        Ok(())
    }
    fn set_single_step(&mut self, enabled: bool) -> Result<(), Never> {
        self.single_step = enabled;
        Ok(())
    }
}

impl<Image, Status> MemoryRead for Context<Image, Status> {
    fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryReadError> {
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte = addr.wrapping_add(i as u64) as u8;
        }
        Ok(())
    }
}

impl<Image, Status> InstructionDecode for Context<Image, Status> {
    fn decode_access(&mut self, _pc: u64) -> Result<Option<DecodedAccess>, DecodeError> {
        Ok(self.access)
    }
}

impl<Image, Status> InstructionEmulate for Context<Image, Status> {
    fn emulate(&mut self, pc: u64) -> Result<(), EmulateError> {
        if pc % 2 == 0 {
            Ok(())
        } else {
            Err(EmulateError::Unsupported { pc })
        }
    }
}
