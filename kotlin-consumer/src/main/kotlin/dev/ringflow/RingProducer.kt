package dev.ringflow

import dev.ringflow.internal.Access
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
 * On a single-producer ring with [ProducerPolicy.Block] or [ProducerPolicy.Fail], Kotlin keeps
 * the writer's steps itself (docs/FORMAT.md, "Writer obligations", W2 to W5): the `writing`
 * stamps and their release fence at the claim, the payload and descriptor, the `committed`
 * stamps and `published` with release stores at the commit, then a full fence and a look at the
 * data futex. It calls into Rust (JNI) only when its cached gate is used up (Rust scans the
 * readers, evicts dead ones, waits or refuses as the policy says) and to wake a reader that
 * armed the futex: no JNI call per frame while the readers keep up. A multi-producer ring and
 * [ProducerPolicy.Overwrite] keep every step in Rust (their claims are a compare-and-swap with
 * a claim record, or a once-a-lap look at the ring): a claim and a commit are then one JNI call
 * each, whatever the claim's size, so use [claimBatch] there. docs/KOTLIN.md ("Writing") says
 * why. No allocation per frame in steady state: the [WriteSlot] and [WriteBatch] objects are
 * reused, and each slot's view is made once, the first time the slot is claimed.
 *
 * ### Threads and lifetime
 * Not thread-safe: one thread at a time (on the JNI path, a call from a second thread while one
 * is inside a call throws [BadArgumentException]; on the direct path nothing detects it), with
 * one exception: [close], and [Ring.close] on the ring it was made by, may be called from another
 * thread to end a [claim] or [claimBatch] that waits for space ([ProducerPolicy.Block]) because
 * readers never make room, say when the application shuts down. The waiting call then throws
 * [RingClosedException] within about 50 ms (the wait runs in slices and looks for a close
 * between them), with nothing claimed: no slot is handed out and no frame is published by it.
 * The native producer stays valid until the waiting call has returned (it holds the producer's
 * table entry; the close only flags it), so the close never frees what the wait uses.
 *
 * ```text
 *   producer thread                        another thread
 *   claim()  -- waits for space ...
 *            -- looks for a close           close()  (or ring.close())
 *            <- RingClosedException         returns at once; the producer detaches
 *               (nothing claimed)           when the claim lets go of it
 * ```
 *
 * After [close] a claim throws [IllegalStateException]; after [Ring.close] the producer stays
 * attached (close it too), a claim that finds space succeeds and one that must wait throws
 * [RingClosedException]. A close from another thread while the producer's thread is not waiting
 * (it holds a claim, or is about to write one) is the misuse it always was: the claim's views may
 * then point into a detached producer's slots. One claim is open at a time: a second claim
 * before the commit throws [IllegalStateException]. A view ([WriteSlot.buffer],
 * [WriteBatch.buffer]) is valid until its claim is committed: writing through it afterwards
 * writes into a published frame, which nothing can detect. [close] publishes an open claim as
 * frames readers pass over, so no reader waits on it; the last producer to detach closes the
 * ring (its readers end after the last frame). The producer keeps the ring mapped until it is
 * closed, even past [Ring.close].
 */
