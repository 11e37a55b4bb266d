package dev.ringflow

/**
 * Anything a ring refuses; the Rust error's message is the exception's. Which subclass a Rust
 * error becomes is one table, `ErrorKind::boundary` in `engine/src/error.rs`, held against these
 * classes by `ErrorTableTest`.
 */
open class RingException(message: String) : RuntimeException(message)

/** The ring was closed (every producer detached), or this handle was. */
open class RingClosedException(message: String) : RingException(message)

/**
 * A handle that was never issued, or is stale (its ring closed, its consumer unregistered): it
 * never reaches whatever was registered after it. A [RingClosedException], since a closed ring's
 * handles are what usually goes stale.
 */
class StaleHandleException(message: String) : RingClosedException(message)

/** The producer's process died; every frame it committed was delivered first. */
class ProducerGoneException(message: String) : RingException(message)

/** The region's bytes are not a valid ring (bad magic, version, sizes; a corrupt slot). */
class RingCorruptException(message: String) : RingException(message)

/** The ring is full and the producer's policy is `fail`. */
class RingFullException(message: String) : RingException(message)

/**
 * A producer evicted this reader (Rust `Error::Evicted`): it held the producer back while its
 * heartbeat was older than the producer's `evict_after` (or its process looked dead), or its
 * consumer block was taken by another registration. It no longer holds producers back, so frames
 * it had not read may be gone: a flow fails with this at its next lap or wait (`docs/FORMAT.md`,
 * R6) rather than reading on as a lossy reader.
 */
class EvictedException(message: String) : RingException(message)

/** An argument is out of range. */
class BadArgumentException(message: String) : RingException(message)

/** No frame came within the idle timeout given to [Ring.frames], or a call's timeout passed. */
class RingTimeoutException(message: String) : RingException(message)

/** Every consumer block or producer entry of the ring is taken by a live process. */
class RingBusyException(message: String) : RingException(message)

/** `create` found a file at the path already. */
class RingExistsException(message: String) : RingException(message)

/** A file (a ring, a WAV file) could not be read or written. */
class RingIoException(message: String) : RingException(message)

/** The Rust side cancelled the call. */
class RingCancelledException(message: String) : RingException(message)

/**
 * No producer is left and a frame was never committed while later ones were: a producer claimed
 * it and died before committing it. The frames after it are not delivered; the flow fails
 * instead of completing as if the stream had ended cleanly.
 */
class AbandonedFrameException(message: String) : RingException(message)

/** A new ring was created at this ring's path: nothing more will come through this one. */
class RingReplacedException(message: String) : RingException(message)
