package dev.ringflow

import dev.ringflow.internal.Native
import dev.ringflow.internal.nativeCall
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.FlowCollector
import kotlinx.coroutines.flow.flow
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * A ringflow ring, mapped into this JVM: one direct buffer over the whole shared region.
 *
 * ### Reading
 * [frames] is a cold [Flow]: collecting it registers a consumer, cancelling the collector
 * unregisters it. Frames are read in place, with no JNI call and no allocation per frame: the
 * flow reads each slot's stamp with an acquire load and moves its read cursor with a release
 * store, through `VarHandle`s over the buffer (JNI calls where there is no `VarHandle`: see
 * docs/KOTLIN.md, "Android"). It calls into Rust only to park when there is
 * nothing to read (after a short spin), on [Dispatchers.IO], never on `Dispatchers.Default`.
 *
 * ### Lifetime and threads
 * A `Ring` may be shared between coroutines. [close] releases it: collections running then end,
 * and every later call throws [IllegalStateException].
 *
 * @sample dev.ringflow.samples.ringSample
 */
class Ring private constructor(internal val handle: Long) : AutoCloseable {
    /** The JNI handle, for the wake-up benchmark's blocking-wait baseline. */
    internal val handleForBench: Long get() = handle

    /**
     * The whole region, in native byte order. Internal: after [close] the mapping may go, and
     * only the flows (which hold it until they unregister) may touch it.
     */
    internal val region: ByteBuffer = Native.buffer(handle).order(ByteOrder.nativeOrder())

    /** Number of slots. */
    val slotCount: Int = region.getInt(Layout.HEADER_SLOT_COUNT_OFFSET.toInt())

    /** Payload bytes one slot holds. */
    val slotSize: Int = region.getInt(Layout.HEADER_SLOT_PAYLOAD_OFFSET.toInt())

    /** Payload stride, payload array and descriptor array (docs/FORMAT.md, layout version 5). */
    internal val stride: Long = region.getInt(Layout.HEADER_SLOT_STRIDE_OFFSET.toInt()).toLong()
    internal val slotsOffset: Long = region.getLong(Layout.HEADER_SLOTS_OFFSET_OFFSET.toInt())
    internal val descStride: Long = region.getInt(Layout.HEADER_DESC_STRIDE_OFFSET.toInt()).toLong()
    internal val descsOffset: Long = region.getLong(Layout.HEADER_DESCS_OFFSET_OFFSET.toInt())

    /** Whether frames carry their producer's timestamp (else [Frame.timestampNs] is 0). */
    val timestamps: Boolean =
        region.getLong(Layout.HEADER_FLAGS_OFFSET.toInt()) and Layout.RING_FLAG_TIMESTAMPS != 0L

    private val slotMask: Long = slotCount.toLong() - 1

    /** Offset of the descriptor of frame [s]'s slot in the region. */
    internal fun descAt(s: Long): Long = descsOffset + (s and slotMask) * descStride

    /** Offset of the payload of frame [s]'s slot in the region. */
    internal fun payloadAt(s: Long): Long = slotsOffset + (s and slotMask) * stride

    /** The timestamp in the descriptor at [desc], 0 on a ring without timestamps. */
    internal fun timestampAt(desc: Long): Long =
        if (timestamps) region.getLong((desc + Layout.DESC_TIMESTAMP_OFFSET).toInt()) else 0L

    /**
     * Attaches a producer with [policy]: frames written in place from Kotlin (see [RingProducer]).
     * A single-producer ring takes one producer at a time ([RingBusyException] while another, in
     * any process, is attached); a multi-producer ring up to 8. [ProducerPolicy.Overwrite] needs a
     * ring created overwritable ([BadArgumentException] otherwise).
     */
    fun producer(policy: ProducerPolicy = ProducerPolicy.Block()): RingProducer {
        checkOpen()
        return RingProducer(this, Native.producerAttach(handle, policy.code, policy.blockMs), policy)
    }

