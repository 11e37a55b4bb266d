package dev.ringflow

/**
 * The binary layout of a ringflow region, version 3: the one place in Kotlin that knows offsets
 * (see `docs/FORMAT.md`). Every constant here is held against the Rust layout by `LayoutTest`,
 * through the `NAME=value` dump the Rust side prints.
 */
object Layout {
    const val MAGIC: Long = 6291331069187606866L
    const val VERSION: Long = 3
    const val HEADER_LEN: Long = 256
    const val LINE: Long = 128

    const val HEADER_VERSION_OFFSET: Long = 8
    const val HEADER_TOTAL_LEN_OFFSET: Long = 16
    const val HEADER_SLOT_COUNT_OFFSET: Long = 24
    const val HEADER_SLOT_PAYLOAD_OFFSET: Long = 28
    const val HEADER_SLOT_STRIDE_OFFSET: Long = 32
    const val HEADER_MAX_CONSUMERS_OFFSET: Long = 36
    const val HEADER_PRODUCER_MODE_OFFSET: Long = 40
    const val HEADER_SCHEMA_ID_OFFSET: Long = 44
    const val HEADER_AUDIO_SAMPLE_RATE_OFFSET: Long = 48
    const val HEADER_AUDIO_CHANNELS_OFFSET: Long = 52
    const val HEADER_AUDIO_SAMPLE_FORMAT_OFFSET: Long = 56
    const val HEADER_AUDIO_SAMPLES_PER_FRAME_OFFSET: Long = 60
    const val HEADER_TELEMETRY_VERSION_OFFSET: Long = 64
    const val HEADER_SLOTS_OFFSET_OFFSET: Long = 104
    const val HEADER_FLAGS_OFFSET: Long = 112

    /** [HEADER_FLAGS_OFFSET] bit: `overwrite` producers may attach; every read must be re-checked. */
    const val RING_FLAG_OVERWRITABLE: Long = 1

    const val PRODUCER_OFFSET: Long = 256
    const val CONSUMERS_OFFSET: Long = 640
    const val CONSUMER_BLOCK_LEN: Long = 128
    const val MAX_PRODUCERS: Long = 8

    const val SLOT_HEADER_LEN: Long = 32
    const val SLOT_ALIGN: Long = 64
    const val SLOT_STAMP_OFFSET: Long = 0
    const val SLOT_LEN_OFFSET: Long = 8
    const val SLOT_KIND_OFFSET: Long = 12
    const val SLOT_TIMESTAMP_OFFSET: Long = 16
    const val SLOT_PAYLOAD_OFFSET: Long = 32
    const val KIND_SKIP: Long = 2147483648L

    /** The futex words' low bit: a sleeper armed the word (the sleeper protocol, ring/src/sleep.rs). */
    const val FUTEX_ARMED: Long = 1

    /** Offsets inside the producer block. */
    const val PUBLISHED_OFFSET: Long = 0
    const val DATA_FUTEX_OFFSET: Long = 128
    const val DATA_SLEEPERS_OFFSET: Long = 132
    const val SPACE_FUTEX_OFFSET: Long = 136
    const val SPACE_SLEEPERS_OFFSET: Long = 140
    const val STATE_OFFSET: Long = 144
    /**
     * Pid of the process that replaced the ring (a new ring took its path), 0 if none: a reader
     * that finds it set with nothing left to read ends (docs/FORMAT.md, producer block line 1).
     */
    const val REPLACED_BY_OFFSET: Long = 168

    /** Offsets inside a consumer block. */
    const val CONSUMER_READ_OFFSET: Long = 0
    const val CONSUMER_STATE_OFFSET: Long = 8
    const val CONSUMER_POLICY_OFFSET: Long = 12
    const val CONSUMER_GENERATION_OFFSET: Long = 20
    const val CONSUMER_HEARTBEAT_OFFSET: Long = 24
    const val CONSUMER_DELIVERED_OFFSET: Long = 32
    const val CONSUMER_LOST_OFFSET: Long = 40
    const val CONSUMER_LAPPED_OFFSET: Long = 48
    const val CONSUMER_TORN_OFFSET: Long = 56

    /** Values of a consumer block's `state` a reader watches (docs/FORMAT.md, R6). */
    const val CONSUMER_STATE_ACTIVE: Long = 2
    const val CONSUMER_STATE_EVICTED: Long = 3

    /** Sequence numbers stay below 2^62; a stamp naming one at or above it is corrupt (R8). */
    const val MAX_SEQ: Long = 4611686018427387904L
}
