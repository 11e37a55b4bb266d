//! The reader's and the single producer's shared-memory accesses as JNI calls, for JVMs without
//! `VarHandle` (Android below API 33): `Native.loadLongAcquire` and its siblings, and the batch
//! forms a reader (`countCommitted`, `countGone`, `countIntact`, `release`) and a producer
//! (`markWriting`, `publishRun`) make once per run of frames, selected in Kotlin with
//! `-Dringflow.access=jni` (`dev.ringflow.internal.Access`).
//!
//! Each entry is one atomic access (or fence) of the ordering its name says, on a word of a
//! region the caller maps: the orderings, and what each pairs with, are the ones documented at
//! the Kotlin call sites (`ReaderCursor`, `RingProducer`), which are the Rust reader's
//! (`ring/src/consumer`) and producer's (`ring/src/producer/core.rs`).
//! They do not run under `EnvUnowned::with_env` as the other entries do: an atomic access on an
//! integer cannot panic, and these are called several times per frame, where `catch_unwind`'s
//! frame would be most of the cost.
//!
//! The addresses come from [`region_address`] plus an offset from `Layout.kt`: 8-byte aligned
//! for the `Long` accesses, 4-byte for the `Int` one (the region is page-aligned and every field
//! is aligned to its size, `docs/FORMAT.md`). The Kotlin reader calls them only while it is
//! registered, and the registration keeps the mapping alive (`ReaderCursor`); the producer only
//! while it is attached, and the attachment does (`RingProducer`).

use std::sync::atomic::{fence, AtomicI32, AtomicI64, Ordering};

use jni::objects::JClass;
use jni::sys::{jint, jlong};
use jni::{jni_mangle, EnvUnowned};
use ringflow_engine::registry::{Handle, Registry};

use super::run::run;

/// A word of a live mapping, at an address the Kotlin reader passes.
///
/// # Safety
/// `at` is the address of an 8-byte aligned word of a region that stays mapped while the
/// reference is used (the caller is a registered reader: see the module docs).
unsafe fn long_at<'a>(at: jlong) -> &'a AtomicI64 {
    // SAFETY: the caller guarantees alignment and that the word is mapped; other processes
    // access it only atomically (the ring's protocol).
    unsafe { AtomicI64::from_ptr(at as *mut i64) }
}

/// A mapped region's descriptor array, as Kotlin passes it: the address of descriptor 0, the
/// stride between descriptors and `slot_count - 1` (from the validated header).
#[derive(Clone, Copy)]
struct Descs {
    base: jlong,
    stride: jlong,
    mask: jlong,
}

impl Descs {
    /// The stamp word of frame `s`'s slot.
    ///
    /// # Safety
    /// `self` describes the descriptor array of a region that stays mapped while the reference
    /// is used (the caller is a registered reader or an attached producer: module docs).
    unsafe fn stamp<'a>(self, s: jlong) -> &'a AtomicI64 {
        // SAFETY: `(s & mask) * stride` is below the array's length, so the address is an
        // aligned stamp (the descriptor's first field) inside the mapping.
        unsafe {
            long_at(
                self.base
                    .wrapping_add((s & self.mask).wrapping_mul(self.stride)),
            )
        }
    }

    /// How many of the (at most `n`) frames from `from` on hold their committed stamp, in a
    /// row, each stamp loaded with `order`.
    ///
    /// # Safety
    /// As for [`stamp`](Self::stamp).
    unsafe fn committed_run(self, from: jlong, n: jint, order: Ordering) -> jint {
        let mut run: jint = 0;
        while run < n {
            let s = from.wrapping_add(jlong::from(run));
            // SAFETY: forwarded to the caller.
            if unsafe { self.stamp(s) }.load(order) != committed(s) {
                break;
            }
            run += 1;
        }
        run
    }
}

/// Frame `s`'s stamp once it is committed (`docs/FORMAT.md`: `2 s + 2`).
fn committed(s: jlong) -> jlong {
    s.wrapping_mul(2).wrapping_add(2)
}

/// Frame `s`'s stamp while it is being written (`2 s + 1`).
fn writing(s: jlong) -> jlong {
    s.wrapping_mul(2).wrapping_add(1)
}

/// `Native.regionAddress(ring): Long`: the address of the ring's region, for the JNI access
/// path (the same memory `Native.buffer` wraps).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn region_address<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, ring: jlong) -> jlong {
    run(&mut env, |_| {
        let ring = Registry::global().ring(Handle(ring as u64))?;
        Ok(ring.region_ptr() as jlong)
    })
}

/// `Native.loadLongAcquire(at): Long`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn load_long_acquire<'l>(_env: EnvUnowned<'l>, _class: JClass<'l>, at: jlong) -> jlong {
    // SAFETY: `at` is an aligned word of a mapped region (module docs).
    // Acquire: the partner is named at the Kotlin call site (`ReaderCursor`).
    unsafe { long_at(at) }.load(Ordering::Acquire)
}