    /** What the frames hold, from the header. */
    val schema: Schema = when (region.getInt(Layout.HEADER_SCHEMA_ID_OFFSET.toInt()).toLong()) {
        Layout.SCHEMA_AUDIO -> Schema.Audio(
            sampleRate = region.getInt(Layout.HEADER_AUDIO_SAMPLE_RATE_OFFSET.toInt()),
            channels = region.getInt(Layout.HEADER_AUDIO_CHANNELS_OFFSET.toInt()),
            format = when (region.getInt(Layout.HEADER_AUDIO_SAMPLE_FORMAT_OFFSET.toInt()).toLong()) {
                Layout.SAMPLE_FORMAT_I16 -> SampleFormat.I16
                Layout.SAMPLE_FORMAT_I32 -> SampleFormat.I32
                Layout.SAMPLE_FORMAT_I24 -> SampleFormat.I24
                // F32: opening the ring (in Rust) refused any value it does not define.
                else -> SampleFormat.F32
            },
            samplesPerFrame = region.getInt(Layout.HEADER_AUDIO_SAMPLES_PER_FRAME_OFFSET.toInt()),
        )
        Layout.SCHEMA_TELEMETRY -> Schema.Telemetry(region.getInt(Layout.HEADER_TELEMETRY_VERSION_OFFSET.toInt()))
        else -> Schema.Raw
    }

    /**
     * Whether the ring was created overwritable (`docs/FORMAT.md`, header `flags`): an `overwrite`
     * producer may rewrite any frame while a reader holds it, so [frames] copies and checks every
     * frame, lossless or not, and [batches] is refused.
     */
    val isOverwritable: Boolean =
        (region.getLong(Layout.HEADER_FLAGS_OFFSET.toInt()) and Layout.RING_FLAG_OVERWRITABLE) != 0L

    @Volatile
    private var closed = false

    /** Whether [close] was called. */
    internal val isClosed: Boolean get() = closed

    private fun checkOpen() = check(!closed) { "the ring is closed" }

    /**
     * The frames from [start] on (by default the next one published), as zero-copy [Frame] views
     * (see [Frame] for how long one stays valid; [FrameFlow] for the operators that keep views
     * safe, and [copies] for frames that must outlive the collector's call). A [Delivery.Lossy] reader, which a producer may
     * lap at any moment, and any reader of an [overwritable][isOverwritable] ring, gets each frame
     * copied into a buffer of its own (one copy, no allocation) and checked after the copy: it is
     * never handed a torn frame, and [Frame.lostBefore] counts exactly what it missed. So does a
     * lossless reader for the frames before the next one published ([Start.Oldest], a
     * [Start.Seq] in the past): its registration cannot protect those, and the ones gone before
     * its first frame count in [ReaderCounts.missedAtStart], not in `lost`.
     *
     * The reader meets every obligation of `docs/FORMAT.md` ("Reader obligations") through its
     * [ReaderCursor]: it heartbeats every 1024 frames and before each park, so a producer with
     * `evict_after` never evicts it while it reads or waits; it writes `delivered`, `lost`,
     * `lapped` and `torn` into its consumer block as the Rust reader does ([counts] gets the same
     * numbers when the collection ends, with where it started).
     *
     * Completes when the ring closes and every frame was read; fails with [RingClosedException]
     * if this `Ring` is closed while collecting, with [ProducerGoneException] if the producer's
     * process died, with [RingTimeoutException] if [idleTimeoutMs] is set and no frame came
     * for that long, with [EvictedException] if a producer evicted this reader (it stalled longer
     * than the producer's `evict_after` while holding it back: it would no longer see every
     * frame, so it stops instead of reading on as a lossy reader), and with
     * [RingCorruptException] if a slot holds what no producer writes. (Use [idleTimeoutMs], not
     * the `timeout` operator: that one runs the upstream through a channel, which lets a view
     * outlive its slot.)
     */
    fun frames(
        delivery: Delivery = Delivery.Lossless,
        idleTimeoutMs: Long? = null,
        parking: Parking = Parking.Thread,
        counts: ReaderCounts? = null,
        start: Start = Start.Next,
    ): FrameFlow = FrameFlow { limit, stop -> frameViews(delivery, idleTimeoutMs, parking, counts, start, limit, stop) }

