//! The words a cursor protocol touches, behind a trait: production implements it over the mapped
//! region (`region.rs`), loom models over heap-allocated loom atomics (`loom_models.rs`). loom's
//! atomics are tracked objects that cannot live in a mapping, so the protocol code is written once
//! against this trait and runs unchanged on both.

use std::time::Duration;

use crate::layout::{ConsumerLine, ProducerBlock};
use crate::sync::{AtomicU32, AtomicU64};

/// A participant of a ring, by its block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attachment {
    /// Producer table entry `i`.
    Producer(usize),
    /// Consumer block `i`.
    Consumer(usize),
    /// Whoever repairs a dead producer's claim (`repair.rs`): one at a time, ring-wide.
    Repairer,
    /// Whoever takes a consumer block by name (`gate::register_named`): one at a time,
    /// ring-wide, so two processes never give one name two blocks.
    Naming,
}

/// Access to the control words of one ring.
pub(crate) trait RingMem: Send + Sync + 'static {
    /// Number of slots (a power of two).
    fn capacity(&self) -> u64;
    /// Number of consumer blocks.
    fn max_consumers(&self) -> usize;
    /// Whether producers claim by atomic add (multi-producer mode).
    fn multi_producer(&self) -> bool;
    /// Whether the ring was created overwritable ([`crate::layout::ring_flags::OVERWRITABLE`]).
    fn overwritable(&self) -> bool;
    /// The producer control block.
    fn producer(&self) -> &ProducerBlock;
    /// Consumer block `index`, which must be below `max_consumers()`.
    fn consumer(&self, index: usize) -> &ConsumerLine;
    /// The seqlock stamp of the slot that holds frame `seq`.
    fn stamp(&self, seq: u64) -> &AtomicU64;
    /// Marks the slot of frame `seq` as an empty skip frame (`len = 0`, `kind = SKIP`,
    /// `timestamp_ns = 0`): the bytes a repairer writes into a dead producer's frame.
    fn mark_skip(&self, seq: u64);
    /// Sleeps while `*word == expected`, at most `timeout`.
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>);
    /// Wakes every sleeper on `word`.
    fn wake_all(&self, word: &AtomicU32);
    /// Whether other processes may map the ring (so a peer can die without running its `Drop`).
    fn cross_process(&self) -> bool;
    /// Whether `who` (recorded with `pid`) is still attached: on a file-backed ring, whether it
    /// holds its liveness lock (`lock.rs`); elsewhere, whether process `pid` is alive.
    fn alive(&self, who: Attachment, pid: u32) -> bool;
    /// Whether `alive` is exact (a lock test), so even a half-done registration of a dead
    /// process can be told from a live one.
    fn exact_liveness(&self) -> bool;
    /// Takes `who`'s liveness lock for this process; false if a live participant holds it.
    fn take_lock(&self, who: Attachment) -> bool;
    /// Gives `who`'s liveness lock back.
    fn release_lock(&self, who: Attachment);
    /// Runs `f` with this process's other registrations and attaches on this mapping held off:
    /// they share one open file description, on which a lock never conflicts with itself.
    fn registering<T>(&self, f: impl FnOnce() -> T) -> T;
    /// A monotonic clock in nanoseconds.
    fn now_ns(&self) -> u64;

    /// The pid of the process that replaced this ring (a new ring took its path), if one did.
    /// Read on slow paths only: a consumer about to park, a producer waiting for space or at
    /// its once-per-lap check.
    fn replaced_by(&self) -> Option<u32> {
        // Relaxed: pairs with the Relaxed store in `Ring::mark_replaced`; the mark publishes
        // nothing else, and the replacer's wake after it bounds how late a sleeper sees it.
        match self
            .producer()
            .wait
            .replaced_by
            .load(crate::sync::Ordering::Relaxed)
        {
            0 => None,
            pid => Some(pid),
        }
    }
}