/// `Native.loadLongOpaque(at): Long`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn load_long_opaque<'l>(_env: EnvUnowned<'l>, _class: JClass<'l>, at: jlong) -> jlong {
    // SAFETY: as in `load_long_acquire`.
    // Relaxed: Java's opaque access (no ordering with other words), as at the call site.
    unsafe { long_at(at) }.load(Ordering::Relaxed)
}

/// `Native.storeLongOpaque(at, value)`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn store_long_opaque<'l>(_env: EnvUnowned<'l>, _class: JClass<'l>, at: jlong, value: jlong) {
    // SAFETY: as in `load_long_acquire`.
    // Relaxed: Java's opaque access, as at the call site (statistics, heartbeats).
    unsafe { long_at(at) }.store(value, Ordering::Relaxed)
}

/// `Native.storeLongRelease(at, value)`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn store_long_release<'l>(_env: EnvUnowned<'l>, _class: JClass<'l>, at: jlong, value: jlong) {
    // SAFETY: as in `load_long_acquire`.
    // Release: the partner is named at the Kotlin call site (the read cursor's store).
    unsafe { long_at(at) }.store(value, Ordering::Release)
}

/// `Native.loadIntOpaque(at): Int`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn load_int_opaque<'l>(_env: EnvUnowned<'l>, _class: JClass<'l>, at: jlong) -> jint {
    // SAFETY: `at` is a 4-byte aligned word of a mapped region (module docs).
    let word = unsafe { AtomicI32::from_ptr(at as *mut i32) };
    // Relaxed: Java's opaque access, as at the call site.
    word.load(Ordering::Relaxed)
}

/// `Native.acquireFence()`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn acquire_fence<'l>(_env: EnvUnowned<'l>, _class: JClass<'l>) {
    // Acquire: the seqlock re-check's fence (`ReaderCursor.stillThere`).
    fence(Ordering::Acquire)
}

/// `Native.fullFence()`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn full_fence<'l>(_env: EnvUnowned<'l>, _class: JClass<'l>) {
    // SeqCst: the sleeper protocol's fence (`ReaderCursor.release`, `ring/src/sleep.rs`).
    fence(Ordering::SeqCst)
}

/// `Native.countCommitted(descs, descStride, mask, from, max): Int`: R2 for a run of frames, in
/// one call. How many frames from `from` on, at most `max`, hold their committed stamp in a row;
/// frame `s`'s stamp is the word at `descs + (s & mask) * descStride`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn count_committed<'l>(
    _env: EnvUnowned<'l>,
    _class: JClass<'l>,
    descs: jlong,
    desc_stride: jlong,
    mask: jlong,
    from: jlong,
    max: jint,
) -> jint {
    let descs = Descs {
        base: descs,
        stride: desc_stride,
        mask,
    };
    // Acquire: pairs with the producer's Release store of `committed(s)` (R2), so the caller's
    // plain reads of the frames after this call see what the producer wrote.
    // SAFETY: Kotlin passes the descriptor array of a region its registered reader keeps
    // mapped (module docs).
    unsafe { descs.committed_run(from, max, Ordering::Acquire) }
}

/// `Native.countGone(descs, descStride, mask, from, n): Int`: R3 for a run of frames, in one
/// call. An acquire fence, then how many of the `n` frames from `from` on no longer hold their
/// committed stamp.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn count_gone<'l>(
    _env: EnvUnowned<'l>,
    _class: JClass<'l>,
    descs: jlong,
    desc_stride: jlong,
    mask: jlong,
    from: jlong,
    n: jint,
) -> jint {
    // Acquire: pairs with the Release fence after a producer's `writing` stamp (R3): if a read
    // before this call saw a later frame's byte, the loads below see that stamp.
    fence(Ordering::Acquire);
    let descs = Descs {
        base: descs,
        stride: desc_stride,
        mask,
    };
    let gone = |i: jint| {
        let s = from.wrapping_add(jlong::from(i));
        // Relaxed: ordered by the fence above.
        // SAFETY: as in `count_committed`.
        unsafe { descs.stamp(s) }.load(Ordering::Relaxed) != committed(s)
    };
    (0..n.max(0)).filter(|&i| gone(i)).count() as jint
}

/// `Native.countIntact(descs, descStride, mask, from, n): Int`: R3 for a run of copied frames,
/// in one call. An acquire fence, then how many of the `n` frames from `from` on still hold their
/// committed stamp in a row: the copies of those are intact; the frame after them was overwritten
/// while it was copied (a lap, R8), and so may be any later one.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn count_intact<'l>(
    _env: EnvUnowned<'l>,
    _class: JClass<'l>,
    descs: jlong,
    desc_stride: jlong,
    mask: jlong,
    from: jlong,
    n: jint,
) -> jint {
    // Acquire: pairs with the Release fence after a producer's `writing` stamp (R3): if the
    // caller's copy, made before this call, read a byte of a later frame, the loads below see
    // that frame's stamp.
    fence(Ordering::Acquire);
    let descs = Descs {
        base: descs,
        stride: desc_stride,
        mask,
    };
    // Relaxed: ordered by the fence above.
    // SAFETY: as in `count_committed`.
    unsafe { descs.committed_run(from, n, Ordering::Relaxed) }
}

