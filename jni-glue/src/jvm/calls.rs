//! Suspend over Rust async: a Kotlin `suspend fun` calls a `Native.call*` entry with a
//! `dev.ringflow.internal.Completion` (which wraps its continuation); the entry starts the work
//! as a task of the engine's registry and returns the task's handle at once. When the task ends,
//! the runtime thread that saw it end calls one method of the completion (cached method ids;
//! the thread attaches to the JVM once, as a daemon thread, and detaches when the runtime
//! stops it: see `daemon`).
//!
//! ### Exactly one of resume and cancel
//! `PENDING` maps each running call's task handle to its completion. The end of a task
//! (`deliver`) and a cancellation from Kotlin (`cancelCall`, from `invokeOnCancellation`) both
//! *remove* the entry under the lock; whoever removes it acts, the other finds nothing. So a
//! continuation is resumed at most once, and every entry is removed exactly once: nothing leaks.
//! `start` holds the lock while it spawns and inserts, so a task that ends at once waits for its
//! entry to be there.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use jni::ids::JMethodID;
use jni::objects::{Global, JClass, JObject, JValue};
use jni::signature::{Primitive, ReturnType};
use jni::strings::JNIString;
use jni::{jni_sig, jni_str, Env, JavaVM};
use ringflow_engine::registry::{Handle, OnEnd, Outcome, Registry};
use ringflow_engine::EngineError;

use super::daemon;
use super::load::cached_class;
use super::run::exception_class;

fn registry() -> &'static Registry {
    Registry::global()
}

/// Continuations waiting for their task, by task handle.
static PENDING: Mutex<Option<HashMap<u64, Global<JObject<'static>>>>> = Mutex::new(None);

