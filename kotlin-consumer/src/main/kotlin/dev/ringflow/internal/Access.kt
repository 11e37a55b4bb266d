package dev.ringflow.internal

import java.lang.invoke.MethodHandles
import java.lang.invoke.VarHandle
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * The reader's and the writer's ordered accesses to shared memory (the stamps, the read cursor,
 * `published`, the counters, the fences), in one small interface with two implementations:
 *
 * - [VarHandleAccess]: `MethodHandles.byteBufferViewVarHandle` over the region's direct buffer,
 *   about 2 ns an access, inlined by the JIT. Needs `java.lang.invoke.VarHandle`: JDK 9+,
 *   Android API 33+.
 * - [JniAccess]: one JNI call per access (`jni-glue/src/jvm/access_calls.rs`, the same orderings
 *   as Rust atomics on the region's address), for JVMs without `VarHandle`, such as Android below
 *   API 33. An empty JNI call costs about 6 ns here, and a frame takes four to five accesses.
 *   The payload is still read in place from the direct buffer.
 *
 * `-Dringflow.access=varhandle|jni` selects one; without it, `VarHandle` if the class exists,
 * else JNI. Each method names the Java access mode it has; the call sites (`ReaderCursor`, `RingProducer`) name
 * the partner of each.
 *
 * Thread safety: stateless; the caller owns the words' protocol.
 */
internal sealed class Access(val name: String) {
    /** Acquire load of the `Long` at byte [at] of [region] (whose native address is [address]). */
    abstract fun getLongAcquire(region: ByteBuffer, address: Long, at: Int): Long

    /** Opaque load of a `Long`. */
    abstract fun getLongOpaque(region: ByteBuffer, address: Long, at: Int): Long

    /** Opaque store of a `Long`. */
    abstract fun setLongOpaque(region: ByteBuffer, address: Long, at: Int, value: Long)

    /** Release store of a `Long`. */
    abstract fun setLongRelease(region: ByteBuffer, address: Long, at: Int, value: Long)

    /** Opaque load of an `Int`. */
    abstract fun getIntOpaque(region: ByteBuffer, address: Long, at: Int): Int

    /** `VarHandle.acquireFence()`. */
    abstract fun acquireFence()

    /** `VarHandle.releaseFence()` (the JNI path makes it a full fence, which is stronger). */
    abstract fun releaseFence()

    /** `VarHandle.fullFence()`. */
    abstract fun fullFence()

    /** Whether the JNI path needs the region's address (else 0 is passed). */
    abstract val needsAddress: Boolean

    companion object {
        /** The system property that selects the access path. */
        const val PROPERTY = "ringflow.access"

        /** The access path of this JVM, chosen once. */
        @JvmField
        val current: Access = when (val chosen = System.getProperty(PROPERTY)) {
            "varhandle" -> VarHandleAccess
            "jni" -> JniAccess
            null -> if (hasVarHandle()) VarHandleAccess else JniAccess
            else -> throw IllegalArgumentException("-D$PROPERTY must be varhandle or jni, but was '$chosen'")
        }

        private fun hasVarHandle() = try {
            Class.forName("java.lang.invoke.VarHandle")
            true
        } catch (_: ClassNotFoundException) {
            false
        }
    }
}

/** [Access] through `VarHandle`s over the direct buffer (JDK 9+, Android API 33+). */
internal object VarHandleAccess : Access("varhandle") {
    private val LONGS: VarHandle = MethodHandles.byteBufferViewVarHandle(LongArray::class.java, ByteOrder.nativeOrder())
    private val INTS: VarHandle = MethodHandles.byteBufferViewVarHandle(IntArray::class.java, ByteOrder.nativeOrder())

    override val needsAddress get() = false

    override fun getLongAcquire(region: ByteBuffer, address: Long, at: Int): Long = LONGS.getAcquire(region, at) as Long

    override fun getLongOpaque(region: ByteBuffer, address: Long, at: Int): Long = LONGS.getOpaque(region, at) as Long

    override fun setLongOpaque(region: ByteBuffer, address: Long, at: Int, value: Long) = LONGS.setOpaque(region, at, value)

    override fun setLongRelease(region: ByteBuffer, address: Long, at: Int, value: Long) = LONGS.setRelease(region, at, value)

    override fun getIntOpaque(region: ByteBuffer, address: Long, at: Int): Int = INTS.getOpaque(region, at) as Int

    override fun acquireFence() = VarHandle.acquireFence()

    override fun releaseFence() = VarHandle.releaseFence()

    override fun fullFence() = VarHandle.fullFence()
}

/** [Access] through JNI calls on the region's address (any JVM, Android API 21+). */
internal object JniAccess : Access("jni") {
    override val needsAddress get() = true

    override fun getLongAcquire(region: ByteBuffer, address: Long, at: Int): Long = Native.loadLongAcquire(address + at)

    override fun getLongOpaque(region: ByteBuffer, address: Long, at: Int): Long = Native.loadLongOpaque(address + at)

    override fun setLongOpaque(region: ByteBuffer, address: Long, at: Int, value: Long) = Native.storeLongOpaque(address + at, value)

    override fun setLongRelease(region: ByteBuffer, address: Long, at: Int, value: Long) = Native.storeLongRelease(address + at, value)

    override fun getIntOpaque(region: ByteBuffer, address: Long, at: Int): Int = Native.loadIntOpaque(address + at)

    override fun acquireFence() = Native.acquireFence()

    override fun releaseFence() = Native.fullFence()

    override fun fullFence() = Native.fullFence()
}
