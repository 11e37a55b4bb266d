//! ringflow-jni: the JNI boundary for the Kotlin library (`kotlin-consumer/`, class
//! `dev.ringflow.internal.Native`).
//!
//! Thin by design: it hands the region to the JVM as one `DirectByteBuffer` and registers
//! consumers; the Kotlin side then reads frames and moves its own read cursor in the shared
//! memory with no JNI call per frame. JNI is called to open or create a ring, to register and
//! unregister, to park when there is nothing to read, to wake parked readers, to start engine
//! producers in this process, and for stats.
//!
//! Every entry runs under jni 0.22's `EnvUnowned::with_env`, which catches panics; a Rust error
//! is thrown as a typed Kotlin exception (`RingClosedException`, `RingCorruptException`, ...,
//! all subclasses of `dev.ringflow.RingException`), and a panic as a `RuntimeException`: nothing
//! unwinds into the JVM.
//!
//! The exception classes are looked up once, in `JNI_OnLoad`, and kept as global references
//! (a lookup by name from a thread the JVM did not start can miss the application's classes).
//!
//! `calls` resumes Kotlin `suspend fun`s from the engine's runtime threads (the only Rust
//! threads that call into the JVM: each attaches on its first callback and detaches in the
//! runtime's `on_thread_stop` hook, installed here in `JNI_OnLoad`). `capi` is the C ABI for
//! every other runtime (Kotlin/Native, Dart, Swift, Python): see `docs/BINDINGS.md`.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{Global, JByteBuffer, JClass, JObject, JString};
use jni::strings::JNIString;
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_mangle, Env, EnvUnowned};
use ringflow::{Consumer, Delivery, Ring, RingConfig};
use ringflow_engine::registry::{Handle, Registry};
use ringflow_engine::source::SeqSource;
use ringflow_engine::task::ProduceOptions;
use ringflow_engine::EngineError;

mod calls;
pub mod capi;

/// Consumers registered from the JVM, by handle: the Rust `Consumer` owns the block (and gives
/// it back when unregistered); the Kotlin side moves the block's read cursor itself.
static CONSUMERS: Mutex<Vec<Option<(Handle, Consumer)>>> = Mutex::new(Vec::new());

/// The consumer table, even if a thread panicked while holding it (its entries stay valid: each
/// change is one assignment).
fn consumers() -> std::sync::MutexGuard<'static, Vec<Option<(Handle, Consumer)>>> {
    CONSUMERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Every exception class a ring error can be thrown as.
const EXCEPTIONS: [&str; 7] = [
    "dev/ringflow/RingException",
    "dev/ringflow/RingClosedException",
    "dev/ringflow/ProducerGoneException",
    "dev/ringflow/RingCorruptException",
    "dev/ringflow/RingFullException",
    "dev/ringflow/LaggedException",
    "dev/ringflow/BadArgumentException",
];

/// The exception classes, resolved in `JNI_OnLoad`.
static EXCEPTION_CLASSES: OnceLock<Vec<(&'static str, Global<JClass<'static>>)>> = OnceLock::new();

/// Resolves and keeps the exception classes; never fails the load (a JVM without the Kotlin
/// classes falls back to lookups by name), never unwinds into the JVM.
///
/// # Safety
/// Called by the JVM with its own `JavaVM` pointer, once, when it loads the library.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn JNI_OnLoad(
    vm: *mut jni::sys::JavaVM,
    _reserved: *mut std::ffi::c_void,
) -> jint {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: the JVM passes its own valid JavaVM pointer to JNI_OnLoad.
        let vm = unsafe { jni::JavaVM::from_raw(vm) };
        let loaded = vm.attach_current_thread(|env| -> jni::errors::Result<Vec<_>> {
            let mut classes = Vec::new();
            for name in EXCEPTIONS {
                match env.find_class(JNIString::from(name)) {
                    Ok(class) => classes.push((name, env.new_global_ref(class)?)),
                    // Not on this JVM's class path: thrown by name later (as RuntimeException).
                    Err(_) => env.exception_clear(),
                }
            }
            Ok(classes)
        });
        if let Ok(classes) = loaded {
            let _ = EXCEPTION_CLASSES.set(classes);
        }
        let _ = vm.attach_current_thread(|env| -> jni::errors::Result<()> {
            if calls::resolve(env).is_err() {
                // Not on this class path: suspend calls then fail with a clear error.
                env.exception_clear();
            }
            Ok(())
        });
        // Runtime threads attach when they first resume a Kotlin call; detach them explicitly
        // as they stop (a detach in a TLS destructor may log, and logging there can panic).
        // Fails only if this process built the runtime before loading the library: then the
        // TLS destructor detaches.
        let _ = ringflow_engine::runtime::init(ringflow_engine::runtime::RuntimeConfig {
            on_thread_stop: Some(std::sync::Arc::new(|| {
                if let Ok(vm) = jni::JavaVM::singleton() {
                    let _ = vm.detach_current_thread();
                }
            })),
            ..Default::default()
        });
    });
    jni::sys::JNI_VERSION_1_8
}

