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
//! A thread this module attached holds an [`Attached`] guard in a thread-local, whose `Drop`
//! detaches it: the runtime's `on_thread_stop` hook ([`detach_current`]) drops it as the thread
//! stops, and if nothing called that hook (the runtime was built before `JNI_OnLoad` could
//! install it, or the thread is not a runtime thread at all), the thread-local's destructor drops
//! it as the thread exits. The JNI specification forbids a native thread to exit attached (and
//! the JVM would keep its `Thread` object for ever). A thread attached by someone else is left
//! alone.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use jni::sys::{jint, JavaVMAttachArgs, JNI_VERSION_1_8};
use jni::{Env, JavaVM};

thread_local! {
    /// The attachment this module made on the current thread, if any (and so must undo).
    static ATTACHED_HERE: RefCell<Option<Attached>> = const { RefCell::new(None) };
}

/// The current thread's attachment by [`attach_daemon`]; dropping it detaches the thread.
///
/// Lives only in [`ATTACHED_HERE`], so it is dropped on the thread that attached, the only thread
/// `DetachCurrentThread` can detach. Written by hand: jni 0.22's own attach guard attaches
/// non-daemon threads only, and its thread-exit detach can panic while logging (jni-rs issue
/// 835); this one does nothing but the detach.
struct Attached {
    /// The JVM's invocation interface, valid for the life of the process (`JNI_OnLoad`'s).
    vm: *mut jni::sys::JavaVM,
}

impl Drop for Attached {
    fn drop(&mut self) {
        // SAFETY: `vm` is the JVM's own invocation interface pointer; this runs on the thread
        // `attach_daemon` attached (the guard never leaves its thread-local), either from
        // `on_thread_stop` or as the thread exits, when no callback is running and so no JNI
        // frame or local reference of this attachment is live (every callback ran in a local
        // frame that has been popped). DetachCurrentThread takes only that pointer.
        let _ = unsafe { ((*(*self.vm)).v1_1.DetachCurrentThread)(self.vm) };
        // Relaxed: see `attach_daemon`.
        ATTACHED.fetch_sub(1, Ordering::Relaxed);
    }
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
    // Relaxed: a count read only by tests, which wait for it (nothing is published through it).
    ATTACHED.fetch_add(1, Ordering::Relaxed);
    let guard = Attached { vm: raw };
    // The thread-local is gone only while this thread exits: then the guard drops at once and
    // detaches, and the callback fails on an unattached thread rather than leave it attached.
    let _ = ATTACHED_HERE.try_with(|a| *a.borrow_mut() = Some(guard));
    Ok(())
}

/// Detaches the current thread if [`with_env`] attached it (the runtime's `on_thread_stop`);
/// without this hook, the thread detaches as it exits.
pub(super) fn detach_current() {
    // Taken out first and dropped after the borrow ends: the guard's drop detaches.
    let guard = ATTACHED_HERE
        .try_with(|a| a.borrow_mut().take())
        .ok()
        .flatten();
    drop(guard);
}

/// Runtime threads attached to the JVM now (for tests).
#[cfg(feature = "test-hooks")]
pub(super) fn attached_count() -> usize {
    // Relaxed: see `attach_daemon`.
    ATTACHED.load(Ordering::Relaxed)
}
