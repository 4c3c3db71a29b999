//! Slabs: records addressed by a small index, with a generation so stale handles are caught.

/// A store of records addressed by `u32` indices, reusing freed places.
///
/// Implemented by [`FixedSlab`] (a fixed array, no allocation) and, with the `alloc`
/// feature, `VecSlab` (grows on demand). A kernel can implement it over its own allocator.
pub trait Slab<T> {
    /// An empty slab.
    fn empty() -> Self;
    /// The record at `index`, if occupied.
    fn get(&self, index: u32) -> Option<&T>;
    /// The record at `index`, if occupied.
    fn get_mut(&mut self, index: u32) -> Option<&mut T>;
    /// The generation of the occupied place `index` (bumped each time the place is freed).
    fn generation(&self, index: u32) -> Option<u32>;
    /// Whether `count` more records fit; without `may_grow` only places that exist count.
    fn can_insert(&self, count: usize, may_grow: bool) -> bool;
    /// Store `value`; returns its index and generation, or gives it back when it does not
    /// fit (full, or growing was needed and not allowed, or the allocator refused).
    ///
    /// # Errors
    /// The value itself, unchanged, when it could not be stored.
    fn insert(&mut self, value: T, may_grow: bool) -> Result<(u32, u32), T>;
    /// Take the record at `index` out, freeing its place.
    fn remove(&mut self, index: u32) -> Option<T>;
    /// Number of records stored.
    fn len(&self) -> usize;
    /// Whether no record is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One place of a slab.
#[derive(Debug, Clone)]
enum Place<T> {
    Vacant {
        next_free: Option<u32>,
        generation: u32,
    },
    Occupied {
        value: T,
        generation: u32,
    },
}

/// The free-list logic shared by both slabs, over their places.
fn take_free<T>(
    places: &mut [Place<T>],
    free: &mut Option<u32>,
    value: T,
) -> Result<(u32, u32), T> {
    let Some(index) = *free else {
        return Err(value);
    };
    let Some(place) = usize::try_from(index).ok().and_then(|i| places.get_mut(i)) else {
        return Err(value);
    };
    match *place {
        Place::Vacant {
            next_free,
            generation,
        } => {
            *free = next_free;
            *place = Place::Occupied { value, generation };
            Ok((index, generation))
        }
        // A corrupted free list; refuse rather than overwrite a live record.
        Place::Occupied { .. } => Err(value),
    }
}

fn give_back<T>(places: &mut [Place<T>], free: &mut Option<u32>, index: u32) -> Option<T> {
    let place = places.get_mut(usize::try_from(index).ok()?)?;
    let generation = match place {
        Place::Occupied { generation, .. } => generation.wrapping_add(1),
        Place::Vacant { .. } => return None,
    };
    let old = core::mem::replace(
        place,
        Place::Vacant {
            next_free: *free,
            generation,
        },
    );
    *free = Some(index);
    match old {
        Place::Occupied { value, .. } => Some(value),
        Place::Vacant { .. } => None,
    }
}

fn value_of<T>(places: &[Place<T>], index: u32) -> Option<&T> {
    match places.get(usize::try_from(index).ok()?)? {
        Place::Occupied { value, .. } => Some(value),
        Place::Vacant { .. } => None,
    }
}

fn value_of_mut<T>(places: &mut [Place<T>], index: u32) -> Option<&mut T> {
    match places.get_mut(usize::try_from(index).ok()?)? {
        Place::Occupied { value, .. } => Some(value),
        Place::Vacant { .. } => None,
    }
}

fn generation_of<T>(places: &[Place<T>], index: u32) -> Option<u32> {
    match places.get(usize::try_from(index).ok()?)? {
        Place::Occupied { generation, .. } => Some(*generation),
        Place::Vacant { .. } => None,
    }
}

/// A slab of at most `N` records in a fixed array: no allocation, ever.
#[derive(Debug, Clone)]
pub struct FixedSlab<T, const N: usize> {
    places: [Place<T>; N],
    free: Option<u32>,
    len: usize,
}

impl<T, const N: usize> Slab<T> for FixedSlab<T, N> {
    fn empty() -> Self {
        // Chain every place into the free list, lowest index first.
        let places = core::array::from_fn(|i| Place::Vacant {
            next_free: u32::try_from(i + 1)
                .ok()
                .filter(|&next| (next as usize) < N),
            generation: 0,
        });
        Self {
            places,
            free: if N > 0 && u32::try_from(N).is_ok() {
                Some(0)
            } else {
                None
            },
            len: 0,
        }
    }
    fn get(&self, index: u32) -> Option<&T> {
        value_of(&self.places, index)
    }
    fn get_mut(&mut self, index: u32) -> Option<&mut T> {
        value_of_mut(&mut self.places, index)
    }
    fn generation(&self, index: u32) -> Option<u32> {
        generation_of(&self.places, index)
    }
    fn can_insert(&self, count: usize, _may_grow: bool) -> bool {
        self.len.saturating_add(count) <= N
    }
    fn insert(&mut self, value: T, _may_grow: bool) -> Result<(u32, u32), T> {
        let stored = take_free(&mut self.places, &mut self.free, value)?;
        self.len += 1;
        Ok(stored)
    }
    fn remove(&mut self, index: u32) -> Option<T> {
        let value = give_back(&mut self.places, &mut self.free, index)?;
        self.len -= 1;
        Some(value)
    }
    fn len(&self) -> usize {
        self.len
    }
}

/// A slab that grows on demand (`alloc` feature); freed places are reused first, so a
/// steady state of reservations never allocates.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone)]
pub struct VecSlab<T> {
    places: alloc::vec::Vec<Place<T>>,
    free: Option<u32>,
    len: usize,
}

#[cfg(feature = "alloc")]
impl<T> Slab<T> for VecSlab<T> {
    fn empty() -> Self {
        Self {
            places: alloc::vec::Vec::new(),
            free: None,
            len: 0,
        }
    }
    fn get(&self, index: u32) -> Option<&T> {
        value_of(&self.places, index)
    }
    fn get_mut(&mut self, index: u32) -> Option<&mut T> {
        value_of_mut(&mut self.places, index)
    }
    fn generation(&self, index: u32) -> Option<u32> {
        generation_of(&self.places, index)
    }
    fn can_insert(&self, count: usize, may_grow: bool) -> bool {
        let vacant = self.places.len() - self.len;
        vacant >= count
            || (may_grow && self.places.len().saturating_add(count) <= u32::MAX as usize)
    }
    fn insert(&mut self, value: T, may_grow: bool) -> Result<(u32, u32), T> {
        if self.free.is_none() {
            if !may_grow {
                return Err(value);
            }
            let Ok(index) = u32::try_from(self.places.len()) else {
                return Err(value);
            };
            // Grow without aborting on allocation failure.
            if self.places.try_reserve(1).is_err() {
                return Err(value);
            }
            self.places.push(Place::Vacant {
                next_free: None,
                generation: 0,
            });
            self.free = Some(index);
        }
        let stored = take_free(&mut self.places, &mut self.free, value)?;
        self.len += 1;
        Ok(stored)
    }
    fn remove(&mut self, index: u32) -> Option<T> {
        let value = give_back(&mut self.places, &mut self.free, index)?;
        self.len -= 1;
        Some(value)
    }
    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_slab_refuses_when_full_and_catches_stale_generations() {
        let mut slab: FixedSlab<u8, 2> = Slab::empty();
        let (a, ga) = slab.insert(1, true).unwrap();
        let (b, _) = slab.insert(2, true).unwrap();
        assert_eq!(slab.insert(3, true), Err(3));
        assert!(!slab.can_insert(1, true));
        assert_eq!(slab.remove(a), Some(1));
        assert_eq!(slab.remove(a), None);
        let (c, gc) = slab.insert(4, true).unwrap();
        assert_eq!(c, a);
        assert_ne!(gc, ga);
        assert_eq!(slab.get(b), Some(&2));
        assert_eq!(slab.len(), 2);
        assert_eq!(slab.get(99), None);
    }

    #[test]
    fn empty_fixed_slab_is_always_full() {
        let mut slab: FixedSlab<u8, 0> = Slab::empty();
        assert_eq!(slab.insert(1, true), Err(1));
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn vec_slab_grows_only_when_allowed() {
        let mut slab: VecSlab<u8> = Slab::empty();
        assert_eq!(slab.insert(1, false), Err(1));
        let (a, _) = slab.insert(1, true).unwrap();
        slab.remove(a);
        assert!(slab.can_insert(1, false));
        assert_eq!(slab.insert(2, false).map(|(i, _)| i), Ok(a));
    }
}
