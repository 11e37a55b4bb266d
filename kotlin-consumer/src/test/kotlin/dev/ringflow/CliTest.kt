package dev.ringflow

import dev.ringflow.internal.Native
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread

/** A JVM process consumes what a Rust process produces: the Kotlin CLI against `ringflow produce`. */
class CliTest {
    private val ringflow = System.getProperty("ringflow.cli")

    @field:TempDir
    lateinit var dir: Path

    private var rings = 0

    private fun tempRing() = dir.resolve("ring${rings++}").toString()

    private fun rust(vararg args: String): Process =
        ProcessBuilder(listOf(ringflow) + args).redirectErrorStream(true).start()

    private fun field(json: String, key: String) = Regex("\"$key\":(\"?[^,}\"]*)").find(json)!!.groupValues[1].trim('"')

    @Test
    fun `the Kotlin CLI verifies every frame a Rust producer process writes`() = runBlocking {
        val path = tempRing()
        assertEquals(0, rust("create", path, "--slots", "1024").waitFor())
        val lines = mutableListOf<String>()
        var status = -1
        val reader = thread {
            status = dev.ringflow.cli.run(arrayOf("consume", path, "--frames", "500000", "--verify", "--timeout", "30", "--json"), { lines += it }, { lines += it })
        }
        Ring.open(path).use { ring ->
            withTimeout(30_000) { while (!ring.statsJson().contains("\"policy\":\"lossless\"")) delay(1) }
        }
        val producer = rust("produce", path, "--frames", "500000", "--json")
        assertTrue(producer.waitFor(120, TimeUnit.SECONDS))
        assertEquals(0, producer.exitValue(), producer.inputStream.bufferedReader().readText())
        reader.join(120_000)
        val summary = lines.last()
        assertEquals(0, status, summary)
        assertEquals("500000", field(summary, "frames"), summary)
        assertEquals("true", field(summary, "verified"), summary)
        for (key in listOf("lost", "duplicated", "reordered", "corrupt")) assertEquals("0", field(summary, key), "$key: $summary")
        assertEquals("frames", field(summary, "end"))
    }

    @Test
    fun `bad usage and bad files exit 2`() {
        val err = mutableListOf<String>()
        assertEquals(2, dev.ringflow.cli.run(arrayOf("consume"), {}, { err += it }))
        assertEquals(2, dev.ringflow.cli.run(arrayOf("consume", "/x", "--frames", "many"), {}, { err += it }))
        assertEquals(2, dev.ringflow.cli.run(arrayOf("consume", "/nonexistent/ring"), {}, { err += it }))
        assertTrue(err.all { it.startsWith("ringflow-kotlin: ") }, err.toString())
    }

    @Test
    fun `a timeout with no producer is a job failure`() {
        val path = tempRing()
        assertEquals(0, rust("create", path, "--slots", "64").waitFor())
        val out = mutableListOf<String>()
        val err = mutableListOf<String>()
        assertEquals(1, dev.ringflow.cli.run(arrayOf("consume", path, "--timeout", "0.3", "--json"), { out += it }, { err += it }))
        assertEquals("timeout", field(out.last(), "end"))
        assertEquals(listOf("ringflow-kotlin: timed out waiting for frames after 0 frames"), err)
    }

    @Test
    fun `forgetConsumer forgets a name a Rust reader left ownerless, once`() {
        val path = tempRing()
        assertEquals(0, rust("create", path, "--slots", "64").waitFor())
        // A durable named reader in a Rust process: it times out and exits, leaving the name.
        val named = rust("consume", path, "--name", "kotlin-forget", "--timeout", "0.2")
        assertTrue(named.waitFor(30, TimeUnit.SECONDS))
        Ring.open(path).use { ring ->
            assertTrue(ring.stats().consumers.isNotEmpty(), "the ownerless name keeps its block")
            assertTrue(ring.forgetConsumer("kotlin-forget"))
            assertTrue(ring.stats().consumers.isEmpty(), "its block is free")
            assertEquals(false, ring.forgetConsumer("kotlin-forget"))
            assertThrows<BadArgumentException> { ring.forgetConsumer("") }
        }
    }

