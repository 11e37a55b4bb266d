package dev.ringflow

import java.nio.ByteBuffer

/**
 * One frame, as a zero-copy view into the ring's shared memory.
 *
 * **Valid only until the collector returns for it**: the flow moves its read cursor right after
 * `emit` returns, and a producer may then overwrite the slot. One `Frame` object is reused for
 * every frame of a collection (no allocation per frame), so keep nothing of it: call [copy] for
 * bytes that must outlive the collector's call. Operators that let a value outlive the call —
 * `buffer`, `conflate`, `flowOn`, `shareIn`/`stateIn`, `produceIn` — hand later code a view of
 * a slot that may already hold another frame: `map { it.copy() }` before them.
 *
 * Not thread-safe: read it on the collector's thread.
 */
class Frame internal constructor(internal var region: ByteBuffer) {
    /** Sequence number. */
    var seq: Long = 0
        internal set

    /** Payload bytes. */
    var length: Int = 0
        internal set

    /** User kind (16 bits). */
    var kind: Int = 0
        internal set

    /** Producer's `CLOCK_MONOTONIC` timestamp in nanoseconds (0 if it writes none). */
    var timestampNs: Long = 0
        internal set

    /** Frames this reader lost just before this one. */
    var lostBefore: Long = 0
        internal set

    /** Offset of the payload in the buffer this view reads (the ring's region, or a lossy reader's copy). */
    var offset: Int = 0
        internal set

    /** Payload byte [index] (`0 until length`), read in place. */
    operator fun get(index: Int): Byte {
        require(index in 0 until length) { "index must be in 0 until $length, but was $index" }
        return region.get(offset + index)
    }

    /** The native-order `Int` at payload byte [index], read in place. */
    fun getInt(index: Int): Int {
        require(index >= 0 && index + 4 <= length) { "index must be in 0..${length - 4}, but was $index" }
        return region.getInt(offset + index)
    }

    /** The native-order `Long` at payload byte [index], read in place. */
    fun getLong(index: Int): Long {
        require(index >= 0 && index + 8 <= length) { "index must be in 0..${length - 8}, but was $index" }
        return region.getLong(offset + index)
    }

    /** The native-order `Float` at payload byte [index], read in place. */
    fun getFloat(index: Int): Float {
        require(index >= 0 && index + 4 <= length) { "index must be in 0..${length - 4}, but was $index" }
        return region.getFloat(offset + index)
    }

    /** An owned copy of the payload. */
    fun copy(): ByteArray {
        val out = ByteArray(length)
        region.get(offset, out, 0, length)
        return out
    }
}

/**
 * Up to `max` consecutive frames handed out at once by [Ring.batches]: one emission, and one
 * cursor move, per batch. Zero-copy and reused like [Frame]: valid only until the collector
 * returns for it.
 */
class FrameBatch internal constructor(region: ByteBuffer, max: Int) {
    private val frames = Array(max) { Frame(region) }

    /** Frames in this batch. */
    var size: Int = 0
        internal set

    /** Frames lost just before this batch. */
    var lostBefore: Long = 0
        internal set

    /** Frame [index] (`0 until size`). */
    operator fun get(index: Int): Frame {
        require(index in 0 until size) { "index must be in 0 until $size, but was $index" }
        return frames[index]
    }

    internal fun slot(index: Int): Frame = frames[index]
}
