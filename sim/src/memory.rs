//! Sparse, byte-addressable simulated memory with per-page attributes.
//!
//! Memory is a map of 4 KiB pages created by [`Memory::map`]; touching an address outside every
//! mapped page is a [`MemoryFault`], never a panic. Multi-byte values are stored in the
//! simulated ISA's byte order ([`Endian`]), chosen when the memory is created, so the simulated
//! program sees the same bytes whatever the host's endianness is.

use std::collections::BTreeMap;

/// Size of one page: the granularity of mapping and of [`RegionAttributes`].
pub const PAGE_SIZE: u64 = 4096;

/// Byte order of multi-byte values in simulated memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first (x86-64, ppc64le).
    Little,
    /// Most significant byte first (ppc64 big-endian).
    Big,
}

impl Endian {
    /// The low `bytes.len()` bytes of `value` (at most 8), in this byte order.
    pub fn put(self, value: u64, bytes: &mut [u8]) {
        let n = bytes.len().min(8);
        let le = value.to_le_bytes();
        for (i, b) in bytes.iter_mut().take(n).enumerate() {
            *b = match self {
                Self::Little => le[i],
                Self::Big => le[n - 1 - i],
            };
        }
    }

    /// The value held by `bytes` (at most 8 are used), in this byte order.
    #[must_use]
    pub fn get(self, bytes: &[u8]) -> u64 {
        let n = bytes.len().min(8);
        let mut value = 0u64;
        for i in 0..n {
            let b = match self {
                Self::Little => bytes[n - 1 - i],
                Self::Big => bytes[i],
            };
            value = (value << 8) | u64::from(b);
        }
        value
    }
}

/// Attributes of a mapped page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RegionAttributes {
    /// Cache-inhibited (device) memory. The POWER9 DAWR erratum makes a DAWR match on such
    /// memory checkstop the machine; the PPC64 model reads this attribute for it.
    pub cache_inhibited: bool,
}

/// An access touched an address that no mapped page covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryFault {
    /// The first unmapped address of the access.
    pub addr: u64,
}

impl core::fmt::Display for MemoryFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "no memory mapped at {:#x}", self.addr)
    }
}

impl std::error::Error for MemoryFault {}

#[derive(Debug, Clone)]
struct Page {
    bytes: Box<[u8; PAGE_SIZE as usize]>,
    attributes: RegionAttributes,
}

/// Simulated physical = virtual memory, shared by every CPU of a machine.
#[derive(Debug, Clone)]
pub struct Memory {
    endian: Endian,
    pages: BTreeMap<u64, Page>,
}

const fn page_of(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "offsets inside a page are below PAGE_SIZE"
)]
const fn offset_in_page(addr: u64) -> usize {
    (addr & (PAGE_SIZE - 1)) as usize
}

impl Memory {
    /// Empty memory storing values in `endian` byte order.
    #[must_use]
    pub const fn new(endian: Endian) -> Self {
        Self {
            endian,
            pages: BTreeMap::new(),
        }
    }

    /// Byte order of multi-byte values.
    #[must_use]
    pub const fn endian(&self) -> Endian {
        self.endian
    }

    /// Map zero-filled pages covering `[base, base + len)` (whole pages; pages already mapped
    /// keep their contents and get `attributes`). The range wraps at the top of the address
    /// space rather than failing.
    pub fn map(&mut self, base: u64, len: u64, attributes: RegionAttributes) {
        if len == 0 {
            return;
        }
        let mut page = page_of(base);
        let last = page_of(base.wrapping_add(len - 1));
        loop {
            self.pages
                .entry(page)
                .and_modify(|p| p.attributes = attributes)
                .or_insert_with(|| Page {
                    bytes: Box::new([0; PAGE_SIZE as usize]),
                    attributes,
                });
            if page == last {
                break;
            }
            page = page.wrapping_add(PAGE_SIZE);
        }
    }

    /// Whether every byte of `[addr, addr + len)` is mapped.
    #[must_use]
    pub fn is_mapped(&self, addr: u64, len: u64) -> bool {
        self.check(addr, len).is_ok()
    }

    /// Attributes of the page holding `addr`, or `None` when unmapped.
    #[must_use]
    pub fn attributes(&self, addr: u64) -> Option<RegionAttributes> {
        self.pages.get(&page_of(addr)).map(|p| p.attributes)
    }

    /// Whether any byte of `[addr, addr + len)` lies in a cache-inhibited page.
    #[must_use]
    pub fn any_cache_inhibited(&self, addr: u64, len: u64) -> bool {
        let mut a = addr;
        let end = addr.wrapping_add(len);
        while a != end {
            if self.attributes(a).is_some_and(|r| r.cache_inhibited) {
                return true;
            }
            let next = page_of(a).wrapping_add(PAGE_SIZE);
            // Step to the next page, or to `end` if it comes first.
            if end.wrapping_sub(a) <= next.wrapping_sub(a) {
                break;
            }
            a = next;
        }
        false
    }

