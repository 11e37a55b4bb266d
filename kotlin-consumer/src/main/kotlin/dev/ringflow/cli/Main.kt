package dev.ringflow.cli

import dev.ringflow.Delivery
import dev.ringflow.Frame
import dev.ringflow.EvictedException
import dev.ringflow.Layout
import dev.ringflow.Parking
import dev.ringflow.ProducerGoneException
import dev.ringflow.ReaderCounts
import dev.ringflow.ReaderCursor
import dev.ringflow.Ring
import dev.ringflow.RingException
import dev.ringflow.RingTimeoutException
import dev.ringflow.Start
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.flow.transformWhile
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess

/**
 * `consume PATH [--frames N] [--from next|oldest|SEQ] [--policy lossless|lossy] [--verify]
 * [--timeout S] [--json]`: reads a ring another process writes, and prints the same summary as
 * `ringflow consume --json`, with the same keys and meanings (`CliTest` holds the two against
 * each other).
 *
 * `--frames N` stops after N frames (a count from 0 to 2^64 - 1; 0 reads none); without it, the
 * command reads until the ring closes. `--from` is where the reader starts, as in `ringflow
 * consume`: a sequence number (`0`, the default: the whole stream; frames already gone are
 * reported in `missed_at_start` and fail `--verify`), `oldest` (the oldest frame still in the
 * ring) or `next` (the next frame published). `start_seq`, `first_seq`, `unseen_before` and
 * `missed_at_start` say where it started; `lost` and `lapped` are the reader's own counts, as
 * its consumer block shows them (`lapped`: times it was lapped). `latency_ns` is sampled on every
 * 64th frame (by sequence), where the Rust CLI records every frame.
 *
 * Exit status: 0 success; 1 the job failed, with one line on stderr saying why, the Rust CLI's
 * words (the native library did not load, verification failed, fewer than N frames because the
 * ring closed or the producer died, timeout, evicted by a producer; also an unexpected error,
 * such as a Rust panic, which reaches the JVM as a `RuntimeException`); 2 bad usage or bad input
 * (one line on stderr naming the argument and its value). `--help` prints the usage and exits 0. SIGINT (Ctrl-C) or SIGTERM
 * stops the reader as the Rust CLI's signal handling does: it unregisters, prints the summary
 * (`"end":"cancelled"`) and exits with the status that summary earns (0 unless `--verify` failed).
 *
 * ```
 * java -jar kotlin-consumer/target/ringflow-kotlin-0.1.0-cli.jar consume /dev/shm/demo --verify --json
 * ```
 */
fun main(args: Array<String>) {
    val stop = Stop()
    val status = CompletableFuture<Int>()
    // SIGINT and SIGTERM start the JVM's shutdown, which runs this hook while `run` goes on: it
    // stops the reader, waits for `run` to print the summary and unregister, and exits with its
    // status (`exitProcess` would block for ever once the shutdown began).
    val hook = Thread {
        stop.request()
        val code = runCatching { status.get(STOP_GRACE_S, TimeUnit.SECONDS) }.getOrElse {
            System.err.println("ringflow-kotlin: the reader did not stop within $STOP_GRACE_S s of the signal")
            1
        }
        System.out.flush()
        Runtime.getRuntime().halt(code)
    }
    Runtime.getRuntime().addShutdownHook(hook)
    val code = runToStatus(status, System.err::println) { run(args, System.out::println, System.err::println, stop) }
    try {
        Runtime.getRuntime().removeShutdownHook(hook)
    } catch (_: IllegalStateException) {
        // A signal came meanwhile: the hook has `code` and exits with it.
        Thread.sleep(Long.MAX_VALUE)
    }
    exitProcess(code)
}

/**
 * Runs [body] and completes [status] with the exit status it returns, whatever happens: an
 * exception that is not a usage or ring error (a Rust panic arrives as a `RuntimeException`)
 * becomes one line on [err] and status 1. Without this, a throwing `run` would leave the shutdown
 * hook waiting [STOP_GRACE_S] for a status that never comes, and then blame a signal nobody sent.
 */
