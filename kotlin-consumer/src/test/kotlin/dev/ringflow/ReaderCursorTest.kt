package dev.ringflow

import dev.ringflow.internal.Native
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import kotlin.math.abs

class ReaderCursorTest {
    @field:TempDir
    lateinit var dir: Path

    /**
     * R5 writes `System.nanoTime()` where a Rust producer compares `CLOCK_MONOTONIC`: the two must
     * be the same clock (HotSpot on Linux reads that one), or the JVM reader's heartbeat looks
     * years old, or from the future, to an evicting producer.
     */
    @Test
    fun `the JVM clock is the Rust heartbeat clock`() {
        Ring.create(dir.resolve("ring").toString(), slots = 16, slotSize = 32).use { ring ->
            val before = System.nanoTime()
            val consumer = Native.register(ring.handle, false, Start.Next.kind, 0) // Rust writes heartbeat_ns = CLOCK_MONOTONIC
            val after = System.nanoTime()
            try {
                val block = Layout.CONSUMERS_OFFSET + Native.consumerIndex(consumer) * Layout.CONSUMER_BLOCK_LEN
                val rust = ring.region.getLong((block + Layout.CONSUMER_HEARTBEAT_OFFSET).toInt())
                // A millisecond of slack for the clocks' reading paths (vDSO both, in practice ns apart).
                assertTrue(rust >= before - 1_000_000 && rust <= after + 1_000_000, "Rust $rust, JVM $before..$after (${abs(rust - before)} ns apart)")
            } finally {
                Native.unregister(consumer)
            }
        }
    }
}
