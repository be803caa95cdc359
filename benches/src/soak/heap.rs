//! The live heap: a global allocator that counts the bytes allocated and not yet
//! freed, so a leak shows as a number that only grows, without the noise of the
//! allocator's own caches that blurs the resident set.
//!
//! The `soak` binary installs [`Counting`] as its `#[global_allocator]`; without it
//! [`live_bytes`] stays 0 and the reports leave the heap out.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// Bytes allocated through [`Counting`] and not yet freed.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// The system allocator, counting what is live.
pub struct Counting;

// SAFETY: every method hands its arguments unchanged to `System`, which upholds
// `GlobalAlloc`'s contract, and returns what `System` returned; the only addition is
// an atomic counter, which allocates nothing and cannot unwind.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is `System::alloc`'s.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed` is `System::alloc_zeroed`'s.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from this allocator, that is from `System`, with
        // `layout`, as the caller guarantees.
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `pointer` came from `System` with `layout`, and `new_size` meets
        // `realloc`'s rules, as the caller guarantees.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        moved
    }
}

/// Bytes on the heap now: 0 unless [`Counting`] is the global allocator.
pub fn live_bytes() -> u64 {
    LIVE.load(Ordering::Relaxed).max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Allocating, growing and freeing through `Counting` moves the count by exactly
    /// the sizes involved and hands out usable memory.
    #[test]
    fn counts_what_is_allocated_and_freed() {
        // Other tests of this binary allocate through `System` (the test harness
        // does not install `Counting`), so the count moves only by our calls.
        let before = LIVE.load(Ordering::Relaxed);
        let layout = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: `layout` has a non-zero size; the pointer is checked, written
        // within its 100 bytes, grown with a valid new size, and freed once with
        // the layout it then has.
        unsafe {
            let pointer = Counting.alloc(layout);
            assert!(!pointer.is_null());
            pointer.write_bytes(7, 100);
            assert_eq!(LIVE.load(Ordering::Relaxed) - before, 100);
            let grown = Counting.realloc(pointer, layout, 300);
            assert!(!grown.is_null());
            assert_eq!(*grown.add(99), 7, "realloc keeps the contents");
            assert_eq!(LIVE.load(Ordering::Relaxed) - before, 300);
            Counting.dealloc(grown, Layout::from_size_align(300, 8).unwrap());
            let zeroed = Counting.alloc_zeroed(layout);
            assert!(!zeroed.is_null());
            assert_eq!(*zeroed.add(50), 0);
            Counting.dealloc(zeroed, layout);
        }
        assert_eq!(LIVE.load(Ordering::Relaxed), before);
    }
}
