//! Ring calls: open or create a ring, hand the JVM its mapping, park and wake readers, stats,
//! close.

use jni::objects::{JByteBuffer, JClass, JString};
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_mangle, EnvUnowned};
use ringflow::{Ring, RingConfig};
use ringflow_engine::registry::{Handle, Registry};
use ringflow_engine::EngineError;

use super::run::{run, string};
use crate::rings;

fn registry() -> &'static Registry {
    Registry::global()
}

/// `Native.open(path): Long`: maps an existing ring file; returns its handle.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn open<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, path: JString<'l>) -> jlong {
    run(&mut env, |env| {
        let path = string(env, &path)?;
        let ring = Ring::open(path)?;
        Ok(rings::add(ring).0 as jlong)
    })
}

/// `Native.create(path, slots, slotSize, consumers): Long`: creates (or replaces) a ring file.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn create<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    path: JString<'l>,
    slots: jint,
    slot_size: jint,
    consumers: jint,
) -> jlong {
    run(&mut env, |env| {
        let path = string(env, &path)?;
        let arg = |v: jint, name: &str| {
            u32::try_from(v).map_err(|_| {
                EngineError::InvalidArgument(format!("{name} must not be negative, but was {v}"))
            })
        };
        let config = RingConfig::new(arg(slots, "slots")?, arg(slot_size, "slotSize")?)
            .max_consumers(arg(consumers, "consumers")?);
        // Sizes out of range are a bad argument here, not a corrupt file.
        config
            .geometry()
            .map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
        let ring = Ring::create_or_replace(path, &config)?;
        Ok(rings::add(ring).0 as jlong)
    })
}

/// `Native.remove(path)`: unlinks the ring file at `path` after checking that it is a ring
/// ([`Ring::remove`]).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn remove<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, path: JString<'l>) {
    run(&mut env, |env| {
        let path = string(env, &path)?;
        Ok(Ring::remove(path)?)
    })
}

/// `Native.forgetConsumer(ring, name, force): Boolean`: forgets the durable named consumer
/// `name` of the ring ([`Ring::forget_consumer`]); false if no consumer has the name.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn forget_consumer<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    ring: jlong,
    name: JString<'l>,
    force: jboolean,
) -> jboolean {
    run(&mut env, |env| {
        let name = string(env, &name)?;
        let ring = registry().ring(Handle(ring as u64))?;
        Ok(ring.forget_consumer(&name, force)?)
    })
}

/// `Native.buffer(ring): ByteBuffer`: the whole region as one direct buffer (big-endian as the
/// JVM makes it: Kotlin switches it to native order).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn buffer<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, ring: jlong) -> JByteBuffer<'l> {
    run(&mut env, |env| {
        let ring = registry().ring(Handle(ring as u64))?;
        // The region is below 2^31 bytes (checked when it was created or opened): a JVM buffer
        // holds at most i32::MAX, and JDK <= 20 silently truncates larger lengths.
        let len = ring.region_len();
        debug_assert!(len < i32::MAX as usize);
        // SAFETY: the pointer and length describe the mapping, which stays mapped while the
        // registry holds the ring (until `close`); the Kotlin `Ring` stops using the buffer
        // before it calls `close`.
        let buffer = unsafe { env.new_direct_byte_buffer(ring.region_ptr(), len) };
        buffer.map_err(|e| EngineError::InvalidArgument(e.to_string()))
    })
}

/// `Native.layout(): String`: the Rust layout as `NAME=value` lines (held against `Layout.kt`).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn layout<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> JString<'l> {
    run(&mut env, |env| {
        env.new_string(layout_dump())
            .map_err(|e| EngineError::InvalidArgument(e.to_string()))
    })
}

/// `Native.waitPublished(ring, seen, timeoutMs): Long`: parks until a frame beyond `seen` is
/// published, the ring closes, a wake, or the timeout; returns the published count. Throws
/// `RingClosedException` once the ring is closed with nothing beyond `seen`, and
/// `ProducerGoneException` if the producer's process died.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn wait_published<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    ring: jlong,
    seen: jlong,
    timeout_ms: jlong,
) -> jlong {
    run(&mut env, |_| {
        let r = registry().ring(Handle(ring as u64))?;
        let seen = seen as u64;
        let timeout = std::time::Duration::from_millis(timeout_ms.max(0) as u64);
        let published = r.wait_published(seen, Some(timeout));
        if published <= seen {
            // Nothing new: closed, or the producer's process died? (Between two parks.)
            r.check_producer()?;
        }
        Ok(published as jlong)
    })
}

