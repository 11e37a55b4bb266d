package dev.ringflow

import dev.ringflow.internal.Native
import dev.ringflow.internal.nativeCall

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
    suspend fun bench(frames: Long, frameSize: Int = 256, consumers: Int = 1, producers: Int = 1): BenchReport {
        val json = nativeCall { Native.callBench(it, frames, frameSize, consumers, producers) } as String
        return BenchReport(
            frames = json.long("frames"),
            bytes = json.long("bytes"),
            elapsedS = json.double("elapsed_s"),
            framesPerS = json.double("frames_per_s"),
            producers = json.long("producers").toInt(),
            consumers = json.long("consumers").toInt(),
            delivered = json.long("delivered"),
        )
    }

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

/** What [Engine.bench] measured. */
data class BenchReport(
    val frames: Long,
    val bytes: Long,
    val elapsedS: Double,
    val framesPerS: Double,
    val producers: Int,
    val consumers: Int,
    /** Frames delivered, summed over the consumers. */
    val delivered: Long,
)

/** What an engine producer did ([Ring.produce], [Ring.importWav]). */
data class ProduceSummary(
    val frames: Long,
    val bytes: Long,
    /** Claims refused by the `fail` policy. */
    val dropped: Long,
    val elapsedS: Double,
    val cancelled: Boolean,
)

internal fun produceSummary(json: String) = ProduceSummary(
    frames = json.long("frames"),
    bytes = json.long("bytes"),
    dropped = json.long("dropped"),
    elapsedS = json.double("elapsed_s"),
    cancelled = Regex("\"cancelled\"\\s*:\\s*true").containsMatchIn(json),
)

// The summaries are flat JSON objects of numbers written by the engine (serde_json): a field is
// found by name, without a JSON library for five numbers.
private fun String.number(key: String): String =
    Regex("\"$key\"\\s*:\\s*(-?[0-9.eE+-]+)").find(this)?.groupValues?.get(1)
        ?: throw RingException("the engine's summary has no number \"$key\": $this")

private fun String.long(key: String): Long = number(key).toDouble().toLong()

private fun String.double(key: String): Double = number(key).toDouble()
