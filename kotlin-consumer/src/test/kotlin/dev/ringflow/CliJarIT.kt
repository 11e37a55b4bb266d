package dev.ringflow

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/**
 * The packaged CLI jar (classifier `cli`) as a new user runs it: plain `java -jar`, no
 * `-Dringflow.lib`, from an empty directory. It must find its native library inside the jar.
 * Run by failsafe (`mvn verify`/`install`), after the jar is built.
 */
class CliJarIT {
    @field:TempDir
    lateinit var dir: Path

    private fun run(cwd: File, env: Map<String, String>, vararg args: String): Pair<Int, String> {
        val p = ProcessBuilder(*args).directory(cwd).redirectErrorStream(true)
        p.environment().putAll(env)
        val process = p.start()
        val out = process.inputStream.bufferedReader().readText()
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), out)
        return process.exitValue() to out
    }

    @Test
    fun `java -jar reads a ring with the library it carries`() {
        val jar = File(System.getProperty("ringflow.cliJar"))
        assertTrue(jar.isFile, "no CLI jar at $jar")
        val ring = dir.resolve("ring").toString()
        val rust = System.getProperty("ringflow.cli")
        val work = Files.createDirectory(dir.resolve("empty")).toFile()
        // The extracted library goes to $XDG_CACHE_HOME/ringflow/native: here, inside the tempdir.
        val env = mapOf("XDG_CACHE_HOME" to dir.resolve("cache").toString())
        assertEquals(0, run(work, env, rust, "create", ring, "--slots", "1024").first)
        assertEquals(0, run(work, env, rust, "produce", ring, "--frames", "1000").first)

        val java = File(System.getProperty("java.home"), "bin/java").path
        val (status, out) = run(work, env, java, "-jar", jar.path, "consume", ring, "--frames", "1000", "--verify", "--json")
        assertEquals(0, status, out)
        assertTrue("\"frames\":1000" in out, out)
        assertTrue("\"verified\":true" in out, out)
        val extracted = dir.resolve("cache/ringflow/native").toFile().list()!!.toList()
        assertTrue(extracted.single().matches(Regex("libringflow_jni-[0-9a-f]{16}\\.so")), "$extracted")
        assertEquals(emptyList<String>(), work.list()!!.toList(), "nothing written to the working directory")
    }

    /** The javadoc jar `mvn install` attaches holds the KDoc of the public API as HTML (dokka). */
    @Test
    fun `the javadoc jar documents the public API`() {
        val jar = File(System.getProperty("ringflow.cliJar").replace("-cli.jar", "-javadoc.jar"))
        assertTrue(jar.isFile, "no javadoc jar at $jar")
        java.util.zip.ZipFile(jar).use { zip ->
            for (page in listOf("dev/ringflow/Ring.html", "dev/ringflow/Frame.html", "dev/ringflow/FrameBatch.html")) {
                val entry = zip.getEntry(page)
                assertTrue(entry != null, "$page missing from $jar")
                val html = zip.getInputStream(entry).bufferedReader().readText()
                assertTrue(html.length > 1000, "$page is nearly empty")
            }
        }
    }
}
