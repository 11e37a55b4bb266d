//! Consumer calls: register a JVM reader and tell the Kotlin side where its block is; the
//! Kotlin side then moves the block's read cursor itself.

use std::sync::Mutex;

use jni::objects::JClass;
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_mangle, EnvUnowned};
use ringflow::{Consumer, Delivery};
use ringflow_engine::registry::{Handle, Registry};
use ringflow_engine::EngineError;

use super::run::run;

/// Consumers registered from the JVM, by handle: the Rust `Consumer` owns the block (and gives
/// it back when unregistered); the Kotlin side moves the block's read cursor itself.
static CONSUMERS: Mutex<Vec<Option<(Handle, Consumer)>>> = Mutex::new(Vec::new());

/// The consumer table, even if a thread panicked while holding it (its entries stay valid: each
/// change is one assignment).
pub(super) fn consumers() -> std::sync::MutexGuard<'static, Vec<Option<(Handle, Consumer)>>> {
    CONSUMERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `Native.register(ring, lossy): Long`: registers a consumer; returns a consumer handle whose
/// low 16 bits are the block index (see `consumerIndex`), and whose start sequence `startSeq`
/// gives.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn register<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    ring: jlong,
    lossy: jboolean,
) -> jlong {
    run(&mut env, |_| {
        let rh = Handle(ring as u64);
        let r = Registry::global().ring(rh)?;
        let consumer = r.consumer(if lossy {
            Delivery::Lossy
        } else {
            Delivery::Lossless
        })?;
        let mut consumers = consumers();
        let slot = consumers
            .iter()
            .position(Option::is_none)
            .unwrap_or_else(|| {
                consumers.push(None);
                consumers.len() - 1
            });
        consumers[slot] = Some((rh, consumer));
        Ok(slot as jlong)
    })
}

fn with_consumer<T>(
    handle: jlong,
    f: impl FnOnce(&Handle, &Consumer) -> T,
) -> Result<T, EngineError> {
    let consumers = consumers();
    match usize::try_from(handle)
        .ok()
        .and_then(|i| consumers.get(i))
        .and_then(Option::as_ref)
    {
        Some((rh, c)) => Ok(f(rh, c)),
        None => Err(EngineError::UnknownHandle(handle as u64)),
    }
}

/// `Native.consumerIndex(consumer): Int`: the consumer's block index in the region.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn consumer_index<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, consumer: jlong) -> jint {
    run(&mut env, |_| {
        with_consumer(consumer, |_, c| c.index() as jint)
    })
}

/// `Native.startSeq(consumer): Long`: the first sequence the consumer reads.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn start_seq<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, consumer: jlong) -> jlong {
    run(&mut env, |_| {
        with_consumer(consumer, |_, c| c.next_seq() as jlong)
    })
}

/// `Native.unregister(consumer)`: gives the consumer's block back.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn unregister<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, consumer: jlong) {
    run(&mut env, |_| {
        let mut consumers = consumers();
        match usize::try_from(consumer)
            .ok()
            .and_then(|i| consumers.get_mut(i))
        {
            Some(slot) if slot.is_some() => {
                *slot = None;
                Ok(())
            }
            _ => Err(EngineError::UnknownHandle(consumer as u64)),
        }
    })
}
