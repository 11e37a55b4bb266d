//! The reader's shared-memory accesses as JNI calls, for JVMs without `VarHandle` (Android
//! below API 33): `Native.loadLongAcquire` and its siblings, selected in Kotlin with
//! `-Dringflow.access=jni` (`dev.ringflow.internal.Access`).
//!
//! Each entry is one atomic access (or fence) of the ordering its name says, on a word of a
//! region the caller maps: the orderings, and what each pairs with, are the ones documented at
//! the Kotlin call sites (`ReaderCursor`), which are the Rust reader's (`ring/src/consumer`).
//! They do not run under `EnvUnowned::with_env` as the other entries do: an atomic access on an
//! integer cannot panic, and these are called several times per frame, where `catch_unwind`'s
//! frame would be most of the cost.
//!
//! The addresses come from [`region_address`] plus an offset from `Layout.kt`: 8-byte aligned
//! for the `Long` accesses, 4-byte for the `Int` one (the region is page-aligned and every field
//! is aligned to its size, `docs/FORMAT.md`). The Kotlin reader calls them only while it is
//! registered, and the registration keeps the mapping alive (`ReaderCursor`).

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
