//! `AppendVec`: an append-only vector with one writer and lock-free readers.
//!
//! Elements live in buckets that never move: bucket `k` holds
//! `FIRST_BUCKET << k` elements, so pushing never copies what readers may be
//! looking at. The writer fills slots beyond what it has published; readers
//! read only below a length the writer published with `Release` ordering and
//! they loaded with `Acquire` (the segment's document count), so a reader
//! always sees fully written elements and never touches a slot being written.
//!
//! The single writer is part of the types: [`AppendVec::new`] returns the
//! shared vector together with its one [`AppendWriter`], which is neither
//! `Clone` nor `Sync` and pushes through `&mut self`, so two pushes to one
//! vector can never run at once. Readers hold the `Arc<AppendVec>` and never
//! index at or past a length the writer published to them (indexing checks
//! it).

use std::cell::{Cell, UnsafeCell};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;

/// Elements in bucket 0. Small so tiny segments stay small; doubling keeps
/// the number of buckets (and the cost of locating one) logarithmic.
const FIRST_BUCKET: usize = 1024;
const FIRST_BITS: u32 = FIRST_BUCKET.trailing_zeros();
/// Enough buckets for 2^40 elements, far beyond any segment.
const BUCKETS: usize = 30;

/// The shared, readable side of an append-only vector.
pub struct AppendVec<T> {
    buckets: [AtomicPtr<T>; BUCKETS],
    /// Elements pushed so far; only the writer changes it.
    len: AtomicUsize,
    /// The writer's slot writes go through raw pointers; this marks `T` as
    /// owned for drop-check and auto traits.
    _owned: PhantomData<UnsafeCell<T>>,
}

// SAFETY: elements are written only through the vector's one `AppendWriter`
// (whose `push` takes `&mut self`) and read by others only after a
// Release/Acquire publication, so sharing is sound when `T` itself may be
// sent and shared.
unsafe impl<T: Send + Sync> Sync for AppendVec<T> {}
unsafe impl<T: Send> Send for AppendVec<T> {}

/// The one writer of an [`AppendVec`]: made with it, never cloned, never
/// shared between threads (it may move to another thread whole).
pub struct AppendWriter<T> {
    vec: Arc<AppendVec<T>>,
    /// The writer's own count of pushed elements (`vec.len` mirrors it for
    /// readers).
    len: usize,
    /// `Cell` is `Send` but not `Sync`: a writer can move between threads
    /// but not be used from two at once, even through `&`.
    _not_sync: PhantomData<Cell<()>>,
}

#[inline]
fn locate(index: usize) -> (usize, usize) {
    let biased = index + FIRST_BUCKET;
    let bucket = (usize::BITS - 1 - biased.leading_zeros() - FIRST_BITS) as usize;
    let offset = biased - (FIRST_BUCKET << bucket);
    (bucket, offset)
}

#[inline]
fn bucket_len(bucket: usize) -> usize {
    FIRST_BUCKET << bucket
}

impl<T: Default> AppendVec<T> {
    /// An empty vector and its one writer.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> (Arc<AppendVec<T>>, AppendWriter<T>) {
        let vec = Arc::new(AppendVec {
            buckets: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            len: AtomicUsize::new(0),
            _owned: PhantomData,
        });
        let writer = AppendWriter {
            vec: vec.clone(),
            len: 0,
            _not_sync: PhantomData,
        };
        (vec, writer)
    }
}

impl<T: Default> AppendWriter<T> {
    /// Elements pushed so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends `value`, visible to readers at once (they still read only
    /// below the length published to them).
    #[inline]
    pub fn push(&mut self, value: T) {
        let index = self.len;
        let (bucket, offset) = locate(index);
        assert!(bucket < BUCKETS, "AppendVec is full");
        let slot = &self.vec.buckets[bucket];
        let mut base = slot.load(Ordering::Acquire);
        if base.is_null() {
            let fresh: Box<[T]> = (0..bucket_len(bucket)).map(|_| T::default()).collect();
            base = Box::into_raw(fresh) as *mut T;
            slot.store(base, Ordering::Release);
        }
        // SAFETY: `offset < bucket_len(bucket)` by construction of `locate`,
        // so the slot is inside the bucket's allocation. It is at `index`,
        // past every length published so far, so no reader holds a reference
        // to it; and `self` is the vector's only writer, borrowed mutably,
        // so no other write to it can run now.
        unsafe { *base.add(offset) = value };
        self.len = index + 1;
        self.vec.len.store(self.len, Ordering::Release);
    }
}

impl<T> AppendVec<T> {
    /// Elements pushed so far (the writer's view; readers use the length
    /// published to them).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// The element at `index`; `index` must be below a published length.
    #[inline]
    pub fn get(&self, index: usize) -> &T {
        assert!(index < self.len(), "AppendVec index {index} out of bounds");
        let (bucket, offset) = locate(index);
        let base = self.buckets[bucket].load(Ordering::Acquire);
        // SAFETY: index < len, so the bucket was allocated and the slot
        // written before len was stored with Release; we loaded len with
        // Acquire. The slot is never written again.
        unsafe { &*base.add(offset) }
    }

