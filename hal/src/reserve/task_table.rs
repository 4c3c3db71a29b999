//! Per-task records found by task id in O(1): open addressing with linear probing.
//!
//! Task ids are arbitrary 64-bit numbers chosen by the embedding kernel, so they are hashed;
//! deletion shifts later entries back instead of leaving tombstones, so a table that sees
//! millions of tasks come and go never degrades.

use crate::TaskId;

/// A map from task id to the engine's per-task record.
///
/// Implemented by [`FixedTaskTable`] (fixed array) and, with the `alloc` feature,
/// `HeapTaskTable` (grows on demand).
pub trait TaskTable<V> {
    /// An empty table.
    fn empty() -> Self;
    /// The record of `task`.
    fn get(&self, task: TaskId) -> Option<&V>;
    /// The record of `task`.
    fn get_mut(&mut self, task: TaskId) -> Option<&mut V>;
    /// Whether one more task fits; without `may_grow` only existing room counts.
    fn can_insert(&self, may_grow: bool) -> bool;
    /// Store the record of a task that has none yet.
    ///
    /// # Errors
    /// The value back when the table is full (or would have to grow and may not).
    fn insert(&mut self, task: TaskId, value: V, may_grow: bool) -> Result<(), V>;
    /// Take the record of `task` out.
    fn remove(&mut self, task: TaskId) -> Option<V>;
    /// Number of tasks stored.
    fn len(&self) -> usize;
    /// Whether no task is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The most entries a table of `capacity` places holds: 7/8 full keeps probe runs short.
const fn usable(capacity: usize) -> usize {
    capacity - capacity / 8
}

/// Home place of `task` in a table of `len` places (multiply-shift range reduction of a
/// well-mixed hash, so any `len` works, not only powers of two).
fn home(task: TaskId, len: usize) -> usize {
    let mut x = task.0;
    // splitmix64 finaliser: nearby ids (1, 2, 3, …) land far apart.
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    usize::try_from((u128::from(x) * len as u128) >> 64).unwrap_or(0)
}

fn find<V>(places: &[Option<(TaskId, V)>], task: TaskId) -> Option<usize> {
    let len = places.len();
    if len == 0 {
        return None;
    }
    let mut i = home(task, len);
    for _ in 0..len {
        match places.get(i)? {
            None => return None,
            Some((t, _)) if *t == task => return Some(i),
            Some(_) => i = (i + 1) % len,
        }
    }
    None
}

fn place<V>(places: &mut [Option<(TaskId, V)>], task: TaskId, value: V) -> Result<(), V> {
    let len = places.len();
    if len == 0 {
        return Err(value);
    }
    let mut i = home(task, len);
    for _ in 0..len {
        match places.get_mut(i) {
            Some(slot @ None) => {
                *slot = Some((task, value));
                return Ok(());
            }
            Some(Some(_)) => i = (i + 1) % len,
            None => break,
        }
    }
    Err(value)
}

fn take<V>(places: &mut [Option<(TaskId, V)>], task: TaskId) -> Option<V> {
    let len = places.len();
    let mut hole = find(places, task)?;
    let (_, value) = places.get_mut(hole)?.take()?;
    // Backward-shift deletion: move each later entry of the run into the hole when the hole
    // lies between its home and its place, so every entry stays reachable from its home.
    let mut j = hole;
    loop {
        j = (j + 1) % len;
        let Some(Some((next, _))) = places.get(j) else {
            break;
        };
        let k = home(*next, len);
        let distance = |from: usize, to: usize| (to + len - from) % len;
        if distance(k, j) >= distance(hole, j) {
            let moved = places.get_mut(j).and_then(Option::take);
            if let Some(slot) = places.get_mut(hole) {
                *slot = moved;
            }
            hole = j;
        }
    }
    Some(value)
}

/// A task table of `N` places in a fixed array; holds at most `N - N/8` tasks.
#[derive(Debug, Clone)]
pub struct FixedTaskTable<V, const N: usize> {
    places: [Option<(TaskId, V)>; N],
    len: usize,
}

impl<V, const N: usize> TaskTable<V> for FixedTaskTable<V, N> {
    fn empty() -> Self {
        Self {
            places: core::array::from_fn(|_| None),
            len: 0,
        }
    }
    fn get(&self, task: TaskId) -> Option<&V> {
        let i = find(&self.places, task)?;
        self.places.get(i)?.as_ref().map(|(_, v)| v)
    }
    fn get_mut(&mut self, task: TaskId) -> Option<&mut V> {
        let i = find(&self.places, task)?;
        self.places.get_mut(i)?.as_mut().map(|(_, v)| v)
    }
    fn can_insert(&self, _may_grow: bool) -> bool {
        self.len < usable(N)
    }
    fn insert(&mut self, task: TaskId, value: V, may_grow: bool) -> Result<(), V> {
        if !self.can_insert(may_grow) {
            return Err(value);
        }
        place(&mut self.places, task, value)?;
        self.len += 1;
        Ok(())
    }
    fn remove(&mut self, task: TaskId) -> Option<V> {
        let value = take(&mut self.places, task)?;
        self.len -= 1;
        Some(value)
    }
    fn len(&self) -> usize {
        self.len
    }
}

/// A task table that doubles when half full (`alloc` feature).
#[cfg(feature = "alloc")]
#[derive(Debug, Clone)]
pub struct HeapTaskTable<V> {
    places: alloc::vec::Vec<Option<(TaskId, V)>>,
    len: usize,
}

#[cfg(feature = "alloc")]
impl<V> HeapTaskTable<V> {
    const INITIAL: usize = 16;

