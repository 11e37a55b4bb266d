package dev.ringflow

import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.nio.file.Files
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread

/** A JVM process consumes what a Rust process produces: the Kotlin CLI against `ringflow produce`. */
class CliTest {
    private val ringflow = System.getProperty("ringflow.cli")

    private fun rust(vararg args: String): Process =
        ProcessBuilder(listOf(ringflow) + args).redirectErrorStream(true).start()

    private fun field(json: String, key: String) = Regex("\"$key\":(\"?[^,}\"]*)").find(json)!!.groupValues[1].trim('"')

    @Test
    fun `the Kotlin CLI verifies every frame a Rust producer process writes`() = runBlocking {
        val path = Files.createTempDirectory("ringflow").resolve("ring").toString()
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
        val path = Files.createTempDirectory("ringflow").resolve("ring").toString()
        assertEquals(0, rust("create", path, "--slots", "64").waitFor())
        val out = mutableListOf<String>()
        assertEquals(1, dev.ringflow.cli.run(arrayOf("consume", path, "--timeout", "0.3", "--json"), { out += it }, { out += it }))
        assertEquals("timeout", field(out.last(), "end"))
    }
}
