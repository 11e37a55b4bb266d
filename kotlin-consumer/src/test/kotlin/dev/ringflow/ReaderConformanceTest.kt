package dev.ringflow

import dev.ringflow.internal.Native
import kotlinx.coroutines.flow.collect
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.io.TempDir
import java.lang.invoke.MethodHandles
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Path
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.Future
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread

/**
 * One reader contract: every scenario of `src/test/resources/reader-conformance.txt` runs against
 * the Kotlin cursor ([Ring.frames]) and against the Rust consumer (`Consumer::recv`, through
 * `Native.recvNext`), and both must give the outcome the file states. The producer is a Rust
 * producer with `evict_after` (`Native.testProducer*`).
 */
class ReaderConformanceTest {
    @field:TempDir
    lateinit var dir: Path

    private var rings = 0

    @TestFactory
    fun `the Kotlin cursor and the Rust consumer meet the same reader obligations`(): List<DynamicTest> =
        scenarios().flatMap { s ->
            listOf(
                DynamicTest.dynamicTest("${s.name} [kotlin cursor]") { assertOutcome(s, withRing(s) { ring, h -> kotlinReader(ring, s, h) }) },
                DynamicTest.dynamicTest("${s.name} [rust consumer]") { assertOutcome(s, withRing(s) { ring, h -> rustReader(ring, s, h) }) },
            )
        }

    private class Scenario(
        val name: String,
        val slots: Int,
        val lossy: Boolean,
        val evictAfterMs: Long,
        val steps: List<List<String>>,
        val expect: Map<String, String>,
    )

    /** What a reader did: the error it ended with, the frames and losses it counted, its block. */
    private data class Outcome(
        val error: String?,
        val frames: Long,
        val lost: Long,
        val problems: List<String>,
        val block: ConsumerStats?,
        /** The ring's count of consumers evicted ever ([RingStats.evicted]), after the reader ended. */
        val evictions: Long = -1,
    )

    private fun scenarios(): List<Scenario> {
        val text = javaClass.getResource("/reader-conformance.txt")!!.readText()
        val out = mutableListOf<Scenario>()
        var head: List<String>? = null
        val steps = mutableListOf<List<String>>()
        for (raw in text.lines()) {
            val line = raw.trim()
            if (line.isEmpty() || line.startsWith("#")) continue
            val words = line.split(Regex("\\s+"))
            when (words[0]) {
                "scenario" -> { head = words; steps.clear() }
                "expect" -> {
                    val h = head!!
                    val opts = h.drop(2).associate { it.substringBefore('=') to it.substringAfter('=') }
                    out += Scenario(
                        name = h[1],
                        slots = opts.getValue("slots").toInt(),
                        lossy = opts.getValue("delivery") == "lossy",
                        evictAfterMs = opts["evict_after_ms"]?.toLong() ?: 0,
                        steps = steps.toList(),
                        expect = words.drop(1).associate { it.substringBefore('=') to it.substringAfter('=') },
                    )
                    head = null
                }
                "push", "producer-sleep", "await-push", "pace", "read", "corrupt" -> steps += words
                else -> error("unknown line in reader-conformance.txt: $line")
            }
        }
        check(out.size >= 8) { "expected the scenarios of the file, found ${out.size}" }
        return out
    }

    private fun assertOutcome(s: Scenario, o: Outcome) {
        assertEquals(emptyList<String>(), o.problems, "${s.name}: $o")
        val error = s.expect["error"]
        assertEquals(if (error == "EvictedException") 1L else 0L, o.evictions, "${s.name}: the ring's count of evictions: $o")
        if (error != null) {
            assertEquals(error, o.error, "${s.name}: $o")
            assertEquals(s.expect.getValue("after").toLong(), o.frames, "${s.name}: frames read before the error: $o")
            return
        }
        assertEquals(null, o.error, "${s.name}: $o")
        val block = o.block!!
        assertFalse(block.evicted, "${s.name}: evicted: $o")
        assertEquals(s.expect.getValue("delivered").toLong(), o.frames, "${s.name}: frames the reader counted: $o")
        assertEquals(s.expect.getValue("lost").toLong(), o.lost, "${s.name}: losses the reader counted: $o")
        assertEquals(o.frames, block.delivered, "${s.name}: block delivered: $o")
        assertEquals(o.lost, block.lost, "${s.name}: block lost: $o")
        assertEquals(s.expect.getValue("lapped").toLong(), block.lapped, "${s.name}: block lapped: $o")
    }

