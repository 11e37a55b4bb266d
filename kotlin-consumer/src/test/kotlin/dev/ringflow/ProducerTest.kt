package dev.ringflow

import dev.ringflow.internal.Native
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.ByteBuffer
import java.nio.file.Path
import java.util.concurrent.Callable
import java.util.concurrent.ExecutionException
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.TimeoutException

/**
 * [RingProducer]: frames written from Kotlin in place are what a Rust reader in another process
 * verifies; the policies refuse as the Rust producer's do; close ends the readers; misuse fails
 * loudly.
 */
class ProducerTest {
    @field:TempDir
    lateinit var dir: Path

    private val ringflow = System.getProperty("ringflow.cli")
    private var rings = 0

    private fun tempRing() = dir.resolve("ring${rings++}").toString()

    /** Writes pattern frame [seq] of producer 0 (`ring/src/pattern.rs`), [length] bytes, into [b] from 0. */
    private fun fillPattern(b: ByteBuffer, seq: Long, length: Int) {
        b.order(java.nio.ByteOrder.LITTLE_ENDIAN)
        b.putLong(0, seq)
        b.putInt(8, 0)
        b.putInt(12, length)
        val key = seq * -0x61c8864680b583ebL // 0x9E3779B97F4A7C15; producer 0
        for (i in 16 until length) b.put(i, ((key ushr ((i % 8) * 8)).toInt() xor (i / 8)).toByte())
    }

    private fun frameLength(seq: Long, slotSize: Int) = 16 + (seq % (slotSize - 15)).toInt()

    private fun awaitConsumers(ring: Ring, n: Int) = runBlocking {
        withTimeout(30_000) { while (ring.stats().consumers.size < n) yield() }
    }

    @Test
    fun `a Rust reader in another process verifies every frame Kotlin writes, one by one and in batches`() {
        val frames = 200_000L
        val path = tempRing()
        Ring.create(path, slots = 256, slotSize = 64).use { ring ->
            val reader = ProcessBuilder(ringflow, "consume", path, "--frames", "$frames", "--verify", "--json", "--timeout", "60")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start()
            awaitConsumers(ring, 1)
            ring.producer(ProducerPolicy.Block()).use { producer ->
                assertTrue(producer.direct, "a single producer that gates writes its steps itself")
                var seq = 0L
                while (seq < frames / 2) {
                    val slot = producer.claim()
                    assertEquals(seq, slot.seq)
                    val length = frameLength(seq, producer.slotSize)
                    fillPattern(slot.buffer, seq, length)
                    slot.commit(length, kind = (seq and 0xffff).toInt())
                    seq++
                }
                while (seq < frames) {
                    val batch = producer.claimBatch(32)
                    assertEquals(seq, batch.firstSeq)
                    val count = minOf(32L, frames - seq).toInt()
                    for (i in 0 until count) {
                        val length = frameLength(seq + i, producer.slotSize)
                        fillPattern(batch.buffer(i), seq + i, length)
                        batch.setFrame(i, length)
                    }
                    batch.commit(count) // the last batch short: its tail is passed over
                    seq += count
                }
            }
            assertTrue(reader.waitFor(120, TimeUnit.SECONDS), "the Rust reader did not end")
            val out = reader.inputStream.bufferedReader().readText()
            assertEquals(0, reader.exitValue(), out)
            assertTrue(out.contains("\"verified\":true"), out)
            assertTrue(out.contains("\"frames\":$frames"), out)
        }
    }

