package dev.ringflow

import dev.ringflow.internal.Access
import dev.ringflow.internal.Native
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.withTimeoutOrNull

/**
 * One registered reader's side of the consumer protocol, over the ring's direct buffer: the
 * Kotlin twin of the Rust `ConsumerCore` (`ring/src/consumer/core.rs`), one method per reader
 * obligation of `docs/FORMAT.md` ("Reader obligations", R1 to R9). [Ring.frames] and
 * [Ring.batches] read frames through it.
 *
 * Registering (R1) and unregistering (R9) run in Rust, through JNI (`gate::register`,
 * `gate::unregister`, with their handshake fences and wake-ups); every step in between runs
 * here, with no JNI call and no allocation per frame: an acquire load of a stamp, plain reads,
 * the re-check, a release store of the read cursor, opaque stores of the counters. JNI is
 * called only to wake a producer that armed the space futex, and to park (with `VarHandle`s;
 * on the JNI access path the ordered accesses are JNI calls). Frames handed out in place are
 * read in runs on both paths, copies in runs on the JNI path: [readyRun], [goneOf], [intactOf],
 * [release], [frameRun], [copyRun].
 *
 * ```text
 *   register (R1) ──► read (R2) ──► re-check (R3) ──► release (R4) ──► read ...
 *                       │  stamp > committed: lap (R8: R6, then the corruption check)
 *                       └─ stamp < committed: spin, heartbeat (R5), watch state (R6), park
 *   every 1024 frames released: heartbeat (R5)          at the end: unregister (R9)
 * ```
 *
 * Not thread-safe: one per collection, used only by the collecting coroutine. Lifetime: from
 * [register] to [unregister]; the registration keeps the mapping alive (even across
 * [Ring.close]), so the cursor never touches unmapped memory.
 */