/// An exception class resolved in `JNI_OnLoad`, by name.
pub(crate) fn cached_class(name: &str) -> Option<&'static Global<JClass<'static>>> {
    EXCEPTION_CLASSES
        .get()
        .and_then(|c| c.iter().find(|(n, _)| *n == name))
        .map(|(_, class)| class)
}

/// The exception class a ring error is thrown as.
fn exception_class(e: &EngineError) -> &'static str {
    use ringflow::Error as R;
    match e {
        EngineError::Ring(R::Closed) => "dev/ringflow/RingClosedException",
        EngineError::Ring(R::ProducerGone { .. }) => "dev/ringflow/ProducerGoneException",
        EngineError::Ring(R::Layout(_) | R::Corrupt { .. }) => "dev/ringflow/RingCorruptException",
        EngineError::Ring(R::Full) => "dev/ringflow/RingFullException",
        EngineError::Ring(R::Evicted { .. }) => "dev/ringflow/LaggedException",
        EngineError::Ring(R::InvalidArgument(_)) | EngineError::InvalidArgument(_) => {
            "dev/ringflow/BadArgumentException"
        }
        EngineError::UnknownHandle(_) | EngineError::WrongKind { .. } => {
            "dev/ringflow/RingClosedException"
        }
        _ => "dev/ringflow/RingException",
    }
}

/// Runs `f`, throwing its error as the matching Kotlin exception.
fn run<'l, T: Default>(
    unowned: &mut EnvUnowned<'l>,
    f: impl FnOnce(&mut Env<'l>) -> Result<T, EngineError>,
) -> T {
    unowned
        .with_env(|env| -> jni::errors::Result<T> {
            match f(env) {
                Ok(v) => Ok(v),
                Err(e) => {
                    let name = exception_class(&e);
                    let message = JNIString::from(e.to_string());
                    // `throw_new` reports the pending exception as an error: it is the outcome.
                    let _ = match cached_class(name) {
                        Some(class) => env.throw_new(class, message),
                        None => env.throw_new(JNIString::from(name).as_ref(), message),
                    };
                    Err(jni::errors::Error::JavaException)
                }
            }
        })
        .resolve::<ThrowRuntimeExAndDefault>()
}

fn registry() -> &'static Registry {
    Registry::global()
}

fn string(env: &mut Env<'_>, s: &JString<'_>) -> Result<String, EngineError> {
    s.try_to_string(env)
        .map_err(|e| EngineError::InvalidArgument(format!("bad string argument: {e}")))
}