internal fun runToStatus(status: CompletableFuture<Int>, err: (String) -> Unit, body: () -> Int): Int {
    var code = 1
    try {
        code = body()
    } catch (e: Throwable) {
        err("ringflow-kotlin: unexpected error: $e")
    } finally {
        status.complete(code)
    }
    return code
}

/** How long the shutdown hook waits for the stopped reader's summary. */
private const val STOP_GRACE_S = 10L

/**
 * Stops a running `consume` early, as a signal does: the reader unregisters and the summary is
 * printed with `"end":"cancelled"`. Thread-safe; a request before the reader starts stops it as
 * soon as it starts.
 */
class Stop {
    @Volatile
    private var requested = false

    @Volatile
    private var action: (() -> Unit)? = null

    /** Asks the reader to stop. */
    fun request() {
        requested = true
        action?.invoke()
    }

    /** Runs [a] on a request (at once if one came already). */
    internal fun onRequest(a: () -> Unit) {
        action = a
        if (requested) a()
    }
}

private const val USAGE = "usage: consume PATH [--frames N] [--from next|oldest|SEQ] [--policy lossless|lossy] [--verify] [--timeout S] [--json]"

private class Usage(message: String) : Exception(message)

/** Runs the command; returns the exit status. [stop] ends the reading early (see [Stop]). */
fun run(args: Array<String>, out: (String) -> Unit, err: (String) -> Unit, stop: Stop = Stop()): Int {
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
    } catch (e: LinkageError) {
        // The native library did not load (no build for this platform, a bad -Dringflow.lib):
        // one line naming why, as every other failure, not a stack trace.
        err("ringflow-kotlin: ${e.message ?: e.toString()}")
        return 1
    }
    return ring.use { consume(it, options, out, err, stop) }
}

