package dev.ringflow.exit

import dev.ringflow.Engine
import dev.ringflow.Parking
import dev.ringflow.Ring
import dev.ringflow.Source
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.runBlocking

/**
 * A program as a user writes one (run by `JvmExitTest` in a JVM of its own): it makes each kind
 * of suspend call, closes its rings and returns from `main`, without `exitProcess`. The JVM must
 * then exit on its own: no Rust runtime thread may keep it alive.
 *
 * Arguments: an audio ring's path, a WAV file of 50 frames in its format, a path for a new ring.
 */
fun main(args: Array<String>) {
    val (audioRing, wav, seqRing) = args
    runBlocking {
        Ring.open(audioRing).use { ring ->
            // A Parking.Suspend reader: resumed by the ring's Rust waiter thread.
            val reader = async(Dispatchers.Default) {
                var n = 0
                ring.frames(parking = Parking.Suspend).take(50).collect { n++ }
                n
            }
            while (ring.stats().consumers.isEmpty()) delay(1)
            check(ring.importWav(wav).frames == 50L) { "importWav" }
            check(reader.await() == 50) { "Parking.Suspend reader" }
        }
        Ring.create(seqRing, slots = 64, slotSize = 64).use { ring ->
            val waiter = async(Dispatchers.Default) { ring.awaitData(0) }
            check(ring.produce(Source.Seq, frames = 10).frames == 10L) { "produce" }
            check(waiter.await() > 0) { "awaitData" }
        }
        check(Engine.bench(frames = 10_000, frameSize = 64).delivered == 10_000L) { "bench" }
    }
    println("main returned")
}
