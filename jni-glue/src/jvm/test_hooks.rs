//! Natives that only tests and benchmarks call, built only with the `test-hooks` feature (the
//! Kotlin test build asks for it: `kotlin-consumer/pom.xml`; so must a build for `benches/jvm`,
//! whose naive baseline reads through `copyNext`). Kotlin declares them in `Native` either way;
//! calling one on a library built without them throws `UnsatisfiedLinkError`.

use std::time::Duration;

use jni::objects::{JClass, JObject, JString};
use jni::sys::{jint, jlong};
use jni::{jni_mangle, EnvUnowned};
use ringflow_engine::registry::Registry;
use ringflow_engine::EngineError;

use super::calls;
use super::run::{run, string};
use crate::consumers;

fn registry() -> &'static Registry {
    Registry::global()
}

/// `Native.copyNext(consumer, into): Int`: copies the consumer's next frame into `into` through
/// JNI and advances (the length), or -1 if none is there. One JNI call and one copy per frame:
/// the naive bridge the benchmarks hold the zero-copy Flow against, not a path to use.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn copy_next<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    consumer: jlong,
    into: jni::objects::JByteArray<'l>,
) -> jint {
    run(&mut env, |env| {
        let entry = consumers::get(consumer as u64)?;
        let mut entry = consumers::lock(&entry);
        let Some(frame) = entry.consumer.poll()? else {
            return Ok(-1);
        };
        // The one copy: from the slot into the Java array (SetByteArrayRegion).
        into.set_region(env, 0, as_jbytes(frame.payload()))
            .map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
        Ok(frame.len() as jint)
    })
}

fn as_jbytes(b: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have the same size, alignment and validity.
    unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<i8>(), b.len()) }
}

/// `Native.callTest(completion, value, delayUs, outcome): Long`: a call for tests that sleeps
/// `delayUs` on the runtime and then ends as `outcome` says: 0 returns `value`, 1 fails with
/// `Full` (`RingFullException`), 2 with a bad argument, 3 panics, 4 is cancelled on the Rust
/// side.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn call_test<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    completion: JObject<'l>,
    value: jlong,
    delay_us: jlong,
    outcome: jint,
) -> jlong {
    run(&mut env, |env| {
        let delay = Duration::from_micros(delay_us.max(0) as u64);
        let h = calls::start(env, &completion, calls::Returns::Long, |on_end| {
            registry().spawn_future(
                None,
                move |_| async move {
                    if !delay.is_zero() {
                        // (tokio's timer has a 1 ms tick: even a zero sleep would wait for it.)
                        tokio::time::sleep(delay).await;
                    }
                    match outcome {
                        0 => Ok(value),
                        1 => Err(EngineError::Ring(ringflow::Error::Full)),
                        2 => Err(EngineError::InvalidArgument(format!("bad value {value}"))),
                        3 => panic!("test call {value} panicked"),
                        _ => Err(EngineError::Cancelled),
                    }
                },
                Some(on_end),
            )
        })?;
        Ok(h.0 as jlong)
    })
}

/// `Native.pendingCalls(): Int`: calls waiting for their task (for leak tests).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn pending_calls<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> jint {
    run(&mut env, |_| Ok(calls::pending_count() as jint))
}

/// `Native.liveHandles(): Int`: handles alive in the engine's registry (for leak tests).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn live_handles<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> jint {
    run(&mut env, |_| Ok(registry().len() as jint))
}

/// `Native.attachedThreads(): Int`: Rust threads attached to the JVM now.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn attached_threads<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> jint {
    run(&mut env, |_| {
        Ok(jni::JavaVM::singleton().map_or(0, |vm| vm.threads_attached()) as jint)
    })
}

/// `Native.setCallJitterForTest(maxUs)`: a random delay of up to `maxUs` before each call's
/// delivery, to widen the resume/cancel race in tests.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn set_call_jitter_for_test<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, max_us: jlong) {
    run(&mut env, |_| {
        calls::set_jitter_us(max_us.max(0) as u64);
        Ok(())
    })
}

/// `Native.liveConsumers(): Int`: consumers registered (through JNI or the C ABI: one table) and
/// not yet unregistered (for leak tests).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn live_consumers<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> jint {
    run(&mut env, |_| Ok(consumers::live() as jint))
}

/// `Native.cachedExceptionClasses(): Int`: exception classes resolved in `JNI_OnLoad` (for tests).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn cached_exception_classes<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> jint {
    run(&mut env, |_| Ok(super::load::cached_class_count() as jint))
}

/// `Native.panicForTest(message)`: panics inside a native entry, so a test can check that a
/// Rust panic reaches Kotlin as an exception and the JVM goes on.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn panic_for_test<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, message: JString<'l>) {
    run(&mut env, |env| -> Result<(), EngineError> {
        let message = string(env, &message)?;
        panic!("{message}")
    })
}
