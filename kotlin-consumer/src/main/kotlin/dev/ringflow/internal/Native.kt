package dev.ringflow.internal

import java.nio.ByteBuffer

/**
 * The JNI entry points of `jni-glue` (`jni-glue/src/lib.rs`, one Rust function each).
 *
 * Called to open, register, park, wake, start producers and suspend calls, and read stats, never
 * per frame read; by a [dev.ringflow.RingProducer] once per claim and once per commit on a
 * multi-producer ring or under `Overwrite`, else only when its cached gate is used up and to wake
 * a sleeping reader.
 * Errors arrive as [dev.ringflow.RingException] subclasses.
 */
internal object Native {
    init {
        // -Dringflow.lib, else the jar's library for this platform: see NativeLibrary.
        NativeLibrary.load()
    }

    @JvmStatic external fun open(path: String): Long
    @JvmStatic external fun create(path: String, slots: Int, slotSize: Int, consumers: Int): Long
    @JvmStatic external fun buffer(ring: Long): ByteBuffer
    @JvmStatic external fun layout(): String

    // The JNI access path (Access.kt, jni-glue/src/jvm/access_calls.rs): one atomic access of the
    // named ordering on the word at address `at` of a mapped region.
    @JvmStatic external fun regionAddress(ring: Long): Long
    @JvmStatic external fun loadLongAcquire(at: Long): Long
    @JvmStatic external fun loadLongOpaque(at: Long): Long
    @JvmStatic external fun storeLongOpaque(at: Long, value: Long)
    @JvmStatic external fun storeLongRelease(at: Long, value: Long)
    @JvmStatic external fun loadIntOpaque(at: Long): Int
    @JvmStatic external fun acquireFence()
    @JvmStatic external fun fullFence()
    @JvmStatic external fun countCommitted(descs: Long, descStride: Long, mask: Long, from: Long, max: Int): Int
    @JvmStatic external fun countGone(descs: Long, descStride: Long, mask: Long, from: Long, n: Int): Int
    @JvmStatic external fun countIntact(descs: Long, descStride: Long, mask: Long, from: Long, n: Int): Int
    @JvmStatic external fun release(address: Long, deliveredAt: Int, delivered: Long, readAt: Int, next: Long, spaceFutexAt: Int): Int
    @JvmStatic external fun markWriting(descs: Long, descStride: Long, mask: Long, first: Long, n: Int)
    @JvmStatic external fun publishRun(address: Long, descsAt: Int, descStride: Long, mask: Long, first: Long, end: Long, publishedAt: Int, dataFutexAt: Int): Int
    /** [startKind] and [startSeq] encode a [dev.ringflow.Start] (its `kind` and `seq`). */
    @JvmStatic external fun register(ring: Long, lossy: Boolean, startKind: Int, startSeq: Long): Long
    @JvmStatic external fun consumerIndex(consumer: Long): Int
    @JvmStatic external fun startSeq(consumer: Long): Long
    @JvmStatic external fun protectedFrom(consumer: Long): Long
    @JvmStatic external fun unregister(consumer: Long)
    @JvmStatic external fun waitPublished(ring: Long, seen: Long, timeoutMs: Long): Long
    @JvmStatic external fun wake(ring: Long)
    @JvmStatic external fun notifySpace(ring: Long)
    // Producers (jni-glue/src/jvm/producer_calls.rs): one call per claim and per commit, the
    // payloads written in place by Kotlin. `meta`: length and kind per frame, two ints each.
    @JvmStatic external fun producerAttach(ring: Long, policy: Int, timeoutMs: Long): Long
    @JvmStatic external fun producerClaim(producer: Long, n: Int): Long
    @JvmStatic external fun producerCommitOne(producer: Long, length: Int, kind: Int)
    @JvmStatic external fun producerCommit(producer: Long, frames: Int, meta: ByteBuffer)
    @JvmStatic external fun producerClose(producer: Long)
    // A single producer's writer steps in Kotlin (docs/FORMAT.md, "Writer obligations"): the gate
    // when the cached one is used up, the wake when a reader armed the data futex.
    @JvmStatic external fun producerGate(producer: Long, first: Long, end: Long): Long
    @JvmStatic external fun producerNotify(producer: Long)
    @JvmStatic external fun startSeqProducer(ring: Long, frames: Long, frameSize: Int): Long
    @JvmStatic external fun cancel(handle: Long)
    @JvmStatic external fun stats(ring: Long): String
    @JvmStatic external fun close(ring: Long)
    @JvmStatic external fun remove(path: String)
    @JvmStatic external fun forgetConsumer(ring: Long, name: String, force: Boolean): Boolean
    @JvmStatic external fun liveConsumers(): Int
    @JvmStatic external fun liveProducers(): Int
    @JvmStatic external fun startProducer(ring: Long, source: Int, frames: Long, rate: Double): Long
    @JvmStatic external fun statsValues(ring: Long): LongArray
    @JvmStatic external fun cachedExceptionClasses(): Int
    /** Test hook: the one error table, a line per kind (`KIND C_NAME C_STATUS CLASS EXIT`). */
    @JvmStatic external fun errorTable(): String
    @JvmStatic external fun panicForTest(message: String)
    @JvmStatic external fun copyNext(consumer: Long, into: ByteArray): Int

    // For the reader conformance tests: a Rust producer with `evict_after` (0: none), pushing
    // `seq` pattern frames (the n-th carries n), blocking while full; detaching closes the ring.
    @JvmStatic external fun testProducerAttach(ring: Long, evictAfterMs: Long): Long
    @JvmStatic external fun testProducerPush(producer: Long, frames: Long): Long
    @JvmStatic external fun testProducerDetach(producer: Long)
    @JvmStatic external fun testProducerAbandon(producer: Long)

    // For the reader conformance tests: the Rust consumer's `recv` (it waits as a Rust reader
    // does) copying the frame into `into`; -1 if none came within the timeout.
    @JvmStatic external fun recvNext(consumer: Long, into: ByteArray, timeoutMs: Long): Int

    // Suspend calls (jni-glue/src/calls.rs): each starts a Rust task that resumes `completion`
    // when it ends, and returns the task's handle for cancelCall.
    @JvmStatic external fun callProducer(completion: Completion, ring: Long, source: Int, frames: Long, rate: Double): Long
    @JvmStatic external fun callImportWav(completion: Completion, ring: Long, path: String): Long
    @JvmStatic external fun callAwaitData(completion: Completion, ring: Long, seen: Long): Long
    @JvmStatic external fun callBench(completion: Completion, frames: Long, frameSize: Int, consumers: Int, producers: Int): Long
    @JvmStatic external fun callTest(completion: Completion, value: Long, delayUs: Long, outcome: Int): Long
    @JvmStatic external fun cancelCall(handle: Long): Boolean
    @JvmStatic external fun pendingCalls(): Int
    @JvmStatic external fun liveHandles(): Int
    @JvmStatic external fun attachedThreads(): Int
    @JvmStatic external fun attachedThreadForTest(): Thread
    @JvmStatic external fun setCallJitterForTest(maxUs: Long)
}
