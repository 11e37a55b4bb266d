package dev.ringflow

/**
 * What a [RingProducer]'s claim does when the slowest lossless reader is a whole ring behind
 * (the Rust `FullPolicy`; its code is the producer block's `policy` word, `Layout.FULL_POLICY_*`,
 * which the C header's `RF_POLICY_*` equal).
 */
sealed class ProducerPolicy(internal val code: Int, internal val blockMs: Long) {
    /**
     * Wait for space, at most [timeoutMs] milliseconds (`null`: for ever), then throw
     * [RingTimeoutException]. The wait blocks the calling thread.
     */
    class Block(val timeoutMs: Long? = null) : ProducerPolicy(Layout.FULL_POLICY_BLOCK.toInt(), timeoutMs ?: -1) {
        init {
            require(timeoutMs == null || timeoutMs >= 0) { "timeoutMs must be null or >= 0, but was $timeoutMs" }
        }

        override fun toString() = "Block(timeoutMs=$timeoutMs)"
    }

    /** Throw [RingFullException] at once. */
    object Fail : ProducerPolicy(Layout.FULL_POLICY_FAIL.toInt(), -1) {
        override fun toString() = "Fail"
    }

    /**
     * Never wait: write over the oldest frame (lagging readers lose frames and are told how
     * many). Only on a ring created overwritable; else [Ring.producer] throws
     * [BadArgumentException].
     */
    object Overwrite : ProducerPolicy(Layout.FULL_POLICY_OVERWRITE.toInt(), -1) {
        override fun toString() = "Overwrite"
    }
}
