package dev.ringflow

import dev.ringflow.internal.Native
import dev.ringflow.internal.nativeCall
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.FlowCollector
import kotlinx.coroutines.flow.flow
import java.lang.invoke.MethodHandles
import java.lang.invoke.VarHandle
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * A ringflow ring, mapped into this JVM: one direct buffer over the whole shared region.
 *
 * ### Reading
 * [frames] is a cold [Flow]: collecting it registers a consumer, cancelling the collector
 * unregisters it. Frames are read in place, with no JNI call and no allocation per frame: the
 * flow reads each slot's stamp with an acquire load and moves its read cursor with a release
 * store, through `VarHandle`s over the buffer. It calls into Rust only to park when there is
 * nothing to read (after a short spin), on [Dispatchers.IO], never on `Dispatchers.Default`.
 *
 * ### Lifetime and threads
 * A `Ring` may be shared between coroutines. [close] releases it: collections running then end,
 * and every later call throws [IllegalStateException].
 *
 * ```
 * Ring.open("/dev/shm/audio").use { ring ->
 *     ring.frames().take(100).collect { frame -> println("${frame.seq}: ${frame.length} bytes") }
 * }
 * ```
 */
class Ring private constructor(private val handle: Long) : AutoCloseable {
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

    private val stride: Long = region.getInt(Layout.HEADER_SLOT_STRIDE_OFFSET.toInt()).toLong()
    private val slotsOffset: Long = region.getLong(Layout.HEADER_SLOTS_OFFSET_OFFSET.toInt())
    private val mask: Long = slotCount.toLong() - 1

    /** What the frames hold, from the header. */
    val schema: Schema = when (region.getInt(Layout.HEADER_SCHEMA_ID_OFFSET.toInt())) {
        1 -> Schema.Audio(
            sampleRate = region.getInt(Layout.HEADER_AUDIO_SAMPLE_RATE_OFFSET.toInt()),
            channels = region.getInt(Layout.HEADER_AUDIO_CHANNELS_OFFSET.toInt()),
            format = when (region.getInt(Layout.HEADER_AUDIO_SAMPLE_FORMAT_OFFSET.toInt())) {
                2 -> SampleFormat.I16
                3 -> SampleFormat.I32
                else -> SampleFormat.F32
            },
            samplesPerFrame = region.getInt(Layout.HEADER_AUDIO_SAMPLES_PER_FRAME_OFFSET.toInt()),
        )
        2 -> Schema.Telemetry(region.getInt(Layout.HEADER_TELEMETRY_VERSION_OFFSET.toInt()))
        else -> Schema.Raw
    }

    @Volatile
    private var closed = false

    private fun checkOpen() = check(!closed) { "the ring is closed" }

