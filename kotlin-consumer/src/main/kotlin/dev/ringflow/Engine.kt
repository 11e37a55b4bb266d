package dev.ringflow

import dev.ringflow.internal.Native
import dev.ringflow.internal.nativeCall
import kotlinx.serialization.SerialName
import kotlinx.serialization.Serializable
import kotlinx.serialization.SerializationException
import kotlinx.serialization.json.Json

/**
 * Engine work run as `suspend fun`s: each starts a task on the engine's shared Rust runtime and
 * suspends until it ends, with no thread waiting on either side. Cancelling the caller cancels
 * the Rust task; a Rust error arrives as the matching [RingException], a Rust panic as a
 * [RuntimeException], a cancellation on the Rust side as a `CancellationException`.
 */
object Engine {
    /**
     * Streams [frames] verifiable frames of [frameSize] bytes through an anonymous 4096-slot ring
     * from [producers] engine producers to [consumers] lossless consumers (`ringflow bench`).
     */
    suspend fun bench(frames: Long, frameSize: Int = 256, consumers: Int = 1, producers: Int = 1): BenchReport =
        decodeSummary(nativeCall { Native.callBench(it, frames, frameSize, consumers, producers) } as String)

    /**
     * A Rust call for tests: sleeps [delayUs] on the runtime, then returns [value] ([outcome] 0),
     * fails with `Full` (1) or a bad argument (2), panics (3) or is cancelled in Rust (4).
     */
    internal suspend fun testCall(value: Long, delayUs: Long, outcome: Int = 0): Long =
        nativeCall { Native.callTest(it, value, delayUs, outcome) } as Long

    /** Calls whose Rust task has not ended nor been cancelled (leak tests: 0 at rest). */
    internal fun pendingCalls(): Int = Native.pendingCalls()

    /** Handles alive in the engine's registry (leak tests). */
    internal fun liveHandles(): Int = Native.liveHandles()

    /** Rust threads attached to this JVM. */
    internal fun attachedThreads(): Int = Native.attachedThreads()

    /** A random delay of up to [maxUs] before each delivery, to widen races in tests. */
    internal fun setJitterForTest(maxUs: Long) = Native.setCallJitterForTest(maxUs)
}

/**
 * What [Engine.bench] measured (the engine's bench summary, decoded by its JSON keys).
 *
 * @sample dev.ringflow.samples.benchSample
 */
@Serializable
data class BenchReport(
    val frames: Long,
    val bytes: Long,
    /** Wall-clock seconds from the first frame written to the last read. */
    @SerialName("elapsed_s") val elapsedS: Double,
    @SerialName("frames_per_s") val framesPerS: Double,
    val producers: Int,
    val consumers: Int,
    /** Frames delivered, summed over the consumers. */
    val delivered: Long,
)

/** What an engine producer did ([Ring.produce], [Ring.importWav]). */
@Serializable
data class ProduceSummary(
    /** Frames the ring took (committed). */
    val frames: Long,
    /** Payload bytes committed. */
    val bytes: Long,
    /**
     * Frames the ring did not take: under the `fail` policy a frame the full ring refused is
     * dropped, never retried, and counted here. [Ring.produce] and [Ring.importWav] run the
     * `block` policy, which waits and never drops, so for them it is always 0.
     */
    val dropped: Long,
    /** Seconds the producer ran. */
    @SerialName("elapsed_s") val elapsedS: Double,
    /** Whether it was stopped before its last frame. */
    val cancelled: Boolean,
)

/** The engine writes more keys than a summary class names: those are skipped, a missing one fails. */
private val summaryJson = Json { ignoreUnknownKeys = true }

/** Decodes an engine summary; a summary that does not fit [T] is a [RingException] naming it. */
internal inline fun <reified T> decodeSummary(json: String): T = try {
    summaryJsonFormat().decodeFromString<T>(json)
} catch (e: SerializationException) {
    throw RingException("the engine's summary does not fit ${T::class.simpleName}: ${e.message}: $json")
} catch (e: IllegalArgumentException) {
    throw RingException("the engine's summary does not fit ${T::class.simpleName}: ${e.message}: $json")
}

@PublishedApi
internal fun summaryJsonFormat(): Json = summaryJson
