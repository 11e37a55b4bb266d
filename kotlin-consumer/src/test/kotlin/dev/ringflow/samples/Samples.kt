package dev.ringflow.samples

import dev.ringflow.Engine
import dev.ringflow.Frame
import dev.ringflow.Ring
import dev.ringflow.Source
import dev.ringflow.copies
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList

// The KDoc examples (`@sample` in the library's KDoc): compiled by the test build and run by
// SamplesTest, so they stay true. Each takes the paths it needs; they print nothing.

/** [Ring]: open a ring, read a hundred frames in place. */
suspend fun ringSample(path: String): Long {
    var bytes = 0L
    Ring.open(path).use { ring ->
        ring.frames().take(100).collect { frame -> bytes += frame.length }
    }
    return bytes
}

/** [dev.ringflow.FrameFlow]: views read in place, frames of their own where they are kept. */
suspend fun framesSample(ring: Ring): List<Frame> = coroutineScope {
    var bytes = 0L
    // Zero-copy: each view is read during its emit, nothing allocated per frame.
    val inPlace = async(Dispatchers.Default) { ring.frames().take(10).collect { frame -> bytes += frame.length } }
    // Kept past their emit (a buffer, a list): copies.
    val kept = async(Dispatchers.Default) { ring.frames().copies().buffer(64).take(10).toList() }
    while (ring.stats().consumers.size < 2) delay(1)
    ring.produce(Source.Seq, frames = 10)
    inPlace.await()
    kept.await()
}

/** [dev.ringflow.BenchReport]: a typed summary of a bench run. */
suspend fun benchSample(): Double {
    val report = Engine.bench(frames = 100_000, frameSize = 64, consumers = 2)
    check(report.delivered == 200_000L)
    return report.framesPerS
}
