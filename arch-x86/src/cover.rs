//! Exact covers of a byte range by naturally aligned 1-, 2-, 4- and 8-byte pieces.
//!
//! An x86 slot watches `LEN` bytes at an address aligned to `LEN` (Intel SDM Vol. 3B §18.2.5
//! "Breakpoint Field Recognition"). To watch an arbitrary range *exactly* — no byte outside
//! it — the planner splits it into such pieces. [`AlignedCover`] yields the pieces of the
//! greedy cover: at each position, the largest aligned piece that still fits.

use hwbkpt_hal::AddressRange;

use crate::BreakpointLength;

/// One piece of a cover: `length` bytes at an address aligned to `length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlignedPiece {
    range: AddressRange,
    length: BreakpointLength,
}

impl AlignedPiece {
    /// First byte.
    #[must_use]
    pub const fn address(&self) -> u64 {
        self.range.start()
    }

    /// Length, as the LEN encoding.
    #[must_use]
    pub const fn length(&self) -> BreakpointLength {
        self.length
    }

    /// The bytes the piece covers.
    #[must_use]
    pub const fn range(&self) -> AddressRange {
        self.range
    }
}

/// Iterator over the greedy exact cover of a range: at each position, the largest naturally
/// aligned piece that still fits. Pieces come in ascending address order, are pairwise
/// disjoint, and their union is exactly the range. No count limit is applied here; the
/// planner compares [`piece_count`](Self::piece_count) with the slots available.
///
/// # Why greedy is optimal
///
/// 1. Two naturally aligned power-of-two blocks are either disjoint or nested. So in an
///    exact cover whose pieces overlap, one piece lies inside another and can be dropped: a
///    minimal exact cover is a partition.
/// 2. Take a minimal partition sorted by address and the first position `p` where it
///    differs from greedy. Greedy takes `g`, the largest piece aligned at `p` that fits; the
///    partition's piece at `p` is also aligned there and fits, so it is smaller. Every piece
///    of the partition meeting the block `G = [p, p + g)` lies inside `G` (by 1., a piece
///    containing `G` would start at or before `p`, but those before `p` end by `p` and the one
///    at `p` is smaller than `G`). At least two pieces tile `G`; replacing them with `G`
///    gives a smaller exact cover — contradicting minimality.
///
/// So the greedy cover is the unique minimal one. The tests check this against a
/// shortest-path search for every start modulo 64 and every length up to 64, and against
/// an exhaustive subset search (overlaps allowed) for short ranges.
///
/// ```
/// use hwbkpt_hal::AddressRange;
/// use hwbkpt_x86::{AlignedCover, BreakpointLength};
///
/// // 0x1003..0x100d: 1 byte at 0x1003, 4 at 0x1004, 4 at 0x1008, 1 at 0x100c.
/// let range = AddressRange::new(0x1003, 10)?;
/// let cover = AlignedCover::new(range, BreakpointLength::Eight);
/// assert_eq!(cover.piece_count(), 4);
/// let lengths: Vec<u64> = cover.map(|p| p.length().bytes()).collect();
/// assert_eq!(lengths, [1, 4, 4, 1]);
/// # Ok::<(), hwbkpt_hal::RequestError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlignedCover {
    next: u64,
    end: u64,
    max_piece: u64,
}

impl AlignedCover {
    /// The greedy cover of `range` by pieces of at most `max_piece` bytes.
    #[must_use]
    pub const fn new(range: AddressRange, max_piece: BreakpointLength) -> Self {
        Self {
            next: range.start(),
            end: range.end(),
            max_piece: max_piece.bytes(),
        }
    }

    /// Size of the greedy piece at `at` when the cover ends at `end` (`at < end`).
    const fn piece_at(at: u64, end: u64, max_piece: u64) -> u64 {
        let remaining = end - at;
        // Largest power of two dividing `at`, capped by the longest piece.
        let aligned = if at == 0 {
            max_piece
        } else {
            let low_bit = 1 << at.trailing_zeros();
            if low_bit < max_piece {
                low_bit
            } else {
                max_piece
            }
        };
        // Largest power of two not exceeding what is left.
        let fits = 1 << (u64::BITS - 1 - remaining.leading_zeros());
        if aligned < fits { aligned } else { fits }
    }

