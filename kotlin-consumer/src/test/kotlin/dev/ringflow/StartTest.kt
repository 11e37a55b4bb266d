package dev.ringflow

import dev.ringflow.internal.Native
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

/** Where a Kotlin reader starts ([Start]), and what it reports about the frames before its first. */
class StartTest {
    @field:TempDir
    lateinit var dir: Path

    /**
     * A closed ring of 16 slots that a Rust producer wrote 40 frames into with no reader: frames
     * 24..39 are still there, 0..23 are gone.
     */
    private fun written(): Ring {
        val ring = Ring.create(dir.resolve("ring").toString(), slots = 16, slotSize = 32)
        val producer = Native.testProducerAttach(ring.handle, 0)
        try {
            Native.testProducerPush(producer, 40)
        } finally {
            Native.testProducerDetach(producer) // closes the ring: the flows below complete
        }
        return ring
    }

    private class Read(val seqs: List<Long>, val copied: List<Boolean>, val counts: ReaderCounts)

    /** Reads [ring] from [start] to its end, by frames or by batches, checking each payload names its frame. */
    private fun read(ring: Ring, start: Start, batches: Boolean): Read = runBlocking {
        val counts = ReaderCounts()
        val seqs = mutableListOf<Long>()
        val copied = mutableListOf<Boolean>()
        fun take(f: Frame) {
            assertEquals(f.seq, f.getLong(0), "the payload of frame ${f.seq}") // pattern: the frame number first
            seqs += f.seq
            copied += f.region !== ring.region
        }
        withTimeout(30_000) {
            if (batches) {
                ring.batches(8, counts = counts, start = start).collect { b -> for (i in 0 until b.size) take(b[i]) }
            } else {
                ring.frames(counts = counts, start = start).collect { take(it) }
            }
        }
        Read(seqs, copied, counts)
    }

    @Test
    fun `each start reads from where the Rust registration put it, copies what is unprotected, and counts what was gone as missed`() {
        written().use { ring ->
            // start -> (start_seq, first frame read, missed at start, laps)
            val cases = listOf(
                Start.Next to listOf(40L, -1L, 0L, 0L),
                Start.Oldest to listOf(24L, 24L, 0L, 0L),
                // Slot 0 holds frame 32: the reader jumps to max(40 - 15, 32 - 15) = 25.
                Start.Seq(0) to listOf(0L, 25L, 25L, 1L),
                Start.Seq(30) to listOf(30L, 30L, 0L, 0L),
                Start.Seq(50) to listOf(50L, -1L, 0L, 0L),
            )
            for (batches in listOf(false, true)) {
                for ((start, want) in cases) {
                    val r = read(ring, start, batches)
                    val c = r.counts
                    val what = "$start, batches $batches: $c ${r.seqs}"
                    val (startSeq, first, missed, laps) = want
                    assertEquals(startSeq, c.startSeq, what)
                    assertEquals(first.takeIf { it >= 0 }, c.firstSeq, what)
                    assertEquals(if (first < 0) emptyList<Long>() else (first until 40L).toList(), r.seqs, what)
                    assertEquals(missed, c.missedAtStart, what)
                    assertEquals(0L, c.lost, what)
                    assertEquals(laps, c.lapped, what)
                    assertEquals(r.seqs.size.toLong(), c.delivered, what)
                    assertEquals(maxOf(startSeq, 40L), c.nextSeq, what)
                    assertEquals(c.nextSeq - c.startSeq, c.missedAtStart + c.delivered + c.lost, what)
                    // Every frame below the published count at registration (40) may be rewritten
                    // while held: a checked copy, never a view of the slot.
                    assertTrue(r.copied.all { it }, what)
                }
            }
            assertTrue(ring.stats().consumers.isEmpty())
        }
    }

    @Test
    fun `a start that is no start is refused`() {
        assertThrows<IllegalArgumentException> { Start.Seq(-1) }
        assertThrows<IllegalArgumentException> { Start.Seq(Layout.MAX_SEQ) }
        written().use { ring ->
            assertThrows<BadArgumentException> { Native.register(ring.handle, false, 3, 0) }
            assertThrows<BadArgumentException> { Native.register(ring.handle, false, Start.Seq(1).kind, -1) }
            assertTrue(ring.stats().consumers.isEmpty())
        }
    }
}
