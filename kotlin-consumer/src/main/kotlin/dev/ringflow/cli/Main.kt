package dev.ringflow.cli

import dev.ringflow.Delivery
import dev.ringflow.Frame
import dev.ringflow.EvictedException
import dev.ringflow.ProducerGoneException
import dev.ringflow.ReaderCounts
import dev.ringflow.Ring
import dev.ringflow.RingException
import dev.ringflow.RingTimeoutException
import kotlinx.coroutines.flow.transformWhile
import kotlinx.coroutines.runBlocking
import kotlin.system.exitProcess

/**
 * `consume PATH [--frames N] [--policy lossless|lossy] [--verify] [--timeout S] [--json]`: reads a
 * ring another process writes, and prints the same summary as `ringflow consume --json`.
 *
 * `--frames N` stops after N frames (a count from 0 to 2^63 - 1; 0 reads none); without it, the
 * command reads until the ring closes. `lost` and `lapped` in the summary are the reader's own
 * counts, as its consumer block shows them (`lapped`: times it was lapped).
 *
 * Exit status: 0 success; 1 the job failed (verification failed, producer gone before N frames,
 * timeout, evicted by a producer); 2 bad usage or bad input (one line on stderr naming the
 * argument and its value). `--help` prints the usage and exits 0.
 *
 * ```
 * java -Dringflow.lib=target/release/libringflow_jni.so -jar kotlin-consumer/target/ringflow-kotlin-cli.jar consume /dev/shm/demo --verify --json
 * ```
 */
fun main(args: Array<String>) {
    exitProcess(run(args, System.out::println, System.err::println))
}

private const val USAGE = "usage: consume PATH [--frames N] [--policy lossless|lossy] [--verify] [--timeout S] [--json]"

private class Usage(message: String) : Exception(message)

/** Runs the command; returns the exit status. */
fun run(args: Array<String>, out: (String) -> Unit, err: (String) -> Unit): Int {
    if (args.any { it == "--help" || it == "-h" }) {
        out(USAGE)
        return 0
    }
    val options = try {
        Options.parse(args)
    } catch (e: Usage) {
        err("ringflow-kotlin: ${e.message}")
        return 2
    }
    val ring = try {
        Ring.open(options.path)
    } catch (e: RingException) {
        err("ringflow-kotlin: ${e.message}")
        return 2
    }
    return ring.use { consume(it, options, out, err) }
}

private data class Options(
    val path: String,
    val frames: Long?,
    val delivery: Delivery,
    val verify: Boolean,
    val timeoutMs: Long?,
    val json: Boolean,
) {
    companion object {
        fun parse(args: Array<String>): Options {
            if (args.isEmpty() || args[0] != "consume") throw Usage(USAGE)
            var path: String? = null
            var frames: Long? = null
            var delivery = Delivery.Lossless
            var verify = false
            var timeoutMs: Long? = null
            var json = false
            var i = 1
            fun value(name: String): String = args.getOrNull(++i) ?: throw Usage("$name needs a value")
            while (i < args.size) {
                when (val a = args[i]) {
                    "--frames" -> frames = count(a, value(a))
                    "--policy" -> delivery = when (val v = value(a)) {
                        "lossless" -> Delivery.Lossless
                        "lossy" -> Delivery.Lossy
                        else -> throw Usage("--policy must be lossless or lossy, but was '$v'")
                    }
                    "--verify" -> verify = true
                    "--timeout" -> timeoutMs = seconds(a, value(a))
                    "--json" -> json = true
                    else -> if (a.startsWith("-") || path != null) throw Usage("unexpected argument '$a'") else path = a
                }
                i++
            }
            return Options(path ?: throw Usage("missing PATH"), frames, delivery, verify, timeoutMs, json)
        }

        /** A count from 0 to `Long.MAX_VALUE`: malformed, negative or larger is a usage error. */
        private fun count(name: String, v: String): Long =
            v.toLongOrNull()?.takeIf { it >= 0 }
                ?: throw Usage("$name must be a count from 0 to ${Long.MAX_VALUE}, but was '$v'")

        /** Seconds as milliseconds: a finite, non-negative number whose milliseconds fit a `Long`. */
        private fun seconds(name: String, v: String): Long {
            val s = v.toDoubleOrNull()
            if (s == null || !s.isFinite() || s < 0 || s * 1000 >= Long.MAX_VALUE.toDouble()) {
                throw Usage("$name must be a non-negative number of seconds, but was '$v'")
            }
            return (s * 1000).toLong()
        }
    }
}

