//! The one place atomics come from: std's in production, loom's under `cfg(loom)` (as tokio's
//! `loom` module does), so the cursor protocols run unchanged inside loom models.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

/// Exponential backoff for the short spins before parking.
///
/// `crossbeam_utils::Backoff` does the same with `core::hint::spin_loop`, which a loom model
/// cannot preempt; this one yields to loom's scheduler under `cfg(loom)` and otherwise keeps
/// crossbeam's shape (spin 2^step times, then yield the thread).
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    /// Steps of pure spinning before yielding the thread.
    const SPIN_LIMIT: u32 = 6;
    /// Steps after which the caller should park instead. Under loom, park at once: the models
    /// check the parking protocol, and each spin step would multiply the interleavings.
    #[cfg(not(loom))]
    const YIELD_LIMIT: u32 = 10;
    #[cfg(loom)]
    const YIELD_LIMIT: u32 = 0;

    pub(crate) fn new() -> Self {
        Backoff { step: 0 }
    }

    /// Waits a little, longer each call.
    pub(crate) fn snooze(&mut self) {
        #[cfg(loom)]
        loom::thread::yield_now();
        #[cfg(not(loom))]
        if self.step <= Self::SPIN_LIMIT {
            for _ in 0..(1u32 << self.step) {
                core::hint::spin_loop();
            }
        } else {
            std::thread::yield_now();
        }
        if self.step <= Self::YIELD_LIMIT {
            self.step += 1;
        }
    }

    /// True once spinning has gone on long enough that parking is cheaper.
    pub(crate) fn is_completed(&self) -> bool {
        self.step > Self::YIELD_LIMIT
    }
}

/// One step of a bounded spin on a condition another thread will make true soon (a slot being
/// written): a CPU hint in production, a yield to the scheduler in loom.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}
