package dev.ringflow

/**
 * Where a new reader of [Ring.frames] or [Ring.batches] starts: the Kotlin face of the Rust
 * `Start` (`ring/src/consumer/core.rs`), resolved by the Rust registration.
 *
 * Whatever the start, the reader reports where it asked to start ([ReaderCounts.startSeq]),
 * the first frame it read ([ReaderCounts.firstSeq]) and how many of the frames it asked for were
 * gone before it read its first one ([ReaderCounts.missedAtStart]), so a reader that joined late
 * can tell, and say so.
 *
 * Frames from the next one to be published on are protected for a [Delivery.Lossless] reader:
 * no producer overwrites them before it releases them. Frames before that ([Oldest], or a [Seq]
 * in the past) are not: a producer may rewrite them while the reader looks, so the reader copies
 * each of them and checks the copy (as a lossy reader does), and counts those found gone before
 * its first frame in `missedAtStart`, not `lost`.
 *
 * Immutable; safe to share between threads.
 *
 * ```
 * val counts = ReaderCounts()
 * ring.frames(start = Start.Oldest, counts = counts).collect { frame -> handle(frame) }
 * println("read from ${counts.firstSeq}; ${counts.missedAtStart} frames were gone before it")
 * ```
 */
sealed class Start {
    /** The kind code the JNI registration decodes (`jni-glue/src/jvm/consumer_calls.rs`, `start_of`). */
    internal abstract val kind: Int

    /** The sequence that goes with [kind] (only [Seq]'s is read). */
    internal open val seq: Long get() = 0

    /** The next frame to be published: frames already in the ring are not read. */
    data object Next : Start() {
        override val kind = 0
    }

    /** The oldest frame still in the ring (at most one ring's worth before the next frame). */
    data object Oldest : Start() {
        override val kind = 1
    }

    /**
     * Frame [seq] (`0 until 2^62`). Frames below the next one to be published that are no longer
     * in the ring are skipped and counted in [ReaderCounts.missedAtStart]; a [seq] in the future
     * makes the reader wait for it.
     */
    data class Seq(override val seq: Long) : Start() {
        init {
            require(seq >= 0 && seq < Layout.MAX_SEQ) { "seq must be in 0 until 2^62, but was $seq" }
        }

        override val kind: Int get() = 2
    }
}
