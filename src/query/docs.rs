//! Sets of document ids inside one segment: what a filter produces and what
//! aggregation and selection read, in batches.

use roaring::RoaringBitmap;

/// Documents read per batch.
pub const BATCH: usize = 2048;

/// A batch of document ids: a contiguous run or a sorted list.
#[derive(Debug, Clone, Copy)]
pub enum Docs<'a> {
    Range(u32, u32),
    List(&'a [u32]),
}

impl Docs<'_> {
    pub fn len(&self) -> usize {
        match self {
            Docs::Range(start, end) => (end - start) as usize,
            Docs::List(list) => list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn for_each(&self, mut visit: impl FnMut(u32)) {
        match self {
            Docs::Range(start, end) => (*start..*end).for_each(visit),
            Docs::List(list) => list.iter().for_each(|doc| visit(*doc)),
        }
    }

    pub fn get(&self, index: usize) -> u32 {
        match self {
            Docs::Range(start, _) => start + index as u32,
            Docs::List(list) => list[index],
        }
    }
}

/// The documents of one segment that a filter matched.
#[derive(Debug, Clone, PartialEq)]
pub enum DocSet {
    /// `start..end`.
    Range(u32, u32),
    Bitmap(RoaringBitmap),
}

impl DocSet {
    pub fn all(num_docs: usize) -> DocSet {
        DocSet::Range(0, num_docs as u32)
    }

    pub fn empty() -> DocSet {
        DocSet::Range(0, 0)
    }

    pub fn len(&self) -> u64 {
        match self {
            DocSet::Range(start, end) => (end - start) as u64,
            DocSet::Bitmap(bitmap) => bitmap.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn to_bitmap(&self) -> RoaringBitmap {
        match self {
            DocSet::Range(start, end) => {
                let mut bitmap = RoaringBitmap::new();
                bitmap.insert_range(*start..*end);
                bitmap
            }
            DocSet::Bitmap(bitmap) => bitmap.clone(),
        }
    }

    /// The bitmap restricted to `start..end`, kept a range when it is one.
    fn normalized(bitmap: RoaringBitmap) -> DocSet {
        match (bitmap.min(), bitmap.max()) {
            (None, _) | (_, None) => DocSet::empty(),
            (Some(min), Some(max)) if bitmap.len() == (max - min + 1) as u64 => {
                DocSet::Range(min, max + 1)
            }
            _ => DocSet::Bitmap(bitmap),
        }
    }

    pub fn and(&self, other: &DocSet) -> DocSet {
        match (self, other) {
            (DocSet::Range(a, b), DocSet::Range(c, d)) => {
                let start = *a.max(c);
                let end = *b.min(d);
                if start >= end {
                    DocSet::empty()
                } else {
                    DocSet::Range(start, end)
                }
            }
            (DocSet::Range(start, end), DocSet::Bitmap(bitmap))
            | (DocSet::Bitmap(bitmap), DocSet::Range(start, end)) => {
                let mut out = bitmap.clone();
                if *start > 0 {
                    out.remove_range(0..*start);
                }
                out.remove_range(*end..);
                DocSet::Bitmap(out)
            }
            (DocSet::Bitmap(a), DocSet::Bitmap(b)) => DocSet::Bitmap(a & b),
        }
    }

    /// The union of doc sets (the parts of a split, in any order).
    pub fn union(parts: impl IntoIterator<Item = DocSet>) -> DocSet {
        let mut all = RoaringBitmap::new();
        for part in parts {
            match part {
                DocSet::Range(start, end) => {
                    all.insert_range(start..end);
                }
                DocSet::Bitmap(bitmap) => all |= bitmap,
            }
        }
        DocSet::normalized(all)
    }

    pub fn or(&self, other: &DocSet) -> DocSet {
        match (self, other) {
            (DocSet::Range(a, b), DocSet::Range(c, d)) if a <= d && c <= b => {
                DocSet::Range(*a.min(c), *b.max(d))
            }
            _ => DocSet::normalized(self.to_bitmap() | other.to_bitmap()),
        }
    }

    /// Documents of `self` not in `other`.
    pub fn minus(&self, other: &DocSet) -> DocSet {
        match (self, other) {
            (_, DocSet::Range(start, end)) if start >= end => self.clone(),
            (DocSet::Range(a, b), DocSet::Range(c, d)) if c <= a && d >= b => DocSet::empty(),
            (DocSet::Range(a, b), DocSet::Range(c, d)) if c <= a => DocSet::Range(*d.max(a), *b),
            (DocSet::Range(a, b), DocSet::Range(c, d)) if d >= b => DocSet::Range(*a, *c.min(b)),
            _ => DocSet::normalized(self.to_bitmap() - other.to_bitmap()),
        }
    }

    /// Calls `visit` with the documents in order, [`BATCH`] at a time.
    /// Stops early when `visit` returns false.
    pub fn for_each_batch(&self, mut visit: impl FnMut(Docs<'_>) -> bool) {
        match self {
            DocSet::Range(start, end) => {
                let mut at = *start;
                while at < *end {
                    let next = (at + BATCH as u32).min(*end);
                    if !visit(Docs::Range(at, next)) {
                        return;
                    }
                    at = next;
                }
            }
            DocSet::Bitmap(bitmap) => {
                let (Some(min), Some(max)) = (bitmap.min(), bitmap.max()) else {
                    return;
                };
                let mut buffer = Vec::with_capacity(BATCH);
                let mut going = true;
                // `fold` walks a container without the per-item dispatch of
                // `next`; a stop is honoured at the next 64k docs.
                let mut from = u64::from(min);
                while going && from <= u64::from(max) {
                    let to = (from + (1 << 16)).min(u64::from(max) + 1);
                    bitmap
                        .range(from as u32..=(to - 1) as u32)
                        .fold((), |(), doc| {
                            if going {
                                buffer.push(doc);
                                if buffer.len() == BATCH {
                                    going = visit(Docs::List(&buffer));
                                    buffer.clear();
                                }
                            }
                        });
                    from = to;
                }
                if going && !buffer.is_empty() {
                    visit(Docs::List(&buffer));
                }
            }
        }
    }

    /// Calls `visit` with the documents in descending order, in batches.
    pub fn for_each_batch_rev(&self, first: usize, mut visit: impl FnMut(Docs<'_>) -> bool) {
        // Batches start at `first` docs and double up to BATCH: a top-N
        // read in doc order usually stops within the first one.
        let mut size = first.clamp(1, BATCH);
        let mut buffer = Vec::with_capacity(size);
        let mut flush = |buffer: &mut Vec<u32>, size: &mut usize| {
            let keep_going = visit(Docs::List(buffer));
            buffer.clear();
            *size = (*size * 2).min(BATCH);
            keep_going
        };
        match self {
            DocSet::Range(start, end) => {
                for doc in (*start..*end).rev() {
                    buffer.push(doc);
                    if buffer.len() == size && !flush(&mut buffer, &mut size) {
                        return;
                    }
                }
            }
            DocSet::Bitmap(bitmap) => {
                for doc in bitmap.iter().rev() {
                    buffer.push(doc);
                    if buffer.len() == size && !flush(&mut buffer, &mut size) {
                        return;
                    }
                }
            }
        }
        if !buffer.is_empty() {
            flush(&mut buffer, &mut size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(docs: &[u32], as_range: bool) -> DocSet {
        let bitmap: RoaringBitmap = docs.iter().copied().collect();
        if as_range {
            DocSet::normalized(bitmap)
        } else {
            DocSet::Bitmap(bitmap)
        }
    }

    fn members(set: &DocSet) -> Vec<u32> {
        let mut out = Vec::new();
        set.for_each_batch(|docs| {
            docs.for_each(|doc| out.push(doc));
            true
        });
        out
    }

    #[test]
    fn batches_cross_containers_and_stop_when_told() {
        let docs: Vec<u32> = (0..400_000u32)
            .step_by(37)
            .chain([65_535, 65_536, 1 << 20])
            .collect();
        let bitmap: RoaringBitmap = docs.iter().copied().collect();
        let set = DocSet::Bitmap(bitmap.clone());
        assert_eq!(members(&set), bitmap.iter().collect::<Vec<_>>());
        let mut seen = 0;
        let mut calls = 0;
        set.for_each_batch(|batch| {
            calls += 1;
            seen += batch.len();
            calls < 2
        });
        assert_eq!((calls, seen), (2, 2 * BATCH));
    }

    proptest! {
        #[test]
        fn set_algebra_matches_bitmaps(
            a in proptest::collection::btree_set(0u32..5000, 0..300),
            b in proptest::collection::btree_set(0u32..5000, 0..300),
            ra in 0u32..5000, rb in 0u32..5000, range_a: bool,
        ) {
            let a: Vec<u32> = a.into_iter().collect();
            let b: Vec<u32> = b.into_iter().collect();
            let left = if range_a { DocSet::Range(ra.min(rb), ra.max(rb)) } else { set(&a, false) };
            let right = set(&b, true);
            let l: RoaringBitmap = members(&left).into_iter().collect();
            let r: RoaringBitmap = members(&right).into_iter().collect();
            prop_assert_eq!(members(&left.and(&right)), (&l & &r).iter().collect::<Vec<_>>());
            prop_assert_eq!(members(&left.or(&right)), (&l | &r).iter().collect::<Vec<_>>());
            prop_assert_eq!(members(&left.minus(&right)), (&l - &r).iter().collect::<Vec<_>>());
            prop_assert_eq!(members(&right.minus(&left)), (&r - &l).iter().collect::<Vec<_>>());
            prop_assert_eq!(left.and(&right).len(), (&l & &r).len());
            for first in [1, 7, BATCH] {
                let mut reversed = Vec::new();
                left.for_each_batch_rev(first, |docs| { docs.for_each(|doc| reversed.push(doc)); true });
                reversed.reverse();
                prop_assert_eq!(reversed, members(&left));
            }
        }
    }
}