    /**
     * The writer obligations (docs/FORMAT.md) held against the Rust producer: the same frames
     * written by each into a ring of its own leave the same descriptors (stamp, length, kind),
     * payloads and `published`, and timestamps from the same clock.
     */
    @Test
    fun `the Kotlin writer leaves a ring as the Rust producer does`() {
        val frames = 40L // two and a half laps of 16 slots: every slot rewritten
        Ring.create(tempRing(), slots = 16, slotSize = 48).use { rust ->
            Ring.create(tempRing(), slots = 16, slotSize = 48).use { kotlin ->
                assertTrue(rust.timestamps && kotlin.timestamps)
                val t0 = System.nanoTime()
                val p = Native.testProducerAttach(rust.handle, 0)
                assertEquals(frames, Native.testProducerPush(p, frames))
                Native.testProducerDetach(p)
                val t1 = System.nanoTime()
                kotlin.producer(ProducerPolicy.Fail).use { producer ->
                    assertTrue(producer.direct)
                    var seq = 0L
                    while (seq < 20) {
                        val slot = producer.claim()
                        fillPattern(slot.buffer, seq++, 48)
                        slot.commit(48)
                    }
                    while (seq < frames) {
                        val batch = producer.claimBatch(5)
                        for (i in 0 until 5) {
                            fillPattern(batch.buffer(i), seq + i, 48)
                            batch.setFrame(i, 48)
                        }
                        batch.commit()
                        seq += 5
                    }
                }
                val t2 = System.nanoTime()
                val published = (Layout.PRODUCER_OFFSET + Layout.PUBLISHED_OFFSET).toInt()
                assertEquals(frames, rust.region.getLong(published))
                assertEquals(frames, kotlin.region.getLong(published))
                for (s in frames - 16 until frames) {
                    val d = rust.descAt(s).toInt()
                    assertEquals(kotlin.descAt(s).toInt(), d)
                    for (field in longArrayOf(Layout.DESC_STAMP_OFFSET, Layout.DESC_LEN_OFFSET)) {
                        assertEquals(rust.region.getLong(d + field.toInt()), kotlin.region.getLong(d + field.toInt()), "frame $s, descriptor word at $field")
                    }
                    val at = rust.payloadAt(s).toInt()
                    for (i in 0 until 48) assertEquals(rust.region.get(at + i), kotlin.region.get(at + i), "frame $s byte $i")
                    val rustNs = rust.timestampAt(d.toLong())
                    val kotlinNs = kotlin.timestampAt(d.toLong())
                    assertTrue(rustNs in t0..t1, "Rust's timestamp $rustNs in the JVM's nanoTime window $t0..$t1")
                    assertTrue(kotlinNs in t1..t2, "Kotlin's timestamp $kotlinNs in $t1..$t2")
                }
                assertTrue(rust.stats().closed && kotlin.stats().closed, "the last producer closed each")
            }
        }
    }

    @Test
    fun `fail throws RingFullException and block times out on a full ring`() {
        Ring.create(tempRing(), slots = 8, slotSize = 32).use { ring ->
            val lagging = Native.register(ring.handle, false, 0, 0) // lossless, reads nothing
            try {
                ring.producer(ProducerPolicy.Fail).use { producer ->
                    repeat(8) { producer.claim().commit(0) }
                    assertThrows<RingFullException> { producer.claim() }
                    assertThrows<RingFullException> { producer.claimBatch(1) }
                }
                ring.producer(ProducerPolicy.Block(timeoutMs = 100)).use { producer ->
                    val started = System.nanoTime()
                    assertThrows<RingTimeoutException> { producer.claim() }
                    assertTrue(System.nanoTime() - started >= 90_000_000L, "returned before its timeout")
                }
                assertEquals(8L, ring.stats().published)
            } finally {
                Native.unregister(lagging)
            }
        }
    }

    @Test
    fun `closing the last producer ends a parked reader after the last frame`() = runBlocking {
        Ring.create(tempRing(), slots = 16, slotSize = 32).use { ring ->
            val reader = async(Dispatchers.Default) {
                val seen = mutableListOf<Long>()
                ring.frames().collect { seen += it.seq }
                seen
            }
            awaitConsumers(ring, 1)
            val producer = ring.producer()
            val batch = producer.claimBatch(4)
            batch.setFrame(0, 1)
            batch.setFrame(1, 2)
            batch.commit(2) // frames 2 and 3 claimed, passed over
            producer.claim() // left open: the close publishes it as a frame readers pass over
            Thread.sleep(200) // the reader parks (it spins first)
            producer.close()
            assertEquals(listOf(0L, 1L), withTimeout(10_000) { reader.await() })
            assertTrue(ring.stats().closed)
        }
    }

