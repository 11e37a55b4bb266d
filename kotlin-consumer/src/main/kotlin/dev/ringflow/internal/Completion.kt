package dev.ringflow.internal

import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

/**
 * The Kotlin end of a suspend call into Rust (`jni-glue/src/calls.rs`): a Rust runtime thread
 * calls exactly one of these methods when the call's task ends, unless the coroutine was
 * cancelled first (then `Native.cancelCall` removed the Rust side's reference and nothing is
 * called). The method ids are cached in `JNI_OnLoad`: keep the names and signatures.
 */
internal class Completion(private val cont: CancellableContinuation<Any>) {
    fun succeedJson(value: String) = cont.resume(value)

    fun succeedLong(value: Long) = cont.resume(value)

    fun fail(error: Throwable) = cont.resumeWithException(error)

    fun cancelled(message: String) = cont.resumeWithException(CancellationException(message))
}

/**
 * Starts a Rust task with [start] (which returns its handle) and suspends until it ends. No thread
 * waits on either side meanwhile. Cancelling the caller cancels the Rust task and frees its
 * handle; whichever of the task's end and the cancellation comes first wins, the other does
 * nothing.
 */
internal suspend fun nativeCall(start: (Completion) -> Long): Any = suspendCancellableCoroutine { cont ->
    // Throws (a bad argument, a closed ring) before anything started: the caller gets it.
    val handle = start(Completion(cont))
    cont.invokeOnCancellation {
        // A cancellation handler must not throw; cancelCall only throws if the library is broken.
        runCatching { Native.cancelCall(handle) }
    }
}
