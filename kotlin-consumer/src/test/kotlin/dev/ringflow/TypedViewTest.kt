package dev.ringflow

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import kotlin.math.abs

class TypedViewTest {
    private val ringflow = System.getProperty("ringflow.cli")

    @field:TempDir
    lateinit var dir: Path

    private var rings = 0

    /** A ring path in this test's temporary directory, which JUnit deletes afterwards. */
    private fun tempPath() = dir.resolve("ring${rings++}").toString()

    private fun createWithCli(path: String, schema: String) {
        val p = ProcessBuilder(ringflow, "create", path, "--schema", schema, "--slots", "64").redirectErrorStream(true).start()
        assertEquals(0, p.waitFor(), p.inputStream.bufferedReader().readText())
    }

    private suspend fun awaitConsumers(ring: Ring, n: Int) = withTimeout(30_000) {
        while (ring.stats().consumers.size < n) delay(1)
    }

    @Test
    fun `audio frames carry the header's format and read as samples in place`() = runBlocking {
        val path = tempPath()
        createWithCli(path, "audio")
        Ring.open(path).use { ring ->
            assertEquals(Schema.Audio(48_000, 2, SampleFormat.F32, 480), ring.schema)
            val reader = async(Dispatchers.Default) {
                var frames = 0
                var peak = 0f
                ring.frames().take(50).collect { f ->
                    assertEquals(960, f.sampleCount)
                    for (i in 0 until f.sampleCount step 2) {
                        assertEquals(f.sample(i), f.sample(i + 1)) // both channels carry the sine
                        peak = maxOf(peak, abs(f.sample(i)))
                    }
                    frames++
                }
                frames to peak
            }
            awaitConsumers(ring, 1)
            val task = ring.startProducer(Source.Audio, 50, rate = 5_000.0) // 100x real time
            val (frames, peak) = reader.await()
            assertEquals(50, frames)
            assertTrue(peak in 0.45f..0.5f, "peak $peak")
            ring.cancelTask(task)
        }
    }

    @Test
    fun `telemetry events read as fields in place`() = runBlocking {
        val path = tempPath()
        createWithCli(path, "telemetry")
        Ring.open(path).use { ring ->
            assertEquals(Schema.Telemetry(1), ring.schema)
            val reader = async(Dispatchers.Default) {
                var tick = 0L
                ring.frames().take(300).collect { f ->
                    val e = TelemetryEvent(f)
                    assertEquals(tick, e.tick)
                    assertEquals((tick % 64).toInt(), e.entity)
                    assertEquals((tick and 0xf).toInt(), e.flags)
                    assertEquals(0f, e.position(2))
                    tick++
                }
                tick
            }
            awaitConsumers(ring, 1)
            ring.startProducer(Source.Telemetry, 300, rate = 50_000.0)
            assertEquals(300L, reader.await())
            val stats = ring.stats()
            assertEquals(300L, stats.published)
            assertTrue(stats.consumers.isEmpty(), "$stats") // the flow unregistered after take(300)
        }
    }
}