    /** [frames], ending after [limit] frames or once [stop] says so after a frame's `emit`. */
    private fun frameViews(
        delivery: Delivery,
        idleTimeoutMs: Long?,
        parking: Parking,
        counts: ReaderCounts?,
        start: Start,
        limit: Long,
        stop: (() -> Boolean)?,
    ): Flow<Frame> = flow {
        reading(delivery, parking, counts, start) { cursor ->
            var delivered = 0L
            val frame = Frame(region)
            // Frames that may be rewritten while held (every frame of a lossy reader or of an
            // overwritable ring; a lossless reader's frames below its protected start) are copied
            // into this buffer, and the stamp is checked after the copy.
            // On the JNI access path such frames are copied in runs, into `copies`, whose first
            // slot is then the per-frame copy buffer too.
            val copies: RunCopies? = if (cursor.copyRun > 0) RunCopies(cursor.copyRun, slotSize) else null
            val copy: ByteBuffer? = when {
                !cursor.mayCopy -> null
                copies != null -> copies.buffer
                else -> ByteBuffer.allocateDirect(slotSize).order(ByteOrder.nativeOrder())
            }
            // Frames the registration protects are read in runs (`readRun`): R2, R3 and R4 once
            // per run, and before each frame after an emit a plain look at its stamp, so a
            // reader evicted while its collector stalled never hands out a frame already
            // rewritten. On the JNI access path the frames it must copy are copied in runs
            // (`copyRun`): R2 for the run, the copies, R3 for the run, the emits, R4; with
            // `VarHandle`s they are copied and checked per frame, below (docs/KOTLIN.md,
            // "What runs per frame").
            while (!closed) {
                val seq = cursor.seq
                if (copies != null && cursor.unprotected(seq)) {
                    val run = cursor.readyRun(seq, cursor.unprotectedRun(seq, copies.slots)) // R2 for the run: one JNI call
                    if (run > 0) {
                        val passed = copyRun(cursor, frame, copies, seq, run, limit - delivered, stop)
                        if (passed < 0) break // the limit or `stop`: the flow ends
                        delivered += passed
                        continue
                    }
                } else if (!(copy != null && cursor.unprotected(seq))) {
                    val run = cursor.readyRun(seq, cursor.frameRun) // R2 for the run (one JNI call on that path)
                    if (run > 0) {
                        val passed = readRun(cursor, frame, seq, run, limit - delivered, stop)
                        if (passed < 0) break // the limit or `stop`: the flow ends
                        delivered += passed
                        continue
                    }
                }
                when (cursor.check(seq)) { // R2
                    ReaderCursor.EMPTY -> {
                        if (cursor.spin()) continue
                        if (!cursor.park(idleTimeoutMs)) break
                        continue
                    }
                    ReaderCursor.LAPPED -> {
                        cursor.skipLapped() // R8
                        continue
                    }
                }
                val desc = cursor.descAt(seq)
                val length = region.getInt((desc + Layout.DESC_LEN_OFFSET).toInt())
                val kind = region.getInt((desc + Layout.DESC_KIND_OFFSET).toInt()).toLong() and 0xffffffffL
                if (kind and Layout.KIND_SKIP != 0L) {
                    // A claim dropped uncommitted: passed over, nothing delivered.
                    if (cursor.stillThere(seq)) cursor.release(seq + 1, 0)
                    continue
                }
                if (length < 0 || length > slotSize) {
                    cursor.corruptLength(seq, length, slotSize) // throws unless overwritten meanwhile
                    continue
                }
                frame.seq = seq
                frame.length = length
                frame.kind = (kind and 0xffff).toInt()
                frame.timestampNs = timestampAt(desc)
                val copied = copy != null && cursor.unprotected(seq)
                if (!copied) {
                    frame.region = region
                    frame.offset = cursor.payloadAt(seq).toInt()
                } else {
                    copy!!.put(0, region, cursor.payloadAt(seq).toInt(), length)
                    // R3: overwritten during the copy: lapped; the next look at the slot counts it lost.
                    if (!cursor.stillThere(seq)) continue
                    frame.region = copy
                    frame.offset = 0
                }
                frame.lostBefore = cursor.takeLostBefore()
                frame.live = true
                try {
                    emit(frame)
                } finally {
                    // From here on the view fails loudly if touched (Frame.checkLive).
                    frame.live = false
                    // Handed out, even if the collector threw (`take` ends a flow that way), as
                    // a Rust view dropped while unwinding is. A view overwritten while the
                    // collector read it (an `overwrite` producer) is counted (R3).
                    if (!copied && !cursor.stillThere(seq)) cursor.noteTorn(1)
                    cursor.noteHandedOut(seq)
                    cursor.release(seq + 1, 1) // R4
                }
                if (++delivered >= limit || (stop != null && stop())) break
            }
        }
    }