    private fun withRing(s: Scenario, body: (Ring, Harness) -> Outcome): Outcome =
        Ring.create(dir.resolve("ring${rings++}").toString(), slots = s.slots, slotSize = 32).use { ring ->
            Harness(ring, s).use { h -> body(ring, h) }.copy(evictions = ring.stats().evicted)
        }

    /** The producer side and the steps that are not reads. */
    private class Harness(private val ring: Ring, private val s: Scenario) : AutoCloseable {
        private val producer = Native.testProducerAttach(ring.handle, s.evictAfterMs)
        private val pusher = Executors.newSingleThreadExecutor()
        private val pushes = mutableListOf<Future<Long>>()
        private var detached = false

        /** Nanoseconds the reader spends on each frame. */
        @Volatile
        var paceNs = 0L

        fun run(step: List<String>, framesRead: Long) {
            when (step[0]) {
                "push" -> pushes += pusher.submit<Long> { Native.testProducerPush(producer, step[1].toLong()) }
                "producer-sleep" -> pushes += pusher.submit<Long> { Thread.sleep(step[1].toLong()); 0L }
                "await-push" -> for (p in pushes) p.get(60, TimeUnit.SECONDS)
                "pace" -> paceNs = step[1].toLong() * 1_000
                "corrupt" -> {
                    // Both readers start at frame 0, so the next frame is the count read so far.
                    val next = framesRead
                    val stamp = when (step[1]) {
                        "other_slot" -> ReaderCursor.committed(next + 1)
                        "beyond_max_seq" -> ReaderCursor.committed(next + Layout.MAX_SEQ)
                        "all_ones" -> -1L
                        else -> error("unknown corruption ${step[1]}")
                    }
                    LONGS.setRelease(ring.region, ring.descAt(next).toInt(), stamp)
                }
                else -> error("not a harness step: $step")
            }
        }

        fun pace() {
            val until = System.nanoTime() + paceNs
            while (System.nanoTime() < until) Thread.onSpinWait()
        }

        /** Detaches the producer: the ring closes, a reader waiting for frames ends. */
        fun detach() {
            if (detached) return
            detached = true
            for (p in pushes) runCatching { p.get(60, TimeUnit.SECONDS) }
            Native.testProducerDetach(producer)
        }

        override fun close() {
            detach()
            pusher.shutdown()
        }
    }

    /** The consumer block of the ring's one reader, once it shows [frames] delivered (or after 10 s). */
    private fun settledBlock(ring: Ring, frames: Long): ConsumerStats? {
        val deadline = System.nanoTime() + 10_000_000_000L
        while (true) {
            val block = ring.stats().consumers.singleOrNull()
            if (block != null && block.delivered == frames || System.nanoTime() > deadline) return block
            Thread.sleep(1)
        }
    }