private data class Options(
    val path: String,
    val frames: ULong?,
    val from: Start,
    val delivery: Delivery,
    val verify: Boolean,
    val timeoutMs: Long?,
    val json: Boolean,
) {
    companion object {
        fun parse(args: Array<String>): Options {
            if (args.isEmpty() || args[0] != "consume") throw Usage(USAGE)
            var path: String? = null
            var frames: ULong? = null
            var from: Start = Start.Seq(0)
            var delivery = Delivery.Lossless
            var verify = false
            var timeoutMs: Long? = null
            var json = false
            var i = 1
            fun value(name: String): String = args.getOrNull(++i) ?: throw Usage("$name needs a value")
            while (i < args.size) {
                when (val a = args[i]) {
                    "--frames" -> frames = count(a, value(a))
                    "--from" -> from = start(a, value(a))
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
            return Options(path ?: throw Usage("missing PATH"), frames, from, delivery, verify, timeoutMs, json)
        }

        /**
         * A count from 0 to 2^64 - 1, the Rust CLI's range (a `u64`): malformed, negative or larger
         * is a usage error.
         */
        private fun count(name: String, v: String): ULong =
            v.toULongOrNull() ?: throw Usage("$name must be a count from 0 to ${ULong.MAX_VALUE}, but was '$v'")

        /** `next`, `oldest` or a sequence number below 2^62 (the Rust CLI's `parse_start`). */
        private fun start(name: String, v: String): Start = when (v) {
            "next" -> Start.Next
            "oldest" -> Start.Oldest
            else -> v.toLongOrNull()?.takeIf { it >= 0 && it < Layout.MAX_SEQ }?.let { Start.Seq(it) }
                ?: throw Usage("$name must be next, oldest or a sequence number below 2^62, but was '$v'")
        }

        /**
         * Seconds as milliseconds: a decimal number (Rust's `f64` syntax, not Java's: no `d` or `f`
         * suffix, no hex), non-negative and below 2^64, the Rust CLI's range (what a `Duration`
         * holds). Milliseconds beyond a `Long` mean no timeout in practice.
         */
        private fun seconds(name: String, v: String): Long {
            val s = v.takeIf { DECIMAL.matches(it) }?.toDoubleOrNull()
            if (s == null || s < 0 || s >= 18446744073709551616.0) {
                throw Usage("$name must be a non-negative number of seconds, but was '$v'")
            }
            return if (s * 1000 >= Long.MAX_VALUE.toDouble()) Long.MAX_VALUE else (s * 1000).toLong()
        }

        private val DECIMAL = Regex("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?")
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

private fun consume(ring: Ring, o: Options, out: (String) -> Unit, err: (String) -> Unit, stop: Stop): Int = runBlocking {
    // Every producer's frames are expected from number 0 only if the reader asked for the stream
    // from sequence 0 exactly (the Rust CLI's rule).
    val exactStart = o.from is Start.Seq
    val verifier = Verifier(fromZero = o.from == Start.Seq(0))
    val counts = ReaderCounts()
    var frames = 0L
    var bytes = 0L
    var start = 0L
    val latencies = ArrayList<Long>()
    var end = "closed"
    // More than 2^63 - 1 frames never end by count: read until the ring closes.
    val limit = o.frames?.takeIf { it <= Long.MAX_VALUE.toULong() }?.toLong() ?: Long.MAX_VALUE
    var failed: RingException? = null
    // The ring's count of frames `fail` producers dropped, before the reader registers: those
    // dropped while it reads show as gaps in the payloads that it did not lose.
    val droppedAtStart = ring.stats().dropped
    // The reading runs as a child job, so a stop request cancels it alone: the flow unregisters
    // its reader as it unwinds, and the summary below reports what was read.
    val reading = launch {
        try {
            if (limit > 0) {
                // Stops right after the limit's frame, which the reader still releases; a Long
                // count (`take` counts in Int).
                ring.frames(o.delivery, idleTimeoutMs = o.timeoutMs, counts = counts, start = o.from).transformWhile { f ->
                    emit(f)
                    frames < limit
                }.collect { f ->
                    if (frames == 0L) start = System.nanoTime()
                    frames++
                    bytes += f.length
                    if (o.verify) verifier.record(f)
                    if (f.seq % 64 == 0L && f.timestampNs != 0L) latencies.add(System.nanoTime() - f.timestampNs)
                }
            } else {
                // No frame to read, but registered and unregistered as the Rust CLI is, so the
                // summary says where the reader would have started.
                ReaderCursor.register(ring, o.delivery == Delivery.Lossless, Parking.Thread, o.from).unregister(counts)
            }
            if (o.frames != null && frames.toULong() >= o.frames) end = "frames"
        } catch (e: CancellationException) {
            end = "cancelled"
        } catch (e: RingTimeoutException) {
            end = "timeout"
        } catch (e: ProducerGoneException) {
            end = "producer_gone"
        } catch (e: EvictedException) {
            end = "evicted"
        } catch (e: RingException) {
            failed = e
        }
    }
    stop.onRequest { reading.cancel() }
    reading.join()
    failed?.let {
        err("ringflow-kotlin: ${it.message}")
        return@runBlocking 1
    }
    val elapsed = if (frames == 0L) 0.0 else (System.nanoTime() - start) / 1e9
    latencies.sort()
    fun pct(p: Double) = if (latencies.isEmpty()) 0L else latencies[((latencies.size - 1) * p).toInt()]
    val summary = Summary(
        delivery = o.delivery,
        exactStart = exactStart,
        // The reader's own counts, as its consumer block showed them (what `ringflow consume` reports).
        counts = counts,
        verifier = verifier.takeIf { o.verify },
        droppedByProducers = maxOf(0L, ring.stats().dropped - droppedAtStart),
    )
    val why = summary.verifyFailure()
    val line = "{\"end\":\"$end\",\"frames\":$frames,\"bytes\":$bytes,\"elapsed_s\":$elapsed," +
        "\"frames_per_s\":${Math.round(frames / maxOf(elapsed, 1e-9)).toDouble()}," +
        "\"start_seq\":${counts.startSeq},\"first_seq\":${counts.firstSeq}," +
        "\"unseen_before\":${summary.unseenBefore},\"missed_at_start\":${counts.missedAtStart}," +
        "\"lost\":${counts.lost},\"lapped\":${counts.lapped}," +
        "\"dropped_by_producers\":${summary.droppedByProducers},\"gaps\":${verifier.gaps}," +
        "\"duplicated\":${verifier.duplicated},\"reordered\":${verifier.reordered},\"corrupt\":${verifier.corrupt}," +
        "\"verified\":${if (o.verify) (why == null).toString() else "null"}," +
        "\"latency_ns\":{\"p50\":${pct(0.5)},\"p99\":${pct(0.99)},\"p999\":${pct(0.999)},\"max\":${latencies.lastOrNull() ?: 0}}}"
    if (!o.json) out("consumed $frames frames in ${"%.3f".format(elapsed)} s (${"%.0f".format(frames / maxOf(elapsed, 1e-9))} frames/s)")
    out(line)
    if (!o.json && summary.unseenBefore > 0) {
        val missed = if (counts.missedAtStart > 0) ", ${counts.missedAtStart} of them gone before the reader reached them" else ""
        out("started at frame ${counts.firstSeq ?: "none"} (${summary.unseenBefore} earlier frames not seen$missed)")
    }
    val short = o.frames != null && frames.toULong() < o.frames
    val failure = when {
        why != null -> "verification failed: $why"
        end == "timeout" -> "timed out waiting for frames after $frames frames"
        end == "evicted" -> "evicted by a producer"
        end == "producer_gone" && short -> "the producer died after $frames of ${o.frames} frames"
        end == "closed" && short -> "the ring closed after $frames of ${o.frames} frames"
        else -> null
    }
    if (failure == null) return@runBlocking 0
    err("ringflow-kotlin: $failure")
    1
}

/** What the summary's verdict needs: the Rust CLI's `ConsumeSummary` (`engine/src/task.rs`). */
private class Summary(
    val delivery: Delivery,
    val exactStart: Boolean,
    val counts: ReaderCounts,
    val verifier: Verifier?,
    /** Frames `fail` producers dropped while the reader was registered (the ring's `dropped`). */
    val droppedByProducers: Long,
) {
    /** Frames before the first one read (or, with none read, before where it stopped) that it did not see. */
    val unseenBefore: Long get() = counts.firstSeq ?: counts.nextSeq

    /**
     * Why verification failed, in one line (the Rust `ConsumeSummary::verify_failure`'s words, in
     * its order), or null if it passed or nothing was verified: every frame whole, none
     * duplicated or reordered, for an exact start no frame it asked for gone before it began, no
     * loss for a lossless reader, and the payloads' gaps at least the reader's loss count and at
     * most that plus the frames producers dropped while it read.
     */
    fun verifyFailure(): String? {
        val v = verifier ?: return null
        val lost = counts.lost
        return when {
            v.corrupt > 0 -> "${v.corrupt} frames were torn or corrupt"
            v.duplicated > 0 || v.reordered > 0 -> "${v.duplicated} frames came twice and ${v.reordered} out of order"
            exactStart && counts.missedAtStart > 0 ->
                "${counts.missedAtStart} frames from ${counts.startSeq} on were gone before the reader started " +
                    "(its first frame was ${counts.firstSeq ?: "none"}); start with --from next or --from oldest to " +
                    "accept a late start, or start the reader first (produce --wait-consumers)"
            delivery == Delivery.Lossless && lost > 0 -> "a lossless reader lost $lost frames (overwritten before it read them)"
            v.gaps < lost || v.gaps > lost + droppedByProducers ->
                "the payloads show ${v.gaps} missing frames but the reader counted $lost lost and producers " +
                    "dropped $droppedByProducers while it read"
            else -> null
        }
    }
}
