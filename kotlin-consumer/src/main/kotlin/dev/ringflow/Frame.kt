package dev.ringflow

import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * One frame, as a zero-copy view into the ring's shared memory.
 *
 * **Valid only until the collector returns for it**: the flow moves its read cursor right after
 * `emit` returns (on the JNI access path, after a run of frames: docs/KOTLIN.md, "Android"),
 * and a producer may then overwrite the slot. One `Frame` object is reused for
 * every frame of a collection (no allocation per frame), so keep nothing of it: call [copy] for
 * bytes that must outlive the collector's call, or collect [copies] (a frame of its own per
 * frame). Operators that let a value outlive the call — `buffer`, `conflate`, `flowOn`,
 * `shareIn`/`stateIn`, `produceIn` — do not compile on [Ring.frames]'s [FrameFlow]; put
 * `copies()` before them.
 *
 * ### A view used too late fails
 * Once its `emit` returned, every read of a [Ring.frames] view (its payload, [length], [seq],
 * ...) throws [IllegalStateException] naming [copies], until the flow hands it out again: a
 * view kept by `toList()` on another flow, or read after `first()` of a plain `Flow`, fails
 * instead of showing another frame's bytes. What this cannot catch: a view kept past its `emit`
 * by an operator of your own (or `map { it }` then `buffer`) and read while the flow is inside
 * the `emit` of a later frame shows that later frame. Frames of [Ring.batches] are checked the
 * same way, batch by batch; a [copies] frame is never invalid.
 *
 * Not thread-safe: read it on the collector's thread.
 */
class Frame internal constructor(internal var region: ByteBuffer) {
    /**
     * Whether the view may be read: the flow sets it for the length of one `emit` and clears it
     * when `emit` returns (plain fields: the view is read on the collector's thread, which is the
     * thread that runs `emit`).
     */
    @JvmField
    internal var live: Boolean = true

    @Suppress("NOTHING_TO_INLINE")
    private inline fun checkLive() {
        if (!live) throw IllegalStateException(STALE)
    }

    /** Sequence number. */
    var seq: Long = 0
        get() {
            checkLive()
            return field
        }
        internal set

    /**
     * The payload's length and offset as plain fields, for the accessors below: one liveness
     * check per access instead of one per property they read.
     */
    @JvmField
    internal var len: Int = 0

    @JvmField
    internal var off: Int = 0

    /** Payload bytes. */
    var length: Int
        get() {
            checkLive()
            return len
        }
        internal set(value) {
            len = value
        }

    /** User kind (16 bits). */
    var kind: Int = 0
        get() {
            checkLive()
            return field
        }
        internal set

    /** Producer's `CLOCK_MONOTONIC` timestamp in nanoseconds (0 if it writes none). */
    var timestampNs: Long = 0
        get() {
            checkLive()
            return field
        }
        internal set

    /** Frames this reader lost just before this one. */
    var lostBefore: Long = 0
        get() {
            checkLive()
            return field
        }
        internal set

    /** Offset of the payload in the buffer this view reads (the ring's region, or a lossy reader's copy). */
    var offset: Int
        get() {
            checkLive()
            return off
        }
        internal set(value) {
            off = value
        }

    /** Payload byte [index] (`0 until length`), read in place. */
    operator fun get(index: Int): Byte {
        checkLive()
        require(index in 0 until len) { "index must be in 0 until $len, but was $index" }
        return region.get(off + index)
    }

    /** The native-order `Int` at payload byte [index], read in place. */
    fun getInt(index: Int): Int {
        checkLive()
        require(index >= 0 && index + 4 <= len) { "index must be in 0..${len - 4}, but was $index" }
        return region.getInt(off + index)
    }

    /** The native-order `Long` at payload byte [index], read in place. */
    fun getLong(index: Int): Long {
        checkLive()
        require(index >= 0 && index + 8 <= len) { "index must be in 0..${len - 8}, but was $index" }
        return region.getLong(off + index)
    }

    /** The native-order `Float` at payload byte [index], read in place. */
    fun getFloat(index: Int): Float {
        checkLive()
        require(index >= 0 && index + 4 <= len) { "index must be in 0..${len - 4}, but was $index" }
        return region.getFloat(off + index)
    }

    /** An owned copy of the payload. */
    fun copy(): ByteArray {
        checkLive()
        val out = ByteArray(len)
        region.get(off, out, 0, len)
        return out
    }

    /** A frame of its own with this one's fields and a copy of its payload (see [copies]). */
    internal fun owned(): Frame {
        val bytes = copy()
        val f = Frame(ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder()))
        f.seq = seq
        f.length = length
        f.kind = kind
        f.timestampNs = timestampNs
        f.lostBefore = lostBefore
        f.offset = 0
        return f
    }

    internal companion object {
        const val STALE = "this Frame view was used after its emit returned: the flow has moved on and the slot may " +
            "hold another frame; keep frames with frames().copies() (a frame of its own each) or copy() the bytes"
    }
}

/**
 * Up to `max` consecutive frames handed out at once by [Ring.batches]: one emission, and one
 * cursor move, per batch. Zero-copy and reused like [Frame]: valid only until the collector
 * returns for it; a frame of it read after that throws [IllegalStateException].
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

    /** Makes the batch's views readable during its `emit`, and fail loudly after (see [Frame]). */
    internal fun setLive(live: Boolean) {
        for (i in 0 until size) frames[i].live = live
    }
}