    /**
     * The Kotlin CLI in a JVM of its own, through a `python3` shim that resets SIGINT to its
     * default first: a JVM that inherits an ignored SIGINT (a CI runner, `nohup`, a background
     * job) never installs its handler, and the test would send a signal nothing hears.
     */
    private fun kotlinCliProcess(vararg args: String): Process {
        val java = java.io.File(System.getProperty("java.home"), "bin/java").path
        val classPath = System.getProperty("surefire.test.class.path") ?: System.getProperty("java.class.path")
        val shim = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
        return ProcessBuilder(
            listOf("python3", "-c", shim, java, "-cp", classPath, "-Dringflow.lib=${System.getProperty("ringflow.lib")}", "dev.ringflow.cli.MainKt") + args,
        ).start()
    }

    @Test
    fun `an unexpected error, such as a Rust panic, is one line on stderr and status 1, and the status is set`() {
        val status = CompletableFuture<Int>()
        val err = mutableListOf<String>()
        val code = dev.ringflow.cli.runToStatus(status, { err += it }) {
            Ring.panicForTest("boom from Rust")
            0
        }
        assertEquals(1, code)
        // The shutdown hook waits on this: it must be set, not left for the hook's grace period.
        assertEquals(1, status.getNow(null), "the status the shutdown hook waits for")
        assertEquals(1, err.size, "$err")
        // (jni 0.22 keeps only a `&str` panic payload's text, so the message may not reach here.)
        assertTrue(err.single().startsWith("ringflow-kotlin: ") && "RuntimeException" in err.single(), "$err")
        val ok = CompletableFuture<Int>()
        assertEquals(0, dev.ringflow.cli.runToStatus(ok, { err += it }) { 0 })
        assertEquals(0, ok.getNow(null))
        assertEquals(1, err.size, "nothing more on stderr: $err")
    }

    @Test
    fun `a native library that does not load is one line on stderr and status 1`() {
        val path = tempRing()
        assertEquals(0, rust("create", path, "--slots", "64").waitFor())
        val java = java.io.File(System.getProperty("java.home"), "bin/java").path
        val classPath = System.getProperty("surefire.test.class.path") ?: System.getProperty("java.class.path")
        val cli = ProcessBuilder(java, "-cp", classPath, "-Dringflow.lib=${dir.resolve("missing.so")}", "dev.ringflow.cli.MainKt", "consume", path).start()
        assertTrue(cli.waitFor(60, TimeUnit.SECONDS))
        val err = cli.errorStream.bufferedReader().readText().lines().filter { it.isNotEmpty() }
        assertEquals(1, cli.exitValue(), "$err")
        assertEquals(1, err.size, "$err")
        assertTrue(err.single().startsWith("ringflow-kotlin: ") && "missing.so" in err.single(), "$err")
    }

    @Test
    fun `SIGINT and SIGTERM print the summary, unregister the reader and exit 0`() {
        for (signal in listOf("INT", "TERM")) {
            val path = tempRing()
            assertEquals(0, rust("create", path, "--slots", "256").waitFor())
            Ring.open(path).use { ring ->
                val cli = kotlinCliProcess("consume", path, "--json")
                val producer = Native.testProducerAttach(ring.handle, 0)
                try {
                    runBlocking { withTimeout(30_000) { while (ring.stats().consumers.isEmpty()) delay(1) } }
                    Native.testProducerPush(producer, 100)
                    runBlocking { withTimeout(30_000) { while (ring.stats().consumers.single().read < 100) delay(1) } }
                    assertEquals(0, ProcessBuilder("kill", "-$signal", cli.pid().toString()).start().waitFor())
                    assertTrue(cli.waitFor(30, TimeUnit.SECONDS), "SIG$signal did not stop the CLI")
                    val out = cli.inputStream.bufferedReader().readText()
                    val err = cli.errorStream.bufferedReader().readText()
                    assertEquals(0, cli.exitValue(), "SIG$signal: $out $err")
                    assertEquals("", err, "SIG$signal")
                    val summary = out.lines().last { it.isNotEmpty() }
                    assertEquals("cancelled", field(summary, "end"), summary)
                    assertEquals("100", field(summary, "frames"), summary)
                    assertEquals(emptyList<ConsumerStats>(), ring.stats().consumers, "SIG$signal left its reader registered")
                } finally {
                    Native.testProducerDetach(producer)
                    cli.destroyForcibly()
                }
            }
        }
    }

    /** Runs the Kotlin CLI on a thread; its status and output lines once [join]ed. */
    private class Cli(vararg args: String) {
        val out = mutableListOf<String>()
        val err = mutableListOf<String>()
        var status = -1
        private val thread = thread { status = dev.ringflow.cli.run(arrayOf(*args), { out += it }, { err += it }) }

