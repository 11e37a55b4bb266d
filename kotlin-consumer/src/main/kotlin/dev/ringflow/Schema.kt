package dev.ringflow

/** What a ring's frames hold, from its header. */
sealed class Schema {
    /** Opaque bytes. */
    data object Raw : Schema()

    /**
     * Interleaved PCM audio: each frame is [samplesPerFrame] samples of [channels] channels.
     * Read samples in place with [Frame.sample].
     */
    data class Audio(val sampleRate: Int, val channels: Int, val format: SampleFormat, val samplesPerFrame: Int) : Schema()

    /** Telemetry events of this schema version: read them in place with [TelemetryEvent]. */
    data class Telemetry(val version: Int) : Schema()
}

/**
 * Audio sample encodings: 32-bit float, 16- and 32-bit signed integers (native order), and
 * [I24], 24-bit signed integers packed in 3 bytes, little-endian.
 */
enum class SampleFormat { F32, I16, I32, I24 }

/** Sample [index] (interleaved: frame `i` channel `c` is `i * channels + c`) of an f32 audio frame, read in place. */
fun Frame.sample(index: Int): Float = getFloat(index * 4)

/** Samples in this f32 audio frame. */
val Frame.sampleCount: Int get() = length / 4

/**
 * The fields of a telemetry event (schema version 1, 40 bytes: tick, entity, flags, position[3],
 * velocity[3]), read in place from a [Frame] without allocation. Valid as long as the frame.
 */
@JvmInline
value class TelemetryEvent(private val frame: Frame) {
    val tick: Long get() = frame.getLong(0)
    val entity: Int get() = frame.getInt(8)
    val flags: Int get() = frame.getInt(12)
    fun position(axis: Int): Float = frame.getFloat(16 + 4 * axis.also { require(it in 0..2) { "axis must be 0..2, but was $it" } })
    fun velocity(axis: Int): Float = frame.getFloat(28 + 4 * axis.also { require(it in 0..2) { "axis must be 0..2, but was $it" } })
}

/** A consumer's counters, from [Ring.stats]. */
data class ConsumerStats(
    val index: Int,
    val lossy: Boolean,
    val evicted: Boolean,
    val read: Long,
    val lag: Long,
    val delivered: Long,
    val lost: Long,
    val lapped: Long,
    val torn: Long,
)

/**
 * A snapshot of a ring's cursors and counters, from [Ring.stats]: frames [published] (one past the
 * highest committed sequence), [dropped] by the `fail` policy, whether the last producer detached
 * ([closed]), futex wake calls for consumers and producers, frames [abandoned] (claimed by a
 * producer that ended without committing them, published as skip frames), consumers [evicted] by
 * producers ever (dead, stale, or ownerless past their grace; the Rust `RingStats::evicted`), and
 * each consumer.
 */
data class RingStats(
    val published: Long,
    val dropped: Long,
    val closed: Boolean,
    val dataWakes: Long,
    val spaceWakes: Long,
    val abandoned: Long,
    val evicted: Long,
    val consumers: List<ConsumerStats>,
)

/** Sources an engine producer in this process can run ([Ring.startProducer]). */
enum class Source(internal val code: Int) {
    /** Verifiable frames of the slot size (a pattern of the frame number). */
    Seq(Layout.SOURCE_SEQ.toInt()),

    /** A 440 Hz sine in the ring's audio format (audio rings only). */
    Audio(Layout.SOURCE_AUDIO.toInt()),

    /** Telemetry events, with bursts. */
    Telemetry(Layout.SOURCE_TELEMETRY.toInt()),

    /** Frames of the slot size whose every byte is the frame's number: the cheapest, for benchmarks. */
    Fill(Layout.SOURCE_FILL.toInt()),
}