    /**
     * The Kotlin cursor: a [Ring.frames] collection whose collector runs the steps after each
     * read, so the reader holds the frame it has just read while a step runs (it releases it
     * when the collector returns), and the next step's reads happen as the flow goes on.
     */
    private fun kotlinReader(ring: Ring, s: Scenario, h: Harness): Outcome {
        val steps = s.steps
        val firstRead = steps.indexOfFirst { it[0] == "read" }
        val prefixRun = CountDownLatch(1)
        val scriptDone = CountDownLatch(1)
        val problems = Problems()
        var frames = 0L
        var lost = 0L
        var next = 0L
        var step = firstRead
        var left = steps[firstRead][1].toLong()
        var error: Throwable? = null
        val reader = thread(name = "kotlin-reader") {
            try {
                runBlocking {
                    ring.frames(if (s.lossy) Delivery.Lossy else Delivery.Lossless).collect { f ->
                        prefixRun.await()
                        if (step >= steps.size) {
                            problems += "frame ${f.seq} came after the last step"
                            return@collect
                        }
                        val payloadSeq = f.getLong(0)
                        if (payloadSeq != f.seq) problems += "frame ${f.seq} carries ${payloadSeq}"
                        if (f.seq != next + f.lostBefore) problems += "frame ${f.seq} after ${next - 1} with lostBefore ${f.lostBefore}"
                        frames++
                        lost += f.lostBefore
                        next = f.seq + 1
                        h.pace()
                        if (--left == 0L) {
                            step++
                            while (step < steps.size && steps[step][0] != "read") h.run(steps[step++], frames)
                            if (step < steps.size) left = steps[step][1].toLong() else scriptDone.countDown()
                        }
                    }
                }
            } catch (e: TooManyProblems) {
                // recorded
            } catch (e: Throwable) {
                error = e
            } finally {
                scriptDone.countDown()
            }
        }
        val registered = System.nanoTime() + 10_000_000_000L
        while (ring.stats().consumers.isEmpty() && System.nanoTime() < registered) Thread.sleep(1)
        for (i in 0 until firstRead) h.run(steps[i], 0)
        prefixRun.countDown()
        if (!scriptDone.await(30, TimeUnit.SECONDS)) problems += "no outcome within 30 s (at step $step, $left frames left to read)"
        val block = if (error == null) settledBlock(ring, frames) else null
        h.detach() // the ring closes: the flow ends
        reader.join(30_000)
        if (reader.isAlive) {
            ring.close() // ends a reader stuck on a stamp it takes for "not yet written"
            reader.join(30_000)
        }
        return Outcome(error?.javaClass?.simpleName, frames, lost, problems.list, block)
    }

    /**
     * The Rust consumer: `Consumer::recv` (it waits as a Rust reader does; each frame is
     * released at once) through `Native.recvNext`.
     */
    private fun rustReader(ring: Ring, s: Scenario, h: Harness): Outcome {
        val consumer = Native.register(ring.handle, s.lossy, Start.Next.kind, 0)
        val buf = ByteArray(ring.slotSize)
        val problems = Problems()
        var frames = 0L
        var lost = 0L
        var next = 0L
        var error: String? = null
        try {
            steps@ for (step in s.steps) {
                if (step[0] != "read") {
                    h.run(step, frames)
                    continue
                }
                repeat(step[1].toInt()) {
                    val deadline = System.nanoTime() + 30_000_000_000L
                    while (Native.recvNext(consumer, buf, 50) < 0) {
                        if (System.nanoTime() > deadline) {
                            problems += "no frame within 30 s after $frames"
                            break@steps
                        }
                    }
                    val seq = ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN).getLong(0)
                    if (seq < next) problems += "frame $seq after ${next - 1}"
                    frames++
                    lost += seq - next
                    next = seq + 1
                    h.pace()
                }
            }
        } catch (e: RingException) {
            error = e.javaClass.simpleName
        } catch (e: TooManyProblems) {
            // recorded
        }
        val block = if (error == null) settledBlock(ring, frames) else null
        Native.unregister(consumer)
        return Outcome(error, frames, lost, problems.list, block)
    }

    /** What went wrong; the reader is stopped at the tenth (a reader looping on a bad stamp would fill the heap). */
    private class Problems {
        val list = mutableListOf<String>()

        operator fun plusAssign(problem: String) {
            list += problem
            if (list.size >= 10) throw TooManyProblems()
        }
    }

    private class TooManyProblems : Exception("too many problems")

    private companion object {
        val LONGS = MethodHandles.byteBufferViewVarHandle(LongArray::class.java, ByteOrder.nativeOrder())
    }
}