/// `Native.open(path): Long`: maps an existing ring file; returns its handle.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn open<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, path: JString<'l>) -> jlong {
    run(&mut env, |env| {
        let path = string(env, &path)?;
        let ring = Ring::open(path)?;
        Ok(registry().add_ring(ring).0 as jlong)
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
        Ok(registry().add_ring(ring).0 as jlong)
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

/// `ringflow::layout::layout_dump()` and the values the Kotlin reader needs that it does not
/// print yet: the consumer block's generation word, the states a reader watches and the
/// sequence limit (docs/FORMAT.md, "Reader obligations" R6 and R8). They belong in
/// `layout_dump` itself; they are added here until it prints them.
fn layout_dump() -> String {
    use ringflow::layout::{consumer_block, consumer_state, stamp};
    let mut dump = ringflow::layout::layout_dump();
    for (name, value) in [
        (
            "CONSUMER_GENERATION_OFFSET",
            consumer_block::GENERATION_OFFSET as u64,
        ),
        ("CONSUMER_STATE_ACTIVE", u64::from(consumer_state::ACTIVE)),
        ("CONSUMER_STATE_EVICTED", u64::from(consumer_state::EVICTED)),
        ("MAX_SEQ", stamp::MAX_SEQ),
    ] {
        if !dump.contains(&format!("\n{name}=")) {
            dump.push_str(&format!("{name}={value}\n"));
        }
    }
    dump
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
        let r = registry().ring(rh)?;
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
        let mut consumers = consumers();
        let Some((_, c)) = usize::try_from(consumer)
            .ok()
            .and_then(|i| consumers.get_mut(i))
            .and_then(Option::as_mut)
        else {
            return Err(EngineError::UnknownHandle(consumer as u64));
        };
        let Some(frame) = c.poll()? else {
            return Ok(-1);
        };
        // The one copy: from the slot into the Java array (SetByteArrayRegion).
        into.set_region(env, 0, as_jbytes(frame.payload()))
            .map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
        Ok(frame.len() as jint)
    })
}

/// `Native.recvNext(consumer, into, timeoutMs): Int`, for tests: like `copyNext`, but waits for
/// the frame at most `timeoutMs` as `Consumer::recv` does (a spin, then a heartbeat, the state
/// check and a park, slice by slice); -1 if none came. The consumer is taken out of the table
/// while it waits, so the wait holds no lock.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn recv_next<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    consumer: jlong,
    into: jni::objects::JByteArray<'l>,
    timeout_ms: jlong,
) -> jint {
    run(&mut env, |env| {
        let index = usize::try_from(consumer).unwrap_or(usize::MAX);
        let taken = consumers().get_mut(index).and_then(Option::take);
        let Some((rh, mut c)) = taken else {
            return Err(EngineError::UnknownHandle(consumer as u64));
        };
        let timeout = Duration::from_millis(timeout_ms.max(0) as u64);
        let result = match c.recv(Some(timeout)) {
            Ok(frame) => into
                .set_region(env, 0, as_jbytes(frame.payload()))
                .map(|()| frame.len() as jint)
                .map_err(|e| EngineError::InvalidArgument(e.to_string())),
            Err(ringflow::Error::Timeout) => Ok(-1),
            Err(e) => Err(e.into()),
        };
        consumers()[index] = Some((rh, c));
        result
    })
}

fn as_jbytes(b: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have the same size, alignment and validity.
    unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<i8>(), b.len()) }
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
        let timeout = Duration::from_millis(timeout_ms.max(0) as u64);
        let published = r.wait_published(seen, Some(timeout));
        if published <= seen {
            // Nothing new: closed, or the producer's process died? (Between two parks.)
            r.check_producer()?;
        }
        Ok(published as jlong)
    })
}

/// `Native.wake(ring)`: wakes every reader parked on the ring (cancellation).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn wake<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, ring: jlong) {
    run(&mut env, |_| {
        registry().ring(Handle(ring as u64))?.wake_waiters();
        Ok(())
    })
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

