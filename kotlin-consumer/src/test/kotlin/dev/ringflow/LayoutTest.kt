package dev.ringflow

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class LayoutTest {
    @Test
    fun `every Kotlin offset equals the Rust one and none is missing`() {
        val rust = Ring.rustLayout().lines().filter { it.isNotBlank() }.associate {
            val (name, value) = it.split('=')
            name to value.toBigInteger()
        }
        val kotlin = Layout::class.java.declaredFields
            .filter { java.lang.reflect.Modifier.isStatic(it.modifiers) && it.type == Long::class.javaPrimitiveType }
            .associate { it.name to (it.get(null) as Long).toBigInteger() }
        assertEquals(rust.keys.sorted(), kotlin.keys.sorted())
        for ((name, value) in rust) assertEquals(value, kotlin[name], name)
    }
}
