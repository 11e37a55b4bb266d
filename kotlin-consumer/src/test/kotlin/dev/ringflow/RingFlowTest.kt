package dev.ringflow

import dev.ringflow.internal.Native
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.collect
import kotlinx.coroutines.launch
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import org.junit.jupiter.api.assertThrows
import java.nio.file.Files
import java.nio.file.Path

class RingFlowTest {
    @field:TempDir
    lateinit var dir: Path

    private var rings = 0

    /** A ring path in this test's temporary directory, which JUnit deletes afterwards. */
    private fun tempRing() = dir.resolve("ring${rings++}").toString()

    /** The byte `ring/src/pattern.rs` writes at [i] of frame [seq] of producer [producer]. */
    private fun filler(seq: Long, producer: Int, i: Int): Byte {
        val x = (seq xor (producer.toLong() shl 40)) * -0x61c8864680b583ebL // 0x9E3779B97F4A7C15
        return ((x ushr ((i % 8) * 8)).toInt() xor (i / 8)).toByte()
    }

    private suspend fun awaitConsumers(ring: Ring, n: Int) = withTimeout(30_000) {
        while (Regex("\"index\":").findAll(ring.statsJson().substringAfter("\"consumers\"")).count() < n) delay(1)
    }

    @Test
    fun `a Rust producer streams three million verified frames to a Kotlin Flow`() = runBlocking {
        val frames = 3_000_000
        Ring.create(tempRing(), slots = 1024, slotSize = 64).use { ring ->
            val reader = async(Dispatchers.Default) {
                var expected = 0L
                ring.frames().take(frames).collect { f ->
                    assertEquals(expected, f.seq)
                    assertEquals(64, f.length)
                    assertEquals(expected, java.nio.ByteBuffer.wrap(f.copy(), 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).long)
                    for (i in intArrayOf(16, 17, 40, 63)) assertEquals(filler(expected, 0, i), f[i], "byte $i of frame $expected")
                    assertEquals(0L, f.lostBefore)
                    expected++
                }
                expected
            }
            awaitConsumers(ring, 1)
            ring.startSeqProducer(frames.toLong(), 64)
            assertEquals(frames.toLong(), reader.await())
        }
    }

    @Test
    fun `batches deliver every frame in order`() = runBlocking {
        val frames = 1_000_000L
        Ring.create(tempRing(), slots = 1024, slotSize = 64).use { ring ->
            val reader = async(Dispatchers.Default) {
                var expected = 0L
                var emissions = 0L
                ring.batches(256).collect { b ->
                    emissions++
                    for (i in 0 until b.size) {
                        val f = b[i]
                        assertEquals(expected, f.seq)
                        assertEquals(filler(expected, 0, 40), f[40])
                        expected++
                    }
                }
                expected to emissions
            }
            awaitConsumers(ring, 1)
            ring.startSeqProducer(frames, 64) // the ring closes after the last frame: the flow completes
            val (got, emissions) = reader.await()
            assertEquals(frames, got)
            println("batches: $frames frames in $emissions emissions")
        }
    }

    @Test
    fun `a flow completes when the ring closes after the last frame`() = runBlocking {
        Ring.create(tempRing(), slots = 64, slotSize = 32).use { ring ->
            val reader = async(Dispatchers.Default) {
                var n = 0
                ring.frames().collect { n++ }
                n
            }
            awaitConsumers(ring, 1)
            ring.startSeqProducer(500, 32) // the producer detaches after 500 frames: the ring closes
            assertEquals(500, reader.await())
        }
    }

    @Test
    fun `closing a ring while a flow reads it raises an exception, not a crash`() = runBlocking {
        val ring = Ring.create(tempRing(), slots = 256, slotSize = 64)
        var seen = 0L
        val reader = async(Dispatchers.Default) {
            try {
                ring.frames().collect { f -> seen = f.seq + 1 }
                "completed"
            } catch (e: RingClosedException) {
                "closed"
            }
        }
        awaitConsumers(ring, 1)
        val producer = ring.startSeqProducer(-1, 64) // endless
        withTimeout(30_000) { while (seen < 10_000) delay(1) }
        ring.close() // the reader is mid-stream; the producer is cancelled with the ring
        val end = withTimeout(30_000) { reader.await() }
        assertEquals("closed", end)
        assertTrue(producer > 0)
    }

