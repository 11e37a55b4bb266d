//! Runtime threads attach to the JVM as *daemon* threads, so a JVM whose `main` returns exits.
//!
//! jni 0.22's `attach_current_thread` attaches a non-daemon thread for good, and `DestroyJavaVM`
//! (what the `java` launcher calls once `main` returns) waits for every non-daemon thread: a
//! program that made one suspend call and returned would hang for ever. jni's safe API has no
//! daemon attach (its docs leave daemon threads to the caller), so this module calls
//! `AttachCurrentThreadAsDaemon` of the raw invocation interface and then runs the callback in a
//! local frame of that attachment (`JavaVM::with_local_frame` finds it through `GetEnv`).
//!
//! A daemon thread keeps no JVM alive, and a runtime thread holds nothing the JVM must finish
//! (a resumed continuation runs on a Kotlin dispatcher, not here). If the JVM shuts down while
//! one is inside a callback, the JVM blocks that thread until the process exits, which is what it
//! does to its own daemon threads.
//!
//! The runtime's `on_thread_stop` hook ([`detach_current`]) detaches a thread this module
//! attached; a thread attached by someone else is left alone.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use jni::sys::{jint, JavaVMAttachArgs, JNI_VERSION_1_8};
use jni::{Env, JavaVM};

thread_local! {
    /// Whether this module attached the current thread (and so must detach it).
    static ATTACHED_HERE: Cell<bool> = const { Cell::new(false) };
}

/// Threads this module attached and has not detached (for tests).
static ATTACHED: AtomicUsize = AtomicUsize::new(0);

/// The name the JVM gives an attached runtime thread (in thread dumps).
const THREAD_NAME: &std::ffi::CStr = c"ringflow-runtime";

/// Local references a callback may create before the frame grows (a handful per resume).
const LOCAL_FRAME_CAPACITY: usize = 16;

/// Runs `f` with a JNI environment on the current thread, attaching it as a daemon thread first
/// if it is not attached yet. Local references `f` creates are freed when it returns.
pub(super) fn with_env<T>(
    vm: &JavaVM,
    f: impl FnOnce(&mut Env<'_>) -> jni::errors::Result<T>,
) -> jni::errors::Result<T> {
    if !vm.is_thread_attached()? {
        attach_daemon(vm)?;
    }
    vm.with_local_frame(LOCAL_FRAME_CAPACITY, f)
}

fn attach_daemon(vm: &JavaVM) -> jni::errors::Result<()> {
    let raw = vm.get_raw();
    let mut args = JavaVMAttachArgs {
        version: JNI_VERSION_1_8,
        name: THREAD_NAME.as_ptr().cast_mut(),
        group: std::ptr::null_mut(),
    };
    let mut env = std::ptr::null_mut();
    // SAFETY: `raw` is the JVM's own invocation interface (`JavaVM::singleton` was set from
    // `JNI_OnLoad`'s pointer); AttachCurrentThreadAsDaemon (JNI 1.4) takes that pointer, an out
    // pointer for the JNIEnv and the attach arguments, which live across the call (the JVM copies
    // the name).
    let code: jint = unsafe {
        ((*(*raw)).v1_4.AttachCurrentThreadAsDaemon)(raw, &mut env, (&raw mut args).cast())
    };
    jni::errors::jni_error_code_to_result(code)?;
    ATTACHED_HERE.with(|a| a.set(true));
    // Relaxed: a count read only by tests, which wait for it (nothing is published through it).
    ATTACHED.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Detaches the current thread if [`with_env`] attached it (the runtime's `on_thread_stop`).
pub(super) fn detach_current() {
    if !ATTACHED_HERE.with(|a| a.replace(false)) {
        return;
    }
    let Ok(vm) = JavaVM::singleton() else { return };
    let raw = vm.get_raw();
    // SAFETY: this thread was attached by `attach_daemon` and holds no JNI frame or reference
    // now (every callback ran in a local frame that has been popped); DetachCurrentThread takes
    // the JVM's own pointer.
    let _ = unsafe { ((*(*raw)).v1_1.DetachCurrentThread)(raw) };
    // Relaxed: see `attach_daemon`.
    ATTACHED.fetch_sub(1, Ordering::Relaxed);
}

/// Runtime threads attached to the JVM now (for tests).
#[cfg(feature = "test-hooks")]
pub(super) fn attached_count() -> usize {
    // Relaxed: see `attach_daemon`.
    ATTACHED.load(Ordering::Relaxed)
}