    /// Calls `visit(first_index, slice)` for the contiguous runs covering
    /// `0..len`; `len` must not exceed a published length.
    #[inline]
    pub fn for_each_slice(&self, len: usize, mut visit: impl FnMut(usize, &[T])) {
        assert!(len <= self.len(), "AppendVec range {len} out of bounds");
        let mut start = 0;
        let mut bucket = 0;
        while start < len {
            let base = self.buckets[bucket].load(Ordering::Acquire);
            let count = bucket_len(bucket).min(len - start);
            // SAFETY: as in `get`, every slot in `start..start + count` is
            // below a published length, hence allocated and written.
            let slice = unsafe { std::slice::from_raw_parts(base, count) };
            visit(start, slice);
            start += count;
            bucket += 1;
        }
    }

    /// Calls `visit(slice)` for the contiguous runs covering `range`, in
    /// order; `range.end` must not exceed a published length.
    #[inline]
    pub fn for_each_slice_in(&self, range: std::ops::Range<usize>, mut visit: impl FnMut(&[T])) {
        assert!(
            range.end <= self.len(),
            "AppendVec range {range:?} out of bounds"
        );
        let mut at = range.start;
        while at < range.end {
            let (bucket, offset) = locate(at);
            let base = self.buckets[bucket].load(Ordering::Acquire);
            let count = (bucket_len(bucket) - offset).min(range.end - at);
            // SAFETY: as in `get`, every slot in `at..at + count` is below a
            // published length, hence allocated and written, and lies in
            // bucket `bucket` from `offset` on.
            let slice = unsafe { std::slice::from_raw_parts(base.add(offset), count) };
            visit(slice);
            at += count;
        }
    }

    /// Copies the first `len` elements out.
    pub fn to_vec(&self, len: usize) -> Vec<T>
    where
        T: Clone,
    {
        let mut out = Vec::with_capacity(len);
        self.for_each_slice(len, |_, slice| out.extend_from_slice(slice));
        out
    }
}

impl<T> Drop for AppendVec<T> {
    fn drop(&mut self) {
        for (bucket, slot) in self.buckets.iter_mut().enumerate() {
            let base = *slot.get_mut();
            if !base.is_null() {
                let len = FIRST_BUCKET << bucket;
                // SAFETY: `base` came from `Box::<[T]>::into_raw` of exactly
                // `len` elements in `push`, and is freed only here.
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(base, len)) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn locate_covers_buckets_exactly() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(1023), (0, 1023));
        assert_eq!(locate(1024), (1, 0));
        assert_eq!(locate(3071), (1, 2047));
        assert_eq!(locate(3072), (2, 0));
    }

    #[test]
    fn slices_of_any_range_cover_it_in_order() {
        let (vec, mut writer) = AppendVec::new();
        for i in 0..10_000u32 {
            writer.push(i);
        }
        for (start, end) in [
            (0, 0),
            (0, 1),
            (5, 1023),
            (1000, 1030),
            (1023, 3073),
            (17, 10_000),
            (9_999, 10_000),
        ] {
            let mut seen = Vec::new();
            vec.for_each_slice_in(start..end, |slice| seen.extend_from_slice(slice));
            assert_eq!(
                seen,
                (start as u32..end as u32).collect::<Vec<_>>(),
                "{start}..{end}"
            );
        }
    }

    #[test]
    fn push_get_and_slices() {
        let (vec, mut writer) = AppendVec::new();
        for i in 0..10_000u32 {
            writer.push(i);
        }
        assert_eq!(writer.len(), 10_000);
        assert_eq!(vec.len(), 10_000);
        assert_eq!(*vec.get(9_999), 9_999);
        assert_eq!(vec.to_vec(10_000), (0..10_000).collect::<Vec<_>>());
        assert_eq!(vec.to_vec(5), vec![0, 1, 2, 3, 4]);
        let (strings, mut writer) = AppendVec::<Box<str>>::new();
        writer.push("a".into());
        writer.push("b".into());
        assert_eq!(&**strings.get(1), "b");
    }

    /// The writer is the only way to push; it may move to another thread.
    #[test]
    fn the_writer_is_send_and_owns_the_data_with_the_readers() {
        fn is_send<T: Send>() {}
        is_send::<AppendWriter<u64>>();
        let (vec, writer) = AppendVec::<u64>::new();
        // The writer outlives the reader handle and keeps the data alive.
        drop(vec);
        let mut writer = writer;
        writer.push(7);
        assert_eq!(*writer.vec.get(0), 7);
    }

    #[test]
    fn readers_see_a_consistent_prefix_while_the_writer_appends() {
        let (vec, mut writer) = AppendVec::<u64>::new();
        let published = Arc::new(AtomicUsize::new(0));
        let total = 200_000;
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let vec = vec.clone();
                let published = published.clone();
                std::thread::spawn(move || {
                    let mut checks = 0;
                    loop {
                        let len = published.load(Ordering::Acquire);
                        let mut expected = 0u64;
                        vec.for_each_slice(len, |first, slice| {
                            assert_eq!(first as u64, expected);
                            for value in slice {
                                assert_eq!(*value, expected * 3);
                                expected += 1;
                            }
                        });
                        checks += 1;
                        if len == total {
                            return checks;
                        }
                    }
                })
            })
            .collect();
        for i in 0..total as u64 {
            writer.push(i * 3);
            published.store(i as usize + 1, Ordering::Release);
        }
        for reader in readers {
            assert!(reader.join().unwrap() > 0);
        }
    }
}