        fun join(): Cli {
            thread.join(60_000)
            check(!thread.isAlive) { "the CLI did not end: $out $err" }
            return this
        }
    }

    /** Waits until a reader registered on [ring], pushes [frames] frames, and detaches: the ring closes. */
    private fun produceAndClose(ring: Ring, frames: Long) = runBlocking {
        withTimeout(30_000) { while (ring.stats().consumers.isEmpty()) delay(1) }
        val producer = Native.testProducerAttach(ring.handle, 0)
        try {
            Native.testProducerPush(producer, frames)
        } finally {
            Native.testProducerDetach(producer)
        }
    }

    @Test
    fun `--frames 0 reads no frame and exits 0`() {
        val path = tempRing()
        Ring.create(path, slots = 16, slotSize = 32).use { ring ->
            val cli = Cli("consume", path, "--frames", "0", "--json").join()
            assertEquals(0, cli.status, "${cli.out} ${cli.err}")
            assertEquals("0", field(cli.out.last(), "frames"))
            assertEquals("frames", field(cli.out.last(), "end"))
            assertTrue(ring.stats().consumers.isEmpty())
        }
    }

    @Test
    fun `frame counts are 64-bit, never cut to an Int`() {
        // 4294967301 is 2^32 + 5 (an Int cast read 5 frames), 3000000000 is above Int.MAX_VALUE
        // (take() refused it): both mean "more than the 10 frames there are", so the reader reads
        // all 10 and, as `ringflow consume` does, says it got fewer than it was asked for.
        for (n in listOf("3000000000", "4294967301", Long.MAX_VALUE.toString())) {
            val path = tempRing()
            Ring.create(path, slots = 16, slotSize = 32).use { ring ->
                val cli = Cli("consume", path, "--frames", n, "--timeout", "30", "--json")
                produceAndClose(ring, 10)
                cli.join()
                assertEquals(1, cli.status, "--frames $n: ${cli.out} ${cli.err}")
                assertEquals(listOf("ringflow-kotlin: the ring closed after 10 of $n frames"), cli.err, "--frames $n")
                assertEquals("10", field(cli.out.last(), "frames"), "--frames $n: ${cli.out}")
                assertEquals("closed", field(cli.out.last(), "end"), "--frames $n: ${cli.out}")
            }
        }
    }

    @Test
    fun `malformed or out-of-range values exit 2 with one line naming the flag and value`() {
        val path = tempRing()
        Ring.create(path, slots = 16, slotSize = 32).close()
        val bad = listOf(
            "--frames" to "-1",
            "--frames" to "18446744073709551616",
            "--frames" to "1e3",
            "--frames" to "",
            "--timeout" to "-1",
            "--timeout" to "NaN",
            "--timeout" to "Infinity",
            "--timeout" to "1e300",
            "--timeout" to "1d",
            "--policy" to "fast",
        )
        for ((flag, value) in bad) {
            val out = mutableListOf<String>()
            val err = mutableListOf<String>()
            assertEquals(2, dev.ringflow.cli.run(arrayOf("consume", path, flag, value), { out += it }, { err += it }), "$flag '$value'")
            assertEquals(1, err.size, "$flag '$value': $err")
            assertTrue(err[0].startsWith("ringflow-kotlin: $flag ") && err[0].contains("'$value'"), "$flag '$value': $err")
            assertEquals(emptyList<String>(), out)
        }
    }

    @Test
    fun `--help prints the usage and exits 0`() {
        val out = mutableListOf<String>()
        val err = mutableListOf<String>()
        assertEquals(0, dev.ringflow.cli.run(arrayOf("--help"), { out += it }, { err += it }))
        assertEquals(0, dev.ringflow.cli.run(arrayOf("consume", "--help"), { out += it }, { err += it }))
        assertEquals(2, out.size)
        assertTrue(out.all { it.startsWith("usage: consume PATH") }, out.toString())
        assertEquals(emptyList<String>(), err)
    }