    /**
     * `frames()`, for the frames it hands out in place: hands out, one `emit` each, the frames of
     * a run of [run] frames from [seq] that R2 found committed (`ReaderCursor.readyRun`, one JNI
     * call on that path), then does R3 and R4 once for the frames it passed. A frame after the
     * first is handed out only if its slot still holds its committed stamp when the flow comes
     * to it (`ReaderCursor.stillCommittedLook`): the collector may have stalled in the previous
     * `emit` long enough for a producer to evict this reader and rewrite the slot (the
     * conformance scenario `stalled-reader-is-evicted`); then the run ends there, and the next
     * R2 sees the lap and R8 reports the eviction (R6). Only for frames the registration
     * protects (a lossless reader, a ring that is not overwritable, at or past `protectedFrom`):
     * nothing but an eviction rewrites those, so the stamp's look is the only check they need
     * before they are handed out.
     *
     * Returns the frames handed out (skip frames passed over uncounted), or -1 once [left]
     * frames were handed out or [stop] said so: the flow ends. An `emit` that throws still
     * counts its frame as handed out and released, as in [frames]. Inline: a suspend call of
     * its own would allocate a continuation per run.
     */
    private suspend inline fun FlowCollector<Frame>.readRun(
        cursor: ReaderCursor,
        frame: Frame,
        seq: Long,
        run: Int,
        left: Long,
        noinline stop: (() -> Boolean)?,
    ): Long {
        var passed = 0 // frames of the run read: handed out or passed over
        var handed = 0L
        var corrupt: Int? = null
        var end = false
        try {
            while (passed < run) {
                val s = seq + passed
                // After an emit: the frame is still there (a look; see above). Otherwise
                // the run ends, and the next R2 sees why.
                if (handed > 0 && !cursor.stillCommittedLook(s)) break
                val desc = cursor.descAt(s)
                val length = region.getInt((desc + Layout.DESC_LEN_OFFSET).toInt())
                val kind = region.getInt((desc + Layout.DESC_KIND_OFFSET).toInt()).toLong() and 0xffffffffL
                if (length < 0 || length > slotSize) {
                    // Reported when it is the first of a run (below), after the frames before it
                    // are released.
                    if (passed == 0) corrupt = length
                    break
                }
                passed++
                if (kind and Layout.KIND_SKIP != 0L) continue // a claim dropped uncommitted: passed over
                // Counted before the emit: one that throws still hands its frame out.
                if (handOut(cursor, frame, s, length, kind, timestampAt(desc), region, cursor.payloadAt(s).toInt(), ++handed, left, stop)) {
                    end = true
                    break
                }
            }
        } finally {
            if (passed > 0) {
                // R3 for the run: views overwritten while held (after an eviction) are counted.
                cursor.noteTorn(cursor.goneOf(seq, passed).toLong())
                cursor.release(seq + passed, handed) // R4
            }
        }
        corrupt?.let { cursor.corruptLength(seq, it, slotSize) } // throws unless overwritten meanwhile
        return if (end) -1 else handed
    }

