package example

import dev.ringflow.Ring
import dev.ringflow.Source
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.runBlocking
import java.nio.file.Files
import kotlin.system.exitProcess

/**
 * Creates a ring, reads it with `frames()` while an engine producer in this process writes it
 * (`produce`, a suspend call), checks that every frame came once and in order, and returns: the
 * JVM exits on its own. Exit status 1 with one line on stderr if a frame was missing.
 */
fun main() {
    val frames = 10_000
    val dir = Files.createTempDirectory("ringflow-example")
    val path = dir.resolve("ring").toString()
    val ok = try {
        runBlocking {
            Ring.create(path, slots = 256, slotSize = 64).use { ring ->
                val reader = async(Dispatchers.Default) {
                    var next = -1L
                    var inOrder = 0
                    ring.frames().take(frames).collect { frame ->
                        if (next < 0 || frame.seq == next) inOrder++
                        next = frame.seq + 1
                    }
                    inOrder
                }
                // Start writing once the reader is registered, so it sees every frame.
                while (ring.stats().consumers.isEmpty()) delay(1)
                val written = ring.produce(Source.Seq, frames = frames.toLong())
                val read = reader.await()
                println("wrote ${written.frames} frames, read $read in order")
                read == frames && written.frames == frames.toLong()
            }
        }
    } finally {
        Files.deleteIfExists(dir.resolve("ring"))
        Files.deleteIfExists(dir)
    }
    if (!ok) {
        System.err.println("kotlin-app: frames were missing or out of order")
        exitProcess(1)
    }
}
