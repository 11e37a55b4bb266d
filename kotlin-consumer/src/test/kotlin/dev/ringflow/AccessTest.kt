package dev.ringflow

import dev.ringflow.internal.Access
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path

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
}
