package dev.ringflow

import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * The copies of one run of frames `frames()` copies on the JNI access path (`Ring.copyRun`):
 * [slots] payloads of up to `slotSize` bytes each in one direct buffer, frame `i` of the run at
 * byte `i * slotSize`, with the descriptor fields read alongside each copy. Allocated once per
 * collection, reused for every run: no allocation per frame.
 *
 * Not thread-safe: owned by one collection.
 */
internal class RunCopies(val slots: Int, val slotSize: Int) {
    /** The payloads, in native byte order; its first slot is also the per-frame path's copy. */
    val buffer: ByteBuffer = ByteBuffer.allocateDirect(slots * slotSize).order(ByteOrder.nativeOrder())

    /** Each copy's descriptor `len`. */
    val lengths = IntArray(slots)

    /** Each copy's descriptor `kind` (with its flags, as the descriptor holds it). */
    val kinds = IntArray(slots)

    /** Each copy's timestamp (0 on a ring without timestamps). */
    val timestamps = LongArray(slots)

    /** Byte offset of copy [i] in [buffer]. */
    fun offsetOf(i: Int): Int = i * slotSize
}
