//! `JNI_OnLoad`: resolves, once, what threads the JVM did not start cannot look up by name (the
//! exception classes, `Completion`'s methods), and installs the runtime's detach hook.
//!
//! The exception classes are kept as global references: a lookup by name from a thread the JVM
//! did not start can miss the application's classes.

use std::sync::OnceLock;

use jni::objects::{Global, JClass};
use jni::strings::JNIString;
use jni::sys::jint;

use super::calls;
use super::daemon;

/// Every exception class a ring error can be thrown as: the Kotlin column of the one error table
/// (`ErrorKind::boundary`), each once.
fn exception_classes() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = ringflow_engine::error::ErrorKind::ALL
        .iter()
        .map(|k| k.boundary().kotlin_class)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

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
            for name in exception_classes() {
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
        // Runtime threads attach (as daemons) when they first resume a Kotlin call; detach them
        // as they stop. Fails only if this process built the runtime before loading the
        // library: then each attached thread detaches as it exits (`daemon::Attached`).
        let _ = ringflow_engine::runtime::init(ringflow_engine::runtime::RuntimeConfig {
            on_thread_stop: Some(std::sync::Arc::new(daemon::detach_current)),
            ..Default::default()
        });
    });
    jni::sys::JNI_VERSION_1_8
}

/// An exception class resolved in `JNI_OnLoad`, by name.
pub(super) fn cached_class(name: &str) -> Option<&'static Global<JClass<'static>>> {
    EXCEPTION_CLASSES
        .get()
        .and_then(|c| c.iter().find(|(n, _)| *n == name))
        .map(|(_, class)| class)
}

/// How many exception classes `JNI_OnLoad` resolved (for tests).
#[cfg(feature = "test-hooks")]
pub(super) fn cached_class_count() -> usize {
    EXCEPTION_CLASSES.get().map_or(0, Vec::len)
}
