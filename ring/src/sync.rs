//! The one place atomics come from: std's in production, loom's under `cfg(loom)` (as tokio's
//! `loom` module does), so the cursor protocols run unchanged inside loom models.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

/// The spin before parking: exponential, then steady, for a time budget.
///
/// `crossbeam_utils::Backoff` spins 2^step times and then yields the thread a few times; this
/// one yields to loom's scheduler once under `cfg(loom)` and otherwise spins until
/// [`SPIN_BUDGET`](Self::SPIN_BUDGET) has passed, yielding the thread every eighth step once the
/// spins are long (so an oversubscribed core still runs the thread it waits for). The budget is
/// about what a park and wake cost on this kind of machine (the waker ~10 us, the sleeper
/// ~30-50 us to run again), so a reader that keeps up with its producer (frames a few
/// microseconds apart) never parks, and a reader with nothing coming wastes at most that much CPU
/// before it sleeps.
///
/// A thread that has just woken its peer (a producer that woke a sleeping reader, a reader that
/// woke a producer waiting for space) spins [`AFTER_WAKE_BUDGET`](Self::AFTER_WAKE_BUDGET)
/// instead, the next time it waits: the peer needs about the short budget itself to run again,
/// and parking just before it does gets the parker woken in turn, and so on. Both sides then
/// take turns at sleeping for as long as the stream lasts (seen in the JVM runner: 14,000 wakes
/// per million frames in some runs), where one longer spin ends it.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    step: u32,
    #[cfg(not(loom))]
    started: Option<std::time::Instant>,
    #[cfg(not(loom))]
    after_wake: bool,
}

impl Backoff {
    /// Exponential steps (2^step spins each) before spinning in steady slices.
    const SPIN_LIMIT: u32 = 6;
    /// How long to spin before parking.
    #[cfg(not(loom))]
    pub(crate) const SPIN_BUDGET: std::time::Duration = std::time::Duration::from_micros(50);

    /// How long to spin before parking right after waking the peer.
    #[cfg(not(loom))]
    pub(crate) const AFTER_WAKE_BUDGET: std::time::Duration = std::time::Duration::from_micros(250);

    /// A backoff with the longer budget if `after_wake` (the caller woke its peer since it last
    /// waited).
    pub(crate) fn after_wake(after_wake: bool) -> Self {
        #[cfg(loom)]
        let _ = after_wake; // loom parks after one yield either way
        Backoff {
            #[cfg(not(loom))]
            after_wake,
            ..Backoff::default()
        }
    }

    /// Waits a little, longer each call up to a steady slice.
    pub(crate) fn snooze(&mut self) {
        #[cfg(loom)]
        {
            loom::thread::yield_now();
            self.step += 1;
        }
        #[cfg(not(loom))]
        {
            if self.started.is_none() {
                self.started = Some(std::time::Instant::now());
            }
            for _ in 0..(1u32 << self.step.min(Self::SPIN_LIMIT)) {
                core::hint::spin_loop();
            }
            // Now and then in the steady phase, let another thread of this core run: with more
            // threads than cores, the one we wait for may be waiting for this core.
            if self.step > Self::SPIN_LIMIT && self.step % 8 == 0 {
                std::thread::yield_now();
            }
            self.step += 1;
        }
    }

    /// Under loom, park after one yield (as before the spin budget: the models check the parking
    /// protocol, and each further step would multiply the interleavings; parking at once made the
    /// lossy model run 5x longer).
    #[cfg(loom)]
    pub(crate) fn is_completed(&self) -> bool {
        self.step > 0
    }

    /// True once spinning has gone on for [`SPIN_BUDGET`](Self::SPIN_BUDGET).
    #[cfg(not(loom))]
    pub(crate) fn is_completed(&self) -> bool {
        self.step > Self::SPIN_LIMIT
            && self.started.is_some_and(|t| {
                t.elapsed()
                    >= if self.after_wake {
                        Self::AFTER_WAKE_BUDGET
                    } else {
                        Self::SPIN_BUDGET
                    }
            })
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
