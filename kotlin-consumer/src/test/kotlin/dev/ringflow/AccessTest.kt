package dev.ringflow

import dev.ringflow.internal.Access
import dev.ringflow.internal.JniAccess
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/**
 * The access path the suite runs on is the one asked for: surefire runs the reading tests a
 * second time with `-Dringflow.access=jni` (pom.xml, execution `jni-access`), and this test
 * fails if that run silently used `VarHandle`s.
 */
class AccessTest {
    @field:TempDir
    lateinit var dir: Path

    @Test
    fun `the reader uses the access path -Dringflow_access names`() = runBlocking {
        val asked = System.getProperty(Access.PROPERTY) ?: "varhandle"
        assertEquals(asked, Access.current.name)
        println("access path: ${Access.current.name}")
        // And it reads: 10,000 frames, every payload checked, through that path.
        Ring.create(dir.resolve("ring").toString(), slots = 64, slotSize = 64).use { ring ->
            val reader = async(Dispatchers.Default) {
                var bad = 0
                ring.frames().take(10_000).collect { f -> if (f.getLong(0) != f.seq) bad++ }
                bad
            }
            withTimeout(30_000) { while (ring.stats().consumers.isEmpty()) delay(1) }
            ring.startSeqProducer(10_000, 64)
            assertEquals(0, reader.await())
        }
    }

    /**
     * On the JNI access path a `batches()` reader makes a few JNI calls per batch (R2, R3 and R4
     * each once for the run), not per frame; `frames()` the same per run of up to 64 frames it
     * hands out one by one (`ReaderCursor.frameRun`), and a lossy `frames()`, which copies each
     * frame, per run of up to 64 copies (`ReaderCursor.copyRun`). Counted, not timed: the ring is
     * filled while the first emission waits, so every later run is a full one. With `VarHandle`s
     * no JNI call is made at all.
     */
    @Test
    fun `the JNI access path makes its calls per batch, not per frame`() = runBlocking {
        val n = 4096L
        for (mode in listOf("batches(256)", "frames()", "frames(Lossy)")) {
            Ring.create(dir.resolve("calls-${mode.filter { it.isLetter() }}").toString(), slots = n.toInt(), slotSize = 64).use { ring ->
                var callsAfterFirst = 0L
                var framesAfterFirst = 0L
                var bad = 0
                val counts = ReaderCounts()
                val reader = async(Dispatchers.Default) {
                    var seen = 0L
                    suspend fun first() {
                        withTimeout(30_000) { while (ring.stats().published < n) delay(1) }
                        callsAfterFirst = JniAccess.calls
                    }
                    if (mode == "batches(256)") {
                        ring.batches(256).takeWhile { b ->
                            for (i in 0 until b.size) if (b[i].getLong(0) != b[i].seq) bad++
                            if (seen == 0L) first() else framesAfterFirst += b.size
                            seen += b.size
                            seen < n
                        }.collect {}
                    } else {
                        val delivery = if (mode == "frames()") Delivery.Lossless else Delivery.Lossy
                        ring.frames(delivery, counts = counts).take(n.toInt()).collect { f ->
                            if (f.getLong(0) != f.seq || f.lostBefore != 0L) bad++
                            if (seen == 0L) first() else framesAfterFirst++
                            seen++
                        }
                    }
                }
                withTimeout(30_000) { while (ring.stats().consumers.isEmpty()) delay(1) }
                ring.startSeqProducer(n, 64)
                reader.await()
                val calls = JniAccess.calls - callsAfterFirst
                val perFrame = calls.toDouble() / framesAfterFirst
                println("access ${Access.current.name}, $mode: $calls JNI calls over $framesAfterFirst frames ($perFrame per frame)")
                assertEquals(0, bad)
                assertTrue(framesAfterFirst >= n / 2, "$framesAfterFirst")
                if (mode != "batches(256)") {
                    // Every frame handed out, none lost, none torn (the producer never laps here).
                    assertEquals(n, counts.delivered)
                    assertEquals(0L, counts.lost)
                    assertEquals(0L, counts.torn)
                }
                if (Access.current.name == "jni") {
                    when (mode) {
                        "frames(Lossy)" -> assertTrue(perFrame < 0.5, "$perFrame JNI calls per frame in a lossy frames()")
                        else -> assertTrue(perFrame < 0.1, "$perFrame JNI calls per frame in $mode")
                    }
                } else {
                    assertEquals(0L, calls)
                }
            }
        }
    }

    /**
     * On the JNI access path a single producer that gates (`Block`) makes two access calls per
     * claim, whatever its size (W2 in one, W4 and W5 in one), plus a call into Rust when its
     * cached gate is used up or a reader armed the data futex: with `claimBatch(256)` well under
     * 0.1 calls a frame, with `claim()` two and a little. Counted, not timed, while a Rust reader
     * in another process reads every frame. With `VarHandle`s the access path makes no call.
     */
    @Test
    fun `the Kotlin producer's JNI calls are per claim, not per frame`() {
        val cli = System.getProperty("ringflow.cli")
        val n = 65_536L
        for (batched in listOf(true, false)) {
            val path = dir.resolve("produce-$batched").toString()
            Ring.create(path, slots = 4096, slotSize = 64).use { ring ->
                val reader = ProcessBuilder(cli, "consume", path, "--frames", "$n", "--json", "--timeout", "60")
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start()
                try {
                    runBlocking { withTimeout(30_000) { while (ring.stats().consumers.isEmpty()) delay(1) } }
                    ring.producer(ProducerPolicy.Block()).use { producer ->
                        assertTrue(producer.direct)
                        val before = JniAccess.calls
                        var claims = 0L
                        var seq = 0L
                        while (seq < n) {
                            if (batched) {
                                val b = producer.claimBatch(256)
                                for (i in 0 until 256) {
                                    b.buffer(i).putLong(0, seq + i)
                                    b.setFrame(i, 8)
                                }
                                b.commit()
                                seq += 256
                            } else {
                                val slot = producer.claim()
                                slot.buffer.putLong(0, seq)
                                slot.commit(8)
                                seq++
                            }
                            claims++
                        }
                        val access = JniAccess.calls - before
                        val perFrame = (access + producer.producerCalls).toDouble() / n
                        println(
                            "access ${Access.current.name}, producer ${if (batched) "claimBatch(256)" else "claim()"}: " +
                                "$access access calls and ${producer.producerCalls} calls into Rust over $n frames ($perFrame per frame)",
                        )
                        if (Access.current.name == "jni") {
                            assertEquals(2 * claims, access, "W2 in one call, W4 and W5 in one, per claim")
                            if (batched) assertTrue(perFrame < 0.1, "$perFrame JNI calls per frame with claimBatch(256)")
                        } else {
                            assertEquals(0L, access)
                        }
                    }
                    assertTrue(reader.waitFor(60, TimeUnit.SECONDS), "the Rust reader did not end")
                    val out = reader.inputStream.bufferedReader().readText()
                    assertEquals(0, reader.exitValue(), out)
                    assertTrue(out.contains("\"frames\":$n"), out)
                } finally {
                    reader.destroyForcibly()
                }
            }
        }
    }
}
