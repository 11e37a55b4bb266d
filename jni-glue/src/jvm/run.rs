//! How a JNI entry runs: under jni 0.22's `EnvUnowned::with_env`, which catches panics; a Rust
//! error is thrown as a typed Kotlin exception (`RingClosedException`, `RingCorruptException`,
//! ..., all subclasses of `dev.ringflow.RingException`), and a panic as a `RuntimeException`:
//! nothing unwinds into the JVM.

use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::JString;
use jni::strings::JNIString;
use jni::{Env, EnvUnowned};
use ringflow_engine::EngineError;

use super::load::cached_class;

/// The exception class a ring error is thrown as.
pub(super) fn exception_class(e: &EngineError) -> &'static str {
    e.kind().boundary().kotlin_class
}

/// Runs `f`, throwing its error as the matching Kotlin exception.
pub(super) fn run<'l, T: Default>(
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

/// A Kotlin string argument.
pub(super) fn string(env: &mut Env<'_>, s: &JString<'_>) -> Result<String, EngineError> {
    s.try_to_string(env)
        .map_err(|e| EngineError::InvalidArgument(format!("bad string argument: {e}")))
}