    /// Number of pieces the cover has, computed without walking it (a range of 2^60 bytes
    /// answers as fast as one of 8).
    #[must_use]
    pub const fn piece_count(&self) -> u64 {
        let mut at = self.next;
        let mut count = 0;
        // Head: until the position is aligned to the longest piece. Each step either
        // doubles the alignment of the position or leaves less than the piece it took,
        // so this runs at most a handful of times.
        while at < self.end && at & (self.max_piece - 1) != 0 {
            at += Self::piece_at(at, self.end, self.max_piece);
            count += 1;
        }
        if at >= self.end {
            return count;
        }
        // Body and tail: full pieces, then the remainder's binary digits from the top
        // (every smaller power of two is aligned at a position aligned to `max_piece`).
        let remaining = self.end - at;
        count + remaining / self.max_piece + (remaining % self.max_piece).count_ones() as u64
    }
}

impl Iterator for AlignedCover {
    type Item = AlignedPiece;

    fn next(&mut self) -> Option<AlignedPiece> {
        if self.next >= self.end {
            return None;
        }
        let bytes = Self::piece_at(self.next, self.end, self.max_piece);
        // Both always succeed: `bytes` is a power of two at most `max_piece`, and the piece
        // lies inside the range this cover was built from.
        let length = BreakpointLength::from_bytes(bytes)?;
        let range = AddressRange::new(self.next, bytes).ok()?;
        self.next += bytes;
        Some(AlignedPiece { range, length })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match usize::try_from(self.piece_count()) {
            Ok(n) => (n, Some(n)),
            Err(_) => (usize::MAX, None),
        }
    }
}

impl core::iter::FusedIterator for AlignedCover {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LONGEST: [BreakpointLength; 4] = [
        BreakpointLength::Eight,
        BreakpointLength::Four,
        BreakpointLength::Two,
        BreakpointLength::One,
    ];

    /// Fewest aligned pieces (each at most `max` bytes) partitioning `[base, base + len)`,
    /// by a shortest-path search over positions trying *every* aligned piece, not just the
    /// largest. Independent of `AlignedCover`.
    fn shortest_partition(base: u64, len: u64, max: u64) -> u64 {
        let len = usize::try_from(len).unwrap();
        let mut dist = vec![u64::MAX; len + 1];
        dist[0] = 0;
        for i in 0..len {
            if dist[i] == u64::MAX {
                continue;
            }
            for size in [1u64, 2, 4, 8].into_iter().filter(|s| *s <= max) {
                let at = base + i as u64;
                let s = usize::try_from(size).unwrap();
                if at.is_multiple_of(size) && i + s <= len {
                    dist[i + s] = dist[i + s].min(dist[i] + 1);
                }
            }
        }
        dist[len]
    }

    /// Fewest aligned pieces whose union is exactly `[base, base + len)`, overlaps allowed,
    /// by trying every subset of the aligned pieces inside the range (short ranges only).
    fn exhaustive_minimum(base: u64, len: u64) -> u32 {
        let mut pieces: Vec<u64> = Vec::new(); // bit masks relative to base
        for size in [1u64, 2, 4, 8] {
            for offset in 0..len {
                if (base + offset).is_multiple_of(size) && offset + size <= len {
                    pieces.push(((1u64 << size) - 1) << offset);
                }
            }
        }
        let full = (1u64 << len) - 1;
        let mut best = u32::MAX;
        for subset in 1u64..(1 << pieces.len()) {
            if subset.count_ones() >= best {
                continue;
            }
            let union = pieces
                .iter()
                .enumerate()
                .filter(|(i, _)| subset & (1 << i) != 0)
                .fold(0, |acc, (_, m)| acc | m);
            if union == full {
                best = subset.count_ones();
            }
        }
        best
    }

    fn check_exact(base: u64, len: u64, pieces: &[AlignedPiece]) {
        let mut at = base;
        for piece in pieces {
            assert_eq!(piece.address(), at, "gap or overlap in {pieces:?}");
            assert!(piece.length().is_aligned(piece.address()), "{piece:?}");
            at += piece.length().bytes();
        }
        assert_eq!(at, base + len, "cover of {base:#x}+{len} ends at {at:#x}");
    }