    /// The heap table may spend memory for speed: at most half full, so a probe run is short
    /// (about 1.5 places on a hit) even with 100k tasks, where every miss is a cache miss.
    const fn usable_heap(capacity: usize) -> usize {
        capacity / 2
    }

    /// Rehash into a table of `capacity` places; `false` if the allocator refused.
    fn regrow(&mut self, capacity: usize) -> bool {
        let mut bigger = alloc::vec::Vec::new();
        if bigger.try_reserve_exact(capacity).is_err() {
            return false;
        }
        bigger.resize_with(capacity, || None);
        for (task, value) in core::mem::take(&mut self.places).into_iter().flatten() {
            // Cannot fail: the new table is larger than the number of entries.
            let _ = place(&mut bigger, task, value);
        }
        self.places = bigger;
        true
    }
}

#[cfg(feature = "alloc")]
impl<V> TaskTable<V> for HeapTaskTable<V> {
    fn empty() -> Self {
        Self {
            places: alloc::vec::Vec::new(),
            len: 0,
        }
    }
    fn get(&self, task: TaskId) -> Option<&V> {
        let i = find(&self.places, task)?;
        self.places.get(i)?.as_ref().map(|(_, v)| v)
    }
    fn get_mut(&mut self, task: TaskId) -> Option<&mut V> {
        let i = find(&self.places, task)?;
        self.places.get_mut(i)?.as_mut().map(|(_, v)| v)
    }
    fn can_insert(&self, may_grow: bool) -> bool {
        self.len < Self::usable_heap(self.places.len()) || may_grow
    }
    fn insert(&mut self, task: TaskId, value: V, may_grow: bool) -> Result<(), V> {
        if self.len >= Self::usable_heap(self.places.len()) {
            let capacity = self.places.len().saturating_mul(2).max(Self::INITIAL);
            if !may_grow || !self.regrow(capacity) {
                return Err(value);
            }
        }
        place(&mut self.places, task, value)?;
        self.len += 1;
        Ok(())
    }
    fn remove(&mut self, task: TaskId) -> Option<V> {
        let value = take(&mut self.places, task)?;
        self.len -= 1;
        Some(value)
    }
    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    #[cfg(feature = "alloc")]
    use std::vec::Vec;

    proptest! {
        /// The table agrees with a BTreeMap on any sequence of inserts and removes, including
        /// colliding ids that exercise backward-shift deletion.
        #[test]
        fn fixed_table_matches_a_map(ops in proptest::collection::vec((any::<bool>(), 0u64..40), 0..200)) {
            let mut table: FixedTaskTable<u64, 37> = TaskTable::empty();
            let mut model = BTreeMap::new();
            for (insert, id) in ops {
                let task = TaskId(id);
                if insert {
                    if model.contains_key(&id) {
                        continue;
                    }
                    let ok = table.insert(task, id * 10, false).is_ok();
                    // 37 places, of which 37 - ⌊37 / 8⌋ = 33 are usable.
                    prop_assert_eq!(ok, model.len() < 33);
                    if ok {
                        model.insert(id, id * 10);
                    }
                } else {
                    prop_assert_eq!(table.remove(task), model.remove(&id));
                }
                prop_assert_eq!(table.len(), model.len());
                for id in 0..40 {
                    prop_assert_eq!(table.get(TaskId(id)), model.get(&id));
                }
            }
        }
    }

    #[test]
    fn a_fixed_table_fills_to_seven_eighths() {
        let mut table: FixedTaskTable<u64, 37> = TaskTable::empty();
        for id in 0..33 {
            assert!(table.can_insert(false), "{id}");
            table.insert(TaskId(id), id, false).unwrap();
        }
        assert!(!table.can_insert(false));
        assert_eq!(table.insert(TaskId(99), 99, false), Err(99));
        assert_eq!(table.remove(TaskId(7)), Some(7));
        assert!(table.insert(TaskId(99), 99, false).is_ok());
        assert!(!table.is_empty());
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn heap_table_grows() {
        let mut table: HeapTaskTable<u64> = TaskTable::empty();
        assert!(table.insert(TaskId(1), 1, false).is_err());
        for id in 0..1000 {
            table.insert(TaskId(id), id, true).unwrap();
        }
        for id in (0..1000).step_by(2) {
            assert_eq!(table.remove(TaskId(id)), Some(id));
        }
        let left: Vec<_> = (0..1000)
            .filter_map(|id| table.get(TaskId(id)).copied())
            .collect();
        assert_eq!(left, (1..1000).step_by(2).collect::<Vec<_>>());
    }
}
