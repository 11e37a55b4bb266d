package dev.ringflow.baseline

import dev.ringflow.Ring
import dev.ringflow.Start
import dev.ringflow.internal.Native

/**
 * The naive way to bring frames to the JVM, kept as the benchmarks' baseline (`benches/jvm`):
 * one JNI call per frame that copies the frame into a `ByteArray`. Use [Ring.frames] instead,
 * which reads in place with no JNI call per frame.
 */
class NaiveJniReader(ring: Ring) : AutoCloseable {
    private val consumer = Native.register(ring.handleForBench, false, Start.Next.kind, 0)

    /** Copies the next frame into [into] and returns its length, or -1 if none is there yet. */
    fun copyNext(into: ByteArray): Int = Native.copyNext(consumer, into)

    override fun close() = Native.unregister(consumer)
}
