//! The fuzz binary's allocator: the system allocator, watching the
//! largest single request made on a thread while a case runs there.
//!
//! A length field read from a damaged file must never turn into an absurd
//! allocation. Inside [`watch`], a request above [`ABORT_BYTES`] aborts the
//! process at once (before the system refuses it less clearly), naming the
//! case; the largest request is returned so smaller excesses are findings.
//! Only the thread that called [`watch`] is watched, so targets running in
//! parallel do not see each other's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

/// A request this large from a case is a bug whatever the input: the
/// inputs are at most a few MiB.
pub const ABORT_BYTES: usize = 1 << 30;

pub struct Watching;

thread_local! {
    /// The case being watched on this thread, if any.
    static CASE: Cell<Option<u64>> = const { Cell::new(None) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let Ok(Some(case)) = CASE.try_with(Cell::get) else {
        return;
    };
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
    if size > ABORT_BYTES {
        // No allocation here: the allocator is what is running.
        let mut err = std::io::stderr();
        let _ = writeln!(
            err,
            "FINDING case {case}: an allocation of {size} bytes was requested; aborting"
        );
        std::process::abort();
    }
}

// SAFETY: every call is passed to `System` unchanged; `note` only reads
// and writes const-initialized thread-locals, which never allocate.
unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `work` as case `case`, returning its result and the largest single
/// allocation it requested on this thread.
pub fn watch<T>(case: u64, work: impl FnOnce() -> T) -> (T, usize) {
    CASE.with(|current| current.set(Some(case)));
    LARGEST.with(|largest| largest.set(0));
    let out = work();
    CASE.with(|current| current.set(None));
    (out, LARGEST.with(Cell::get))
}