    @Test
    fun `lapped and lost in the summary are the reader's own counts`() {
        val path = tempRing()
        val frames = 200_000L
        // Two slots and a producer much faster than the copying, verifying lossy reader: it is
        // lapped many times.
        Ring.create(path, slots = 2, slotSize = 32).use { ring ->
            val cli = Cli("consume", path, "--policy", "lossy", "--verify", "--timeout", "30", "--json")
            produceAndClose(ring, frames)
            cli.join()
            val summary = cli.out.last()
            assertEquals(0, cli.status, "$summary ${cli.err}")
            // The reader's consumer block (block 0: the only reader this ring had) after it left.
            val block = (Layout.CONSUMERS_OFFSET).toInt()
            val lapped = ring.region.getLong(block + Layout.CONSUMER_LAPPED_OFFSET.toInt())
            val lost = ring.region.getLong(block + Layout.CONSUMER_LOST_OFFSET.toInt())
            val delivered = ring.region.getLong(block + Layout.CONSUMER_DELIVERED_OFFSET.toInt())
            assertTrue(lapped > 0, "not lapped: $summary")
            assertEquals(lapped.toString(), field(summary, "lapped"), summary)
            assertEquals(lost.toString(), field(summary, "lost"), summary)
            assertEquals(delivered.toString(), field(summary, "frames"), summary)
            assertEquals(frames, delivered + lost, summary)
            assertEquals("true", field(summary, "verified"), summary)
        }
    }

    @Test
    fun `lapped counts laps, not frames that came after a loss`() = runBlocking {
        val path = tempRing()
        Ring.create(path, slots = 4, slotSize = 32).use { ring ->
            val cli = Cli("consume", path, "--policy", "lossy", "--frames", "2", "--timeout", "30", "--json")
            withTimeout(30_000) { while (ring.stats().consumers.isEmpty()) delay(1) }
            // Written the way a producer would, so that the reader at frame 0 is lapped twice
            // before it gets a frame: slot 0 holds frame 4 (jump to max(5 - 3, 4 - 3) = 2), and
            // slot 2 frame 6 (a later frame of that slot: jump to 3), slot 3 frame 3. The stamp
            // of slot 0 goes last, with release: the reader sees the rest once it sees the lap.
            fun put(seq: Long) {
                val desc = ring.descAt(seq).toInt()
                ring.region.putInt(desc + Layout.DESC_LEN_OFFSET.toInt(), 16)
                ring.region.putLong(ring.payloadAt(seq).toInt(), seq)
                LONGS.setRelease(ring.region, desc, ReaderCursor.committed(seq))
            }
            put(3)
            put(6)
            LONGS.setRelease(ring.region, (Layout.PRODUCER_OFFSET + Layout.PUBLISHED_OFFSET).toInt(), 5L)
            put(4)
            cli.join()
            val summary = cli.out.last()
            assertEquals(0, cli.status, "$summary ${cli.err}")
            assertEquals("2", field(summary, "frames"), summary) // frames 3 and 4
            assertEquals("3", field(summary, "lost"), summary) // frames 0, 1 and 2
            assertEquals("2", field(summary, "lapped"), summary) // two laps, one frame after a loss
        }
    }

    /** The top-level keys of a summary line and their values as printed (objects whole). */
    private fun keys(json: String): Map<String, String> =
        Regex("\"(\\w+)\":(\\{[^}]*\\}|\"[^\"]*\"|[^,}]*)").findAll(json).associate { it.groupValues[1] to it.groupValues[2] }

    /** What one CLI run printed: its status, its summary's keys, and its stderr lines without the program's prefix. */
    private data class Run(val status: Int, val summary: Map<String, String>, val errors: List<String>)