    /**
     * `frames()` on the JNI access path, for frames it may not hand out in place (a lossy reader,
     * an overwritable ring, a lossless reader's frames below its protected start): copies the
     * descriptors and payloads of a run of [run] frames from [seq], which R2 found committed in
     * one call, into [copies]; then R3 for the whole run in one call (`ReaderCursor.intactOf`):
     * the copies before the first frame overwritten during the copy are intact, and only those
     * are handed out, one `emit` each; then R4 once for the frames passed. A frame overwritten
     * during the copy is not released: the next R2 sees the lap, and R8 counts it and the frames
     * jumped over lost, exactly as the per-frame path does, and the next frame handed out
     * carries them in [Frame.lostBefore]. The copies are the reader's own and never torn; still,
     * before each copy after an `emit`, a look at its stamp (as in [readRun]) ends the run if the slot was
     * rewritten since the check (a producer lapped the reader, or wrote what no producer writes,
     * while the collector ran): the frame is then not handed out, and the next R2 sees why, as
     * the per-frame path would have seen it at that frame (the conformance scenarios
     * `corrupt-stamp-*` fail without it).
     *
     * Returns the frames handed out (skip frames passed over uncounted), or -1 once [left]
     * frames were handed out or [stop] said so: the flow ends. An `emit` that throws still
     * counts its frame as handed out and released, as in [frames]. Inline, as [readRun].
     */
    private suspend inline fun FlowCollector<Frame>.copyRun(
        cursor: ReaderCursor,
        frame: Frame,
        copies: RunCopies,
        seq: Long,
        run: Int,
        left: Long,
        noinline stop: (() -> Boolean)?,
    ): Long {
        // The copies: plain reads of each descriptor and payload, checked by the R3 below.
        var n = 0
        while (n < run) {
            val s = seq + n
            val desc = cursor.descAt(s)
            val length = region.getInt((desc + Layout.DESC_LEN_OFFSET).toInt())
            val kind = region.getInt((desc + Layout.DESC_KIND_OFFSET).toInt())
            if (kind.toLong() and Layout.KIND_SKIP == 0L) {
                if (length < 0 || length > slotSize) {
                    // The first of a run is reported (throws unless overwritten meanwhile);
                    // a later one when it is first.
                    if (n == 0) cursor.corruptLength(s, length, slotSize)
                    break
                }
                copies.lengths[n] = length
                copies.timestamps[n] = timestampAt(desc)
                copies.buffer.put(copies.offsetOf(n), region, cursor.payloadAt(s).toInt(), length)
            }
            copies.kinds[n] = kind
            n++
        }
        if (n == 0) return 0 // the first frame was overwritten while we looked: the next R2 sees it
        // R3 for the run: frames from `seq + intact` on may have been overwritten during the copy
        // (a lap): not handed out, not released.
        val intact = cursor.intactOf(seq, n)
        var passed = 0 // frames of the run read: handed out or passed over
        var handed = 0L
        var end = false
        try {
            while (passed < intact) {
                // After an emit: the frame is still in its slot (the look of `readRun`).
                // Otherwise the run ends, and the next R2 sees the lap or the corruption, as the
                // per-frame path would have at this frame.
                if (handed > 0 && !cursor.stillCommittedLook(seq + passed)) break
                val i = passed++
                val kind = copies.kinds[i].toLong() and 0xffffffffL
                if (kind and Layout.KIND_SKIP != 0L) continue // a claim dropped uncommitted: passed over
                // Counted before the emit, as in `readRun`.
                if (handOut(cursor, frame, seq + i, copies.lengths[i], kind, copies.timestamps[i], copies.buffer, copies.offsetOf(i), ++handed, left, stop)) {
                    end = true
                    break
                }
            }
        } finally {
            if (passed > 0) cursor.release(seq + passed, handed) // R4
        }
        return if (end) -1 else handed
    }

    /**
     * Hands out frame [seq] of a run, the [handed]th of it (counted by the caller before this
     * call, so an `emit` that throws still counts it): fills the reused [frame] (the view of
     * [length] bytes at [offset] of [buffer], the user bits of [kind], [timestampNs], the frames
     * lost before it), notes the run's first frame handed out, emits it, and marks the view dead
     * however the `emit` ends. Returns whether the flow ends after it: [left] frames handed out,
     * or [stop] says so. The hand-out of [readRun] (views in place) and [copyRun] (views of
     * copies); inline, with them, so a frame costs no call and no allocation of its own.
     */
    private suspend inline fun FlowCollector<Frame>.handOut(
        cursor: ReaderCursor,
        frame: Frame,
        seq: Long,
        length: Int,
        kind: Long,
        timestampNs: Long,
        buffer: ByteBuffer,
        offset: Int,
        handed: Long,
        left: Long,
        noinline stop: (() -> Boolean)?,
    ): Boolean {
        frame.seq = seq
        frame.length = length
        frame.kind = (kind and 0xffff).toInt()
        frame.timestampNs = timestampNs
        frame.region = buffer
        frame.offset = offset
        frame.lostBefore = cursor.takeLostBefore()
        if (handed == 1L) cursor.noteHandedOut(seq)
        frame.live = true
        try {
            emit(frame)
        } finally {
            // From here on the view fails loudly if touched (Frame.checkLive).
            frame.live = false
        }
        return handed >= left || (stop != null && stop())
    }

