package dev.ringflow

import dev.ringflow.internal.Native
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * A producer on a [Ring]: claims slots, lets the caller write frames in place in the shared
 * memory, and publishes them. Made by [Ring.producer]; [close] detaches it.
 *
 * ```kotlin
 * ring.producer(ProducerPolicy.Block()).use { producer ->
 *     val slot = producer.claim()          // waits for space under Block
 *     slot.buffer.putLong(0, 42L)          // in place, in the ring
 *     slot.commit(8)                       // readers see it now
 *     val batch = producer.claimBatch(16)  // one claim and one commit for 16 frames
 *     for (i in 0 until batch.size) {
 *         batch.buffer(i).putInt(0, i)
 *         batch.setFrame(i, length = 4)
 *     }
 *     batch.commit()
 * }
 * ```
 *
 * ### The protocol
 * Rust does the whole writer side (the producer table, the liveness lock, the gate and the wait
 * for space, the stamps, `published`, waking a sleeping reader): a claim and a commit are one
 * JNI call each, whatever the claim's size, and the payload is written by Kotlin in place. So
 * [claimBatch] costs two JNI calls per batch, [claim] two per frame; docs/KOTLIN.md ("Writing")
 * says why the stamps are not written from Kotlin. No allocation per frame in steady state: the
 * [WriteSlot] and [WriteBatch] objects are reused, and each slot's view is made once, the first
 * time the slot is claimed.
 *
 * ### Threads and lifetime
 * Not thread-safe: one thread at a time (a call from a second thread while one is inside a call
 * throws [BadArgumentException]). One claim is open at a time: a second claim before the commit
 * throws [IllegalStateException]. A view ([WriteSlot.buffer], [WriteBatch.buffer]) is valid
 * until its claim is committed: writing through it afterwards writes into a published frame,
 * which nothing can detect. [close] publishes an open claim as frames readers pass over, so no
 * reader waits on it; the last producer to detach closes the ring (its readers end after the last
 * frame). The producer keeps the ring mapped until it is closed, even past [Ring.close].
 */
class RingProducer internal constructor(private val ring: Ring, private val handle: Long) : AutoCloseable {
    /** Payload bytes one frame can hold. */
    val slotSize: Int = ring.slotSize

    private val mask: Long = ring.slotCount.toLong() - 1
    private val views = arrayOfNulls<ByteBuffer>(ring.slotCount)
    private val slot = WriteSlot(this)
    private val batch = WriteBatch(this)

    /** Length and kind per frame of a batch, two native-order ints each, read by the commit. */
    internal val meta: ByteBuffer = ByteBuffer.allocateDirect(8 * ring.slotCount).order(ByteOrder.nativeOrder())

    /** The open claim's size (0: none). */
    private var open = 0

    private var closed = false

    private fun checkUsable() {
        check(!closed) { "the producer is closed" }
        check(open == 0) { "a claim of $open slots is still open: commit it first" }
    }

    /** The view of frame [seq]'s payload, made the first time its slot is claimed. */
    internal fun view(seq: Long): ByteBuffer {
        val index = (seq and mask).toInt()
        val view = views[index]
            ?: ring.region.slice(ring.payloadAt(seq).toInt(), slotSize).order(ByteOrder.nativeOrder()).also { views[index] = it }
        view.clear().order(ByteOrder.nativeOrder()) // as a fresh view, whatever the last claim did
        return view
    }

    /**
     * Claims the next slot under the producer's policy and returns it (one reused object: valid
     * until its commit). Throws [RingFullException] ([ProducerPolicy.Fail]),
     * [RingTimeoutException] ([ProducerPolicy.Block] with a timeout), [RingReplacedException].
     */
    fun claim(): WriteSlot {
        checkUsable()
        val seq = Native.producerClaim(handle, 1)
        open = 1
        slot.open(seq, view(seq))
        return slot
    }

    /**
     * Claims [n] consecutive slots (`1..slotCount`) at once: one wait for space, one commit for
     * all. Returns one reused object, valid until its commit. Errors as [claim].
     */
    fun claimBatch(n: Int): WriteBatch {
        require(n in 1..ring.slotCount) { "n must be in 1..${ring.slotCount}, but was $n" }
        checkUsable()
        val first = Native.producerClaim(handle, n)
        open = n
        batch.open(first, n)
        return batch
    }