/// An engine source for `Native.startProducer`'s codes: 0 is `seq` (frames of the slot size), 1
/// `audio` (a 440 Hz sine in the ring's audio format), 2 `telemetry`, 3 `fill` (slot-size
/// frames whose every byte is the frame's number: the cheapest, for benchmarks); `frames` < 0 runs until
/// cancelled; `rate` <= 0 keeps the source's own pacing.
fn producer_source(
    ring: &Ring,
    source: jint,
    frames: jlong,
    rate: f64,
) -> Result<(Box<dyn ringflow_engine::source::Source>, ProduceOptions), EngineError> {
    use ringflow_engine::source::{AudioSource, Source, TelemetrySource, Waveform};
    let paced_by_rate = rate > 0.0;
    let (source, fixed_rate): (Box<dyn Source>, bool) = match source {
        0 => (Box::new(SeqSource::new(0, ring.slot_size())), paced_by_rate),
        1 => match ring.schema() {
            ringflow::Schema::Audio(format) => (
                Box::new(AudioSource::generator(format, Waveform::Sine(440.0))?),
                paced_by_rate,
            ),
            other => {
                return Err(EngineError::InvalidArgument(format!(
                    "an audio producer needs an audio ring, not {other:?}"
                )))
            }
        },
        // Every byte the frame's number: the cheapest frames (benchmarks).
        3 => (
            Box::new(ringflow_engine::source::FillSource::new(ring.slot_size())),
            paced_by_rate,
        ),
        // Telemetry paces itself from the rate (with bursts).
        2 => (
            Box::new(TelemetrySource::new(
                if paced_by_rate { rate } else { 1000.0 },
                64,
            )),
            false,
        ),
        other => {
            return Err(EngineError::InvalidArgument(format!(
                "source must be 0 (seq), 1 (audio), 2 (telemetry) or 3 (fill), but was {other}"
            )))
        }
    };
    let options = ProduceOptions {
        frames: (frames >= 0).then_some(frames as u64),
        rate: fixed_rate.then_some(rate),
        ..Default::default()
    };
    Ok((source, options))
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
/// whose format it matches, and resumes `completion` with the producer's summary (JSON).
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
        let wav = AudioSource::wav(&path, format.samples_per_frame)?;
        if wav.format() != format {
            return Err(EngineError::InvalidArgument(format!(
                "{path} is {:?} but the ring holds {format:?}",
                wav.format()
            )));
        }
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

/// `Native.cancelCall(handle): Boolean`: cancels a running call (from the coroutine's
/// `invokeOnCancellation`); true if the cancellation won over the task's end.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn cancel_call<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, handle: jlong) -> jboolean {
    run(&mut env, |_| Ok(calls::cancel(Handle(handle as u64))))
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
        calls::JITTER_US.store(max_us.max(0) as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    })
}

/// `Native.statsValues(ring): LongArray`: `[published, dropped, closed (0/1), dataWakes,
/// spaceWakes, consumers, then per consumer: index, lossy (0/1), evicted (0/1), read, lag,
/// delivered, lost, lapped, torn]`.
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
            s.consumers.len() as i64,
        ];
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
        let jni_err = |e: jni::errors::Error| EngineError::InvalidArgument(e.to_string());
        let array = env.new_long_array(v.len()).map_err(jni_err)?;
        array.set_region(env, 0, &v).map_err(jni_err)?;
        Ok(array)
    })
}

/// `Native.cancel(handle)`: cancels a task (or a ring and everything on it) and frees its handle.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn cancel<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, handle: jlong) {
    run(&mut env, |_| registry().cancel(Handle(handle as u64)))
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

/// `Native.close(ring)`: cancels the ring's tasks, wakes its parked readers and frees its
/// handle. The mapping is not unmapped here: every JVM consumer registered on it holds it (its
/// `Consumer` keeps the region mapped) until its flow unregisters, so a Kotlin reader that is
/// between two slot reads when `close` runs never touches unmapped memory.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn close<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, ring: jlong) {
    run(&mut env, |_| registry().cancel(Handle(ring as u64)))
}

/// `Native.liveConsumers(): Int`: consumers registered from the JVM and not yet unregistered
/// (for leak tests).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn live_consumers<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> jint {
    run(&mut env, |_| {
        Ok(consumers().iter().filter(|c| c.is_some()).count() as jint)
    })
}

/// `Native.cachedExceptionClasses(): Int`: exception classes resolved in `JNI_OnLoad` (for tests).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn cached_exception_classes<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> jint {
    run(&mut env, |_| {
        Ok(EXCEPTION_CLASSES.get().map_or(0, Vec::len) as jint)
    })
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

/// Producers attached from the JVM by the reader conformance tests, by handle, each with the
/// number of frames it pushed. The engine's producer tasks cannot stand in: they have no
/// `evict_after`, which the eviction scenarios need.
static TEST_PRODUCERS: Mutex<Vec<Option<(ringflow::Producer, u64)>>> = Mutex::new(Vec::new());

fn test_producers() -> std::sync::MutexGuard<'static, Vec<Option<(ringflow::Producer, u64)>>> {
    TEST_PRODUCERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `Native.testProducerAttach(ring, evictAfterMs): Long`, for tests: attaches a `block`
/// producer (giving up after 30 s) that evicts a lossless consumer holding it back whose
/// heartbeat is older than `evictAfterMs` (0: only consumers whose process is gone), looking
/// every 10 ms. Returns its handle.
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
        let producer = registry().ring(Handle(ring as u64))?.producer(options)?;
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