class RingProducer internal constructor(
    private val ring: Ring,
    private val handle: Long,
    policy: ProducerPolicy,
) : AutoCloseable {
    /** Payload bytes one frame can hold. */
    val slotSize: Int = ring.slotSize

    /**
     * Whether this producer keeps the writer steps itself (docs/FORMAT.md, "Writer obligations"):
     * a single producer that gates (block, fail). Else every claim and commit is a JNI call.
     */
    internal val direct: Boolean = policy !is ProducerPolicy.Overwrite &&
        ring.region.getInt(Layout.HEADER_PRODUCER_MODE_OFFSET.toInt()).toLong() == Layout.PRODUCER_MODE_SINGLE

    private val region = ring.region
    private val address = if (direct && ACCESS.needsAddress) Native.regionAddress(ring.handle) else 0L

    /**
     * Direct: the next sequence to claim. W1: read once, after the attach, with Acquire (pairs
     * with the Release store of `published` by a previous producer's commit: this one continues
     * after its last frame), as the Rust producer's attach does.
     */
    private var next: Long = if (direct) ACCESS.getLongAcquire(region, address, PUBLISHED_AT) else 0L

    /** Direct: frames below this fit without asking Rust (the gating cache, W2). */
    private var gate: Long = 0L

    private val mask: Long = ring.slotCount.toLong() - 1
    private val views = arrayOfNulls<ByteBuffer>(ring.slotCount)
    private val slot = WriteSlot(this)
    private val batch = WriteBatch(this)

    /** Length and kind per frame of a batch, two native-order ints each, read by the commit. */
    internal val meta: ByteBuffer = ByteBuffer.allocateDirect(8 * ring.slotCount).order(ByteOrder.nativeOrder())

    /** The open claim's size (0: none). */
    private var open = 0

    /**
     * JNI calls this producer made into Rust's producer entries (gate, notify, and on the Rust
     * path claim and commit), for the tests that count JNI calls per frame; the access path's
     * own calls are counted in `JniAccess.calls`.
     */
    @JvmField
    internal var producerCalls = 0L

    /** Set by [close], which may run on another thread (to end a waiting claim). */
    @Volatile
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
     * [RingTimeoutException] ([ProducerPolicy.Block] with a timeout), [RingReplacedException],
     * and [RingClosedException] if [close] or [Ring.close] on another thread ends its wait for
     * space (nothing claimed; see "Threads and lifetime").
     */
    fun claim(): WriteSlot {
        checkUsable()
        val seq = if (direct) reserve(1) else Native.producerClaim(handle, 1).also { producerCalls++ }
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
        val first = if (direct) reserve(n) else Native.producerClaim(handle, n).also { producerCalls++ }
        open = n
        batch.open(first, n)
        return batch
    }

    internal fun commitOne(length: Int, kind: Int) {
        require(length in 0..slotSize) { "length must be in 0..$slotSize, but was $length" }
        require(kind in 0..0xffff) { "kind must be in 0..65535, but was $kind" }
        check(open == 1) { "no single-slot claim is open" }
        if (direct) {
            val seq = next - 1
            describe(seq, length, kind.toLong(), if (ring.timestamps) System.nanoTime() else 0L)
            publish(seq, next)
        } else {
            Native.producerCommitOne(handle, length, kind)
            producerCalls++
        }
        open = 0
    }

    internal fun commitBatch(frames: Int) {
        check(open > 0) { "no claim is open" }
        require(frames in 0..open) { "frames must be in 0..$open, but was $frames" }
        if (direct) {
            val first = next - open
            val now = if (ring.timestamps) System.nanoTime() else 0L
            for (i in 0 until open) {
                if (i < frames) {
                    describe(first + i, meta.getInt(8 * i), meta.getInt(8 * i + 4).toLong(), now)
                } else {
                    describe(first + i, 0, Layout.KIND_SKIP, now) // claimed, not written: passed over
                }
            }
            publish(first, next)
        } else {
            Native.producerCommit(handle, frames, meta)
            producerCalls++
        }
        open = 0
    }

    /**
     * Direct, W1 and W2: claims frames `next until next + n`: asks Rust for the gate only when
     * the cached one is used up (it waits or throws as the policy says), then marks each slot
     * as being written before any byte of it is. Returns the first sequence.
     */
    private fun reserve(n: Int): Long {
        val first = next
        val end = first + n
        if (end > gate) {
            gate = Native.producerGate(handle, first, end)
            producerCalls++
        }
        // W2: each slot's `writing` stamp (opaque, Rust Relaxed), then one release fence, so a
        // lossy reader that sees a payload store of ours and then fences with Acquire sees the
        // stamp (pairs with R3's acquire fence and stamp re-load: `ReaderCursor.stillThere`,
        // `count_gone`, `count_intact`). One JNI call for the whole claim on the JNI path.
        ACCESS.markWriting(region, address, ring.descsOffset + Layout.DESC_STAMP_OFFSET, ring.descStride, mask, first, n)
        next = end
        return first
    }

    /** Direct, W3: the frame's length, kind and (on a ring that keeps them) timestamp, plain. */
    private fun describe(seq: Long, length: Int, kind: Long, timestampNs: Long) {
        val desc = ring.descAt(seq).toInt()
        region.putInt(desc + Layout.DESC_LEN_OFFSET.toInt(), length)
        region.putInt(desc + Layout.DESC_KIND_OFFSET.toInt(), kind.toInt())
        if (ring.timestamps) region.putLong(desc + Layout.DESC_TIMESTAMP_OFFSET.toInt(), timestampNs)
    }

    /** Direct, W4 and W5: publishes frames `first until end` and wakes a sleeping reader. */
    private fun publish(first: Long, end: Long) {
        // W4: each stamp `committed(s)` in order with Release (pairs with R2's Acquire load of
        // the stamp: the frame's bytes and descriptor are visible to a reader that sees it),
        // then `published = end` with Release (pairs with the Acquire loads of `published`:
        // registration, lap recovery, the park's re-check). W5: a full fence between that store
        // and the load of the futex word (pairs with the parking reader's fence after it armed
        // the word, ring/src/sleep.rs). One JNI call for the whole commit on the JNI path.
        val futex = ACCESS.publishRun(region, address, ring.descsOffset + Layout.DESC_STAMP_OFFSET, ring.descStride, mask, first, end, PUBLISHED_AT, DATA_FUTEX_AT)
        // Rust wakes the readers (a syscall) only if one armed the word.
        if (futex.toLong() and Layout.FUTEX_ARMED != 0L) {
            Native.producerNotify(handle)
            producerCalls++
        }
    }

    /**
     * Detaches (once; later calls do nothing). An open claim is published as frames readers pass
     * over; the last producer to detach closes the ring. May be called from another thread to
     * end a claim waiting for space, which then throws [RingClosedException] (see "Threads and
     * lifetime"); the detach then completes when that claim has returned.
     */
    override fun close() {
        if (closed) return
        if (direct && open > 0) {
            // Claimed and never committed: published as frames readers pass over (W6).
            for (i in 0 until open) meta.putLong(8 * i, 0L)
            commitBatch(0)
        }
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

private val ACCESS: Access = Access.current
private val PUBLISHED_AT = (Layout.PRODUCER_OFFSET + Layout.PUBLISHED_OFFSET).toInt()
private val DATA_FUTEX_AT = (Layout.PRODUCER_OFFSET + Layout.DATA_FUTEX_OFFSET).toInt()

private const val STALE_SLOT = "the slot was committed (or its producer closed): claim another"
private const val STALE_BATCH = "the batch was committed (or its producer closed): claim another"