    private fun rustRun(args: List<String>): Run {
        val p = ProcessBuilder(listOf(ringflow) + args).start()
        val out = p.inputStream.bufferedReader().readText()
        val err = p.errorStream.bufferedReader().readText()
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "ringflow $args did not end")
        val last = out.lines().lastOrNull { it.startsWith("{") }
        return Run(p.exitValue(), last?.let(::keys) ?: emptyMap(), err.lines().filter { it.isNotEmpty() }.map { it.removePrefix("ringflow: ") })
    }

    private fun kotlinRun(args: List<String>): Run {
        val cli = Cli(*args.toTypedArray()).join()
        val last = cli.out.lastOrNull { it.startsWith("{") }
        return Run(cli.status, last?.let(::keys) ?: emptyMap(), cli.err.map { it.removePrefix("ringflow-kotlin: ") })
    }

    /**
     * `ringflow consume` and the Kotlin CLI on the same rings: the same keys with the same
     * values (timing aside), the same exit status and the same line on stderr, for each start
     * (`0` by default, `oldest`, `next`, a sequence before the oldest frame still there, at it,
     * after it, in the future), `--frames` met and short, a lossy reader, a timeout; and the
     * same status 2 for each malformed value.
     */
    @Test
    fun `the Kotlin and Rust CLIs agree on every summary key and exit status`() {
        // A known stream with no reader: 100 frames into 64 slots, so frames 0..35 are gone (and
        // 36 may be: a reader lapped at frame 0 jumps to 100 - 63 = 37).
        val full = tempRing()
        assertEquals(0, rust("create", full, "--slots", "64", "--slot-size", "64").waitFor())
        val producer = rust("produce", full, "--frames", "100", "--json")
        assertTrue(producer.waitFor(60, TimeUnit.SECONDS))
        assertEquals(0, producer.exitValue(), producer.inputStream.bufferedReader().readText())
        // A ring no producer ever attached to: readers wait, and time out.
        val fresh = tempRing()
        assertEquals(0, rust("create", fresh, "--slots", "64").waitFor())
        val timing = setOf("elapsed_s", "frames_per_s", "latency_ns")
        val cases = listOf(
            full to listOf("--verify"), // --from 0: 37 frames it asked for are gone: status 1
            full to listOf("--from", "0"),
            full to listOf("--from", "oldest", "--verify"),
            full to listOf("--from", "next", "--verify"),
            full to listOf("--from", "20", "--verify"), // before the oldest: status 1
            full to listOf("--from", "36", "--verify"),
            full to listOf("--from", "90", "--verify"),
            full to listOf("--from", "200", "--frames", "1"), // in the future: the ring closed after 0 of 1
            full to listOf("--from", "oldest", "--frames", "10", "--verify"),
            full to listOf("--from", "oldest", "--frames", "100", "--verify"), // closed after 64 of 100
            full to listOf("--from", "next", "--frames", "10"),
            full to listOf("--frames", "0"),
            full to listOf("--from", "oldest", "--frames", "0"),
            full to listOf("--from", "30", "--policy", "lossy", "--verify"),
            full to listOf("--from", "oldest", "--policy", "lossy", "--verify"),
            fresh to listOf("--from", "5", "--timeout", "0.2"),
            fresh to listOf("--from", "next", "--verify", "--timeout", "0.2"),
        )
        for ((ring, flags) in cases) {
            val args = listOf("consume", ring) + flags + "--json"
            val r = rustRun(args)
            val k = kotlinRun(args)
            val what = "$flags:\n  rust   $r\n  kotlin $k"
            assertEquals(r.status, k.status, what)
            assertTrue(r.summary.isNotEmpty(), what)
            assertEquals(r.summary.keys, k.summary.keys, what)
            for (key in r.summary.keys - timing) assertEquals(r.summary[key], k.summary[key], "$key, $what")
            assertEquals(r.errors, k.errors, what)
            assertTrue(k.errors.size == (if (k.status == 0) 0 else 1), what)
        }
        // What the cases are about, so that a change in both that loses the point shows.
        val late = kotlinRun(listOf("consume", full, "--verify", "--json"))
        assertEquals(listOf("0", "37", "37", "37", "63", "false"), listOf("start_seq", "first_seq", "unseen_before", "missed_at_start", "frames", "verified").map { late.summary[it] }, late.toString())
        assertTrue(late.errors.single().contains("gone before the reader started"), late.toString())

        val bad = listOf(
            "--from" to "latest", "--from" to "-1", "--from" to "4611686018427387904", "--from" to "1e3", "--from" to "",
            "--frames" to "-1", "--frames" to "many", "--frames" to "1e3", "--frames" to "18446744073709551616",
            "--timeout" to "-1", "--timeout" to "NaN", "--timeout" to "inf", "--timeout" to "1e300", "--timeout" to "1d", "--timeout" to "0x1p3",
            "--policy" to "fast",
        )
        for ((flag, value) in bad) {
            val args = listOf("consume", full, "$flag=$value".takeIf { value.startsWith("-") } ?: flag) +
                listOfNotNull(value.takeUnless { it.startsWith("-") }) + "--json"
            val r = rustRun(args)
            assertEquals(2, r.status, "ringflow $flag '$value': $r")
            val k = kotlinRun(listOf("consume", full, flag, value, "--json"))
            assertEquals(2, k.status, "kotlin $flag '$value': $k")
            assertEquals(1, k.errors.size, "$flag '$value': $k")
            assertTrue(k.errors[0].startsWith("$flag "), "$flag '$value': $k")
        }
    }

    private companion object {
        val LONGS = java.lang.invoke.MethodHandles.byteBufferViewVarHandle(LongArray::class.java, java.nio.ByteOrder.nativeOrder())
    }
}
