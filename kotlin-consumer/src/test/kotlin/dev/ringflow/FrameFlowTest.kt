package dev.ringflow

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.flowOn
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.lang.management.ManagementFactory
import java.nio.file.Path
import kotlin.coroutines.CoroutineContext

/**
 * [FrameFlow]: views that cannot be misused silently, [copies], and the members (`take`,
 * `first`, `single`, `toList`) that are safe and allocate nothing per frame.
 */
class FrameFlowTest {
    @field:TempDir
    lateinit var dir: Path

    private var rings = 0

    private fun tempRing() = dir.resolve("ring${rings++}").toString()

    private suspend fun awaitConsumers(ring: Ring, n: Int) = withTimeout(30_000) {
        while (ring.stats().consumers.size < n) delay(1)
    }

    /** A `seq` producer's frame carries its number in its first 8 bytes (native order here). */
    private fun Frame.intact() = getLong(0) == seq

    @Test
    fun `toList and take keep frames of their own`() = runBlocking {
        Ring.create(tempRing(), slots = 64, slotSize = 64).use { ring ->
            val reader = async(Dispatchers.Default) { ring.frames().take(5).toList() }
            awaitConsumers(ring, 1)
            ring.startSeqProducer(1_000, 64)
            val frames = reader.await()
            assertEquals((0L until 5L).toList(), frames.map { it.seq })
            assertEquals(5, frames.toSet().size, "five objects, not one reused view")
            assertTrue(frames.all { it.intact() })
        }
    }

    @Test
    fun `a view touched after its emit returned throws, naming copies()`() = runBlocking {
        Ring.create(tempRing(), slots = 64, slotSize = 64).use { ring ->
            val plain: Flow<Frame> = ring.frames()
            // The generic operators, which know nothing of views.
            val kept = async(Dispatchers.Default) { plain.take(3).toList() }
            val first = async(Dispatchers.Default) { plain.first() }
            awaitConsumers(ring, 2)
            ring.startSeqProducer(1_000, 64)
            for (view in kept.await() + first.await()) {
                val e = assertThrows<IllegalStateException> { view.seq }
                assertTrue("copies()" in e.message!!, e.message)
                assertThrows<IllegalStateException> { view[0] }
                assertThrows<IllegalStateException> { view.length }
                assertThrows<IllegalStateException> { view.copy() }
            }
        }
    }

    @Test
    fun `a batch's frame touched after its emit returned throws`() = runBlocking {
        Ring.create(tempRing(), slots = 64, slotSize = 64).use { ring ->
            val kept = async(Dispatchers.Default) {
                val frames = mutableListOf<Frame>()
                var n = 0
                ring.batches(max = 16).take(3).collect { b ->
                    for (i in 0 until b.size) assertTrue(b[i].intact())
                    frames += b[0]
                    n += b.size
                }
                frames
            }
            awaitConsumers(ring, 1)
            ring.startSeqProducer(1_000, 64)
            for (view in kept.await()) {
                val e = assertThrows<IllegalStateException> { view.getLong(0) }
                assertTrue("copies()" in e.message!!, e.message)
            }
        }
    }

    @Test
    fun `first and single hand back frames that stay valid while the ring moves on`() = runBlocking {
        Ring.create(tempRing(), slots = 16, slotSize = 64).use { ring ->
            val first = async(Dispatchers.Default) { ring.frames().first() }
            val matching = async(Dispatchers.Default) { ring.frames().first { it.seq == 500L } }
            val single = async(Dispatchers.Default) { ring.frames().take(1).single() }
            val two = async(Dispatchers.Default) { runCatching { ring.frames().take(2).single() } }
            awaitConsumers(ring, 4)
            ring.startSeqProducer(5_000, 64)
            for ((frame, seq) in listOf(first.await() to 0L, matching.await() to 500L, single.await() to 0L)) {
                delay(50) // the 16-slot ring has been rewritten many times over by now
                assertEquals(seq, frame.seq)
                assertTrue(frame.intact(), "frame $seq shows other bytes")
            }
            assertTrue(two.await().exceptionOrNull() is IllegalArgumentException, "${two.await()}")
        }
    }

    @Test
    fun `copies survive buffer and flowOn with every payload its own`() = runBlocking {
        Ring.create(tempRing(), slots = 64, slotSize = 64).use { ring ->
            val n = 2_000
            val buffered = async(Dispatchers.Default) {
                ring.frames().copies().buffer(64).map { delay(0); it }.take(n).toList()
            }
            val moved = async(Dispatchers.Default) {
                ring.frames().copies().flowOn(Dispatchers.IO).take(n).toList()
            }
            awaitConsumers(ring, 2)
            ring.startSeqProducer(n.toLong(), 64)
            for (frames in listOf(buffered.await(), moved.await())) {
                assertEquals((0L until n).toList(), frames.map { it.seq })
                assertEquals(0, frames.count { !it.intact() }, "frames showing another frame's bytes")
            }
        }
    }

    @Test
    fun `the operators that keep views do not compile on frames(), and say to use copies()`() {
        val refused = listOf(
            FrameFlow::class.java.getMethod("buffer", Int::class.java, BufferOverflow::class.java),
            FrameFlow::class.java.getMethod("flowOn", CoroutineContext::class.java),
            FrameFlow::class.java.getMethod("conflate"),
        ) + FrameFlow::class.java.methods.filter { it.name in setOf("produceIn", "shareIn", "stateIn") }
        assertEquals(7, refused.size, "$refused")
        for (m in refused) {
            val d = m.getAnnotation(Deprecated::class.java)
            assertEquals(DeprecationLevel.ERROR, d?.level, m.name)
            assertTrue("copies()" in d.message, d.message)
        }
    }

    /** Bytes this thread allocates while [block] reads [frames] frames, per frame after the first 1000. */
    private fun perFrame(frames: Long, block: suspend (Ring, (Frame) -> Unit) -> Unit): Double = runBlocking {
        val mx = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
        val single = java.util.concurrent.Executors.newSingleThreadExecutor().asCoroutineDispatcher()
        try {
            Ring.create(tempRing(), slots = 4096, slotSize = 64).use { ring ->
                val reader = async(single) {
                    var n = 0L
                    var startBytes = 0L
                    var allocated = 0L
                    block(ring) { _ ->
                        if (n == 1_000L) startBytes = mx.getThreadAllocatedBytes(Thread.currentThread().id)
                        n++
                        if (n == frames) allocated = mx.getThreadAllocatedBytes(Thread.currentThread().id) - startBytes
                    }
                    assertEquals(frames, n)
                    allocated
                }
                awaitConsumers(ring, 1)
                ring.startSeqProducer(frames, 64)
                reader.await().toDouble() / (frames - 1_000)
            }
        } finally {
            single.close()
        }
    }

    @Test
    fun `take and first allocate nothing per frame`() {
        val frames = 500_000L
        // As CollectorTest's hot-path test: a per-frame object would cost 16 bytes or more (the
        // generic take costs about 40); parking adds a few hundred bytes per park.
        val take = perFrame(frames) { ring, seen -> ring.frames().take(frames.toInt()).collect { seen(it) } }
        val first = perFrame(frames) { ring, seen -> ring.frames().first { seen(it); it.seq == frames - 1 } }
        println("allocated per frame: take $take, first { } $first")
        assertTrue(take < 8.0, "take: $take bytes per frame")
        assertTrue(first < 8.0, "first: $first bytes per frame")
    }
}