    /**
     * The frames published from now on, as zero-copy [Frame] views (see [Frame] for how long one
     * stays valid). A [Delivery.Lossy] reader, which a producer may lap at any moment, gets each
     * frame copied into a buffer of its own (one copy, no allocation) and checked after the copy:
     * it is never handed a torn frame, and [Frame.lostBefore] counts exactly what it missed.
     *
     * Completes when the ring closes and every frame was read; fails with [RingClosedException]
     * if this `Ring` is closed while collecting, with [ProducerGoneException] if the producer's
     * process died, and with [RingTimeoutException] if [idleTimeoutMs] is set and no frame came
     * for that long. (Use [idleTimeoutMs], not the `timeout` operator: that one runs the upstream
     * through a channel, which lets a view outlive its slot.)
     */
    fun frames(delivery: Delivery = Delivery.Lossless, idleTimeoutMs: Long? = null, parking: Parking = Parking.Thread): Flow<Frame> = flow {
        reading(delivery, parking) { cursor ->
            val frame = Frame(region)
            // A lossy reader copies each frame into this buffer and checks the stamp after the copy.
            val copy: ByteBuffer? = if (cursor.lossless) null else ByteBuffer.allocateDirect(slotSize).order(ByteOrder.nativeOrder())
            while (!closed) {
                val seq = cursor.seq
                val slot = cursor.slotAt(seq)
                val stamp = cursor.stampAt(seq)
                val want = 2 * seq + 2
                if (stamp < want) {
                    if (cursor.spin()) continue
                    if (!cursor.park(idleTimeoutMs)) break
                    continue
                }
                if (stamp > want) {
                    cursor.lap(stamp)
                    continue
                }
                val length = region.getInt((slot + Layout.SLOT_LEN_OFFSET).toInt())
                val kind = region.getInt((slot + Layout.SLOT_KIND_OFFSET).toInt()).toLong() and 0xffffffffL
                if (kind and Layout.KIND_SKIP == 0L) {
                    if (length < 0 || length > slotSize) {
                        throw RingCorruptException("corrupt slot for frame $seq: length $length exceeds the slot size $slotSize")
                    }
                    frame.seq = seq
                    frame.length = length
                    frame.kind = (kind and 0xffff).toInt()
                    frame.timestampNs = region.getLong((slot + Layout.SLOT_TIMESTAMP_OFFSET).toInt())
                    if (copy == null) {
                        frame.region = region
                        frame.offset = (slot + Layout.SLOT_PAYLOAD_OFFSET).toInt()
                    } else {
                        copy.put(0, region, (slot + Layout.SLOT_PAYLOAD_OFFSET).toInt(), length)
                        // Overwritten during the copy: lapped; the next look at the slot counts it lost.
                        if (!cursor.stillThere(seq)) continue
                        frame.region = copy
                        frame.offset = 0
                    }
                    frame.lostBefore = cursor.takeLostBefore()
                    emit(frame)
                    // A view overwritten while the collector read it (only an `overwrite` producer,
                    // or an eviction, can do that to a lossless reader) is counted.
                    if (copy == null && !cursor.stillThere(seq)) cursor.noteTorn(1)
                }
                cursor.release(seq + 1)
            }
        }
    }

    /**
     * The frames published from now on, [max] at most per emission: for throughput, one
     * emission and one cursor move per batch instead of per frame. Same lifetime rules, end and
     * errors as [frames]; lossless readers only (a lossy batch would need a copy per frame to
     * never hand out a torn one: use [frames]).
     */
    fun batches(max: Int, delivery: Delivery = Delivery.Lossless, parking: Parking = Parking.Thread): Flow<FrameBatch> = flow {
        require(max in 1..slotCount) { "max must be in 1..$slotCount, but was $max" }
        require(delivery == Delivery.Lossless) { "batches are lossless only, but delivery was $delivery" }
        reading(delivery, parking) { cursor ->
            val batch = FrameBatch(region, max)
            while (!closed) {
                val seq = cursor.seq
                // Gather the run of committed frames from `seq`, up to `max`.
                var n = 0L
                var frames = 0
                while (n < max) {
                    val s = seq + n
                    val slot = cursor.slotAt(s)
                    if (cursor.stampAt(s) != 2 * s + 2) break
                    val length = region.getInt((slot + Layout.SLOT_LEN_OFFSET).toInt())
                    val kind = region.getInt((slot + Layout.SLOT_KIND_OFFSET).toInt()).toLong() and 0xffffffffL
                    if (length < 0 || length > slotSize) {
                        if (n == 0L) throw RingCorruptException("corrupt slot for frame $s: length $length exceeds the slot size $slotSize")
                        break
                    }
                    if (kind and Layout.KIND_SKIP == 0L) {
                        val f = batch.slot(frames++)
                        f.seq = s
                        f.length = length
                        f.kind = (kind and 0xffff).toInt()
                        f.timestampNs = region.getLong((slot + Layout.SLOT_TIMESTAMP_OFFSET).toInt())
                        f.offset = (slot + Layout.SLOT_PAYLOAD_OFFSET).toInt()
                        f.lostBefore = 0
                    }
                    n++
                }
                if (n > 0) {
                    if (frames > 0) {
                        batch.size = frames
                        batch.lostBefore = cursor.takeLostBefore()
                        emit(batch)
                        var torn = 0L
                        for (i in 0 until n) if (!cursor.stillThere(seq + i)) torn++
                        cursor.noteTorn(torn)
                    }
                    cursor.release(seq + n)
                    continue
                }
                val stamp = cursor.stampAt(seq)
                if (stamp > 2 * seq + 2) cursor.lap(stamp) else if (!cursor.spin() && !cursor.park(null)) break
            }
        }
    }

