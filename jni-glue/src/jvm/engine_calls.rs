//! Engine calls: producers in this process, and the suspend calls (`calls`) that resume a
//! Kotlin coroutine when their task ends.

use jni::objects::{JClass, JObject, JString};
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_mangle, EnvUnowned};
use ringflow_engine::registry::{Handle, Registry};
use ringflow_engine::source::SeqSource;
use ringflow_engine::task::ProduceOptions;
use ringflow_engine::EngineError;

use super::calls;
use super::run::{run, string};
use crate::sources::producer_source;

fn registry() -> &'static Registry {
    Registry::global()
}

/// `Native.startSeqProducer(ring, frames, frameSize): Long`: starts an engine `seq` producer in
/// this process on the shared runtime; returns its task handle.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn start_seq_producer<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    ring: jlong,
    frames: jlong,
    frame_size: jint,
) -> jlong {
    run(&mut env, |_| {
        let size = usize::try_from(frame_size).map_err(|_| {
            EngineError::InvalidArgument(format!(
                "frameSize must not be negative, but was {frame_size}"
            ))
        })?;
        let options = ProduceOptions {
            frames: (frames >= 0).then_some(frames as u64),
            ..Default::default()
        };
        let h = registry().spawn_producer(
            Handle(ring as u64),
            Box::new(SeqSource::new(0, size)),
            options,
        )?;
        Ok(h.0 as jlong)
    })
}

/// `Native.startProducer(ring, source, frames, rate): Long`: starts an engine producer in this
/// process (see `producer_source` for the arguments). Returns the task handle.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn start_producer<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    ring: jlong,
    source: jint,
    frames: jlong,
    rate: f64,
) -> jlong {
    run(&mut env, |_| {
        let rh = Handle(ring as u64);
        let (source, options) = producer_source(&registry().ring(rh)?, source, frames, rate)?;
        Ok(registry().spawn_producer(rh, source, options)?.0 as jlong)
    })
}

/// `Native.callProducer(completion, ring, source, frames, rate): Long`: starts an engine
/// producer like `startProducer` and resumes `completion` with its summary (JSON) when it ends.
/// Returns the task handle (for `cancelCall`).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn call_producer<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    completion: JObject<'l>,
    ring: jlong,
    source: jint,
    frames: jlong,
    rate: f64,
) -> jlong {
    run(&mut env, |env| {
        let rh = Handle(ring as u64);
        let (source, options) = producer_source(&registry().ring(rh)?, source, frames, rate)?;
        let h = calls::start(env, &completion, calls::Returns::Json, |on_end| {
            registry().spawn_producer_then(rh, source, options, Some(on_end))
        })?;
        Ok(h.0 as jlong)
    })
}

/// `Native.callImportWav(completion, ring, path): Long`: plays a WAV file into an audio ring
/// of its rate and channels (its samples exactly in the ring's format, or refused), and resumes `completion` with the producer's summary (JSON).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn call_import_wav<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    completion: JObject<'l>,
    ring: jlong,
    path: JString<'l>,
) -> jlong {
    use ringflow_engine::source::AudioSource;
    run(&mut env, |env| {
        let rh = Handle(ring as u64);
        let path = string(env, &path)?;
        let ringflow::Schema::Audio(format) = registry().ring(rh)?.schema() else {
            return Err(EngineError::InvalidArgument(
                "a WAV import needs an audio ring".into(),
            ));
        };
        // Same rate and channels, every sample exact in the ring's format, or one sentence why
        // not (`AudioSource::fit`).
        let mut wav = AudioSource::wav(&path, format.samples_per_frame)?;
        wav.fit(format)?;
        let h = calls::start(env, &completion, calls::Returns::Json, |on_end| {
            registry().spawn_producer_then(
                rh,
                Box::new(wav),
                ProduceOptions::default(),
                Some(on_end),
            )
        })?;
        Ok(h.0 as jlong)
    })
}

/// `Native.callAwaitData(completion, ring, seen): Long`: resumes `completion` with the
/// published count once it exceeds `seen` (or with `RingClosedException`). Every such call on a
/// ring waits on the ring's one waiter thread: no thread is parked per caller.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn call_await_data<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    completion: JObject<'l>,
    ring: jlong,
    seen: jlong,
) -> jlong {
    run(&mut env, |env| {
        let rh = Handle(ring as u64);
        let wait = registry().published_beyond(rh, seen as u64)?;
        let h = calls::start(env, &completion, calls::Returns::Long, |on_end| {
            registry().spawn_future(Some(rh), |_| wait, Some(on_end))
        })?;
        Ok(h.0 as jlong)
    })
}

/// `Native.callBench(completion, frames, frameSize, consumers, producers): Long`: runs the
/// engine's bench job (`ringflow bench`) and resumes `completion` with its report (JSON).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn call_bench<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    completion: JObject<'l>,
    frames: jlong,
    frame_size: jint,
    consumers: jint,
    producers: jint,
) -> jlong {
    use ringflow_engine::jobs::{bench, BenchSpec};
    run(&mut env, |env| {
        let count = |v: jint, name: &str| {
            u32::try_from(v).map_err(|_| {
                EngineError::InvalidArgument(format!("{name} must not be negative, but was {v}"))
            })
        };
        let spec = BenchSpec {
            frames: u64::try_from(frames).map_err(|_| {
                EngineError::InvalidArgument(format!(
                    "frames must not be negative, but was {frames}"
                ))
            })?,
            frame_size: count(frame_size, "frameSize")?,
            consumers: count(consumers, "consumers")?,
            producers: count(producers, "producers")?,
        };
        let h = calls::start(env, &completion, calls::Returns::Json, |on_end| {
            registry().spawn_future(None, move |_| bench(registry(), spec), Some(on_end))
        })?;
        Ok(h.0 as jlong)
    })
}

/// `Native.cancelCall(handle): Boolean`: cancels a running call (from the coroutine's
/// `invokeOnCancellation`); true if the cancellation won over the task's end.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn cancel_call<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, handle: jlong) -> jboolean {
    run(&mut env, |_| Ok(calls::cancel(Handle(handle as u64))))
}
