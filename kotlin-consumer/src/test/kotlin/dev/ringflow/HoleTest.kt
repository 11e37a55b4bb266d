package dev.ringflow

import dev.ringflow.internal.Native
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/**
 * A multi-producer that claimed a frame and ended without committing it leaves a hole with frames
 * committed after it. On a file-backed ring the hole is repaired (published as a skip frame,
 * `docs/ARCHITECTURE.md` protocol 9), so the Kotlin reader gets every committed frame and the
 * flow completes; it must never complete early at the hole. (Where a hole cannot be repaired, the
 * reader fails with [AbandonedFrameException] instead: `ReaderCursor.endOrHole`.)
 */
class HoleTest {
    @field:TempDir
    lateinit var dir: Path

    private val ringflow = System.getProperty("ringflow.cli")

    @Test
    fun `a flow reads every committed frame past a dead producer's hole`() {
        val path = dir.resolve("ring").toString()
        val created = ProcessBuilder(ringflow, "create", path, "--slots", "16", "--multi-producer")
            .redirectErrorStream(true).start()
        assertEquals(0, created.waitFor(), created.inputStream.bufferedReader().readText())
        Ring.open(path).use { ring ->
            val flow = ring.frames()
            val dead = Native.testProducerAttach(ring.handle, 0)
            val live = Native.testProducerAttach(ring.handle, 0)
            val seen = mutableListOf<Long>()
            runBlocking {
                coroutineScope {
                    val reader = launch { flow.collect { seen += it.seq } }
                    // Registered (the flow registers when collected): it sees frame 0 on.
                    withTimeout(30_000) { while (ring.stats().consumers.isEmpty()) yield() }
                    Native.testProducerPush(live, 1)
                    Native.testProducerAbandon(dead) // frame 1: claimed, never committed
                    Native.testProducerPush(live, 3)
                    Native.testProducerDetach(live)
                    Native.testProducerDetach(dead) // the last producer leaves: closed
                    reader.join()
                }
            }
            assertEquals(listOf(0L, 2L, 3L, 4L), seen, "every committed frame, the hole skipped")
            assertEquals(1L, ring.stats().abandoned, "the hole is counted, as `inspect` shows it")
        }
    }
}
