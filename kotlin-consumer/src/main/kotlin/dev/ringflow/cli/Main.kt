package dev.ringflow.cli

import dev.ringflow.Delivery
import dev.ringflow.Frame
import dev.ringflow.ProducerGoneException
import dev.ringflow.Ring
import dev.ringflow.RingException
import dev.ringflow.RingTimeoutException
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.runBlocking
import kotlin.system.exitProcess

/**
 * `consume PATH [--frames N] [--policy lossless|lossy] [--verify] [--timeout S] [--json]`: reads a
 * ring another process writes, and prints the same summary as `ringflow consume --json`.
 *
 * Exit status: 0 success; 1 the job failed (verification failed, producer gone before N frames,
 * timeout); 2 bad usage or bad input.
 *
 * ```
 * java -Dringflow.lib=target/release/libringflow_jni.so -jar kotlin-consumer/target/ringflow-kotlin-cli.jar consume /dev/shm/demo --verify --json
 * ```
 */
fun main(args: Array<String>) {
    exitProcess(run(args, System.out::println, System.err::println))
}

private class Usage(message: String) : Exception(message)

/** Runs the command; returns the exit status. */
fun run(args: Array<String>, out: (String) -> Unit, err: (String) -> Unit): Int {
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
            if (args.isEmpty() || args[0] != "consume") throw Usage("usage: consume PATH [--frames N] [--policy lossless|lossy] [--verify] [--timeout S] [--json]")
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
                    "--frames" -> frames = value(a).toLongOrNull()?.takeIf { it >= 0 } ?: throw Usage("--frames must be a count")
                    "--policy" -> delivery = when (value(a)) {
                        "lossless" -> Delivery.Lossless
                        "lossy" -> Delivery.Lossy
                        else -> throw Usage("--policy must be lossless or lossy")
                    }
                    "--verify" -> verify = true
                    "--timeout" -> timeoutMs = value(a).toDoubleOrNull()?.takeIf { it >= 0 }?.let { (it * 1000).toLong() }
                        ?: throw Usage("--timeout must be a number of seconds")
                    "--json" -> json = true
                    else -> if (a.startsWith("--") || path != null) throw Usage("unexpected argument '$a'") else path = a
                }
                i++
            }
            return Options(path ?: throw Usage("missing PATH"), frames, delivery, verify, timeoutMs, json)
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
    var frames = 0L
    var bytes = 0L
    var lost = 0L
    var lapped = 0L
    var start = 0L
    val latencies = ArrayList<Long>()
    var end = "closed"
    var flow = ring.frames(o.delivery, idleTimeoutMs = o.timeoutMs)
    if (o.frames != null) flow = flow.take(o.frames.toInt())
    try {
        flow.collect { f ->
            if (frames == 0L) start = System.nanoTime()
            frames++
            bytes += f.length
            lost += f.lostBefore
            if (f.lostBefore > 0) lapped++
            if (o.verify) verifier.record(f)
            if (f.seq % 64 == 0L && f.timestampNs != 0L) latencies.add(System.nanoTime() - f.timestampNs)
        }
        if (o.frames != null && frames >= o.frames) end = "frames"
    } catch (e: RingTimeoutException) {
        end = "timeout"
    } catch (e: ProducerGoneException) {
        end = "producer_gone"
    } catch (e: RingException) {
        err("ringflow-kotlin: ${e.message}")
        return@runBlocking 1
    }
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
        end == "producer_gone" && o.frames != null && frames < o.frames -> 1
        else -> 0
    }
}