    @Test
    fun `cancelling a parked collector wakes it at once`() = runBlocking {
        val saved = Ring.parkMs
        Ring.parkMs = 600_000 // only a wake can end a park now
        try {
            Ring.create(tempRing(), slots = 16, slotSize = 32).use { ring ->
                val reader = launch(Dispatchers.Default) { ring.frames().collect { } }
                awaitConsumers(ring, 1)
                withTimeout(30_000) { while (!ring.statsJson().contains("\"data_sleepers\":1")) delay(1) }
                reader.cancel()
                withTimeout(30_000) { reader.join() }
                // The flow unregistered on its way out.
                withTimeout(30_000) { while (ring.statsJson().contains("\"policy\"")) delay(1) }
            }
        } finally {
            Ring.parkMs = saved
        }
    }

    @Test
    fun `bad files and closed rings throw typed exceptions`() {
        val classes = Ring.errorTable().lines().filter { it.isNotBlank() }.map { it.split(' ')[3] }.toSet()
        assertEquals(classes.size, Ring.cachedExceptionClasses()) // resolved once, in JNI_OnLoad
        // A Rust panic arrives as an exception; the JVM (and this test) go on.
        val panic = assertThrows<RuntimeException> { Ring.panicForTest("boom from Rust") }
        assertTrue(panic.message!!.contains("panic"), panic.message) // jni 0.22 keeps only &str payloads' text
        val garbage = dir.resolve("garbage.bin")
        Files.write(garbage, ByteArray(4096) { 0x5a })
        val corrupt = assertThrows<RingCorruptException> { Ring.open(garbage.toString()) }
        assertTrue(corrupt.message!!.contains("magic"), corrupt.message)
        assertThrows<RingException> { Ring.open("/nonexistent/ringflow") }
        assertThrows<BadArgumentException> { Ring.create(tempRing(), slots = 1000) }
        val ring = Ring.create(tempRing(), slots = 8, slotSize = 16)
        ring.close()
        ring.close() // idempotent
        assertThrows<IllegalStateException> { ring.statsJson() }
    }

    @Test
    fun `remove unlinks a ring and leaves other files alone`() {
        val path = tempRing()
        Ring.create(path, slots = 8, slotSize = 16).use { ring ->
            Ring.remove(path)
            assertTrue(!Files.exists(Path.of(path)))
            assertTrue(ring.statsJson().contains("\"published\":0")) // still mapped after the unlink
        }
        assertThrows<RingIoException> { Ring.remove(path) }
        val garbage = dir.resolve("not-a-ring.bin")
        Files.write(garbage, ByteArray(4096) { 0x5a })
        assertThrows<RingCorruptException> { Ring.remove(garbage.toString()) }
        assertTrue(Files.exists(garbage))
    }

    /**
     * R3 for a batch (`ReaderCursor.tornOfProtected`: the one look at the reader's block with
     * `VarHandle`s, the stamps on the JNI path): a batch held past a producer's `evict_after`
     * while it holds that producer back is rewritten; every frame of it is counted torn when it
     * is released, and the reader's next read fails with [EvictedException].
     */
    @Test
    fun `a batch held past evict_after is counted torn, then the reader learns it was evicted`() = runBlocking {
        Ring.create(tempRing(), slots = 16, slotSize = 32).use { ring ->
            val producer = Native.testProducerAttach(ring.handle, 100)
            val pusher = java.util.concurrent.Executors.newSingleThreadExecutor()
            // The collector blocks its thread while it holds the batch: a thread of its own, not
            // one of Dispatchers.Default's (two on this machine).
            val own = java.util.concurrent.Executors.newSingleThreadExecutor()
            try {
                val counts = ReaderCounts()
                var held = 0
                val reader = async(own.asCoroutineDispatcher()) {
                    runCatching {
                        ring.batches(8, counts = counts).collect { b ->
                            if (held == 0) {
                                held = b.size
                                // Held: the producer fills the ring, waits on this reader past
                                // its evict_after (no heartbeat meanwhile), evicts it and laps it.
                                pusher.submit<Long> { Native.testProducerPush(producer, 32) }.get(30, java.util.concurrent.TimeUnit.SECONDS)
                            }
                        }
                    }.exceptionOrNull()
                }
                awaitConsumers(ring, 1)
                // Pushes run one at a time on `pusher` (a test producer pushes from one thread).
                pusher.submit<Long> { Native.testProducerPush(producer, 8) }
                val error = withTimeout(30_000) { reader.await() }
                assertTrue(error is EvictedException, "ended with $error")
                assertTrue(held > 0)
                assertEquals(held.toLong(), counts.torn, "torn")
                assertEquals(held.toLong(), counts.delivered, "delivered")
            } finally {
                pusher.shutdown()
                own.shutdown()
                Native.testProducerDetach(producer)
            }
        }
    }
}