/** Checks `seq` frames (ring/src/pattern.rs) per producer: corrupt, gaps, duplicates, reordering. */
private class Verifier(private val fromZero: Boolean) {
    var corrupt = 0L
    var gaps = 0L
    var duplicated = 0L
    var reordered = 0L
    private val next = HashMap<Int, Long>()

    private fun filler(seq: Long, producer: Int, i: Int): Byte {
        val x = (seq xor (producer.toLong() shl 40)) * -0x61c8864680b583ebL
        return ((x ushr ((i % 8) * 8)).toInt() xor (i / 8)).toByte()
    }

    fun record(f: Frame) {
        if (f.length < 16) { corrupt++; return }
        var seq = 0L
        for (b in 7 downTo 0) seq = (seq shl 8) or (f[b].toLong() and 0xff)
        var producer = 0
        for (b in 11 downTo 8) producer = (producer shl 8) or (f[b].toInt() and 0xff)
        var len = 0
        for (b in 15 downTo 12) len = (len shl 8) or (f[b].toInt() and 0xff)
        if (len != f.length || (16 until f.length).any { f[it] != filler(seq, producer, it) }) { corrupt++; return }
        val expected = next[producer] ?: if (fromZero) 0L else seq
        when {
            seq == expected -> next[producer] = seq + 1
            seq > expected -> { gaps += seq - expected; next[producer] = seq + 1 }
            seq + 1 == expected -> duplicated++
            else -> reordered++
        }
    }
}

private fun consume(ring: Ring, o: Options, out: (String) -> Unit, err: (String) -> Unit): Int = runBlocking {
    val verifier = Verifier(fromZero = true)
    val counts = ReaderCounts()
    var frames = 0L
    var bytes = 0L
    var start = 0L
    val latencies = ArrayList<Long>()
    var end = "closed"
    val limit = o.frames ?: Long.MAX_VALUE
    try {
        if (limit > 0) {
            // Stops right after the limit's frame, which the reader still releases; a Long count
            // (`take` counts in Int).
            ring.frames(o.delivery, idleTimeoutMs = o.timeoutMs, counts = counts).transformWhile { f ->
                emit(f)
                frames < limit
            }.collect { f ->
                if (frames == 0L) start = System.nanoTime()
                frames++
                bytes += f.length
                if (o.verify) verifier.record(f)
                if (f.seq % 64 == 0L && f.timestampNs != 0L) latencies.add(System.nanoTime() - f.timestampNs)
            }
        }
        if (o.frames != null && frames >= o.frames) end = "frames"
    } catch (e: RingTimeoutException) {
        end = "timeout"
    } catch (e: ProducerGoneException) {
        end = "producer_gone"
    } catch (e: EvictedException) {
        end = "evicted"
    } catch (e: RingException) {
        err("ringflow-kotlin: ${e.message}")
        return@runBlocking 1
    }
    // The reader's own counts, as its consumer block showed them (what `ringflow consume` reports).
    val lost = counts.lost
    val lapped = counts.lapped
    val elapsed = if (frames == 0L) 0.0 else (System.nanoTime() - start) / 1e9
    latencies.sort()
    fun pct(p: Double) = if (latencies.isEmpty()) 0L else latencies[((latencies.size - 1) * p).toInt()]
    val clean = verifier.corrupt == 0L && verifier.duplicated == 0L && verifier.reordered == 0L &&
        verifier.gaps == lost && (o.delivery == Delivery.Lossy || lost == 0L)
    val verified = if (o.verify) clean.toString() else "null"
    val line = "{\"end\":\"$end\",\"frames\":$frames,\"bytes\":$bytes,\"elapsed_s\":$elapsed," +
        "\"frames_per_s\":${if (elapsed > 0) Math.round(frames / elapsed) else 0},\"lost\":$lost,\"lapped\":$lapped,\"gaps\":${verifier.gaps}," +
        "\"duplicated\":${verifier.duplicated},\"reordered\":${verifier.reordered},\"corrupt\":${verifier.corrupt}," +
        "\"verified\":$verified,\"latency_ns\":{\"p50\":${pct(0.5)},\"p99\":${pct(0.99)},\"max\":${latencies.lastOrNull() ?: 0}}}"
    if (!o.json) out("consumed $frames frames in ${"%.3f".format(elapsed)} s")
    out(line)
    when {
        o.verify && !clean -> 1
        end == "timeout" -> 1
        end == "evicted" -> 1
        end == "producer_gone" && o.frames != null && frames < o.frames -> 1
        else -> 0
    }
}