    /**
     * The frames from [start] on, [max] at most per emission: for throughput, one emission and
     * one cursor move per batch instead of per frame. Same lifetime rules, start, end, errors and
     * reader obligations as [frames]; lossless readers of rings that are not
     * [overwritable][isOverwritable] only (a batch a producer may rewrite would need a copy per
     * frame to never hand out a torn one: use [frames]). A frame before the reader's protected
     * start (an early [start]) comes as a batch of one checked copy, as the Rust reader's does.
     */
    fun batches(
        max: Int,
        delivery: Delivery = Delivery.Lossless,
        parking: Parking = Parking.Thread,
        counts: ReaderCounts? = null,
        start: Start = Start.Next,
    ): Flow<FrameBatch> = flow {
        require(max in 1..slotCount) { "max must be in 1..$slotCount, but was $max" }
        require(delivery == Delivery.Lossless) { "batches are lossless only, but delivery was $delivery" }
        require(!isOverwritable) { "batches need a ring that is not overwritable: an overwrite producer may rewrite a batch while it is held; use frames()" }
        reading(delivery, parking, counts, start) { cursor ->
            val batch = FrameBatch(region, max)
            val copy: ByteBuffer? = if (cursor.mayCopy) ByteBuffer.allocateDirect(slotSize).order(ByteOrder.nativeOrder()) else null
            while (!closed) {
                val seq = cursor.seq
                when (cursor.check(seq)) { // R2, for the batch's first frame
                    ReaderCursor.EMPTY -> {
                        if (!cursor.spin() && !cursor.park(null)) break
                        continue
                    }
                    ReaderCursor.LAPPED -> {
                        cursor.skipLapped() // R8
                        continue
                    }
                }
                if (copy != null && cursor.unprotected(seq)) {
                    // Below the protected start: a producer may rewrite it while held, so a batch
                    // of one checked copy.
                    val desc = cursor.descAt(seq)
                    val length = region.getInt((desc + Layout.DESC_LEN_OFFSET).toInt())
                    val kind = region.getInt((desc + Layout.DESC_KIND_OFFSET).toInt()).toLong() and 0xffffffffL
                    if (kind and Layout.KIND_SKIP != 0L) {
                        if (cursor.stillThere(seq)) cursor.release(seq + 1, 0)
                        continue
                    }
                    if (length < 0 || length > slotSize) {
                        cursor.corruptLength(seq, length, slotSize) // throws unless overwritten meanwhile
                        continue
                    }
                    val f = batch.slot(0)
                    f.seq = seq
                    f.length = length
                    f.kind = (kind and 0xffff).toInt()
                    f.timestampNs = timestampAt(desc)
                    copy.put(0, region, cursor.payloadAt(seq).toInt(), length)
                    // R3: overwritten during the copy: lapped; the next look at the slot counts it.
                    if (!cursor.stillThere(seq)) continue
                    f.region = copy
                    f.offset = 0
                    f.lostBefore = 0
                    batch.size = 1
                    batch.lostBefore = cursor.takeLostBefore()
                    batch.setLive(true)
                    try {
                        emit(batch)
                    } finally {
                        batch.setLive(false)
                        cursor.noteHandedOut(seq)
                        cursor.release(seq + 1, 1) // R4
                    }
                    continue
                }
                // Gather the run of committed frames from `seq`, up to `max`: R2 for the whole
                // run at once (one JNI call on the JNI access path).
                val run = cursor.readyRun(seq, max)
                var n = 0L
                var frames = 0
                while (n < run) {
                    val s = seq + n
                    val desc = cursor.descAt(s)
                    val length = region.getInt((desc + Layout.DESC_LEN_OFFSET).toInt())
                    val kind = region.getInt((desc + Layout.DESC_KIND_OFFSET).toInt()).toLong() and 0xffffffffL
                    if (length < 0 || length > slotSize) {
                        if (n == 0L) cursor.corruptLength(s, length, slotSize) // throws unless overwritten
                        break // a later one is reported when it is first in a batch
                    }
                    if (kind and Layout.KIND_SKIP == 0L) {
                        val f = batch.slot(frames++)
                        f.seq = s
                        f.length = length
                        f.kind = (kind and 0xffff).toInt()
                        f.timestampNs = timestampAt(desc)
                        f.region = region
                        f.offset = cursor.payloadAt(s).toInt()
                        f.lostBefore = 0
                    }
                    n++
                }
                if (n == 0L) continue // the first frame was overwritten while we looked
                if (frames == 0) {
                    cursor.release(seq + n, 0) // skip frames only
                    continue
                }
                batch.size = frames
                batch.lostBefore = cursor.takeLostBefore()
                batch.setLive(true)
                val first = batch.slot(0).seq
                try {
                    emit(batch)
                } finally {
                    batch.setLive(false)
                    cursor.noteTorn(cursor.tornOfProtected(seq, n.toInt()).toLong()) // R3, for the run
                    cursor.noteHandedOut(first)
                    cursor.release(seq + n, frames.toLong()) // R4
                }
            }
        }
    }

