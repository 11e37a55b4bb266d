package dev.ringflow

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.FlowCollector
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.emptyFlow
import kotlinx.coroutines.flow.map
import kotlin.coroutines.CoroutineContext

private const val KEEP = "a Frame is a view reused for every frame, valid only during its emit; " +
    "put copies() first (a frame of its own per frame)"

/**
 * What [Ring.frames] returns: a cold [Flow] of reused zero-copy [Frame] views, whose members
 * replace the `kotlinx.coroutines` operators that would misuse such a view.
 *
 * - Safe, with no allocation per frame: [take] (the reader stops after `n` frames), [first]
 *   with or without a predicate and [single], which hand back a frame of their own (one copy per
 *   call, none per frame skipped), and [toList], which copies each frame it keeps.
 * - Refused at compile time, with a message naming [copies]: `buffer`, `conflate`, `flowOn`,
 *   `produceIn`, `shareIn`, `stateIn`. Each lets a view outlive its `emit`, and then show
 *   another frame's bytes. `frames().copies().buffer(64)` is the way to buffer.
 *
 * Other operators apply as to any flow; a view read after its `emit` returned throws
 * [IllegalStateException] (see [Frame]).
 *
 * Thread safety and lifetime: as [Ring.frames]; each collection registers a reader of its own.
 *
 * @sample dev.ringflow.samples.framesSample
 */
class FrameFlow internal constructor(
    private val limit: Long,
    private val open: (limit: Long, stop: (() -> Boolean)?) -> Flow<Frame>,
) : Flow<Frame> {
    internal constructor(open: (limit: Long, stop: (() -> Boolean)?) -> Flow<Frame>) : this(Long.MAX_VALUE, open)

    override suspend fun collect(collector: FlowCollector<Frame>) = views(null).collect(collector)

    /** The reader's flow, ending after [limit] frames or when [stop] says so after an `emit`. */
    private fun views(stop: (() -> Boolean)?): Flow<Frame> = if (limit == 0L) emptyFlow() else open(limit, stop)

    /**
     * The first [n] frames (all of them if fewer come before the flow ends): the reader stops
     * after the `n`-th. Unlike the generic `take`, no allocation per frame.
     */
    fun take(n: Int): FrameFlow {
        require(n >= 0) { "n must not be negative, but was $n" }
        return FrameFlow(minOf(limit, n.toLong()), open)
    }

    /** The first frame, as a frame of its own; [NoSuchElementException] if the flow ends first. */
    suspend fun first(): Frame = first { true }

    /**
     * The first frame that matches [predicate], as a frame of its own; [NoSuchElementException]
     * if the flow ends first. [predicate] sees each view during its `emit`; no allocation per
     * frame it skips.
     */
    suspend fun first(predicate: (Frame) -> Boolean): Frame {
        var found: Frame? = null
        views { found != null }.collect { f -> if (found == null && predicate(f)) found = f.owned() }
        return found ?: throw NoSuchElementException("the ring's flow ended before a matching frame came")
    }

    /**
     * The only frame of the flow (it must end: a closed ring, [take]), as a frame of its own;
     * [NoSuchElementException] if there is none, [IllegalArgumentException] at a second one.
     */
    suspend fun single(): Frame {
        var found: Frame? = null
        views(null).collect { f ->
            require(found == null) { "the ring's flow has more than one frame (the second is ${f.seq})" }
            found = f.owned()
        }
        return found ?: throw NoSuchElementException("the ring's flow ended with no frame")
    }

    /** Every frame, each copied into a frame of its own (see [copies] for the cost). */
    suspend fun toList(): List<Frame> {
        val out = ArrayList<Frame>()
        collect { out.add(it.owned()) }
        return out
    }

    @Deprecated(KEEP, ReplaceWith("copies().buffer(capacity, onBufferOverflow)"), DeprecationLevel.ERROR)
    fun buffer(capacity: Int = Channel.BUFFERED, onBufferOverflow: BufferOverflow = BufferOverflow.SUSPEND): Flow<Frame> =
        throw IllegalStateException(KEEP)

    @Deprecated(KEEP, ReplaceWith("copies().conflate()"), DeprecationLevel.ERROR)
    fun conflate(): Flow<Frame> = throw IllegalStateException(KEEP)

    @Deprecated(KEEP, ReplaceWith("copies().flowOn(context)"), DeprecationLevel.ERROR)
    fun flowOn(context: CoroutineContext): Flow<Frame> = throw IllegalStateException(KEEP)

    @Deprecated(KEEP, ReplaceWith("copies().produceIn(scope)"), DeprecationLevel.ERROR)
    fun produceIn(scope: CoroutineScope): ReceiveChannel<Frame> = throw IllegalStateException(KEEP)

    @Deprecated(KEEP, ReplaceWith("copies().shareIn(scope, started, replay)"), DeprecationLevel.ERROR)
    fun shareIn(scope: CoroutineScope, started: SharingStarted, replay: Int = 0): SharedFlow<Frame> =
        throw IllegalStateException(KEEP)

    @Deprecated(KEEP, ReplaceWith("copies().stateIn(scope, started, initialValue)"), DeprecationLevel.ERROR)
    fun stateIn(scope: CoroutineScope, started: SharingStarted, initialValue: Frame): StateFlow<Frame> =
        throw IllegalStateException(KEEP)

    @Deprecated(KEEP, ReplaceWith("copies().stateIn(scope)"), DeprecationLevel.ERROR)
    suspend fun stateIn(scope: CoroutineScope): StateFlow<Frame> = throw IllegalStateException(KEEP)
}

/**
 * Each frame copied into a [Frame] of its own, which stays valid for as long as it is kept: for
 * code that keeps frames (`toList`, `buffer`, `flowOn`, `conflate`, another coroutine).
 *
 * Cost: per frame, one copy of the payload and three objects (the frame, a `ByteBuffer`, a byte
 * array of the payload's length): about 100 bytes plus the payload. The zero-copy flow allocates
 * nothing per frame.
 */
fun Flow<Frame>.copies(): Flow<Frame> = map { it.owned() }