    /**
     * A `Block()` claim (no timeout) on a full ring whose one reader never reads, ended from
     * another thread by [close]: it must have been waiting (not returned after 200 ms), must end
     * within 10 s (a bound on a hang, not a speed figure) with [RingClosedException], and must
     * publish nothing: `published` stays at the 6 frames committed before, seen through a second
     * handle on the ring. After [Ring.close] the producer is still attached, and its next claim
     * that must wait ends the same way.
     */
    private fun blockedClaimEndedBy(multiProducer: Boolean, batch: Boolean, closeRing: Boolean) {
        val path = if (multiProducer) createWithCli("--slots", "8", "--slot-size", "32", "--multi-producer") else tempRing()
        val ring = if (multiProducer) Ring.open(path) else Ring.create(path, slots = 8, slotSize = 32)
        val observer = Ring.open(path)
        val stalled = Native.register(observer.handle, false, 0, 0) // lossless, reads nothing
        val waiter = Executors.newSingleThreadExecutor()
        val what = "multiProducer=$multiProducer batch=$batch closeRing=$closeRing"
        try {
            val producer = ring.producer(ProducerPolicy.Block())
            assertEquals(!multiProducer, producer.direct, what)
            repeat(6) { producer.claim().commit(8, kind = 1) }
            // Two slots left: a batch of 4 or, after two more frames, a single slot must wait.
            if (!batch) repeat(2) { producer.claim().commit(8, kind = 1) }
            val published = if (batch) 6L else 8L
            val claim = { if (batch) producer.claimBatch(4).size else producer.claim().seq.toInt() }
            val blocked = waiter.submit(Callable { claim() })
            assertThrows<TimeoutException>(what) { blocked.get(200, TimeUnit.MILLISECONDS) }
            if (closeRing) ring.close() else producer.close()
            val ended = assertThrows<ExecutionException>(what) { blocked.get(10, TimeUnit.SECONDS) }
            assertTrue(ended.cause is RingClosedException, "$what: ${ended.cause}")
            val by = if (closeRing) "the ring was closed" else "the producer was closed"
            assertTrue(ended.cause!!.message!!.contains(by), "$what: ${ended.cause!!.message}")
            if (closeRing) {
                // Still attached: a later claim that must wait ends too.
                val again = waiter.submit(Callable { claim() })
                val e = assertThrows<ExecutionException>(what) { again.get(10, TimeUnit.SECONDS) }
                assertTrue(e.cause is RingClosedException, "$what: ${e.cause}")
                producer.close()
            } else {
                assertThrows<IllegalStateException>(what) { producer.claim() }
            }
            assertEquals(published, observer.stats().published, "$what: the ended claim published a frame")
            assertTrue(observer.stats().closed, "$what: the producer detached and closed the ring")
        } finally {
            waiter.shutdownNow()
            Native.unregister(stalled)
            observer.close()
            ring.close()
        }
        assertEquals(0, Native.liveProducers(), "$what: the producer handle was released")
    }

    @Test
    fun `close on another thread ends a claim waiting for space, with nothing claimed`() {
        for (multiProducer in listOf(false, true)) {
            for (batch in listOf(false, true)) {
                blockedClaimEndedBy(multiProducer, batch, closeRing = false)
            }
        }
    }

    @Test
    fun `ring close on another thread ends a claim waiting for space, now and later`() {
        for (multiProducer in listOf(false, true)) {
            for (batch in listOf(false, true)) {
                blockedClaimEndedBy(multiProducer, batch, closeRing = true)
            }
        }
    }

    /** Creates a ring with the Rust CLI (for the options `Ring.create` has not). */
    private fun createWithCli(vararg options: String): String {
        val path = tempRing()
        val created = ProcessBuilder(ringflow, "create", path, *options).redirectErrorStream(true).start()
        assertEquals(0, created.waitFor(), created.inputStream.bufferedReader().readText())
        return path
    }

    @Test
    fun `two Kotlin producers share a multi-producer ring and a reader gets every frame of each in order`() = runBlocking {
        val frames = 20_000
        Ring.open(createWithCli("--slots", "64", "--slot-size", "32", "--multi-producer")).use { ring ->
            val reader = async(Dispatchers.Default) {
                val next = IntArray(2)
                ring.frames().collect { f ->
                    val writer = f.kind
                    assertEquals(next[writer].toLong(), f.getLong(0), "writer $writer")
                    assertEquals(8, f.length)
                    next[writer]++
                }
                next.toList()
            }
            awaitConsumers(ring, 1)
            val keepOpen = ring.producer() // the ring closes only when the last producer leaves
            val writers = (0..1).map { writer ->
                async(Dispatchers.IO) {
                    ring.producer().use { producer ->
                        assertTrue(!producer.direct, "a multi-producer ring's claims stay in Rust")
                        var i = 0
                        while (i < frames) {
                            if (writer == 0) {
                                val slot = producer.claim()
                                slot.buffer.putLong(0, i.toLong())
                                slot.commit(8, kind = writer)
                                i++
                            } else {
                                val n = minOf(7, frames - i)
                                val batch = producer.claimBatch(7)
                                for (k in 0 until n) {
                                    batch.buffer(k).putLong(0, (i + k).toLong())
                                    batch.setFrame(k, 8, kind = writer)
                                }
                                batch.commit(n)
                                i += n
                            }
                        }
                    }
                }
            }
            writers.forEach { it.await() }
            keepOpen.close()
            assertEquals(listOf(frames, frames), withTimeout(30_000) { reader.await() })
        }
    }