    /**
     * Registers a reader (R1), runs [body] with its cursor, and always unregisters (R9): the
     * registration keeps the mapping alive until the flow stops reading it, even across [close].
     */
    private suspend inline fun <T> FlowCollector<T>.reading(
        delivery: Delivery,
        parking: Parking,
        counts: ReaderCounts?,
        start: Start,
        body: FlowCollector<T>.(ReaderCursor) -> Unit,
    ) {
        checkOpen()
        val cursor = ReaderCursor.register(this@Ring, delivery == Delivery.Lossless, parking, start)
        try {
            body(cursor)
            if (closed) throw RingClosedException("the ring was closed while collecting")
        } finally {
            cursor.unregister(counts)
        }
    }

    /**
     * Parks on the IO dispatcher until a frame beyond [seen] is published (at most [ms]).
     * Cancelling the caller wakes the parked thread at once: a futex wait ignores
     * `Thread.interrupt`, so the cancellation bumps the ring's futex words through JNI.
     */
    internal suspend fun parkOnIo(seen: Long, ms: Long) = coroutineScope {
        val parked = async(Dispatchers.IO) { Native.waitPublished(handle, seen, ms) }
        try {
            parked.await()
        } catch (e: CancellationException) {
            if (!closed) Native.wake(handle)
            throw e
        }
    }

    /**
     * Suspends until more than [after] frames were published, and returns the published count
     * (`> after`); throws [RingClosedException] once none will come. Any number of callers wait on
     * the ring's one Rust waiter thread, which resumes them: no thread is parked per caller.
     */
    suspend fun awaitData(after: Long): Long {
        checkOpen()
        return nativeCall { Native.callAwaitData(it, handle, after) } as Long
    }

    /**
     * Runs an engine producer of [source] in this process, like [startProducer], and suspends
     * until it ends; cancelling the caller stops the producer.
     */
    suspend fun produce(source: Source, frames: Long, rate: Double = 0.0): ProduceSummary {
        checkOpen()
        return decodeSummary(nativeCall { Native.callProducer(it, handle, source.code, frames, rate) } as String)
    }

    /**
     * Plays the WAV file at [path] into this audio ring (its format must be the ring's) and
     * suspends until the last sample was written; cancelling the caller stops it.
     */
    suspend fun importWav(path: String): ProduceSummary {
        checkOpen()
        return decodeSummary(nativeCall { Native.callImportWav(it, handle, path) } as String)
    }

    /**
     * Starts an engine `seq` producer in this process writing [frames] verifiable frames of
     * [frameSize] bytes (negative: until cancelled); returns a handle for [cancelTask].
     */
    fun startSeqProducer(frames: Long, frameSize: Int): Long {
        checkOpen()
        return Native.startSeqProducer(handle, frames, frameSize)
    }

    /**
     * Starts an engine producer of [source] in this process: [frames] frames (negative: until
     * cancelled), at [rate] frames per second (0: the source's own pace; `seq` is unpaced, audio
     * real time). `Audio` needs an audio ring. Returns a handle for [cancelTask].
     */
    fun startProducer(source: Source, frames: Long, rate: Double = 0.0): Long {
        checkOpen()
        return Native.startProducer(handle, source.code, frames, rate)
    }

