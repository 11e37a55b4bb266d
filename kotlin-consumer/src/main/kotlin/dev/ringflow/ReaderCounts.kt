package dev.ringflow

/**
 * What one collection of [Ring.frames] or [Ring.batches] counted: the numbers its consumer block
 * shows while it reads (`ringflow inspect`, [Ring.stats]), kept after it unregistered, and where
 * it started ([startSeq], [firstSeq], [missedAtStart]: the Rust consumer's numbers of the same
 * names). Pass one as `counts` and read it when the collection has ended (normally, by an
 * exception or by cancellation): the flow fills it in as it unregisters.
 *
 * `missedAtStart + delivered + lost` is every frame from [startSeq] to [nextSeq], skip frames
 * aside (`docs/FORMAT.md`, "Reader obligations", R7; for a [Start.Next] reader, every frame
 * published while it was registered).
 *
 * Not thread-safe: written by the collecting coroutine, read after it.
 */
class ReaderCounts {
    /** Frames handed to the collector (a batch counts its frames). */
    var delivered: Long = 0
        private set

    /**
     * Frames the reader never got, other than [missedAtStart]: jumped over when lapped, or
     * reported corrupt.
     */
    var lost: Long = 0
        private set

    /** Times the reader was lapped (a lossy reader, or a lossless one under an `overwrite` producer). */
    var lapped: Long = 0
        private set

    /** Zero-copy views found overwritten when the collector returned for them. */
    var torn: Long = 0
        private set

    /** The sequence the reader asked to start at: its [Start], as the Rust registration resolved it. */
    var startSeq: Long = 0
        private set

    /** The sequence of the first frame handed to the collector, or `null` if none was. */
    var firstSeq: Long? = null
        private set

    /**
     * Frames from [startSeq] on that were no longer in the ring when the reader came to them,
     * before its first frame (a start before the oldest frame still there). Not in [lost].
     */
    var missedAtStart: Long = 0
        private set

    /** The next sequence the reader would have read when it stopped. */
    var nextSeq: Long = 0
        private set

    internal fun set(delivered: Long, lost: Long, lapped: Long, torn: Long, startSeq: Long, firstSeq: Long?, missedAtStart: Long, nextSeq: Long) {
        this.delivered = delivered
        this.lost = lost
        this.lapped = lapped
        this.torn = torn
        this.startSeq = startSeq
        this.firstSeq = firstSeq
        this.missedAtStart = missedAtStart
        this.nextSeq = nextSeq
    }

    override fun toString() = "ReaderCounts(delivered=$delivered, lost=$lost, lapped=$lapped, torn=$torn, " +
        "startSeq=$startSeq, firstSeq=$firstSeq, missedAtStart=$missedAtStart, nextSeq=$nextSeq)"
}
