package dev.ringflow

/**
 * What one collection of [Ring.frames] or [Ring.batches] counted: the numbers its consumer block
 * shows while it reads (`ringflow inspect`, [Ring.stats]), kept after it unregistered. Pass one
 * as `counts` and read it when the collection has ended (normally, by an exception or by
 * cancellation): the flow fills it in as it unregisters.
 *
 * `delivered + lost` is every frame published while the reader was registered, skip frames
 * aside (`docs/FORMAT.md`, "Reader obligations", R7).
 *
 * Not thread-safe: written by the collecting coroutine, read after it.
 */
class ReaderCounts {
    /** Frames handed to the collector (a batch counts its frames). */
    var delivered: Long = 0
        private set

    /** Frames the reader never got: jumped over when lapped, or reported corrupt. */
    var lost: Long = 0
        private set

    /** Times the reader was lapped (a lossy reader, or a lossless one under an `overwrite` producer). */
    var lapped: Long = 0
        private set

    /** Zero-copy views found overwritten when the collector returned for them. */
    var torn: Long = 0
        private set

    internal fun set(delivered: Long, lost: Long, lapped: Long, torn: Long) {
        this.delivered = delivered
        this.lost = lost
        this.lapped = lapped
        this.torn = torn
    }

    override fun toString() = "ReaderCounts(delivered=$delivered, lost=$lost, lapped=$lapped, torn=$torn)"
}
