package dev.ringflow

import dev.ringflow.samples.benchSample
import dev.ringflow.samples.framesSample
import dev.ringflow.samples.ringSample
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/** The KDoc's `@sample`s (samples/Samples.kt) run and do what their KDoc says; typed summaries. */
class SamplesTest {
    @field:TempDir
    lateinit var dir: Path

    @Test
    fun `the Ring sample reads a hundred frames`() = runBlocking {
        val path = dir.resolve("ring").toString()
        Ring.create(path, slots = 256, slotSize = 64).use { ring ->
            val read = async(Dispatchers.Default) { ringSample(path) }
            withTimeout(30_000) { while (ring.stats().consumers.isEmpty()) delay(1) }
            ring.produce(Source.Seq, frames = 100)
            assertEquals(6_400L, read.await())
        }
    }

    @Test
    fun `the FrameFlow sample keeps ten frames of their own`() = runBlocking {
        Ring.create(dir.resolve("ring").toString(), slots = 64, slotSize = 64).use { ring ->
            val kept = framesSample(ring)
            assertEquals((0L until 10L).toList(), kept.map { it.seq })
            assertTrue(kept.all { it.getLong(0) == it.seq })
        }
    }

    @Test
    fun `summaries arrive typed, and one that does not fit fails naming the class`() = runBlocking {
        assertTrue(benchSample() > 0)
        val summary = decodeSummary<ProduceSummary>("""{"frames":3,"bytes":192,"dropped":0,"elapsed_s":0.5,"cancelled":true,"extra":1}""")
        assertEquals(ProduceSummary(3, 192, 0, 0.5, true), summary)
        val e = assertThrows(RingException::class.java) { decodeSummary<ProduceSummary>("""{"frames":3}""") }
        assertTrue("ProduceSummary" in e.message!!, e.message)
    }
}
