//! A histogram of small counts: how many members (tasks or CPUs) hold each slot count.
//!
//! This is what keeps reservation O(1) in the number of tasks: the largest per-task count on
//! a CPU is the highest non-empty bucket, found in `BUCKETS` steps, never by walking tasks.

use crate::SlotId;

/// Buckets 0..=the largest pool: a count never exceeds the slots of its pool, because the
/// fit rule refuses every reservation that would make it so.
pub(super) const BUCKETS: usize = SlotId::MAX_PER_POOL as usize + 1;

/// `buckets[k]` = how many members currently hold exactly `k` slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Histogram {
    buckets: [u32; BUCKETS],
}

impl Histogram {
    /// Count one more member holding `value` slots.
    pub(super) fn add(&mut self, value: u8) {
        if let Some(bucket) = self.buckets.get_mut(bucket_of(value)) {
            *bucket = bucket.saturating_add(1);
        }
    }

    /// Count `members` more members holding `value` slots (initialisation of CPU histograms).
    pub(super) fn add_many(&mut self, value: u8, members: u32) {
        if let Some(bucket) = self.buckets.get_mut(bucket_of(value)) {
            *bucket = bucket.saturating_add(members);
        }
    }

    /// Forget one member holding `value` slots.
    pub(super) fn remove(&mut self, value: u8) {
        if let Some(bucket) = self.buckets.get_mut(bucket_of(value)) {
            *bucket = bucket.saturating_sub(1);
        }
    }

    /// One member went from `from` to `to` slots.
    pub(super) fn shift(&mut self, from: u8, to: u8) {
        if from != to {
            self.remove(from);
            self.add(to);
        }
    }

    /// The largest count any member holds (0 when there is none).
    pub(super) fn max(&self) -> u8 {
        self.buckets
            .iter()
            .rposition(|&members| members > 0)
            .and_then(|k| u8::try_from(k).ok())
            .unwrap_or(0)
    }

    /// Whether no member holds a non-zero count.
    pub(super) fn is_zero_above_zero(&self) -> bool {
        self.buckets.iter().skip(1).all(|&members| members == 0)
    }
}

/// Counts above the largest bucket can only come from a broken invariant; they are clamped
/// into the top bucket so nothing ever indexes out of range.
fn bucket_of(value: u8) -> usize {
    usize::from(value).min(BUCKETS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_follows_the_highest_member() {
        let mut h = Histogram::default();
        assert_eq!(h.max(), 0);
        h.add(2);
        h.add(4);
        assert_eq!(h.max(), 4);
        h.shift(4, 1);
        assert_eq!(h.max(), 2);
        h.remove(2);
        assert_eq!(h.max(), 1);
        assert!(!h.is_zero_above_zero());
        h.remove(1);
        assert!(h.is_zero_above_zero());
        // Out-of-range values never panic.
        h.add(200);
        assert_eq!(h.max(), 4);
        h.remove(0);
        h.remove(0);
    }
}