internal class ReaderCursor private constructor(
    private val ring: Ring,
    private val consumer: Long,
    /** Whether this reader holds producers back (`Delivery.Lossless`). */
    val lossless: Boolean,
    private val parking: Parking,
) {
    private val region = ring.region

    /** The region's address, for the JNI access path (0 with `VarHandle`s). */
    private val address = if (ACCESS.needsAddress) Native.regionAddress(ring.handle) else 0L
    private val capacity = ring.slotCount.toLong()
    private val mask = capacity - 1
    private val stride = ring.stride
    private val slotsOffset = ring.slotsOffset
    private val descStride = ring.descStride
    private val descsOffset = ring.descsOffset

    /** This reader's consumer block index. */
    val index: Int = Native.consumerIndex(consumer)

    private val block = Layout.CONSUMERS_OFFSET + index * Layout.CONSUMER_BLOCK_LEN
    private val readAt = (block + Layout.CONSUMER_READ_OFFSET).toInt()
    private val stateAt = (block + Layout.CONSUMER_STATE_OFFSET).toInt()
    private val generationAt = (block + Layout.CONSUMER_GENERATION_OFFSET).toInt()
    private val heartbeatAt = (block + Layout.CONSUMER_HEARTBEAT_OFFSET).toInt()
    private val deliveredAt = (block + Layout.CONSUMER_DELIVERED_OFFSET).toInt()
    private val lostAt = (block + Layout.CONSUMER_LOST_OFFSET).toInt()
    private val lappedAt = (block + Layout.CONSUMER_LAPPED_OFFSET).toInt()
    private val tornAt = (block + Layout.CONSUMER_TORN_OFFSET).toInt()
    private val wakesAt = (block + Layout.CONSUMER_WAKES_OFFSET).toInt()

    /**
     * The generation our registration gave the block (R1). Read right after registering, on the
     * registering thread: only a registration bumps it, and the block is ours (ACTIVE, our live
     * pid) until we unregister, so this is the value `gate::register` wrote.
     */
    private val generation: Int = ACCESS.getIntOpaque(region, address, generationAt)

    /** The sequence this reader asked to start at (its [Start], resolved by the Rust registration). */
    val startSeq: Long = Native.startSeq(consumer)

    /**
     * The first sequence the registration handshake protects (Rust `protected_from`): for a
     * lossless reader of a ring that is not overwritable, frames from here on cannot be rewritten
     * before it releases them. Frames below it that it asked for ([Start.Oldest], a [Start.Seq]
     * in the past) may be: see [unprotected].
     */
    val protectedFrom: Long = Native.protectedFrom(consumer)

    /** A lossy reader, or any reader of an overwritable ring: every frame may be rewritten while held. */
    private val alwaysUnprotected = !lossless || ring.isOverwritable

    /** Whether any frame this reader reads may be rewritten while it holds it (so it needs a copy buffer). */
    val mayCopy: Boolean = alwaysUnprotected || startSeq < protectedFrom

    /** The next sequence to read. */
    var seq: Long = startSeq
        private set

    /** The first sequence handed out, or -1 before the first. */
    private var firstSeq = -1L

    /** Frames from [startSeq] on that were gone before the first frame was handed out. */
    private var missedAtStart = 0L

    /** The read cursor value at or past which the next release heartbeats (R5). */
    private var heartbeatMark = seq + HEARTBEAT_EVERY

    private var delivered = 0L
    private var lost = 0L
    private var lapped = 0L
    private var torn = 0L
    private var wakes = 0L

    /** Frames lost since the last frame handed out (R7). */
    private var lostBefore = 0L

    private var spins = 0
    private var spinSince = 0L
    private var budget = SPIN_BUDGET_NS

    /** Whether we woke a producer since we last spun (the next spin is longer: see [spin]). */
    private var wokePeer = false
    private var idleSince = -1L

    /**
     * Whether frame [s] may be rewritten while this reader holds it: always for a lossy reader
     * or on an overwritable ring; for a lossless one, below [protectedFrom] (Rust
     * `ConsumerCore::unprotected`). Such a frame is only handed out as a checked copy.
     */
    fun unprotected(s: Long): Boolean = alwaysUnprotected || s < protectedFrom

    /** R7: frame [s] is being handed out (the first one fixes `firstSeq`). */
    fun noteHandedOut(s: Long) {
        if (firstSeq < 0) firstSeq = s
    }

    /** Offset of the descriptor (stamp, length, kind, timestamp) of frame [s]'s slot. */
    fun descAt(s: Long): Long = descsOffset + (s and mask) * descStride

    /** Offset of the payload of frame [s]'s slot. */
    fun payloadAt(s: Long): Long = slotsOffset + (s and mask) * stride

    /**
     * R2, read: what the slot of frame [s] holds, [READY], [EMPTY] (not yet written, or being
     * written) or [LAPPED] (a later frame took it). Acquire load of the stamp: pairs with the
     * producer's Release store of `committed(s)`, so the plain reads of the frame that follow
     * see what the producer wrote before it. Compared unsigned, as the Rust reader does: a
     * stamp with its top bit set is a lap (and then corruption, R8), never "not yet written".
     */
    fun check(s: Long): Int {
        val stamp = ACCESS.getLongAcquire(region, address, descAt(s).toInt())
        val want = committed(s)
        return when {
            stamp == want -> READY
            java.lang.Long.compareUnsigned(stamp, want) < 0 -> EMPTY
            else -> LAPPED
        }
    }

    /**
     * R3, re-check (the seqlock reader's exit): whether frame [s] was still in its slot after
     * everything read before this call. Acquire fence: pairs with the Release fence after the
     * producer's `writing` stamp; if any read before it saw a later frame's byte, the opaque
     * load after it sees that stamp.
     */
    fun stillThere(s: Long): Boolean {
        ACCESS.acquireFence()
        return ACCESS.getLongOpaque(region, address, descAt(s).toInt()) == committed(s)
    }

    /**
     * R2 for a run: how many frames from [s] on, at most [max], are committed in a row (Acquire
     * loads, as [check]'s; one JNI call on the JNI access path). 0 if frame [s] is not ready:
     * then [check] says why.
     */
    fun readyRun(s: Long, max: Int): Int = ACCESS.countCommitted(region, address, descsOffset, descStride, mask, s, max)

    /**
     * `frames()` reads the frames it hands out in place in runs of at most this many, on both
     * access paths: R2, R3 and R4 once per run (`Ring.readRun`), so the read cursor's Release
     * store and the notify fence that follows it run once per run, not per frame (docs/KOTLIN.md,
     * "What runs per frame"). At most a quarter of the ring, so a producer a lossless reader
     * holds back always has room while the reader holds a run unreleased.
     */
    val frameRun: Int = maxOf(1, minOf(FRAME_RUN_MAX, ring.slotCount / 4))

    /**
     * `frames()` on the JNI access path copies the frames it may not hand out in place
     * ([unprotected]) in runs of at most this many (0 with `VarHandle`s, and for a reader that
     * copies nothing): R2, R3 and R4 once per run (`Ring.copyRun`), into a [RunCopies] of this
     * many slots. At most [frameRun], and at most [COPY_RUN_BYTES] of payload.
     */
    val copyRun: Int = if (ACCESS.copiesRuns && mayCopy) maxOf(1, minOf(frameRun, COPY_RUN_BYTES / maxOf(1, ring.slotSize))) else 0

    /**
     * How many of the [max] frames from [s] on this reader may not hold in place ([unprotected]):
     * all of them for a lossy reader or on an overwritable ring, else those below [protectedFrom].
     */
    fun unprotectedRun(s: Long, max: Int): Int =
        if (alwaysUnprotected) max else minOf(max.toLong(), maxOf(0L, protectedFrom - s)).toInt()

    /**
     * R3 for a run of copies: how many of the [n] frames from [s] on still held their committed
     * stamp after everything read before this call, in a row (see [stillThere]; one JNI call on
     * the JNI access path). The copies of those are intact; frame `s + intactOf(s, n)` (if
     * below `s + n`) was overwritten while it was copied.
     */
    fun intactOf(s: Long, n: Int): Int = ACCESS.countIntact(region, address, descsOffset, descStride, mask, s, n)

    /**
     * Whether frame [s]'s slot still holds its committed stamp, by one look that makes no JNI
     * call and orders nothing (`Access.getLongLook`: opaque with `VarHandle`s, plain on the JNI
     * path; the run's R2 already ordered the frame's reads after its Acquire load). Only
     * `Ring.readRun` and `Ring.copyRun` use it, before handing out a frame of a run after an
     * `emit`, to see that no producer rewrote the slot meanwhile (after an eviction, or a lap of
     * a reader that copies). See docs/KOTLIN.md, "Android", for why the plain load is enough.
     */
    fun stillCommittedLook(s: Long): Boolean = ACCESS.getLongLook(region, descAt(s).toInt()) == committed(s)

    /** R3 for a run: how many of the [n] frames from [s] on were overwritten since (see [stillThere]). */
    fun goneOf(s: Long, n: Int): Int = ACCESS.countGone(region, address, descsOffset, descStride, mask, s, n)

    /**
     * R3 for a run of protected frames (a `batches()` batch from [protectedFrom] on): how many of
     * the [n] frames from [s] on were rewritten while held. With `VarHandle`s by docs/FORMAT.md
     * R3's one look at this reader's own block: an Acquire fence (the partner: the Release fence
     * after a producer's `writing` stamp; a producer evicts before it writes that stamp over a
     * protected frame), then `state` and `generation` (opaque). Still ACTIVE with the generation
     * R1 gave: none was rewritten. Otherwise [goneOf] counts them frame by frame. On the JNI path
     * [goneOf] at once, one call against the look's three. Measured: docs/KOTLIN.md, "What runs
     * per frame".
     */
    fun tornOfProtected(s: Long, n: Int): Int {
        if (ACCESS.looksOnce) {
            ACCESS.acquireFence()
            val active = ACCESS.getIntOpaque(region, address, stateAt) == Layout.CONSUMER_STATE_ACTIVE.toInt()
            if (active && ACCESS.getIntOpaque(region, address, generationAt) == generation) return 0
        }
        return goneOf(s, n)
    }

    /**
     * R4, release: done with every frame below [next], [frames] of them handed to the
     * collector. Stores `delivered` (opaque, a statistic), then `read` with Release: pairs with
     * the Acquire load of `read` in the producer's scan (`gate::scan`), so the collector's reads
     * of the released slots happen before a producer overwrites them. Heartbeats (R5) when the
     * cursor passes its mark, every [HEARTBEAT_EVERY] frames. A lossless reader then does the
     * notify half of the sleeper protocol (`ring/src/sleep.rs`): a full fence, and a wake only
     * if a producer armed the space futex to sleep on it.
     */
    fun release(next: Long, frames: Long) {
        seq = next
        delivered += frames
        val space = ACCESS.release(region, address, deliveredAt, delivered, readAt, next, if (lossless) SPACE_FUTEX_AT else -1)
        if (next >= heartbeatMark) {
            heartbeat()
            heartbeatMark = next + HEARTBEAT_EVERY
        }
        if (space and ARMED != 0) notifyProducers()
        spins = 0
        idleSince = -1
    }

    private fun notifyProducers() {
        try {
            Native.notifySpace(ring.handle)
            wokePeer = true
        } catch (e: RingClosedException) {
            // This `Ring` was closed: the collection is ending, and unregistering (R9) wakes
            // the producers from Rust, without the ring's handle.
        }
    }

    /**
     * R5, heartbeat: stores `CLOCK_MONOTONIC` ns (`System.nanoTime()`, which HotSpot reads from
     * that clock on Linux: `ReaderCursorTest` checks it against the Rust clock) in
     * `heartbeat_ns`. Opaque: an evicting producer only compares its age with `evict_after`.
     * Called by [release] every [HEARTBEAT_EVERY] frames and by [park] before each park, as
     * often as the Rust reader does, so a producer with `evict_after` never evicts a reader
     * that reads steadily or waits.
     */
    fun heartbeat() {
        ACCESS.setLongOpaque(region, address, heartbeatAt, System.nanoTime())
    }

    /**
     * R6, watch state and generation: throws [EvictedException] if a producer evicted this
     * reader (`state` is no longer ACTIVE) or the block was taken by another registration
     * (`generation` changed). Opaque loads: the producer's eviction CAS publishes nothing else.
     * Called on the slow path, before each park and at each lap, as the Rust reader does: an
     * evicted reader no longer holds producers back, so it stops here instead of reading on as
     * if it were lossy.
     */
    fun checkEvicted() {
        val state = ACCESS.getIntOpaque(region, address, stateAt)
        val generation = ACCESS.getIntOpaque(region, address, generationAt)
        if (state != Layout.CONSUMER_STATE_ACTIVE.toInt() || generation != this.generation) {
            val why = if (state == Layout.CONSUMER_STATE_EVICTED.toInt()) "its heartbeat was older than a producer's evict_after while it held the producer back" else "its block was taken by another registration"
            throw EvictedException("consumer $index was evicted by a producer ($why): frames it had not read may be gone")
        }
    }

    /** R7, count: frames lost since the last frame handed out, which the next frame carries. */
    fun takeLostBefore(): Long = lostBefore.also { lostBefore = 0 }

    /** R7, count: [n] zero-copy views found overwritten when they were released (R3). */
    fun noteTorn(n: Long) {
        if (n == 0L) return
        torn += n
        ACCESS.setLongOpaque(region, address, tornAt, torn)
    }

    /**
     * R2 and R7 for a frame whose length is above the slot size: if the frame is still there
     * (R3) the length is corruption; the frame is counted lost, released and reported as
     * [RingCorruptException], never used. Returns normally only if the frame was overwritten
     * while we looked: then the next [check] sees the lap.
     */
    fun corruptLength(s: Long, length: Int, slotSize: Int) {
        if (!stillThere(s)) return
        lost++
        ACCESS.setLongOpaque(region, address, lostAt, lost)
        release(s + 1, 0)
        throw RingCorruptException("corrupt slot for frame $s: length ${length.toLong() and 0xffffffffL} exceeds the slot size $slotSize")
    }

    /**
     * R8, lap: a later frame holds the slot of [seq]. First R6 (an evicted lossless reader is
     * lapped: it must learn it was evicted, not read on). Then the frame the stamp names must be
     * a later frame of this slot below 2^62, or the stamp is corruption
     * ([RingCorruptException]: never looped on, never trusted). Jumps to
     * `max(min(published, 2^62) - (capacity - 1), lapper - capacity + 1)` (`published`: Acquire,
     * pairs with the producer's Release store), counts the frames jumped over as lost and one
     * lap (opaque stores), and releases to there with no frame delivered (R4). Frames jumped over
     * before the first frame was handed out and below [protectedFrom] (an early start: the
     * handshake could not protect them) were gone before the reader could read any of them: they
     * count in `missedAtStart`, not `lost`, as the Rust `ConsumerCore::skip_lapped` counts them.
     */
    fun skipLapped() {
        checkEvicted()
        // Opaque: `check` loaded this stamp with Acquire; we only read which frame it names.
        val found = ACCESS.getLongOpaque(region, address, descAt(seq).toInt())
        // seq_of: (stamp - 1) / 2, unsigned; found > committed(seq) >= 2 here, so found - 1 > 0.
        val lapper = (found - 1) ushr 1
        if (lapper <= seq || lapper >= Layout.MAX_SEQ || (lapper - seq) % capacity != 0L) {
            throw RingCorruptException("corrupt slot for frame $seq: slot stamp 0x${java.lang.Long.toHexString(found)} names no later frame of this slot")
        }
        val published = ACCESS.getLongAcquire(region, address, PUBLISHED_AT)
        val bounded = if (java.lang.Long.compareUnsigned(published, Layout.MAX_SEQ) > 0) Layout.MAX_SEQ else published
        var target = maxOf(maxOf(bounded - (capacity - 1), 0L), lapper - capacity + 1)
        if (!alwaysUnprotected && seq < protectedFrom) {
            // R8: a lossless reader catching up from an earlier start stops at the protected
            // start (frames from there on are still in the ring), as the Rust reader does.
            target = minOf(target, maxOf(protectedFrom, lapper - capacity + 1))
        }
        val skipped = target - seq
        if (firstSeq < 0 && seq < protectedFrom) {
            val missed = minOf(skipped, protectedFrom - seq)
            missedAtStart += missed
            lost += skipped - missed
            lostBefore += skipped - missed
        } else {
            lost += skipped
            lostBefore += skipped
        }
        lapped++
        ACCESS.setLongOpaque(region, address, lostAt, lost)
        ACCESS.setLongOpaque(region, address, lappedAt, lapped)
        release(target, 0)
    }

    /**
     * R9, unregister: gives the block back through JNI (`gate::unregister`: only our own
     * generation, ACTIVE or EVICTED to FREE with Release, then a wake of producers a lossless
     * reader may hold back), and copies this reader's counts into [counts].
     */
    fun unregister(counts: ReaderCounts?) {
        counts?.set(delivered, lost, lapped, torn, startSeq, if (firstSeq < 0) null else firstSeq, missedAtStart, seq)
        Native.unregister(consumer)
    }

    /**
     * Nothing to read: spins (true) for up to [SPIN_BUDGET_NS], then it is time to [park]
     * (false). The budget is the Rust side's (`ring/src/sync.rs`): about what a futex park and
     * wake cost, so a reader that keeps up with its producer never parks, and its producer
     * makes no wake syscall. Right after waking a producer it spins [AFTER_WAKE_BUDGET_NS]
     * instead, as the Rust side does (`Backoff::after_wake`): the producer takes about the
     * short budget to run again, and parking just before it does sets off a run of the two
     * sides waking each other. Not a suspend function: a suspend call allocates its
     * continuation, and this runs per empty poll.
     */
    fun spin(): Boolean {
        if (spins == 0) {
            spinSince = System.nanoTime()
            budget = if (wokePeer) AFTER_WAKE_BUDGET_NS else SPIN_BUDGET_NS
            wokePeer = false
        }
        Thread.onSpinWait()
        // The clock is read every 64 spins only.
        if (++spins and 63 != 0 || System.nanoTime() - spinSince < budget) return true
        spins = 0
        return false
    }

    /**
     * Parks until something may be there, at most [Ring.parkMs] (and what is left of
     * [idleTimeoutMs]); false once the ring closed. Before each park, as the Rust reader's wait
     * does: a heartbeat (R5), so a waiting reader is never taken for dead, and the state check
     * (R6), so an evicted reader stops instead of waiting for frames it may never get.
     */
    suspend fun park(idleTimeoutMs: Long?): Boolean {
        heartbeat()
        checkEvicted()
        val now = System.nanoTime()
        if (idleSince < 0) idleSince = now
        var park = Ring.parkMs
        if (idleTimeoutMs != null) {
            val left = idleTimeoutMs - (now - idleSince) / 1_000_000
            if (left <= 0) throw RingTimeoutException("no frame for $idleTimeoutMs ms")
            park = minOf(park, left)
        }
        // Frame `seq` is not there. If later frames were published (a multi-producer's frame
        // being written, or a hole a producer that ended left), waiting for "more than seq"
        // would return at once and spin: wait for more than what is published instead, in short
        // slices, so a hole's end (no producer left) is seen as the close (`endOrHole`).
        val published = ACCESS.getLongAcquire(region, address, PUBLISHED_AT)
        val seen = if (published > seq) published else seq
        if (published > seq) park = minOf(park, HOLE_SLICE_MS)
        // R7: a sleep on the data futex (opaque, a statistic).
        wakes += 1
        ACCESS.setLongOpaque(region, address, wakesAt, wakes)
        return try {
            when (parking) {
                Parking.Thread -> ring.parkOnIo(seen, park)
                Parking.Suspend -> withTimeoutOrNull(park) { ring.awaitData(seen) }
            }
            true
        } catch (e: RingClosedException) {
            endOrHole()
        } catch (e: CancellationException) {
            // Ours (the collector was cancelled): rethrow. Otherwise the ring's Rust tasks
            // were cancelled by `close`: the loop sees it closed.
            currentCoroutineContext().ensureActive()
            if (!ring.isClosed) throw e
            false
        }
    }

    /**
     * The end of the stream, as the Rust reader's `end_error` judges it: no producer is left and
     * frame [seq] is not there. If frames were committed after it (`published`, Acquire: pairs
     * with the producers' Release stores), a producer claimed it and ended without committing
     * it: a clean end would hide those frames, so this throws [AbandonedFrameException].
     * Returns true (read on) if frame [seq] is there after all, false (the flow ends) if nothing
     * is left, and when this `Ring` itself was closed.
     */
    private fun endOrHole(): Boolean {
        if (ring.isClosed) return false
        // Frames committed before the close are read first: the wait above may have asked for
        // more than `published` (a frame being written when we looked), and the producer may
        // have committed it, and the rest, and closed, since.
        if (check(seq) != EMPTY) return true
        val published = ACCESS.getLongAcquire(region, address, PUBLISHED_AT)
        if (published > seq) {
            throw AbandonedFrameException("frame $seq was claimed by a producer that ended without committing it; ${published - seq - 1} frames committed after it are not delivered")
        }
        return false
    }

    companion object {
        /** [check]: the frame is committed. */
        const val READY = 0

        /** [check]: not written yet (or being written). */
        const val EMPTY = 1

        /** [check]: a later frame took the slot. */
        const val LAPPED = 2

        /** The longest run `frames()` reads at once ([frameRun]). */
        private const val FRAME_RUN_MAX = 64

        /** The most payload bytes one run of copies holds ([copyRun]). */
        private const val COPY_RUN_BYTES = 256 * 1024

        /** Frames between two heartbeats of a reader busy reading: the Rust reader's `HEARTBEAT_EVERY`. */
        const val HEARTBEAT_EVERY = Layout.HEARTBEAT_EVERY

        /** `VarHandle`s or JNI calls (`-Dringflow.access`, see [Access]): a constant the JIT folds. */
        private val ACCESS: Access = Access.current
        private const val SPIN_BUDGET_NS = Layout.SPIN_BUDGET_NS

        /** How long a reader at a frame not yet there, with later ones published, parks at a time. */
        private const val HOLE_SLICE_MS = 10L
        private const val AFTER_WAKE_BUDGET_NS = Layout.AFTER_WAKE_BUDGET_NS
        private val SPACE_FUTEX_AT = (Layout.PRODUCER_OFFSET + Layout.SPACE_FUTEX_OFFSET).toInt()
        private const val ARMED = Layout.FUTEX_ARMED.toInt()
        private val PUBLISHED_AT = (Layout.PRODUCER_OFFSET + Layout.PUBLISHED_OFFSET).toInt()

        /** The stamp of a committed frame [s] (`docs/FORMAT.md`, slots). */
        fun committed(s: Long): Long = 2 * s + 2

        /**
         * R1, register: takes a consumer block through JNI (`gate::register`: the CAS to
         * CLAIMING, the fields, `ACTIVE` with Release, the SeqCst handshake with the producers'
         * scan, and for a lossless reader the wake of producers that scanned before it) and
         * returns a cursor at [start], as the Rust registration resolved it.
         */
        fun register(ring: Ring, lossless: Boolean, parking: Parking, start: Start = Start.Next): ReaderCursor {
            val consumer = Native.register(ring.handle, !lossless, start.kind, start.seq)
            return try {
                ReaderCursor(ring, consumer, lossless, parking)
            } catch (e: Throwable) {
                Native.unregister(consumer)
                throw e
            }
        }
    }
}