/// `Native.wake(ring)`: wakes every reader parked on the ring (cancellation), and returns every C
/// call blocked on this handle with `RF_WOKEN` (`rings::wake`).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn wake<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, ring: jlong) {
    run(&mut env, |_| rings::wake(Handle(ring as u64)))
}

/// `Native.notifySpace(ring)`: the notify half of the sleeper protocol for the Kotlin reader's
/// release: wakes producers waiting for space if one armed the space futex.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn notify_space<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, ring: jlong) {
    run(&mut env, |_| {
        registry().ring(Handle(ring as u64))?.notify_space_waiters();
        Ok(())
    })
}

/// Values of this boundary's own that Kotlin uses (`SOURCE_*`: the codes `producer_source`
/// takes; `STATS_*`: the positional layout of `statsValues`).
pub(crate) const JNI_VALUES: [(&str, u64); 6] = [
    ("SOURCE_SEQ", 0),
    ("SOURCE_AUDIO", 1),
    ("SOURCE_TELEMETRY", 2),
    ("SOURCE_FILL", 3),
    ("STATS_HEADER_LEN", STATS_HEADER_LEN as u64),
    ("STATS_CONSUMER_LEN", STATS_CONSUMER_LEN as u64),
];

/// Values at the head of `statsValues`, before the consumers.
const STATS_HEADER_LEN: usize = 8;
/// Values per consumer in `statsValues`.
const STATS_CONSUMER_LEN: usize = 9;

/// The ring's layout dump (`ringflow::layout::layout_dump`) and [`JNI_VALUES`], for `LayoutTest`.
fn layout_dump() -> String {
    let mut dump = ringflow::layout::layout_dump();
    for (name, value) in JNI_VALUES {
        dump.push_str(&format!("{name}={value}\n"));
    }
    dump
}

/// `Native.statsValues(ring): LongArray`: `[published, dropped, closed (0/1), dataWakes,
/// spaceWakes, abandoned, evicted (consumers evicted ever), consumers, then per consumer: index,
/// lossy (0/1), evicted (0/1), read, lag, delivered, lost, lapped, torn]`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn stats_values<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    ring: jlong,
) -> jni::objects::JLongArray<'l> {
    run(&mut env, |env| {
        let s = registry().ring(Handle(ring as u64))?.stats();
        let mut v: Vec<i64> = vec![
            s.published as i64,
            s.dropped as i64,
            i64::from(s.closed),
            s.data_wakes as i64,
            s.space_wakes as i64,
            s.abandoned as i64,
            s.evicted as i64,
            s.consumers.len() as i64,
        ];
        debug_assert_eq!(v.len(), STATS_HEADER_LEN);
        for c in &s.consumers {
            v.extend([
                c.index as i64,
                i64::from(c.lossy),
                i64::from(c.evicted),
                c.read as i64,
                c.lag as i64,
                c.delivered as i64,
                c.lost as i64,
                c.lapped as i64,
                c.torn as i64,
            ]);
        }
        debug_assert_eq!(
            v.len(),
            STATS_HEADER_LEN + s.consumers.len() * STATS_CONSUMER_LEN
        );
        let jni_err = |e: jni::errors::Error| EngineError::InvalidArgument(e.to_string());
        let array = env.new_long_array(v.len()).map_err(jni_err)?;
        array.set_region(env, 0, &v).map_err(jni_err)?;
        Ok(array)
    })
}

/// `Native.stats(ring): String`: the ring's and its tasks' statistics as JSON.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn stats<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, ring: jlong) -> JString<'l> {
    run(&mut env, |env| {
        let json = registry().stats(Handle(ring as u64))?.to_string();
        env.new_string(json)
            .map_err(|e| EngineError::InvalidArgument(e.to_string()))
    })
}

/// `Native.cancel(handle)`: cancels a task (or a ring and everything on it) and frees its handle.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn cancel<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, handle: jlong) {
    run(&mut env, |_| rings::cancel(Handle(handle as u64)))
}

/// `Native.close(ring)`: cancels the ring's tasks, wakes its parked readers and frees its
/// handle. The mapping is not unmapped here: every JVM consumer registered on it holds it (its
/// `Consumer` keeps the region mapped) until its flow unregisters, so a Kotlin reader that is
/// between two slot reads when `close` runs never touches unmapped memory.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn close<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, ring: jlong) {
    run(&mut env, |_| rings::cancel(Handle(ring as u64)))
}
