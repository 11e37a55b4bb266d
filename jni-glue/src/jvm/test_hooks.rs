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
    run(&mut env, |_| Ok(super::daemon::attached_count() as jint))
}

/// `Native.attachedThreadForTest(): Thread`: the JVM's `Thread` object for a Rust thread (not
/// a runtime thread, so no `on_thread_stop` hook runs on it) that attached through
/// [`super::daemon::with_env`] and then exited. It must have detached as it exited: the returned
/// `Thread` is then terminated.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn attached_thread_for_test<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> JObject<'l> {
    run(&mut env, |env| {
        let fail = |e: String| EngineError::InvalidArgument(e);
        let vm = jni::JavaVM::singleton().map_err(|e| fail(e.to_string()))?;
        let thread = std::thread::spawn(move || {
            super::daemon::with_env(&vm, |env| {
                let me = env
                    .call_static_method(
                        jni::jni_str!("java/lang/Thread"),
                        jni::jni_str!("currentThread"),
                        jni::jni_sig!("()Ljava/lang/Thread;"),
                        &[],
                    )?
                    .l()?;
                env.new_global_ref(me)
            })
        })
        .join()
        .map_err(|_| fail("the attaching thread panicked".into()))?
        .map_err(|e| fail(e.to_string()))?;
        env.new_local_ref(&thread).map_err(|e| fail(e.to_string()))
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

/// `Native.liveProducers(): Int`: producers attached (through JNI or the C ABI: one table) and
/// not yet closed (for leak tests).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn live_producers<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> jint {
    run(&mut env, |_| Ok(crate::producers::live() as jint))
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

/// `Native.recvNext(consumer, into, timeoutMs): Int`, for the reader conformance tests: like
/// `copyNext`, but waits for the frame at most `timeoutMs` as `Consumer::recv` does (a spin, then
/// a heartbeat, the state check and a park, slice by slice); -1 if none came. It holds only its
/// own consumer's entry while it waits, as `rf_consumer_next` does.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn recv_next<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    consumer: jlong,
    into: jni::objects::JByteArray<'l>,
    timeout_ms: jlong,
) -> jint {
    run(&mut env, |env| {
        let entry = consumers::get(consumer as u64)?;
        let mut entry = consumers::lock(&entry);
        let timeout = Duration::from_millis(timeout_ms.max(0) as u64);
        let result = match entry.consumer.recv(Some(timeout)) {
            Ok(frame) => into
                .set_region(env, 0, as_jbytes(frame.payload()))
                .map(|()| frame.len() as jint)
                .map_err(|e| EngineError::InvalidArgument(e.to_string())),
            Err(ringflow::RecvError::Timeout) => Ok(-1),
            Err(e) => Err(e.into()),
        };
        result
    })
}

/// Producers attached from the JVM by the reader conformance tests, by index, each with the
/// number of frames it pushed. The engine's producer tasks cannot stand in: they have no
/// `evict_after`, which the eviction scenarios need.
static TEST_PRODUCERS: std::sync::Mutex<Vec<Option<(ringflow::Producer, u64)>>> =
    std::sync::Mutex::new(Vec::new());

fn test_producers() -> std::sync::MutexGuard<'static, Vec<Option<(ringflow::Producer, u64)>>> {
    TEST_PRODUCERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `Native.testProducerAttach(ring, evictAfterMs): Long`, for tests: attaches a `block`
/// producer (giving up after 30 s) that evicts a lossless consumer holding it back whose
/// heartbeat is older than `evictAfterMs` (0: only consumers whose process is gone), looking
/// every 10 ms. Returns its index.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn test_producer_attach<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    ring: jlong,
    evict_after_ms: jlong,
) -> jlong {
    run(&mut env, |_| {
        let mut options = ringflow::ProducerOptions::new(ringflow::FullPolicy::Block {
            timeout: Some(Duration::from_secs(30)),
        })
        .liveness_interval(Duration::from_millis(10));
        if evict_after_ms > 0 {
            options = options.evict_after(Duration::from_millis(evict_after_ms as u64));
        }
        let (r, _) = crate::rings::get(ringflow_engine::registry::Handle(ring as u64))?;
        let producer = r.producer(options)?;
        let mut table = test_producers();
        let slot = table.iter().position(Option::is_none).unwrap_or_else(|| {
            table.push(None);
            table.len() - 1
        });
        table[slot] = Some((producer, 0));
        Ok(slot as jlong)
    })
}

/// `Native.testProducerPush(producer, frames): Long`, for tests: pushes `frames` slot-size
/// frames of the `seq` pattern (`ringflow::pattern`; the producer's n-th frame carries n),
/// blocking while the ring is full. Returns the frames pushed so far.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn test_producer_push<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    producer: jlong,
    frames: jlong,
) -> jlong {
    run(&mut env, |_| {
        let index = usize::try_from(producer).unwrap_or(usize::MAX);
        // Taken out of the table while it pushes, so a blocked push holds no lock.
        let taken = test_producers().get_mut(index).and_then(Option::take);
        let Some((mut p, mut pushed)) = taken else {
            return Err(EngineError::UnknownHandle(producer as u64));
        };
        let mut outcome = Ok(());
        for _ in 0..frames.max(0) {
            match p.claim() {
                Ok(mut slot) => {
                    let payload = slot.payload_mut();
                    let len = payload.len();
                    ringflow::pattern::fill(payload, 0, pushed);
                    slot.commit(len);
                    pushed += 1;
                }
                Err(e) => {
                    outcome = Err(e.into());
                    break;
                }
            }
        }
        test_producers()[index] = Some((p, pushed));
        outcome.map(|()| pushed as jlong)
    })
}

/// `Native.testProducerDetach(producer)`, for tests: detaches the producer (the last one out
/// closes the ring).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn test_producer_detach<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, producer: jlong) {
    run(&mut env, |_| {
        let taken = usize::try_from(producer)
            .ok()
            .and_then(|i| test_producers().get_mut(i).and_then(Option::take));
        match taken {
            Some(_) => Ok(()),
            None => Err(EngineError::UnknownHandle(producer as u64)),
        }
    })
}

/// `Native.errorTable(): String`, for `ErrorTableTest`: the one error table
/// (`ErrorKind::boundary`), a line per kind: `KIND C_NAME C_STATUS KOTLIN_CLASS EXIT_CODE`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn error_table<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> JString<'l> {
    run(&mut env, |env| {
        let mut out = String::new();
        for kind in ringflow_engine::error::ErrorKind::ALL {
            let b = kind.boundary();
            out.push_str(&format!(
                "{kind:?} {} {} {} {}\n",
                b.c_name, b.c_status, b.kotlin_class, b.exit_code
            ));
        }
        env.new_string(out)
            .map_err(|e| EngineError::InvalidArgument(e.to_string()))
    })
}

/// `Native.testProducerAbandon(producer)`, for tests: claims one slot and leaves it claimed, never
/// committed nor dropped, as a producer killed between claim and commit leaves it.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn test_producer_abandon<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, producer: jlong) {
    run(&mut env, |_| {
        let index = usize::try_from(producer).unwrap_or(usize::MAX);
        let mut table = test_producers();
        let Some(Some((p, _))) = table.get_mut(index) else {
            return Err(EngineError::UnknownHandle(producer as u64));
        };
        std::mem::forget(p.claim()?);
        Ok(())
    })
}