    #[test]
    fn greedy_equals_brute_force_for_every_start_mod_64_and_length_up_to_64() {
        for base in [0x1000u64, 0xFFFF_FFFF_FFFF_FF00] {
            for offset in 0..64 {
                for len in 1..=64 {
                    let start = base + offset;
                    let range = AddressRange::new(start, len).unwrap();
                    for max in LONGEST {
                        let cover = AlignedCover::new(range, max);
                        let pieces: Vec<_> = cover.collect();
                        check_exact(start, len, &pieces);
                        let minimum = shortest_partition(start, len, max.bytes());
                        assert_eq!(pieces.len() as u64, minimum, "{start:#x}+{len} max {max:?}");
                        assert_eq!(cover.piece_count(), minimum);
                        assert_eq!(cover.size_hint(), (pieces.len(), Some(pieces.len())));
                    }
                }
            }
        }
    }

    #[test]
    fn greedy_equals_exhaustive_search_with_overlaps_allowed() {
        for offset in 0..8 {
            for len in 1..=8 {
                let start = 0x2000 + offset;
                let range = AddressRange::new(start, len).unwrap();
                let greedy = AlignedCover::new(range, BreakpointLength::Eight).count();
                assert_eq!(
                    greedy as u32,
                    exhaustive_minimum(start, len),
                    "{start:#x}+{len}"
                );
            }
        }
    }

    #[test]
    fn aligned_blocks_are_nested_or_disjoint() {
        // The fact behind "a minimal cover is a partition".
        for a_size in [1u64, 2, 4, 8] {
            for b_size in [1u64, 2, 4, 8] {
                for a in (0..64).step_by(usize::try_from(a_size).unwrap()) {
                    for b in (0..64).step_by(usize::try_from(b_size).unwrap()) {
                        let (ra, rb) = (
                            AddressRange::new(a, a_size).unwrap(),
                            AddressRange::new(b, b_size).unwrap(),
                        );
                        assert!(!ra.overlaps(&rb) || ra.covers(&rb) || rb.covers(&ra));
                    }
                }
            }
        }
    }

    #[test]
    fn last_byte_of_the_address_space() {
        // The end of a range is exclusive and at most u64::MAX, so the top byte itself
        // cannot be requested; the cover reaches right up to it.
        let range = AddressRange::new(u64::MAX - 15, 15).unwrap();
        let pieces: Vec<_> = AlignedCover::new(range, BreakpointLength::Eight).collect();
        check_exact(u64::MAX - 15, 15, &pieces);
        assert_eq!(pieces.len(), 4);
    }

    #[test]
    fn huge_ranges_are_counted_without_walking() {
        let range = AddressRange::new(1, u64::MAX - 1).unwrap();
        let cover = AlignedCover::new(range, BreakpointLength::Eight);
        // head 1+2+4 up to 8, then (2^64 - 8) / 8 - 1 full pieces and 7 = 4+2+1 at the end.
        assert_eq!(cover.piece_count(), 3 + ((u64::MAX - 7) / 8 - 1) + 3);
    }

    #[test]
    fn piece_ranges() {
        let piece = AlignedCover::new(AddressRange::new(0x18, 8).unwrap(), BreakpointLength::Eight)
            .next()
            .unwrap();
        assert_eq!(piece.range(), AddressRange::new(0x18, 8).unwrap());
    }

    proptest! {
        #[test]
        fn any_range_is_covered_exactly(start: u64, len in 1u64..4096, max_index in 0usize..4) {
            let len = len.min(u64::MAX - start);
            prop_assume!(len > 0);
            let range = AddressRange::new(start, len).unwrap();
            let cover = AlignedCover::new(range, LONGEST[max_index]);
            let pieces: Vec<_> = cover.collect();
            check_exact(start, len, &pieces);
            prop_assert_eq!(cover.piece_count(), pieces.len() as u64);
            prop_assert!(pieces.iter().all(|p| p.length().bytes() <= LONGEST[max_index].bytes()));
        }

        #[test]
        fn piece_count_never_panics(start: u64, len: u64) {
            if let Ok(range) = AddressRange::new(start, len) {
                for max in LONGEST {
                    let count = AlignedCover::new(range, max).piece_count();
                    prop_assert!(count >= 1 && count <= len);
                }
            }
        }
    }
}