    @Test
    fun `an overwrite producer never waits on a reader that does not read`() {
        Ring.open(createWithCli("--slots", "8", "--slot-size", "32", "--overwritable")).use { ring ->
            val lagging = Native.register(ring.handle, false, 0, 0)
            try {
                ring.producer(ProducerPolicy.Overwrite).use { producer ->
                    repeat(100) { producer.claim().commit(0) }
                    producer.claimBatch(8).commit()
                }
                assertEquals(108L, ring.stats().published)
            } finally {
                Native.unregister(lagging)
            }
        }
    }

    private fun dataSleepers(ring: Ring): Int =
        Regex("\"data_sleepers\":(\\d+)").find(ring.statsJson())!!.groupValues[1].toInt()

    /**
     * W5: a commit that finds a reader parked on the data futex wakes it through Rust, counted in
     * `dataWakes`. A parked reader leaves its futex between timed slices, and a commit that lands
     * in such a gap rightly wakes nobody, so this tries up to five commits, each after seeing a
     * parked reader, and needs one counted wake.
     */
    @Test
    fun `a commit wakes a reader parked on the ring`() = runBlocking {
        Ring.create(tempRing(), slots = 16, slotSize = 32).use { ring ->
            val seen = java.util.concurrent.atomic.AtomicLong(-1)
            val reader = async(Dispatchers.Default) { ring.frames().collect { seen.set(it.seq) } }
            awaitConsumers(ring, 1)
            ring.producer().use { producer ->
                assertTrue(producer.direct)
                var woken = false
                var seq = 0L
                while (!woken && seq < 5) {
                    withTimeout(10_000) { while (dataSleepers(ring) < 1) kotlinx.coroutines.delay(1) }
                    val wakes = ring.stats().dataWakes
                    producer.claim().commit(0)
                    withTimeout(10_000) { while (seen.get() < seq) yield() }
                    woken = ring.stats().dataWakes > wakes
                    seq++
                }
                assertTrue(woken, "none of $seq commits woke the parked reader")
            }
            withTimeout(10_000) { reader.await() }
        }
    }

    @Test
    fun `misuse fails loudly and refusals name the problem`() {
        Ring.create(tempRing(), slots = 8, slotSize = 32).use { ring ->
            val producer = ring.producer(ProducerPolicy.Fail)
            assertThrows<RingBusyException> { ring.producer() } // one producer on this ring
            assertThrows<BadArgumentException> { ring.producer(ProducerPolicy.Overwrite) }
            val slot = producer.claim()
            assertThrows<IllegalStateException> { producer.claim() }
            assertThrows<IllegalStateException> { producer.claimBatch(2) }
            assertThrows<IllegalArgumentException> { slot.commit(33) }
            assertThrows<IllegalArgumentException> { slot.commit(1, kind = 65536) }
            slot.commit(0)
            assertThrows<IllegalStateException> { slot.commit(0) } // committed: no claim open
            assertThrows<IllegalStateException> { slot.buffer }
            assertThrows<IllegalArgumentException> { producer.claimBatch(0) }
            assertThrows<IllegalArgumentException> { producer.claimBatch(9) }
            val batch = producer.claimBatch(2)
            assertThrows<IllegalArgumentException> { batch.buffer(2) }
            assertThrows<IllegalArgumentException> { batch.setFrame(0, 33) }
            assertThrows<IllegalArgumentException> { batch.commit(3) }
            batch.commit()
            assertThrows<IllegalStateException> { batch.commit() }
            assertThrows<IllegalArgumentException> { ProducerPolicy.Block(-1) }
            producer.close()
            producer.close() // once; later calls do nothing
            assertThrows<IllegalStateException> { producer.claim() }
            // Detached: the ring takes a producer again.
            ring.producer().use { it.claim().commit(0) }
            assertEquals(4L, ring.stats().published)
        }
        assertEquals(0, Native.liveProducers(), "every producer handle was released")
    }
}
