package dev.ringflow

/** How a reader relates to producers when it falls behind. */
enum class Delivery {
    /** Holds back producers whose policy is `block` or `fail`: sees every frame. */
    Lossless,

    /** Never holds a producer back: when lapped it skips ahead and counts what it lost. */
    Lossy,
}

/** How a reader with nothing to read waits, after a short spin. */
enum class Parking {
    /**
     * Parks a thread of `Dispatchers.IO` in the ring's futex: the fastest wake-up, but one
     * thread per waiting collector (and `Dispatchers.IO` has 64).
     */
    Thread,

    /**
     * Suspends on [Ring.awaitData], resumed by the ring's one Rust waiter thread: any number of
     * collectors wait without a thread each, at the cost of a few more hops per wake-up.
     */
    Suspend,
}
