package dev.ringflow

import dev.ringflow.internal.Native
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import javax.sound.sampled.AudioFileFormat
import javax.sound.sampled.AudioFormat
import javax.sound.sampled.AudioInputStream
import javax.sound.sampled.AudioSystem

/**
 * A JVM whose `main` made suspend calls and returned exits on its own (`exit/ExitMain.kt`), and
 * Rust threads that attached detach.
 */
class JvmExitTest {
    @field:TempDir
    lateinit var dir: Path

    @Test
    fun `a main that made every kind of suspend call returns and its JVM exits`() {
        val ring = dir.resolve("audio").toString()
        val created = ProcessBuilder(System.getProperty("ringflow.cli"), "create", ring, "--schema", "audio", "--slots", "64")
            .redirectErrorStream(true).start()
        assertEquals(0, created.waitFor(), created.inputStream.bufferedReader().readText())
        val wav = dir.resolve("take.wav").toFile()
        writeWav(wav)

        val java = File(System.getProperty("java.home"), "bin/java").path
        val classPath = System.getProperty("surefire.test.class.path") ?: System.getProperty("java.class.path")
        val child = ProcessBuilder(
            java, "-cp", classPath, "-Dringflow.lib=${System.getProperty("ringflow.lib")}",
            "dev.ringflow.exit.ExitMainKt", ring, wav.path, dir.resolve("seq").toString(),
        ).redirectErrorStream(true).redirectOutput(dir.resolve("out.txt").toFile()).start()
        // JVM start-up, the calls (a tenth of a second of audio, a short bench) and the exit take a
        // few seconds; a JVM kept alive by an attached non-daemon thread never exits.
        val exited = child.waitFor(30, TimeUnit.SECONDS)
        if (!exited) child.destroyForcibly().waitFor()
        val out = dir.resolve("out.txt").toFile().readText()
        assertTrue("main returned" in out, "main did not finish: $out")
        assertTrue(exited, "the JVM did not exit after main returned: $out")
        assertEquals(0, child.exitValue(), out)
    }

    @Test
    fun `a Rust thread no runtime hook detaches still detaches as it exits`() {
        // As a runtime built before JNI_OnLoad, whose threads the `on_thread_stop` hook misses:
        // a Rust thread attaches for a callback and exits. The JNI spec forbids it to exit
        // attached; the JVM would then keep its Thread alive for ever.
        val thread = Native.attachedThreadForTest()
        assertTrue(thread.isDaemon, "attached as a daemon")
        thread.join(10_000)
        assertFalse(thread.isAlive, "the exited Rust thread is still attached: ${thread.name}, ${thread.state}")
    }

    /** 50 frames (of 480 samples per channel) of 16-bit stereo at 48 kHz, the audio ring's format. */
    private fun writeWav(wav: File) {
        val pcm = ByteBuffer.allocate(24_000 * 4).order(ByteOrder.LITTLE_ENDIAN)
        repeat(24_000) { i -> val v = (i % 100 * 100).toShort(); pcm.putShort(v); pcm.putShort(v) }
        val format = AudioFormat(48_000f, 16, 2, true, false)
        AudioSystem.write(AudioInputStream(pcm.array().inputStream(), format, 24_000), AudioFileFormat.Type.WAVE, wav)
    }
}