/// `Native.release(address, deliveredAt, delivered, readAt, next, spaceFutexAt): Int`: R4 in one
/// call. Stores `delivered`, then `read = next`; for a lossless reader (`spaceFutexAt >= 0`) a
/// full fence and the load of the space futex word, which it returns (0 for a lossy reader).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn release<'l>(
    _env: EnvUnowned<'l>,
    _class: JClass<'l>,
    address: jlong,
    delivered_at: jint,
    delivered: jlong,
    read_at: jint,
    next: jlong,
    space_futex_at: jint,
) -> jint {
    // SAFETY: `address` is a mapped region's and the offsets are its reader's block words and
    // the producer block's space futex (module docs), aligned to their size.
    unsafe {
        // Relaxed: a statistic (R7).
        long_at(address.wrapping_add(jlong::from(delivered_at)))
            .store(delivered, Ordering::Relaxed);
        // Release: pairs with the Acquire load of `read` in a producer's scan (R4).
        long_at(address.wrapping_add(jlong::from(read_at))).store(next, Ordering::Release);
        if space_futex_at < 0 {
            return 0;
        }
        // SeqCst: the sleeper protocol's notify fence (`ring/src/sleep.rs`).
        fence(Ordering::SeqCst);
        let word =
            AtomicI32::from_ptr(address.wrapping_add(jlong::from(space_futex_at)) as *mut i32);
        // Relaxed: ordered by the fence.
        word.load(Ordering::Relaxed)
    }
}

/// `Native.markWriting(descs, descStride, mask, first, n)`: the writer's W2 for a claim of `n`
/// frames from `first`, in one call (`docs/FORMAT.md`, "Writer obligations"). Stores each slot's
/// `writing(s) = 2 s + 1` stamp, then one Release fence, as the Rust `ProducerCore` does.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn mark_writing<'l>(
    _env: EnvUnowned<'l>,
    _class: JClass<'l>,
    descs: jlong,
    desc_stride: jlong,
    mask: jlong,
    first: jlong,
    n: jint,
) {
    let descs = Descs {
        base: descs,
        stride: desc_stride,
        mask,
    };
    for i in 0..n.max(0) {
        let s = first.wrapping_add(jlong::from(i));
        // Relaxed: ordered before the payload's stores (made by Kotlin after this call returns)
        // by the fence below.
        // SAFETY: Kotlin passes the descriptor array of a region the producer's attachment
        // keeps mapped (`RingProducer`).
        unsafe { descs.stamp(s) }.store(writing(s), Ordering::Relaxed);
    }
    // Release: a lossy reader that sees one of the payload stores that follow, and then fences
    // with Acquire (R3, `count_gone`, `count_intact`, `ReaderCursor.stillThere`), sees the
    // `writing` stamps.
    fence(Ordering::Release);
}

/// `Native.publishRun(address, descsAt, descStride, mask, first, end, publishedAt,
/// dataFutexAt): Int`: the writer's W4 and W5 for frames `first .. end`, in one call. Stores
/// each slot's `committed(s) = 2 s + 2` stamp in order, then `published = end`, then a full
/// fence and the load of the data futex word, which it returns (the caller wakes readers
/// through Rust if its `ARMED` bit is set). The descriptors and payloads were written by
/// Kotlin with plain stores before this call (W3).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn publish_run<'l>(
    _env: EnvUnowned<'l>,
    _class: JClass<'l>,
    address: jlong,
    descs_at: jint,
    desc_stride: jlong,
    mask: jlong,
    first: jlong,
    end: jlong,
    published_at: jint,
    data_futex_at: jint,
) -> jint {
    let descs = Descs {
        base: address.wrapping_add(jlong::from(descs_at)),
        stride: desc_stride,
        mask,
    };
    for s in first..end.max(first) {
        // Release: pairs with R2's Acquire load of the stamp (`count_committed`,
        // `ReaderCursor.check`, the Rust reader): the frame's payload and descriptor, stored
        // before this call, are visible to a reader that sees the stamp.
        // SAFETY: as in `mark_writing`.
        unsafe { descs.stamp(s) }.store(committed(s), Ordering::Release);
    }
    // SAFETY: `address` is a mapped region's and the offsets are its producer block's words
    // (`published`, `data_futex`), aligned to their size (module docs).
    unsafe {
        // Release: pairs with the Acquire loads of `published` (R1's registration, R8's lap,
        // the park's re-check).
        long_at(address.wrapping_add(jlong::from(published_at))).store(end, Ordering::Release);
        // SeqCst: W5, the notifier's fence of the sleeper protocol (`ring/src/sleep.rs`):
        // between the store of `published` and the load of the futex word, pairs with the
        // parking reader's fence after it armed the word.
        fence(Ordering::SeqCst);
        let word =
            AtomicI32::from_ptr(address.wrapping_add(jlong::from(data_futex_at)) as *mut i32);
        // Relaxed: ordered by the fence.
        word.load(Ordering::Relaxed)
    }
}
