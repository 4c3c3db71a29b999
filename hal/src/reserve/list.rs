//! Intrusive doubly linked lists of groups, threaded through the group records themselves:
//! linking and unlinking are O(1) and never allocate.

use super::record::{Group, ListEnds};
use super::slab::Slab;

/// Insert `index` after `after` (`None`: at the front).
pub(super) fn link_after<P, R: Slab<Group<P>>>(
    groups: &mut R,
    ends: &mut ListEnds,
    after: Option<u32>,
    index: u32,
) {
    let next = match after {
        Some(a) => groups.get(a).and_then(|g| g.next),
        None => ends.head,
    };
    if let Some(g) = groups.get_mut(index) {
        g.prev = after;
        g.next = next;
    }
    match after.and_then(|a| groups.get_mut(a)) {
        Some(a) => a.next = Some(index),
        None => ends.head = Some(index),
    }
    match next.and_then(|n| groups.get_mut(n)) {
        Some(n) => n.prev = Some(index),
        None => ends.tail = Some(index),
    }
}

/// Take `index` out; returns the group it followed, so it can be put back exactly there.
pub(super) fn unlink<P, R: Slab<Group<P>>>(
    groups: &mut R,
    ends: &mut ListEnds,
    index: u32,
) -> Option<u32> {
    let (prev, next) = match groups.get_mut(index) {
        Some(g) => {
            let links = (g.prev, g.next);
            g.prev = None;
            g.next = None;
            links
        }
        None => return None,
    };
    match prev.and_then(|p| groups.get_mut(p)) {
        Some(p) => p.next = next,
        None => ends.head = next,
    }
    match next.and_then(|n| groups.get_mut(n)) {
        Some(n) => n.prev = prev,
        None => ends.tail = prev,
    }
    prev
}

/// Walk a list from its head.
pub(super) fn iter<'a, P: 'a, R: Slab<Group<P>>>(
    groups: &'a R,
    ends: ListEnds,
) -> impl Iterator<Item = (u32, &'a Group<P>)> + 'a {
    let mut cursor = ends.head;
    core::iter::from_fn(move || {
        let index = cursor?;
        let group = groups.get(index)?;
        cursor = group.next;
        Some((index, group))
    })
}
