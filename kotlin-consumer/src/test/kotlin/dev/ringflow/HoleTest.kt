package dev.ringflow

import dev.ringflow.internal.Native
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/**
 * A multi-producer that claimed a frame and ended without committing it leaves a hole with frames
 * committed after it: the Kotlin reader, like the Rust one (`Error::Abandoned`), must not
 * complete as if the stream had ended cleanly.
 */
class HoleTest {
    @field:TempDir
    lateinit var dir: Path

    private val ringflow = System.getProperty("ringflow.cli")

    @Test
    fun `a flow never completes cleanly at a hole before committed frames`() {
        val path = dir.resolve("ring").toString()
        val created = ProcessBuilder(ringflow, "create", path, "--slots", "16", "--multi-producer")
            .redirectErrorStream(true).start()
        assertEquals(0, created.waitFor(), created.inputStream.bufferedReader().readText())
        Ring.open(path).use { ring ->
            val counts = ReaderCounts()
            val flow = ring.frames(counts = counts)
            val dead = Native.testProducerAttach(ring.handle, 0)
            val live = Native.testProducerAttach(ring.handle, 0)
            var seen = 0
            val error = assertThrows<AbandonedFrameException> {
                runBlocking {
                    coroutineScope {
                        val reader = launch { flow.collect { seen++ } }
                        delay(100) // registered: it sees frame 0 on
                        Native.testProducerPush(live, 1)
                        Native.testProducerAbandon(dead) // frame 1: claimed, never committed
                        Native.testProducerPush(live, 3)
                        Native.testProducerDetach(live)
                        Native.testProducerDetach(dead) // the last producer leaves: closed
                        reader.join()
                    }
                }
            }
            assertEquals(1, seen, "frame 0 only")
            assertTrue(error.message!!.contains("frame 1"), error.message)
        }
    }
}
