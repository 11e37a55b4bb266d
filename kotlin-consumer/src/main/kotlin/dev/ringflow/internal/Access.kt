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
 * - [JniAccess]: JNI calls (`jni-glue/src/jvm/access_calls.rs`, the same orderings as Rust
 *   atomics on the region's address), for JVMs without `VarHandle`, such as Android below API 33.
 *   An empty JNI call costs about 6 ns here, so the steps a reader or a producer repeats per
 *   frame have batch forms that make one call for a run of frames: [countCommitted] (R2 for a
 *   run), [countGone] and [countIntact] (R3 for a run of views, of copies) and [release] (R4
 *   with its notify check) for readers,
 *   [markWriting] (W2 for a claim) and [publishRun] (W4 and W5 for a commit) for producers. A
 *   `batches()` reader and a `claimBatch` producer make a few calls per batch, not per frame;
 *   payloads are still read and written in place in the direct buffer.
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

    /**
     * A load of a stamp `frames()` looks at again after an `emit` (`ReaderCursor.stillCommittedLook`),
     * with no JNI call: opaque with `VarHandle`s (the same stamp was loaded in Kotlin before, and
     * an opaque load is never answered from that one); plain on the JNI path, where the earlier
     * loads were made in native code (docs/KOTLIN.md, "Android").
     */
    abstract fun getLongLook(region: ByteBuffer, at: Int): Long

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

    /**
     * Whether `frames()` copies the frames it must copy in runs, with R2, R3 and R4 once per run
     * (`ReaderCursor.copyRun`): where each ordered access is a call. With `VarHandle`s copies stay
     * per frame (each access is a few nanoseconds, inlined; runs of copies were not measured
     * there).
     */
    abstract val copiesRuns: Boolean

    /**
     * Whether R3 for a run of protected frames takes docs/FORMAT.md R3's one look at the reader's
     * block (a fence and two loads) instead of re-loading each stamp
     * (`ReaderCursor.tornOfProtected`): with `VarHandle`s, where it measured faster; not on the
     * JNI path, where the look is three calls and [countGone] one.
     */
    abstract val looksOnce: Boolean

    /**
     * R2 for a run: how many frames from [from] on, at most [max], are committed in a row.
     * Frame `s`'s stamp is the `Long` at `descs + (s and mask) * descStride`, loaded with
     * Acquire (the partner: the producer's Release store of `committed(s)`), compared with
     * `2 s + 2`; the count stops at the first that differs.
     */
    open fun countCommitted(region: ByteBuffer, address: Long, descs: Long, descStride: Long, mask: Long, from: Long, max: Int): Int {
        var n = 0
        while (n < max) {
            val s = from + n
            if (getLongAcquire(region, address, (descs + (s and mask) * descStride).toInt()) != 2 * s + 2) break
            n++
        }
        return n
    }

    /**
     * R3 for a run: an acquire fence (the partner: the Release fence after a producer's
     * `writing` stamp), then how many of the [n] frames from [from] on no longer hold their
     * committed stamp (opaque loads).
     */
    open fun countGone(region: ByteBuffer, address: Long, descs: Long, descStride: Long, mask: Long, from: Long, n: Int): Int {
        acquireFence()
        var gone = 0
        for (i in 0 until n) {
            val s = from + i
            if (getLongOpaque(region, address, (descs + (s and mask) * descStride).toInt()) != 2 * s + 2) gone++
        }
        return gone
    }

    /**
     * R3 for a run of copied frames: an acquire fence (the partner: the Release fence after a
     * producer's `writing` stamp), then how many of the [n] frames from [from] on still hold
     * their committed stamp in a row (opaque loads). The copies of those are intact; the next
     * frame was overwritten while the run was copied.
     */
    open fun countIntact(region: ByteBuffer, address: Long, descs: Long, descStride: Long, mask: Long, from: Long, n: Int): Int {
        acquireFence()
        var intact = 0
        while (intact < n) {
            val s = from + intact
            if (getLongOpaque(region, address, (descs + (s and mask) * descStride).toInt()) != 2 * s + 2) break
            intact++
        }
        return intact
    }

    /**
     * R4: an opaque store of [delivered] at [deliveredAt], then a Release store of [next] at
     * [readAt] (the partner: the Acquire load of `read` in a producer's scan); then, if
     * [spaceFutexAt] is not negative (a lossless reader), a full fence and an opaque load of the
     * space futex word there (the sleeper protocol's notify, `ring/src/sleep.rs`). Returns that
     * word (0 for a lossy reader).
     */
    open fun release(region: ByteBuffer, address: Long, deliveredAt: Int, delivered: Long, readAt: Int, next: Long, spaceFutexAt: Int): Int {
        setLongOpaque(region, address, deliveredAt, delivered)
        setLongRelease(region, address, readAt, next)
        if (spaceFutexAt < 0) return 0
        fullFence()
        return getIntOpaque(region, address, spaceFutexAt)
    }

    /**
     * W2 for a claim (docs/FORMAT.md, "Writer obligations"): an opaque store of `writing(s) =
     * 2 s + 1` into the stamp of each of the [n] frames from [first] on (frame `s`'s stamp is the
     * `Long` at `descs + (s and mask) * descStride`), then one release fence: a lossy reader that
     * sees a payload store made after this and then fences with Acquire (R3) sees the stamp.
     */
    open fun markWriting(region: ByteBuffer, address: Long, descs: Long, descStride: Long, mask: Long, first: Long, n: Int) {
        for (i in 0 until n) {
            val s = first + i
            setLongOpaque(region, address, (descs + (s and mask) * descStride).toInt(), 2 * s + 1)
        }
        releaseFence()
    }

    /**
     * W4 and W5 for frames `first until end`, whose descriptors and payloads were stored (plain)
     * before: a release store of `committed(s) = 2 s + 2` into each stamp in order (the partner:
     * R2's Acquire load of the stamp), a release store of `end` at [publishedAt] (`published`;
     * the partner: the Acquire loads of `published` in R1, R8 and the park's re-check), then a
     * full fence (the notifier's half of the sleeper protocol, `ring/src/sleep.rs`) and an
     * opaque load of the data futex word at [dataFutexAt], which it returns.
     */
    open fun publishRun(region: ByteBuffer, address: Long, descs: Long, descStride: Long, mask: Long, first: Long, end: Long, publishedAt: Int, dataFutexAt: Int): Int {
        for (s in first until end) {
            setLongRelease(region, address, (descs + (s and mask) * descStride).toInt(), 2 * s + 2)
        }
        setLongRelease(region, address, publishedAt, end)
        fullFence()
        return getIntOpaque(region, address, dataFutexAt)
    }

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

    override val copiesRuns get() = false

    override val looksOnce get() = true

    override fun getLongAcquire(region: ByteBuffer, address: Long, at: Int): Long = LONGS.getAcquire(region, at) as Long

    override fun getLongOpaque(region: ByteBuffer, address: Long, at: Int): Long = LONGS.getOpaque(region, at) as Long

    override fun getLongLook(region: ByteBuffer, at: Int): Long = LONGS.getOpaque(region, at) as Long

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

    override val copiesRuns get() = true

    override val looksOnce get() = false

    /** JNI calls made through this path (for the tests that count them; not thread-safe). */
    @JvmField
    var calls = 0L

    /** Plain: not a call, and the stamp was last loaded in native code (see [Access.getLongLook]). */
    override fun getLongLook(region: ByteBuffer, at: Int): Long = region.getLong(at)

    override fun countCommitted(region: ByteBuffer, address: Long, descs: Long, descStride: Long, mask: Long, from: Long, max: Int): Int {
        calls++
        return Native.countCommitted(address + descs, descStride, mask, from, max)
    }

    override fun countGone(region: ByteBuffer, address: Long, descs: Long, descStride: Long, mask: Long, from: Long, n: Int): Int {
        calls++
        return Native.countGone(address + descs, descStride, mask, from, n)
    }

    override fun countIntact(region: ByteBuffer, address: Long, descs: Long, descStride: Long, mask: Long, from: Long, n: Int): Int {
        calls++
        return Native.countIntact(address + descs, descStride, mask, from, n)
    }

    override fun release(region: ByteBuffer, address: Long, deliveredAt: Int, delivered: Long, readAt: Int, next: Long, spaceFutexAt: Int): Int {
        calls++
        return Native.release(address, deliveredAt, delivered, readAt, next, spaceFutexAt)
    }

    override fun markWriting(region: ByteBuffer, address: Long, descs: Long, descStride: Long, mask: Long, first: Long, n: Int) {
        calls++
        Native.markWriting(address + descs, descStride, mask, first, n)
    }

    override fun publishRun(region: ByteBuffer, address: Long, descs: Long, descStride: Long, mask: Long, first: Long, end: Long, publishedAt: Int, dataFutexAt: Int): Int {
        calls++
        return Native.publishRun(address, descs.toInt(), descStride, mask, first, end, publishedAt, dataFutexAt)
    }

    override fun getLongAcquire(region: ByteBuffer, address: Long, at: Int): Long {
        calls++
        return Native.loadLongAcquire(address + at)
    }

    override fun getLongOpaque(region: ByteBuffer, address: Long, at: Int): Long {
        calls++
        return Native.loadLongOpaque(address + at)
    }

    override fun setLongOpaque(region: ByteBuffer, address: Long, at: Int, value: Long) {
        calls++
        Native.storeLongOpaque(address + at, value)
    }

    override fun setLongRelease(region: ByteBuffer, address: Long, at: Int, value: Long) {
        calls++
        Native.storeLongRelease(address + at, value)
    }

    override fun getIntOpaque(region: ByteBuffer, address: Long, at: Int): Int {
        calls++
        return Native.loadIntOpaque(address + at)
    }

    override fun acquireFence() {
        calls++
        Native.acquireFence()
    }

    override fun releaseFence() {
        calls++
        Native.fullFence()
    }

    override fun fullFence() {
        calls++
        Native.fullFence()
    }
}
