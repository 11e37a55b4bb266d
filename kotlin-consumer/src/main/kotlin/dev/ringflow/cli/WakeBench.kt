package dev.ringflow.cli

import dev.ringflow.Parking
import dev.ringflow.Ring
import dev.ringflow.Source
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import java.io.File

/** The ring's JNI handle (for the blocking-wait comparison only). */
private fun ringHandle(ring: Ring): Long = ring.handleForBench

/**
 * Wake-up latency and threads of the two ways a reader waits ([Parking.Thread]: a thread of
 * `Dispatchers.IO` parked in the futex; [Parking.Suspend]: suspended, resumed by the ring's one
 * Rust waiter thread). Prints one JSON object per round and a summary.
 *
 * Latency: a Rust engine producer in this process writes 1,000 frames/s (so the reader parks
 * before each one); the reader records `System.nanoTime()` (CLOCK_MONOTONIC on Linux) minus the
 * frame's producer timestamp. The modes alternate round by round (the VM's placement drifts).
 *
 * ```
 * java -cp kotlin-consumer/target/ringflow-kotlin-0.1.0-cli.jar dev.ringflow.cli.WakeBenchKt [rounds] [subscribers]
 * ```
 */
fun main(args: Array<String>) = runBlocking {
    val rounds = args.getOrNull(0)?.toInt() ?: 6
    val subscribers = args.getOrNull(1)?.toInt() ?: 200
    val path = File.createTempFile("ringflow-wake", ".ring").path
    // A fresh ring per measurement: a ring whose producer ended is closed.
    fun fresh() = Ring.create(path, slots = 256, slotSize = 64, consumers = 256)
    val medians = mutableMapOf<Parking, MutableList<Long>>()
    repeat(rounds) { round ->
        for (mode in Parking.entries) fresh().use { ring ->
                val frames = 300
                val latencies = LongArray(frames)
                val reader = async(Dispatchers.Default) {
                    var i = 0
                    ring.frames(parking = mode).take(frames).collect { f ->
                        latencies[i++] = System.nanoTime() - f.timestampNs
                    }
                }
                while (ring.stats().consumers.isEmpty()) delay(1)
                val task = ring.startProducer(Source.Seq, frames.toLong(), rate = 1_000.0)
                reader.await()
                ring.cancelTask(task)
                latencies.sort()
                val p50 = latencies[frames / 2]
                medians.getOrPut(mode) { mutableListOf() }.add(p50)
                println("""{"round":$round,"parking":"$mode","frames":$frames,"p50_us":${p50 / 1000.0},"p99_us":${latencies[frames * 99 / 100] / 1000.0}}""")
        }
    }
    // Threads while waiters wait for a frame, and how long until every one of them saw it.
    // Suspending modes first: the blocking modes grow Dispatchers.IO, whose threads then linger.
    val waits = listOf(
        "flows, Parking.Suspend" to subscribers, "awaitData" to 1_000,
        "flows, Parking.Thread" to subscribers, "blocking wait on Dispatchers.IO" to 1_000,
    )
    for ((mode, n) in waits) fresh().use { ring ->
        val before = File("/proc/self/task").list()!!.size
        val handle = ringHandle(ring)
        val waiters = (0 until n).map {
            launch(Dispatchers.Default) {
                when (mode) {
                    "flows, Parking.Suspend" -> ring.frames(parking = Parking.Suspend).take(1).collect { }
                    "flows, Parking.Thread" -> ring.frames(parking = Parking.Thread).take(1).collect { }
                    "awaitData" -> ring.awaitData(0)
                    else -> kotlinx.coroutines.withContext(Dispatchers.IO) {
                        while (dev.ringflow.internal.Native.waitPublished(handle, 0, 50) == 0L) { }
                    }
                }
            }
        }
        delay(1_000) // let them all reach their wait (a measurement, not a test)
        val during = File("/proc/self/task").list()!!.size
        val start = System.nanoTime()
        val task = ring.startProducer(Source.Seq, 1, rate = 0.0)
        waiters.forEach { it.join() }
        val allWoken = (System.nanoTime() - start) / 1_000_000.0
        ring.cancelTask(task)
        println("""{"wait":"$mode","waiters":$n,"threads_before":$before,"threads_waiting":$during,"all_woken_ms":$allWoken}""")
    }
    File(path).delete()
    val summary = medians.entries.joinToString(",") { (mode, m) -> "\"${mode}_median_p50_us\":${m.sorted()[m.size / 2] / 1000.0}" }
    println("{$summary}")
}