fn pending() -> MutexGuard<'static, Option<HashMap<u64, Global<JObject<'static>>>>> {
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `Completion`'s class and methods, resolved in `JNI_OnLoad`.
struct Methods {
    _class: Global<JClass<'static>>,
    succeed_json: JMethodID,
    succeed_long: JMethodID,
    fail: JMethodID,
    cancelled: JMethodID,
}

static METHODS: OnceLock<Methods> = OnceLock::new();

/// Resolves `Completion`'s methods (from `JNI_OnLoad`, where the application's class loader is
/// the one that finds them).
pub(super) fn resolve(env: &mut Env<'_>) -> jni::errors::Result<()> {
    let class = env.find_class(jni_str!("dev/ringflow/internal/Completion"))?;
    let methods = Methods {
        succeed_json: env.get_method_id(
            &class,
            jni_str!("succeedJson"),
            jni_sig!("(Ljava/lang/String;)V"),
        )?,
        succeed_long: env.get_method_id(&class, jni_str!("succeedLong"), jni_sig!("(J)V"))?,
        fail: env.get_method_id(
            &class,
            jni_str!("fail"),
            jni_sig!("(Ljava/lang/Throwable;)V"),
        )?,
        cancelled: env.get_method_id(
            &class,
            jni_str!("cancelled"),
            jni_sig!("(Ljava/lang/String;)V"),
        )?,
        _class: env.new_global_ref(class)?,
    };
    let _ = METHODS.set(methods);
    Ok(())
}

/// What a call's value is handed to Kotlin as.
#[derive(Clone, Copy)]
pub(super) enum Returns {
    /// A `Long` (`succeedLong`): the value must be a JSON integer.
    Long,
    /// JSON text (`succeedJson`).
    Json,
}

/// Starts a call: `spawn` starts the task with the given end callback; the completion waits in
/// `PENDING` until the task ends or Kotlin cancels. Returns the task handle.
pub(super) fn start(
    env: &mut Env<'_>,
    completion: &JObject<'_>,
    returns: Returns,
    spawn: impl FnOnce(OnEnd) -> Result<Handle, EngineError>,
) -> Result<Handle, EngineError> {
    if METHODS.get().is_none() {
        return Err(EngineError::InvalidArgument(
            "dev.ringflow.internal.Completion was not found when the library loaded".into(),
        ));
    }
    let global = env
        .new_global_ref(completion)
        .map_err(|e| EngineError::InvalidArgument(format!("completion: {e}")))?;
    let mut pending = pending();
    let h = spawn(Box::new(move |h, outcome| deliver(h, outcome, returns)))?;
    pending.get_or_insert_with(HashMap::new).insert(h.0, global);
    Ok(h)
}

/// Cancels a call from Kotlin: true if it won against the task's end (the task is cancelled
/// and its handle freed), false if the end came first (and resumed, or is resuming, Kotlin).
pub(super) fn cancel(h: Handle) -> bool {
    let won = pending().as_mut().and_then(|p| p.remove(&h.0)).is_some();
    if won {
        // Unknown only if the task's end released it meanwhile: nothing left to do then.
        let _ = registry().cancel(h);
    }
    won
}

/// Calls still waiting for their task (for leak tests).
#[cfg(feature = "test-hooks")]
pub(super) fn pending_count() -> usize {
    pending().as_ref().map_or(0, HashMap::len)
}

/// Up to this many microseconds of random delay before each delivery (tests widen the
/// resume/cancel race with it; a shipped library has no such delay).
#[cfg(feature = "test-hooks")]
static JITTER_US: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Sets the delivery jitter (`Native.setCallJitterForTest`).
#[cfg(feature = "test-hooks")]
pub(super) fn set_jitter_us(max: u64) {
    // Relaxed: a test knob; a delivery that reads the old value is as good a test.
    JITTER_US.store(max, std::sync::atomic::Ordering::Relaxed);
}

#[cfg(feature = "test-hooks")]
fn jitter(h: Handle) {
    // Relaxed: a test knob, read once per delivery (paired with nothing: see `set_jitter_us`).
    let max = JITTER_US.load(std::sync::atomic::Ordering::Relaxed);
    if max > 0 {
        // A splitmix step of the handle: enough spread for a race test, no dependency.
        let mut x = h.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 27;
        std::thread::sleep(std::time::Duration::from_micros(x % (max + 1)));
    }
}

#[cfg(not(feature = "test-hooks"))]
fn jitter(_: Handle) {}

/// The task `h` ended: resume its continuation, unless Kotlin cancelled it first.
fn deliver(h: Handle, outcome: Outcome, returns: Returns) {
    jitter(h);
    let Some(completion) = pending().as_mut().and_then(|p| p.remove(&h.0)) else {
        return; // cancelled from Kotlin: `cancel` freed the handle
    };
    let _ = registry().release(h);
    let (Ok(vm), Some(m)) = (JavaVM::singleton(), METHODS.get()) else {
        return; // no JVM in this process: nothing to resume
    };
    // A daemon attach, kept until the runtime stops the thread (its `on_thread_stop` hook
    // detaches it): a JVM whose `main` returns does not wait for it.
    let _ = daemon::with_env(&vm, |env| {
        resume(env, completion.as_obj(), m, outcome, returns)
    });
}

fn resume(
    env: &mut Env<'_>,
    completion: &JObject<'_>,
    m: &Methods,
    outcome: Outcome,
    returns: Returns,
) -> jni::errors::Result<()> {
    let (method, arg) = match outcome {
        Outcome::Done(value) => match (returns, value.as_i64()) {
            (Returns::Long, Some(v)) => (m.succeed_long, JValue::Long(v).as_jni()),
            _ => (m.succeed_json, object(env.new_string(value.to_string())?)),
        },
        Outcome::Cancelled => (
            m.cancelled,
            object(env.new_string("the Rust task was cancelled")?),
        ),
        Outcome::Failed(e) => (
            m.fail,
            object(throwable(env, exception_class(&e), &e.to_string())?),
        ),
        Outcome::Panicked(message) => (
            m.fail,
            object(throwable(
                env,
                "java/lang/RuntimeException",
                &format!("the Rust task panicked: {message}"),
            )?),
        ),
    };
    // SAFETY: each method was resolved on `Completion` with one argument of the kind passed
    // here (`succeedLong(long)`, `succeedJson(String)`, `cancelled(String)`,
    // `fail(Throwable)`) and returns void; the local references live until this frame ends.
    unsafe {
        env.call_method_unchecked(
            completion,
            method,
            ReturnType::Primitive(Primitive::Void),
            &[arg],
        )
    }?;
    Ok(())
}

/// A local reference as a raw JNI argument. Local references are not deleted when dropped (they
/// live until the attach callback's local frame ends), so the raw value stays valid for the call.
fn object<'l>(o: impl Into<JObject<'l>>) -> jni::sys::jvalue {
    JValue::Object(&o.into()).as_jni()
}

/// A new exception object of `class` (a cached class if `JNI_OnLoad` resolved it: a thread the
/// JVM did not start cannot find the application's classes by name).
fn throwable<'l>(
    env: &mut Env<'l>,
    class: &str,
    message: &str,
) -> jni::errors::Result<JObject<'l>> {
    let text = env.new_string(message)?;
    let args = [JValue::Object(&text)];
    let sig = jni_sig!("(Ljava/lang/String;)V");
    match cached_class(class) {
        Some(c) => env.new_object(c, sig, &args),
        None => {
            let c = env.find_class(JNIString::from(class))?;
            env.new_object(c, sig, &args)
        }
    }
}
