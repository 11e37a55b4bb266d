//! Consumer calls: register a JVM reader (in the consumer table the C ABI shares, `consumers.rs`)
//! and tell the Kotlin side where its block is; the Kotlin side then moves the block's read
//! cursor itself.
//!
//! A consumer handle is opaque to Kotlin: a stale one (kept after `unregister`) or a made-up one
//! throws `RingClosedException` ("unknown or stale handle"), whatever was registered since.

use jni::objects::JClass;
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_mangle, EnvUnowned};
use ringflow_engine::registry::Handle;

use super::run::run;
use crate::consumers;

/// `Native.register(ring, lossy): Long`: registers a consumer; returns its handle (opaque,
/// generation-checked: see `handles.rs`). Its block index is `consumerIndex`, its start
/// sequence `startSeq`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn register<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    ring: jlong,
    lossy: jboolean,
) -> jlong {
    run(&mut env, |_| {
        Ok(consumers::register(Handle(ring as u64), lossy)? as jlong)
    })
}

/// `Native.consumerIndex(consumer): Int`: the consumer's block index in the region.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn consumer_index<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, consumer: jlong) -> jint {
    run(&mut env, |_| {
        consumers::with(consumer as u64, |e| e.consumer.index() as jint)
    })
}

/// `Native.startSeq(consumer): Long`: the first sequence the consumer reads.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn start_seq<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, consumer: jlong) -> jlong {
    run(&mut env, |_| {
        consumers::with(consumer as u64, |e| e.consumer.next_seq() as jlong)
    })
}

/// `Native.unregister(consumer)`: gives the consumer's block back; the handle is stale from now
/// on.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn unregister<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, consumer: jlong) {
    run(&mut env, |_| consumers::unregister(consumer as u64))
}
