//! Splitting a doubleword-rounded range into the fewest data slots.
//!
//! A slot watches at most `max` bytes and, where the profile has a boundary rule, may not
//! contain a multiple of `boundary` except at its start. Inside each boundary block the
//! covering is independent of every other block, and covering an interval with intervals of
//! length ≤ `max` needs exactly ⌈piece / max⌉ of them, which the greedy split attains — so
//! the split below is minimal (the tests compare it with a brute-force count).

use hwbkpt_hal::{AddressRange, RequestError};

use crate::profile::DOUBLEWORD;

/// The request's range rounded out to whole doublewords (and no more).
///
/// # Errors
/// [`RequestError::RangeWraps`] when the rounded range would end past `u64::MAX` (the
/// request touches the last doubleword of the address space); the error carries the rounded
/// start and the length up to the end of the address space.
pub(crate) const fn doubleword_window(range: AddressRange) -> Result<AddressRange, RequestError> {
    match range.rounded_out(DOUBLEWORD) {
        Some(window) => Ok(window),
        None => {
            let start = range.start() & !(DOUBLEWORD - 1);
            let len = 0u64.wrapping_sub(start);
            Err(RequestError::RangeWraps {
                addr: start,
                len: if len == 0 { u64::MAX } else { len },
            })
        }
    }
}

/// Slots of at most `max` bytes, none containing a multiple of `boundary` past its start,
/// needed to cover `range` (saturating; `max` and `boundary` of 0 count as 1).
pub(crate) const fn slots_needed(range: AddressRange, max: u64, boundary: Option<u64>) -> u64 {
    let max = if max == 0 { 1 } else { max };
    let Some(block) = boundary else {
        return range.len().div_ceil(max);
    };
    let block = if block == 0 { 1 } else { block };
    let first_block = range.start() / block;
    let last_block = range.last() / block;
    if first_block == last_block {
        return range.len().div_ceil(max);
    }
    // first_block < last_block, so (first_block + 1) * block <= range.last() fits.
    let first_piece = (first_block + 1) * block - range.start();
    let last_piece = range.last() - last_block * block + 1;
    let middle_blocks = last_block - first_block - 1;
    first_piece
        .div_ceil(max)
        .saturating_add(last_piece.div_ceil(max))
        .saturating_add(middle_blocks.saturating_mul(block.div_ceil(max)))
}

