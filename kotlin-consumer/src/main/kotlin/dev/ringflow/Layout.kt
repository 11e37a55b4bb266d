package dev.ringflow

/**
 * The binary layout of a ringflow region, version 5: the one place in Kotlin that knows offsets
 * (see `docs/FORMAT.md`). Every constant here is held against the Rust layout by `LayoutTest`,
 * through the `NAME=value` dump the Rust side prints.
 */
object Layout {
    const val MAGIC: Long = 6291331069187606866L
    const val VERSION: Long = 5
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
    /** Offset of slot 0's descriptor, and the bytes of one (layout version 5). */
    const val HEADER_DESCS_OFFSET_OFFSET: Long = 120
    const val HEADER_DESC_STRIDE_OFFSET: Long = 128

    /** [HEADER_FLAGS_OFFSET] bit: `overwrite` producers may attach; every read must be re-checked. */
    const val RING_FLAG_OVERWRITABLE: Long = 1
    /** [HEADER_FLAGS_OFFSET] bit: descriptors are 32 bytes and carry the producer's timestamp. */
    const val RING_FLAG_TIMESTAMPS: Long = 2

    const val PRODUCER_OFFSET: Long = 256
    const val CONSUMERS_OFFSET: Long = 640
    const val CONSUMER_BLOCK_LEN: Long = 128
    const val MAX_PRODUCERS: Long = 8

    /**
     * A slot's descriptor (stamp, length, kind, and the timestamp on rings that keep them), kept
     * apart from its payload: descriptor `i` at `descsOffset + i * descStride`, payload `i` at
     * `slotsOffset + i * slotStride` (docs/FORMAT.md, "Slot descriptors" and "Payloads").
     */
    const val DESC_LEN: Long = 16
    const val DESC_LEN_TIMESTAMPED: Long = 32
    const val PAYLOAD_ALIGN: Long = 16
    const val DESC_STAMP_OFFSET: Long = 0
    const val DESC_LEN_OFFSET: Long = 8
    const val DESC_KIND_OFFSET: Long = 12
    const val DESC_TIMESTAMP_OFFSET: Long = 16
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
    /** Named consumers (layout version 4): the name (32 bytes, UTF-8, zero-padded), its grace and the time it was found ownerless. */
    const val CONSUMER_NAME_OFFSET: Long = 64
    const val CONSUMER_NAME_MAX_LEN: Long = 32
    const val CONSUMER_GRACE_OFFSET: Long = 96
    const val CONSUMER_OWNERLESS_SINCE_OFFSET: Long = 104
    /** Times the reader slept on the data futex (layout version 5; R7). */
    const val CONSUMER_WAKES_OFFSET: Long = 112

    /** Values of a consumer block's `state` a reader watches (docs/FORMAT.md, R6). */
    const val CONSUMER_STATE_ACTIVE: Long = 2
    const val CONSUMER_STATE_EVICTED: Long = 3

    /** Sequence numbers stay below 2^62; a stamp naming one at or above it is corrupt (R8). */
    const val MAX_SEQ: Long = 4611686018427387904L

    /** Header fields Kotlin does not read yet, held against Rust all the same. */
    const val HEADER_OWNER_PID_OFFSET: Long = 68
    const val HEADER_CREATED_OFFSET: Long = 72
    const val HEADER_EPOCH_OFFSET: Long = 80

    /** Codes stored in the header: producer modes, schema ids, sample formats. */
    const val PRODUCER_MODE_SINGLE: Long = 0
    const val PRODUCER_MODE_MULTI: Long = 1
    const val SCHEMA_RAW: Long = 0
    const val SCHEMA_AUDIO: Long = 1
    const val SCHEMA_TELEMETRY: Long = 2
    const val SAMPLE_FORMAT_NONE: Long = 0
    const val SAMPLE_FORMAT_F32: Long = 1
    const val SAMPLE_FORMAT_I16: Long = 2
    const val SAMPLE_FORMAT_I32: Long = 3

    /** The producer block's other words, and the producer table's entries. */
    const val CLAIM_OFFSET: Long = 8
    const val GATE_OFFSET: Long = 16
    const val SCAN_OFFSET: Long = 24
    const val DROPPED_OFFSET: Long = 32
    const val ABANDONED_OFFSET: Long = 40
    /** Consumers evicted by producers, ever (layout version 4). */
    const val EVICTED_OFFSET: Long = 112
    /** Claim records of the producer table's entries (8 bytes each; state in bits 62..64). */
    const val CLAIM_RECORDS_OFFSET: Long = 48
    const val CLAIM_RECORD_STATE_SHIFT: Long = 62
    const val CLAIM_RECORD_OPEN: Long = 1
    const val CLAIM_RECORD_COMMITTING: Long = 2
    const val CLAIM_RECORD_REPAIRING: Long = 3
    const val POLICY_OFFSET: Long = 148
    const val DATA_WAKES_OFFSET: Long = 152
    const val SPACE_WAKES_OFFSET: Long = 160
    const val PRODUCERS_OFFSET: Long = 256
    const val PRODUCER_ENTRY_LEN: Long = 16
    const val PRODUCER_ENTRY_PID_OFFSET: Long = 0
    const val PRODUCER_ENTRY_STATE_OFFSET: Long = 4
    const val PRODUCER_ENTRY_HEARTBEAT_OFFSET: Long = 8

    /** States and policies stored in the producer block. */
    const val RING_STATE_OPEN: Long = 0
    const val RING_STATE_CLOSED: Long = 1
    const val PRODUCER_STATE_FREE: Long = 0
    const val PRODUCER_STATE_ATTACHED: Long = 1
    const val FULL_POLICY_BLOCK: Long = 0
    const val FULL_POLICY_FAIL: Long = 1
    const val FULL_POLICY_OVERWRITE: Long = 2

    /** The rest of a consumer block: its pid, the states a registration passes, the delivery codes. */
    const val CONSUMER_PID_OFFSET: Long = 16
    const val CONSUMER_STATE_FREE: Long = 0
    const val CONSUMER_STATE_CLAIMING: Long = 1
    const val DELIVERY_LOSSLESS: Long = 0
    const val DELIVERY_LOSSY: Long = 1

    /** The reader's budgets, as the Rust reader keeps them: frames between heartbeats, spin before a park. */
    const val HEARTBEAT_EVERY: Long = 1024
    const val SPIN_BUDGET_NS: Long = 50000
    const val AFTER_WAKE_BUDGET_NS: Long = 250000

    /** The bits of a slot's `kind` the user owns. */
    const val KIND_USER_MASK: Long = 65535

    /** The JNI boundary's own codes (appended to the dump by `jni-glue`): engine sources by number, and the positional layout of `Native.statsValues`. */
    const val SOURCE_SEQ: Long = 0
    const val SOURCE_AUDIO: Long = 1
    const val SOURCE_TELEMETRY: Long = 2
    const val SOURCE_FILL: Long = 3
    const val STATS_HEADER_LEN: Long = 8
    const val STATS_CONSUMER_LEN: Long = 9
}
