package dev.ringflow

/** How a reader relates to producers when it falls behind. */
enum class Delivery {
    /** Holds back producers whose policy is `block` or `fail`: sees every frame. */
    Lossless,

    /** Never holds a producer back: when lapped it skips ahead and counts what it lost. */
    Lossy,
}