    /**
     * Registers a consumer, runs [body] with its cursor, and always unregisters: the registration
     * keeps the mapping alive until the flow stops reading it, even across [close].
     */
    private suspend inline fun <T> FlowCollector<T>.reading(delivery: Delivery, parking: Parking, body: FlowCollector<T>.(Cursor) -> Unit) {
        checkOpen()
        val consumer = Native.register(handle, delivery == Delivery.Lossy)
        try {
            body(Cursor(consumer, delivery == Delivery.Lossless, parking))
            if (closed) throw RingClosedException("the ring was closed while collecting")
        } finally {
            Native.unregister(consumer)
        }
    }

    /**
     * One registered reader's position and counters, and the protocol steps both flows share.
     * Not thread-safe: one per collection.
     */
    private inner class Cursor(consumer: Long, val lossless: Boolean, private val parking: Parking) {
        private val block = Layout.CONSUMERS_OFFSET + Native.consumerIndex(consumer) * Layout.CONSUMER_BLOCK_LEN
        private val readAt = (block + Layout.CONSUMER_READ_OFFSET).toInt()
        private val lostAt = (block + Layout.CONSUMER_LOST_OFFSET).toInt()
        private val tornAt = (block + Layout.CONSUMER_TORN_OFFSET).toInt()

        /** The next sequence to read. */
        var seq: Long = Native.startSeq(consumer)
            private set
        private var lost = 0L
        private var lostBefore = 0L
        private var torn = 0L
        private var spins = 0
        private var spinSince = 0L
        private var budget = SPIN_BUDGET_NS

        /** Whether we woke a producer since we last spun (the next spin is longer: see [spin]). */
        private var wokePeer = false
        private var idleSince = -1L

        fun slotAt(s: Long): Long = slotsOffset + (s and mask) * stride

        /** Acquire: pairs with the producer's Release commit of the stamp. */
        fun stampAt(s: Long): Long = LONGS.getAcquire(region, slotAt(s).toInt()) as Long

        /** The seqlock re-check: was frame [s] still in its slot after everything read before? */
        fun stillThere(s: Long): Boolean {
            VarHandle.acquireFence()
            return LONGS.getOpaque(region, slotAt(s).toInt()) as Long == 2 * s + 2
        }

        fun takeLostBefore(): Long = lostBefore.also { lostBefore = 0 }

        fun noteTorn(n: Long) {
            if (n == 0L) return
            torn += n
            LONGS.setOpaque(region, tornAt, torn)
        }

        /** Done with every frame below [next]. */
        fun release(next: Long) {
            seq = next
            // Release: the collector's reads of the slots happen before a producer overwrites them.
            LONGS.setRelease(region, readAt, next)
            if (lossless) {
                // The notify half of the sleeper protocol (ring/src/sleep.rs): a full fence, then a
                // wake only if a producer armed the space futex to sleep on it (its low bit);
                // the first release after it disarms the word, so the ones after make no call
                // while the woken producer has not run yet.
                VarHandle.fullFence()
                if (INTS.getOpaque(region, SPACE_FUTEX_AT) as Int and ARMED != 0) {
                    Native.notifySpace(handle)
                    wokePeer = true
                }
            }
            spins = 0
            idleSince = -1
        }

        /** A later frame ([stamp]) holds the slot of [seq]: jump to the oldest frame that may still
         *  be there, and count every frame jumped over as lost. */
        fun lap(stamp: Long) {
            val published = LONGS.getAcquire(region, PUBLISHED_AT) as Long
            val target = maxOf(published - slotCount + 1, (stamp - 1) / 2 - slotCount + 1, seq + 1)
            lost += target - seq
            lostBefore += target - seq
            LONGS.setOpaque(region, lostAt, lost)
            release(target)
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

        /** Parks off this thread until something may be there; false once the ring closed. */
        suspend fun park(idleTimeoutMs: Long?): Boolean {
            val now = System.nanoTime()
            if (idleSince < 0) idleSince = now
            var park = parkMs
            if (idleTimeoutMs != null) {
                val left = idleTimeoutMs - (now - idleSince) / 1_000_000
                if (left <= 0) throw RingTimeoutException("no frame for $idleTimeoutMs ms")
                park = minOf(park, left)
            }
            return try {
                when (parking) {
                    Parking.Thread -> parkOnIo(seq, park)
                    Parking.Suspend -> withTimeoutOrNull(park) { awaitData(seq) }
                }
                true
            } catch (e: RingClosedException) {
                false
            } catch (e: CancellationException) {
                // Ours (the collector was cancelled): rethrow. Otherwise the ring's Rust tasks
                // were cancelled by `close`: the loop sees `closed`.
                currentCoroutineContext().ensureActive()
                if (!closed) throw e
                false
            }
        }
    }

    /**
     * Parks on the IO dispatcher until a frame beyond [seen] is published (at most [ms]).
     * Cancelling the caller wakes the parked thread at once: a futex wait ignores
     * `Thread.interrupt`, so the cancellation bumps the ring's futex words through JNI.
     */
    private suspend fun parkOnIo(seen: Long, ms: Long) = coroutineScope {
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
        return produceSummary(nativeCall { Native.callProducer(it, handle, source.code, frames, rate) } as String)
    }

    /**
     * Plays the WAV file at [path] into this audio ring (its format must be the ring's) and
     * suspends until the last sample was written; cancelling the caller stops it.
     */
    suspend fun importWav(path: String): ProduceSummary {
        checkOpen()
        return produceSummary(nativeCall { Native.callImportWav(it, handle, path) } as String)
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
        val consumers = (0 until v[5].toInt()).map { i ->
            val o = 6 + i * 9
            ConsumerStats(v[o].toInt(), v[o + 1] != 0L, v[o + 2] != 0L, v[o + 3], v[o + 4], v[o + 5], v[o + 6], v[o + 7], v[o + 8])
        }
        return RingStats(v[0], v[1], v[2] != 0L, v[3], v[4], consumers)
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

    /** Wakes every reader parked on this ring (in any process). */
    fun wakeWaiters() {
        checkOpen()
        Native.wake(handle)
    }

    override fun close() {
        if (closed) return
        closed = true
        Native.close(handle)
    }

    companion object {
        private val LONGS: VarHandle = MethodHandles.byteBufferViewVarHandle(LongArray::class.java, ByteOrder.nativeOrder())
        private val INTS: VarHandle = MethodHandles.byteBufferViewVarHandle(IntArray::class.java, ByteOrder.nativeOrder())
        private const val SPIN_BUDGET_NS = 50_000L
        private const val AFTER_WAKE_BUDGET_NS = 250_000L
        private val SPACE_FUTEX_AT = (Layout.PRODUCER_OFFSET + Layout.SPACE_FUTEX_OFFSET).toInt()
        private const val ARMED = Layout.FUTEX_ARMED.toInt()
        private val PUBLISHED_AT = (Layout.PRODUCER_OFFSET + Layout.PUBLISHED_OFFSET).toInt()

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

        /** Makes the native side panic, for tests: the panic must arrive as an exception. */
        internal fun panicForTest(message: String) = Native.panicForTest(message)

        /** Exception classes the native library resolved when it loaded, for tests. */
        internal fun cachedExceptionClasses(): Int = Native.cachedExceptionClasses()

        /** Consumers registered through JNI and not yet unregistered, for leak tests. */
        internal fun liveConsumers(): Int = Native.liveConsumers()

        /** The Rust layout as `NAME=value` lines, for layout tests. */
        internal fun rustLayout(): String = Native.layout()
    }
}
