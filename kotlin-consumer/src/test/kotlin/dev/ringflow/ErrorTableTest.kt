package dev.ringflow

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * The one error table (`ErrorKind::boundary` in `engine/src/error.rs`) held against the Kotlin
 * side: every kind's exception class exists here and is a [RingException], and the classes the
 * issue once found overlapping now say one thing each.
 */
class ErrorTableTest {
    private val rows = Ring.errorTable().lines().filter { it.isNotBlank() }.map { it.split(' ') }

    @Test
    fun `every kind's Kotlin class exists and is a RingException`() {
        assertTrue(rows.size >= 14, "rows: $rows")
        for (row in rows) {
            val (kind, _, _, jniName, _) = row
            val cls = Class.forName(jniName.replace('/', '.'))
            assertTrue(RingException::class.java.isAssignableFrom(cls), "$kind -> $cls")
        }
    }

    @Test
    fun `a timeout, an eviction and a stale handle each have their own class`() {
        val byKind = rows.associate { it[0] to it[3].substringAfterLast('/') }
        assertEquals("RingTimeoutException", byKind["Timeout"])
        assertEquals("EvictedException", byKind["Evicted"])
        assertEquals("StaleHandleException", byKind["UnknownHandle"])
    }
}