    internal fun commitOne(length: Int, kind: Int) {
        require(length in 0..slotSize) { "length must be in 0..$slotSize, but was $length" }
        require(kind in 0..0xffff) { "kind must be in 0..65535, but was $kind" }
        check(open == 1) { "no single-slot claim is open" }
        Native.producerCommitOne(handle, length, kind)
        open = 0
    }

    internal fun commitBatch(frames: Int) {
        check(open > 0) { "no claim is open" }
        require(frames in 0..open) { "frames must be in 0..$open, but was $frames" }
        Native.producerCommit(handle, frames, meta)
        open = 0
    }

    /**
     * Detaches (once; later calls do nothing). An open claim is published as frames readers pass
     * over; the last producer to detach closes the ring.
     */
    override fun close() {
        if (closed) return
        closed = true
        open = 0
        slot.live = false
        batch.live = false
        Native.producerClose(handle)
    }
}

/**
 * One claimed slot of a [RingProducer]: write the frame into [buffer], then [commit]. One object
 * is reused for every claim of its producer; it fails with [IllegalStateException] once
 * committed, until the next claim. Not thread-safe.
 */
class WriteSlot internal constructor(private val producer: RingProducer) {
    @JvmField
    internal var live = false
    private var view: ByteBuffer? = null

    /** The frame's sequence number. */
    var seq: Long = 0
        get() {
            check(live) { STALE_SLOT }
            return field
        }
        private set

    /**
     * The slot's payload, [RingProducer.slotSize] bytes in place in the ring (position 0, limit
     * the slot size, native byte order). Valid until [commit]: do not keep it.
     */
    val buffer: ByteBuffer
        get() {
            check(live) { STALE_SLOT }
            return view!!
        }

    internal fun open(seq: Long, view: ByteBuffer) {
        this.seq = seq
        this.view = view
        live = true
    }

    /** Publishes the first [length] payload bytes as a frame of user kind [kind] (`0..65535`). */
    fun commit(length: Int, kind: Int = 0) {
        check(live) { STALE_SLOT }
        producer.commitOne(length, kind)
        live = false
    }
}

/**
 * Slots claimed together by [RingProducer.claimBatch]: write frame `i` into [buffer]`(i)`, give
 * its length with [setFrame], then [commit]. One object is reused for every batch of its
 * producer; it fails with [IllegalStateException] once committed. Not thread-safe.
 */
class WriteBatch internal constructor(private val producer: RingProducer) {
    @JvmField
    internal var live = false
    private var first = 0L
    private var n = 0

    /** Slots in the batch. */
    val size: Int
        get() {
            check(live) { STALE_BATCH }
            return n
        }

    /** Sequence number of slot 0; slot `i` is `firstSeq + i`. */
    val firstSeq: Long
        get() {
            check(live) { STALE_BATCH }
            return first
        }

    internal fun open(first: Long, n: Int) {
        this.first = first
        this.n = n
        for (i in 0 until n) producer.meta.putLong(8 * i, 0L) // length 0, kind 0 until set
        live = true
    }

    /**
     * Slot [i]'s payload, in place in the ring (position 0, limit the slot size, native byte
     * order). Valid until [commit]. Slots of a batch are separate buffers: a batch can wrap.
     */
    fun buffer(i: Int): ByteBuffer {
        check(live) { STALE_BATCH }
        require(i in 0 until n) { "i must be in 0 until $n, but was $i" }
        return producer.view(first + i)
    }

    /** Sets slot [i]'s frame length (`0..slotSize`; 0 until set) and user kind (`0..65535`). */
    fun setFrame(i: Int, length: Int, kind: Int = 0) {
        check(live) { STALE_BATCH }
        require(i in 0 until n) { "i must be in 0 until $n, but was $i" }
        require(length in 0..producer.slotSize) { "length must be in 0..${producer.slotSize}, but was $length" }
        require(kind in 0..0xffff) { "kind must be in 0..65535, but was $kind" }
        producer.meta.putInt(8 * i, length)
        producer.meta.putInt(8 * i + 4, kind)
    }

    /**
     * Publishes slots `0 until frames` as frames and the rest (a writer that ran short) as frames
     * readers pass over.
     */
    fun commit(frames: Int = n) {
        check(live) { STALE_BATCH }
        producer.commitBatch(frames)
        live = false
    }
}

private const val STALE_SLOT = "the slot was committed (or its producer closed): claim another"
private const val STALE_BATCH = "the batch was committed (or its producer closed): claim another"
