//! Copying bytes a writer may be changing (a seqlock reader's copy), after crossbeam's
//! `atomic_memcpy`.
//!
//! Under the Rust memory model a plain or volatile read of a byte that another thread writes at
//! the same time is a data race, and so undefined behaviour, even if the value read is thrown
//! away afterwards. A seqlock reader cannot avoid the overlap (it learns of it only from the
//! re-check after the copy), so it copies with atomic loads: an atomic load racing a store is no
//! data race on the load's side. The writer's stores stay plain (they are the producer's hot
//! path and run once per byte); the model gives no blessing to an atomic load racing a
//! non-atomic store either, so what remains is what every seqlock in Rust relies on today
//! (crossbeam's `SeqLock`, the `seqlock` crate): on every target we build for, a relaxed atomic
//! load compiles to the same plain load, the hardware gives some value, and the re-check
//! discards it. `docs/ARCHITECTURE.md` ("What the memory model promises") says the same.
//!
//! By hand rather than with the `atomic-maybe-uninit` crate: the payload is initialized memory,
//! and std's `AtomicU64::from_ptr` / `AtomicU8::from_ptr` are all this needs.

// std's atomics, not `crate::sync`'s: this module is not built under loom.
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// Copies `dst.len()` bytes from `src` with relaxed atomic loads, 8 bytes at a time where `src`
/// is 8-aligned.
///
/// The bytes copied may be a mix of several writes: the caller re-checks the slot's stamp after
/// the copy and discards it if a writer started over it.
///
/// # Safety
/// `src .. src + dst.len()` must lie inside one live mapping, and every access to those bytes
/// by this process that could race must be atomic or a writer's store (no `&mut` to them).
#[inline]
pub(crate) unsafe fn racy_copy(src: *const u8, dst: &mut [u8]) {
    let len = dst.len();
    let mut i = 0;
    // Bytes up to the first 8-aligned address (none for a payload: it starts 32 bytes into a
    // 64-aligned slot).
    while i < len && (src as usize + i) % 8 != 0 {
        // SAFETY: `src + i` is inside the range (the caller's contract); a byte is always aligned.
        dst[i] = unsafe { AtomicU8::from_ptr(src.add(i).cast_mut()) }.load(Ordering::Relaxed);
        i += 1;
    }
    while i + 8 <= len {
        // SAFETY: `src + i` is 8-aligned (loop above) and `src + i .. src + i + 8` is inside the
        // range. Relaxed: ordering comes from the caller's fence before its re-check.
        let word = unsafe { AtomicU64::from_ptr(src.add(i).cast::<u64>().cast_mut()) }
            .load(Ordering::Relaxed);
        dst[i..i + 8].copy_from_slice(&word.to_ne_bytes());
        i += 8;
    }
    while i < len {
        // SAFETY: as in the first loop.
        dst[i] = unsafe { AtomicU8::from_ptr(src.add(i).cast_mut()) }.load(Ordering::Relaxed);
        i += 1;
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::racy_copy;

    #[test]
    fn copies_every_length_and_alignment() {
        let src: Vec<u8> = (0..100u8).collect();
        for start in 0..9 {
            for len in 0..(100 - start) {
                let mut dst = vec![0u8; len];
                // SAFETY: the range lies inside `src`, which nothing else touches.
                unsafe { racy_copy(src.as_ptr().add(start), &mut dst) };
                assert_eq!(dst, &src[start..start + len], "start {start} len {len}");
            }
        }
    }
}