/// The greedy split of `range` into pieces of at most `max` bytes that do not cross
/// `boundary`, in ascending order.
pub(crate) fn split(
    range: AddressRange,
    max: u64,
    boundary: Option<u64>,
) -> impl Iterator<Item = AddressRange> {
    let max = max.max(1);
    let boundary = boundary.map(|b| b.max(1));
    let end = range.end();
    let mut next = range.start();
    core::iter::from_fn(move || {
        if next >= end {
            return None;
        }
        let mut piece_end = end.min(next.saturating_add(max));
        if let Some(b) = boundary {
            // The next multiple of b above `next`; none past u64::MAX means no limit.
            if let Some(limit) = (next / b + 1).checked_mul(b) {
                piece_end = piece_end.min(limit);
            }
        }
        let piece = AddressRange::new(next, piece_end - next).ok();
        next = piece_end;
        piece
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(start: u64, len: u64) -> AddressRange {
        AddressRange::new(start, len).unwrap()
    }

    #[test]
    fn window_rounds_to_doublewords_only() {
        assert_eq!(doubleword_window(r(0x1003, 6)), Ok(r(0x1000, 16)));
        assert_eq!(doubleword_window(r(0x1000, 8)), Ok(r(0x1000, 8)));
        assert_eq!(doubleword_window(r(0x1007, 1)), Ok(r(0x1000, 8)));
        assert_eq!(
            doubleword_window(r(u64::MAX - 3, 2)),
            Err(RequestError::RangeWraps {
                addr: u64::MAX - 7,
                len: 8
            })
        );
        assert_eq!(
            doubleword_window(r(0, u64::MAX)),
            Err(RequestError::RangeWraps {
                addr: 0,
                len: u64::MAX
            })
        );
    }

    #[test]
    fn split_examples() {
        let pieces: Vec<_> = split(r(0x11F8, 16), 512, Some(512)).collect();
        assert_eq!(pieces, [r(0x11F8, 8), r(0x1200, 8)]);
        let pieces: Vec<_> = split(r(0x1008, 1024), 512, None).collect();
        assert_eq!(pieces, [r(0x1008, 512), r(0x1208, 512)]);
        let pieces: Vec<_> = split(r(0x1000, 16), 8, None).collect();
        assert_eq!(pieces, [r(0x1000, 8), r(0x1008, 8)]);
        assert_eq!(slots_needed(r(0x11F8, 16), 512, Some(512)), 2);
        assert_eq!(slots_needed(r(0x11F8, 16), 512, None), 1);
        assert_eq!(
            slots_needed(r(0, u64::MAX - 7), 8, None),
            (u64::MAX - 7) / 8
        );
    }

    #[test]
    fn byte_ranges_count_a_one_byte_piece_past_the_boundary() {
        // 60..65 crosses 64: 4 bytes before it, 1 after.
        assert_eq!(slots_needed(r(60, 5), 8, Some(64)), 2);
        assert_eq!(slots_needed(r(60, 4), 8, Some(64)), 1);
    }

    /// Fewest pieces by dynamic programming over every doubleword cut point.
    fn brute_force(start: u64, len: u64, max: u64, boundary: Option<u64>) -> u64 {
        let n = (len / 8) as usize;
        let mut best = vec![u64::MAX; n + 1];
        best[0] = 0;
        for i in 0..n {
            if best[i] == u64::MAX {
                continue;
            }
            for j in i + 1..=n {
                let (a, b) = (start + 8 * i as u64, start + 8 * j as u64);
                let ok = b - a <= max && boundary.is_none_or(|blk| a / blk == (b - 1) / blk);
                if ok {
                    best[j] = best[j].min(best[i] + 1);
                }
            }
        }
        best[n]
    }

    proptest! {
        #[test]
        fn split_is_minimal_and_exact(
            start in (0u64..512).prop_map(|d| d * 8),
            dws in 1u64..200,
            max_dws in prop::sample::select(vec![1u64, 2, 3, 8, 64]),
            boundary in prop::sample::select(vec![None, Some(64u64), Some(512)]),
        ) {
            let max = max_dws * 8;
            let range = r(start, dws * 8);
            let pieces: Vec<_> = split(range, max, boundary).collect();
            // Exact cover, ascending, no overlap.
            prop_assert_eq!(pieces.first().map(AddressRange::start), Some(range.start()));
            prop_assert_eq!(pieces.last().map(AddressRange::end), Some(range.end()));
            for w in pieces.windows(2) {
                prop_assert_eq!(w[0].end(), w[1].start());
            }
            for p in &pieces {
                prop_assert!(p.len() <= max);
                prop_assert_eq!(p.start() % 8, 0);
                prop_assert_eq!(p.len() % 8, 0);
                if let Some(b) = boundary {
                    prop_assert_eq!(p.start() / b, p.last() / b);
                }
            }
            prop_assert_eq!(pieces.len() as u64, slots_needed(range, max, boundary));
            prop_assert_eq!(slots_needed(range, max, boundary), brute_force(start, dws * 8, max, boundary));
        }

        #[test]
        fn never_panics(start: u64, len: u64, max: u64, boundary: Option<u64>) {
            if let Ok(range) = AddressRange::new(start, len) {
                let _ = doubleword_window(range);
                let needed = slots_needed(range, max, boundary);
                prop_assert!(needed >= 1);
                // Walk a few pieces only: the count may be astronomically large.
                let walked = split(range, max, boundary).take(4).count();
                prop_assert!(walked >= 1);
            }
        }
    }
}
