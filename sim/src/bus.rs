//! The memory port an instruction uses: every access through it lands in the trace.

use hwbkpt_hal::{AccessKind, CpuId, TaskId};

use crate::{EntryReason, Memory, MemoryAccess, MemoryFault, Mode, Trace, TraceEvent};

/// Longest access a model makes in one piece (x86 AVX-512 is 64 bytes, PPC64 `dcbz` 128).
pub const MAX_ACCESS: usize = 128;

/// Memory as one step of one CPU sees it, recording each access in the trace.
pub struct Bus<'a, E> {
    memory: &'a mut Memory,
    trace: &'a mut Trace<E>,
    cpu: CpuId,
    task: TaskId,
    pc: u64,
    mode: Mode,
}

impl<'a, E> Bus<'a, E> {
    /// A bus for the instruction at `pc` of `task` on `cpu`, running in `mode`.
    pub const fn new(
        memory: &'a mut Memory,
        trace: &'a mut Trace<E>,
        cpu: CpuId,
        task: TaskId,
        pc: u64,
        mode: Mode,
    ) -> Self {
        Self {
            memory,
            trace,
            cpu,
            task,
            pc,
            mode,
        }
    }

    /// The memory, for reads that are not data accesses (instruction fetch, attribute checks).
    #[must_use]
    pub const fn memory(&self) -> &Memory {
        self.memory
    }

    /// The CPU executing.
    #[must_use]
    pub const fn cpu(&self) -> CpuId {
        self.cpu
    }

    /// The task executing.
    #[must_use]
    pub const fn task(&self) -> TaskId {
        self.task
    }

    /// A data load of `buf.len()` bytes from `addr`.
    ///
    /// # Errors
    /// [`MemoryFault`] when unmapped; nothing is recorded then.
    pub fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryFault> {
        self.memory.read(addr, buf)?;
        self.record(addr, AccessKind::READ, buf, buf);
        Ok(())
    }

    /// A data store of `data` at `addr`.
    ///
    /// # Errors
    /// [`MemoryFault`] when unmapped; nothing is written or recorded then.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), MemoryFault> {
        if self.trace.is_enabled() {
            let mut before = [0u8; MAX_ACCESS];
            let n = data.len().min(MAX_ACCESS);
            self.memory.read(addr, &mut before[..n])?;
            self.memory.write(addr, data)?;
            self.record(addr, AccessKind::WRITE, &before[..n], data);
        } else {
            self.memory.write(addr, data)?;
        }
        Ok(())
    }

    /// One read-modify-write access of `len` bytes (at most [`MAX_ACCESS`]): `modify` gets
    /// the bytes read and leaves the bytes to write. Recorded once, as read and write.
    ///
    /// # Errors
    /// [`MemoryFault`] when unmapped; nothing is written or recorded then.
    pub fn read_modify_write(
        &mut self,
        addr: u64,
        len: usize,
        modify: impl FnOnce(&mut [u8]),
    ) -> Result<(), MemoryFault> {
        let n = len.min(MAX_ACCESS);
        let mut before = [0u8; MAX_ACCESS];
        self.memory.read(addr, &mut before[..n])?;
        let mut after = before;
        modify(&mut after[..n]);
        self.memory.write(addr, &after[..n])?;
        self.record(addr, AccessKind::READ_WRITE, &before[..n], &after[..n]);
        Ok(())
    }

    /// The instruction (or `rep` iteration) completed; execution continues at `next_pc`.
    pub fn retired(&mut self, next_pc: u64) {
        self.trace.push(TraceEvent::Retired {
            cpu: self.cpu,
            task: self.task,
            pc: self.pc,
            next_pc,
            mode: self.mode,
        });
    }

    /// The instruction entered the kernel (`syscall`, `sc`).
    pub fn kernel_entry(&mut self, reason: EntryReason) {
        self.trace.push(TraceEvent::KernelEntry {
            cpu: self.cpu,
            task: self.task,
            reason,
        });
    }

    /// The instruction returned from the kernel (`sysret`, `rfid`).
    pub fn kernel_exit(&mut self) {
        self.trace.push(TraceEvent::KernelExit {
            cpu: self.cpu,
            task: self.task,
        });
    }

    fn record(&mut self, addr: u64, kind: AccessKind, before: &[u8], after: &[u8]) {
        if !self.trace.is_enabled() {
            return;
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "accesses are at most MAX_ACCESS bytes"
        )]
        let size = before.len() as u32;
        self.trace.push(TraceEvent::Access(MemoryAccess {
            cpu: self.cpu,
            task: self.task,
            pc: self.pc,
            mode: self.mode,
            addr,
            size,
            kind,
            before: before.into(),
            after: after.into(),
        }));
    }
}
