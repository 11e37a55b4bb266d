package dev.ringflow

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.coroutines.yield
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import org.junit.jupiter.api.assertThrows
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Path
import javax.sound.sampled.AudioFileFormat
import javax.sound.sampled.AudioFormat
import javax.sound.sampled.AudioInputStream
import javax.sound.sampled.AudioSystem
import kotlin.random.Random

class SuspendCallTest {
    @field:TempDir
    lateinit var dir: Path

    private var rings = 0

    /** A ring path in this test's temporary directory, which JUnit deletes afterwards. */
    private fun tempPath() = dir.resolve("ring${rings++}").toString()

    /** Threads of this process (JVM and native), from /proc. */
    private fun osThreads() = File("/proc/self/task").list()!!.size

    /** Waits (suspending, bounded) until [condition] holds. */
    private suspend fun eventually(what: String, condition: () -> Boolean) = withTimeout(30_000) {
        while (!condition()) delay(1)
    }.also { assertTrue(condition(), what) }

    @AfterEach
    fun `no call, continuation or handle is left behind`() = runBlocking {
        Engine.setJitterForTest(0)
        eventually("no pending call") { Engine.pendingCalls() == 0 }
    }

    @Test
    fun `a thousand concurrent suspended calls complete with the right values`() = runBlocking {
        val handles = Engine.liveHandles()
        val values = (0 until 1_000).map { i ->
            async(Dispatchers.Default) { Engine.testCall(i * 7L, delayUs = Random.nextLong(0, 2_000)) }
        }.awaitAll()
        assertEquals((0 until 1_000).map { it * 7L }, values)
        assertEquals(0, Engine.pendingCalls())
        eventually("every call's handle freed") { Engine.liveHandles() == handles }
        // The callbacks ran on the engine's runtime threads: a handful attached, not one per call.
        assertTrue(Engine.attachedThreads() in 1..8, "attached threads: ${Engine.attachedThreads()}")
    }

    @Test
    fun `errors arrive as the right exception classes, a panic as an exception, a Rust cancellation as CancellationException`() = runBlocking {
        assertThrows<RingFullException> { runBlocking { Engine.testCall(1, 0, outcome = 1) } }
        val bad = assertThrows<BadArgumentException> { runBlocking { Engine.testCall(2, 100, outcome = 2) } }
        assertTrue("bad value 2" in bad.message!!, bad.message)
        val panic = assertThrows<RuntimeException> { runBlocking { Engine.testCall(3, 0, outcome = 3) } }
        assertTrue("test call 3 panicked" in panic.message!!, panic.message)
        assertThrows<CancellationException> { runBlocking { Engine.testCall(4, 0, outcome = 4) } }
        // The caller's own coroutine is still fine after each.
        assertTrue(isActive)
        assertEquals(5L, Engine.testCall(5, 0))
    }

    @Test
    fun `cancellation storms with jitter on the Rust side leave no handle, continuation or task`() = runBlocking {
        val handles = Engine.liveHandles()
        Engine.setJitterForTest(50)
        var completed = 0
        repeat(10) { round ->
            val results = (0 until 300).map { i ->
                async(Dispatchers.Default) {
                    // Cancelled at a random point: before, during or after the Rust side ends.
                    withTimeoutOrNull(Random.nextLong(1, 20)) {
                        Engine.testCall(i.toLong(), delayUs = Random.nextLong(0, 3_000))
                    }
                }
            }.awaitAll()
            results.forEachIndexed { i, v -> if (v != null) assertEquals(i.toLong(), v) }
            val done = results.count { it != null }
            completed += done
            println("storm $round: $done of 300 completed, ${300 - done} cancelled")
            eventually("no pending call after storm $round") { Engine.pendingCalls() == 0 }
            eventually("every handle freed after storm $round") { Engine.liveHandles() == handles }
        }
        assertTrue(completed in 1 until 3_000, "both ends won some races: $completed of 3000 calls completed")
        // Explicit cancels racing the end, with jobs instead of timeouts.
        val jobs = (0 until 1_000).map { i ->
            launch(Dispatchers.Default) { Engine.testCall(i.toLong(), delayUs = Random.nextLong(0, 500)) }
        }
        jobs.forEach { if (Random.nextBoolean()) it.cancel() else yield() }
        jobs.forEach { it.join() }
        eventually("no pending call after the cancels") { Engine.pendingCalls() == 0 }
        eventually("every handle freed after the cancels") { Engine.liveHandles() == handles }
    }