    /** A snapshot of the ring's cursors and counters. */
    fun stats(): RingStats {
        checkOpen()
        val v = Native.statsValues(handle)
        val consumers = (0 until v[Layout.STATS_HEADER_LEN.toInt() - 1].toInt()).map { i ->
            val o = (Layout.STATS_HEADER_LEN + i * Layout.STATS_CONSUMER_LEN).toInt()
            ConsumerStats(v[o].toInt(), v[o + 1] != 0L, v[o + 2] != 0L, v[o + 3], v[o + 4], v[o + 5], v[o + 6], v[o + 7], v[o + 8])
        }
        return RingStats(v[0], v[1], v[2] != 0L, v[3], v[4], v[5], v[6], consumers)
    }

    /** Cancels a task started on this ring. */
    fun cancelTask(task: Long) {
        checkOpen()
        Native.cancel(task)
    }

    /** The ring's header, cursors, lag and counters, and its tasks' progress, as JSON. */
    fun statsJson(): String {
        checkOpen()
        return Native.stats(handle)
    }

    /**
     * Forgets the durable named consumer [name] (one that `ringflow consume --name`, `ringflow
     * bridge push` or Rust's `Ring::consumer_named` took): its consumer block stops holding
     * producers back at once and loses the name, so the next reader of that name starts afresh,
     * at the newest frame. Returns false if no consumer of the ring has the name.
     *
     * Throws [RingBusyException] if a live process owns the name, unless [force]: then the
     * consumer is evicted (its owner's next read fails) and its block is free once that owner
     * lets it go. Throws [BadArgumentException] for a name Rust refuses (empty, longer than 32
     * bytes, or holding a NUL). Thread-safe.
     */
    fun forgetConsumer(name: String, force: Boolean = false): Boolean {
        checkOpen()
        return Native.forgetConsumer(handle, name, force)
    }

    /** Wakes every reader parked on this ring (in any process). */
    fun wakeWaiters() {
        checkOpen()
        Native.wake(handle)
    }

    /**
     * Releases the ring (once; later calls do nothing): cancels its engine tasks, ends the
     * collections running (they fail with [RingClosedException]) and makes every later call
     * throw [IllegalStateException]. Producers made by [producer] stay attached until their own
     * [RingProducer.close]; a claim of theirs that waits for space, now or later, throws
     * [RingClosedException] within about 50 ms, nothing claimed. Thread-safe.
     */
    override fun close() {
        if (closed) return
        closed = true
        Native.close(handle)
    }

    companion object {
        /** Longest single park, so a reader looks at its state (closed, timeout) now and then. */
        @Volatile
        internal var parkMs = 50L

        /** Maps the ring file at [path]; throws [RingCorruptException] if it is not a valid ring. */
        fun open(path: String): Ring = Ring(Native.open(path))

        /** Creates (or replaces) a ring file at [path]. */
        fun create(path: String, slots: Int = 4096, slotSize: Int = 256, consumers: Int = 8): Ring {
            require(slots > 0) { "slots must be positive, but was $slots" }
            return Ring(Native.create(path, slots, slotSize, consumers))
        }

        /**
         * Removes (unlinks) the ring file at [path] after checking that it is a ring. Processes
         * that map it keep it until they close it; nothing new can open it. Throws
         * [RingIoException] if there is no such file and [RingCorruptException] if the file is not
         * a ring (it is left alone). Thread-safe; an open [Ring] of it stays usable.
         */
        fun remove(path: String) = Native.remove(path)

        /** Makes the native side panic, for tests: the panic must arrive as an exception. */
        internal fun panicForTest(message: String) = Native.panicForTest(message)

        /** Exception classes the native library resolved when it loaded, for tests. */
        internal fun cachedExceptionClasses(): Int = Native.cachedExceptionClasses()
        internal fun errorTable(): String = Native.errorTable()

        /** Consumers registered through JNI and not yet unregistered, for leak tests. */
        internal fun liveConsumers(): Int = Native.liveConsumers()

        /** The Rust layout as `NAME=value` lines, for layout tests. */
        internal fun rustLayout(): String = Native.layout()
    }
}