    /// Fill `buf` from `addr`. Nothing is read if any byte is unmapped.
    ///
    /// # Errors
    /// [`MemoryFault`] naming the first unmapped byte.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryFault> {
        let off = offset_in_page(addr);
        if off + buf.len() <= PAGE_SIZE as usize {
            // The common case, inside one page: one lookup.
            let page = self.pages.get(&page_of(addr)).ok_or(MemoryFault { addr })?;
            buf.copy_from_slice(&page.bytes[off..off + buf.len()]);
            return Ok(());
        }
        self.check(addr, buf.len() as u64)?;
        let mut done = 0;
        while done < buf.len() {
            let a = addr.wrapping_add(done as u64);
            let off = offset_in_page(a);
            let n = (PAGE_SIZE as usize - off).min(buf.len() - done);
            let page = self.pages.get(&page_of(a)).ok_or(MemoryFault { addr: a })?;
            buf[done..done + n].copy_from_slice(&page.bytes[off..off + n]);
            done += n;
        }
        Ok(())
    }

    /// Store `data` at `addr`. Nothing is written if any byte is unmapped.
    ///
    /// # Errors
    /// [`MemoryFault`] naming the first unmapped byte.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), MemoryFault> {
        let off = offset_in_page(addr);
        if off + data.len() <= PAGE_SIZE as usize {
            let page = self
                .pages
                .get_mut(&page_of(addr))
                .ok_or(MemoryFault { addr })?;
            page.bytes[off..off + data.len()].copy_from_slice(data);
            return Ok(());
        }
        self.check(addr, data.len() as u64)?;
        let mut done = 0;
        while done < data.len() {
            let a = addr.wrapping_add(done as u64);
            let off = offset_in_page(a);
            let n = (PAGE_SIZE as usize - off).min(data.len() - done);
            let page = self
                .pages
                .get_mut(&page_of(a))
                .ok_or(MemoryFault { addr: a })?;
            page.bytes[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// The `size`-byte (at most 8) unsigned value at `addr`, in the memory's byte order.
    ///
    /// # Errors
    /// [`MemoryFault`] when unmapped.
    pub fn read_uint(&self, addr: u64, size: usize) -> Result<u64, MemoryFault> {
        let mut buf = [0u8; 8];
        let n = size.min(8);
        self.read(addr, &mut buf[..n])?;
        Ok(self.endian.get(&buf[..n]))
    }

    /// Store the low `size` bytes (at most 8) of `value` at `addr`, in the memory's byte order.
    ///
    /// # Errors
    /// [`MemoryFault`] when unmapped.
    pub fn write_uint(&mut self, addr: u64, size: usize, value: u64) -> Result<(), MemoryFault> {
        let mut buf = [0u8; 8];
        let n = size.min(8);
        self.endian.put(value, &mut buf[..n]);
        self.write(addr, &buf[..n])
    }

    /// Every mapped page's base address and contents, in address order (for comparing the
    /// memory results of two runs).
    pub fn pages(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.pages.iter().map(|(base, p)| (*base, &p.bytes[..]))
    }

    fn check(&self, addr: u64, len: u64) -> Result<(), MemoryFault> {
        if len == 0 {
            return Ok(());
        }
        let mut a = addr;
        let last = addr.wrapping_add(len - 1);
        loop {
            if !self.pages.contains_key(&page_of(a)) {
                return Err(MemoryFault { addr: a });
            }
            if page_of(a) == page_of(last) {
                return Ok(());
            }
            a = page_of(a).wrapping_add(PAGE_SIZE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_and_big_endian_store_the_bytes_of_their_isa() {
        let mut le = Memory::new(Endian::Little);
        let mut be = Memory::new(Endian::Big);
        for m in [&mut le, &mut be] {
            m.map(0x1000, 16, RegionAttributes::default());
            m.write_uint(0x1000, 4, 0x1122_3344).unwrap();
        }
        let mut b = [0; 4];
        le.read(0x1000, &mut b).unwrap();
        assert_eq!(b, [0x44, 0x33, 0x22, 0x11]);
        be.read(0x1000, &mut b).unwrap();
        assert_eq!(b, [0x11, 0x22, 0x33, 0x44]);
        assert_eq!(be.read_uint(0x1000, 4).unwrap(), 0x1122_3344);
        assert_eq!(le.read_uint(0x1000, 2).unwrap(), 0x3344);
    }

    #[test]
    fn accesses_cross_pages_and_fault_atomically_when_unmapped() {
        let mut m = Memory::new(Endian::Little);
        m.map(0x1000, 0x2000, RegionAttributes::default());
        m.write(0x1ffc, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!(m.read_uint(0x1ffc, 8).unwrap(), 0x0807_0605_0403_0201);
        assert_eq!(m.write(0x2ffe, &[9; 4]), Err(MemoryFault { addr: 0x3000 }));
        // Nothing of the faulting write landed.
        assert_eq!(m.read_uint(0x2ffe, 2).unwrap(), 0);
        let mut b = [0; 1];
        assert_eq!(
            m.read(u64::MAX, &mut b),
            Err(MemoryFault { addr: u64::MAX })
        );
    }

    #[test]
    fn cache_inhibited_attribute_is_per_page() {
        let mut m = Memory::new(Endian::Big);
        m.map(0x1000, 0x1000, RegionAttributes::default());
        m.map(
            0x2000,
            0x1000,
            RegionAttributes {
                cache_inhibited: true,
            },
        );
        assert!(!m.any_cache_inhibited(0x1000, 0x1000));
        assert!(m.any_cache_inhibited(0x1ff8, 16));
        assert!(m.is_mapped(0x1000, 0x2000));
        assert!(!m.is_mapped(0x1000, 0x2001));
    }
}