    @Test
    fun `a thousand subscribers suspended on one ring hold a handful of threads, not a thousand`() = runBlocking {
        Ring.create(tempPath(), slots = 64, slotSize = 64).use { ring ->
            val before = osThreads()
            val waiters = (0 until 1_000).map { async(Dispatchers.Default) { ring.awaitData(0) } }
            eventually("all 1000 suspended in Rust") { Engine.pendingCalls() == 1_000 }
            val during = osThreads()
            println("threads: $before before, $during with 1000 suspended subscribers")
            assertTrue(during - before <= 8, "threads went from $before to $during")
            val task = ring.startSeqProducer(1, 64)
            val published = waiters.awaitAll()
            assertTrue(published.all { it >= 1 }, "published $published")
            ring.cancelTask(task)
        }
    }

    @Test
    fun `many flows parked by suspension all read every frame`() = runBlocking {
        val frames = 20_000L
        Ring.create(tempPath(), slots = 256, slotSize = 64, consumers = 64).use { ring ->
            val before = osThreads()
            val readers = (0 until 64).map {
                async(Dispatchers.Default) {
                    var n = 0L
                    ring.frames(parking = Parking.Suspend).take(frames.toInt()).collect { f -> if (f.seq == n) n++ }
                    n
                }
            }
            eventually("64 consumers registered") { ring.stats().consumers.size == 64 }
            eventually("the readers parked") { Engine.pendingCalls() >= 32 }
            val parked = osThreads()
            assertTrue(parked - before <= 8, "threads went from $before to $parked with 64 parked flows")
            val task = ring.startSeqProducer(frames, 64)
            assertEquals(List(64) { frames }, readers.awaitAll())
            ring.cancelTask(task)
        }
    }

    @Test
    fun `a parked suspending flow ends when the ring is closed`() = runBlocking {
        val ring = Ring.create(tempPath(), slots = 64, slotSize = 64)
        val reader = async(Dispatchers.Default) {
            runCatching { ring.frames(parking = Parking.Suspend).collect { } }.exceptionOrNull()
        }
        eventually("the reader parked") { Engine.pendingCalls() == 1 }
        ring.close()
        assertTrue(reader.await() is RingClosedException)
    }

    @Test
    fun `produce suspends until the producer ends, and cancelling it stops the Rust producer`() = runBlocking {
        Ring.create(tempPath(), slots = 64, slotSize = 64).use { ring ->
            val reader = async(Dispatchers.Default) { ring.frames().take(10_000).collect { } }
            eventually("the reader registered") { ring.stats().consumers.size == 1 }
            val summary = ring.produce(Source.Seq, 10_000)
            assertEquals(10_000, summary.frames)
            assertEquals(640_000, summary.bytes)
            reader.await()
            val handles = Engine.liveHandles()
            // Endless, no reader: cancelled from Kotlin.
            val endless = async(Dispatchers.Default) { ring.produce(Source.Seq, -1) }
            eventually("the producer runs") { ring.stats().published > 0 }
            endless.cancel()
            assertThrows<CancellationException> { runBlocking { endless.await() } }
            eventually("the producer's handle freed") { Engine.liveHandles() == handles }
            val published = ring.stats().published
            assertEquals(published, ring.stats().published, "nothing writes after the cancellation")
        }
    }

    @Test
    fun `a WAV import and a bench run as suspend calls`() = runBlocking {
        val path = tempPath()
        val p = ProcessBuilder(System.getProperty("ringflow.cli"), "create", path, "--schema", "audio", "--slots", "64")
            .redirectErrorStream(true).start()
        assertEquals(0, p.waitFor(), p.inputStream.bufferedReader().readText())
        // Half a second of 16-bit stereo at 48 kHz: 50 frames of 480 samples per channel.
        val wav = dir.resolve("take.wav").toFile()
        val pcm = ByteBuffer.allocate(24_000 * 4).order(ByteOrder.LITTLE_ENDIAN)
        repeat(24_000) { i -> val v = (i % 100 * 100).toShort(); pcm.putShort(v); pcm.putShort(v) }
        val format = AudioFormat(48_000f, 16, 2, true, false)
        AudioSystem.write(AudioInputStream(pcm.array().inputStream(), format, 24_000), AudioFileFormat.Type.WAVE, wav)
        Ring.open(path).use { ring ->
            val reader = async(Dispatchers.Default) {
                var n = 0
                ring.frames().take(50).collect { f -> assertEquals(960, f.sampleCount); n++ }
                n
            }
            eventually("the reader registered") { ring.stats().consumers.size == 1 }
            val summary = ring.importWav(wav.path)
            assertEquals(50, summary.frames)
            assertEquals(50, reader.await())
            assertThrows<RingException> { runBlocking { ring.importWav("/nonexistent.wav") } }
        }
        val report = Engine.bench(frames = 200_000, frameSize = 64, consumers = 2)
        assertEquals(400_000, report.delivered)
        assertThrows<BadArgumentException> { runBlocking { Engine.bench(frames = 10, frameSize = 4) } }
        Unit
    }
}
