package dev.ringflow.jmh

import dev.ringflow.Frame
import dev.ringflow.Ring
import dev.ringflow.baseline.NaiveJniReader
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking

/** The Kotlin halves of the benchmarks (JMH's annotation processor sees only the Java classes). */
object Drain {
    /** Reads every byte of a frame, 8 at a time. */
    @JvmStatic
    fun touch(f: Frame): Long {
        var acc = 0L
        var i = 0
        while (i + 8 <= f.length) {
            acc = acc xor f.getLong(i)
            i += 8
        }
        while (i < f.length) acc = acc xor f[i++].toLong()
        return acc
    }

    /**
     * Ends a collection after enough frames without allocating: `take` and `first` call a suspend
     * lambda per element, which allocates its continuation each time (measured: 40 B/frame), and
     * would be charged to the flow.
     */
    private object Enough : RuntimeException() {
        private fun readResolve(): Any = Enough
        override fun fillInStackTrace(): Throwable = this
    }

    /** Collects [n] frames from `ring.frames()`, one emission per frame. */
    @JvmStatic
    fun frames(ring: Ring, n: Int): Long = runBlocking {
        var acc = 0L
        var got = 0
        try {
            ring.frames().collect { f ->
                acc = acc xor touch(f)
                if (++got == n) throw Enough
            }
        } catch (e: Enough) {
        }
        acc
    }

    /** Collects at least [n] frames from `ring.batches(256)`. */
    @JvmStatic
    fun batches(ring: Ring, n: Int): Long = runBlocking {
        var acc = 0L
        var got = 0
        try {
            ring.batches(256).collect { b ->
                for (i in 0 until b.size) acc = acc xor touch(b[i])
                got += b.size
                if (got >= n) throw Enough
            }
        } catch (e: Enough) {
        }
        acc
    }

    /**
     * The naive bridge: a coroutine on Dispatchers.IO copies each frame through JNI into a new
     * `ByteArray` and sends it on a `Channel`; the caller receives [n] of them.
     */
    @JvmStatic
    fun naive(ring: Ring, n: Int, frameSize: Int): Long = runBlocking {
        val channel = Channel<ByteArray>(4096)
        val reader = NaiveJniReader(ring)
        val pump = launch(Dispatchers.IO) {
            var sent = 0
            while (sent < n) {
                val bytes = ByteArray(frameSize)
                while (reader.copyNext(bytes) < 0) Thread.onSpinWait()
                channel.send(bytes)
                sent++
            }
        }
        var acc = 0L
        repeat(n) {
            val bytes = channel.receive()
            for (b in bytes) acc = acc xor b.toLong()
        }
        pump.join()
        reader.close()
        acc
    }
}
