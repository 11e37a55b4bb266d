//! How a JNI entry runs: under jni 0.22's `EnvUnowned::with_env`, which catches panics; a Rust
//! error is thrown as a typed Kotlin exception (`RingClosedException`, `RingCorruptException`,
//! ..., all subclasses of `dev.ringflow.RingException`), and a panic as a `RuntimeException`:
//! nothing unwinds into the JVM.

use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::JString;
use jni::strings::JNIString;
use jni::{Env, EnvUnowned};
use ringflow_engine::error::ErrorKind;
use ringflow_engine::EngineError;

use super::load::cached_class;

/// The exception class a ring error is thrown as.
pub(super) fn exception_class(e: &EngineError) -> &'static str {
    e.kind().boundary().kotlin_class
}

/// An error on its way to the JVM: what kind it is (its class is that kind's in the one error
/// table, `ErrorKind::boundary`) and the exception's message.
pub(super) struct Thrown {
    kind: ErrorKind,
    message: String,
}

impl Thrown {
    pub(super) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Thrown {
            kind,
            message: message.into(),
        }
    }
}

impl From<EngineError> for Thrown {
    fn from(e: EngineError) -> Self {
        Thrown::new(e.kind(), e.to_string())
    }
}

/// Runs `f`, throwing its error as the matching Kotlin exception.
pub(super) fn run<'l, T: Default>(
    unowned: &mut EnvUnowned<'l>,
    f: impl FnOnce(&mut Env<'l>) -> Result<T, EngineError>,
) -> T {
    run_thrown(unowned, |env| f(env).map_err(Thrown::from))
}

/// [`run`], for a call whose errors are not all [`EngineError`]s (a claim ended by a close).
pub(super) fn run_thrown<'l, T: Default>(
    unowned: &mut EnvUnowned<'l>,
    f: impl FnOnce(&mut Env<'l>) -> Result<T, Thrown>,
) -> T {
    unowned
        .with_env(|env| -> jni::errors::Result<T> {
            match f(env) {
                Ok(v) => Ok(v),
                Err(e) => {
                    let name = e.kind.boundary().kotlin_class;
                    let message = JNIString::from(e.message);
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

/// A Kotlin string argument.
pub(super) fn string(env: &mut Env<'_>, s: &JString<'_>) -> Result<String, EngineError> {
    s.try_to_string(env)
        .map_err(|e| EngineError::InvalidArgument(format!("bad string argument: {e}")))
}
