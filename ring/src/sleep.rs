//! The sleeper protocol: an event count that costs the notifying side no syscall while nobody
//! sleeps, and loses no wake-up.
//!
//! A waiter announces itself in a sleeper count, then reads the futex word, then re-checks its
//! condition, then sleeps on the word's value. A notifier first makes its change (a slot stamp, a
//! read cursor), then reads the sleeper count, and only if it is non-zero bumps the word and wakes.
//!
//! ```text
//!   waiter                                  notifier
//!   sleepers += 1                           change (stamp / read cursor)   Release
//!   fence(SeqCst) -------- orders --------- fence(SeqCst)
//!   w = word              Acquire           if sleepers != 0:
//!   if condition: leave                         word += 1                  Release
//!   futex_wait(word, w)                         futex_wake(word)
//!   sleepers -= 1
//! ```
//!
//! No lost wake-up: the two SeqCst fences are ordered one way or the other. If the waiter's comes
//! first, the notifier's load sees `sleepers != 0` and bumps the word; the bump either precedes the
//! waiter's read of `w` (then that Acquire read synchronizes with it and the condition re-check
//! sees the change) or follows it (then `futex_wait` finds the word changed and returns at once).
//! If the notifier's fence comes first, the waiter's condition re-check sees the change. This is a
//! store-then-load on both sides (Dekker), which acquire/release alone cannot order: that is the
//! reason for the two SeqCst fences. The same store-then-load shape, and so the same fences, appear
//! twice more: the registration handshake (`gate.rs`) and the last producer's close
//! (`ProducerCore::detach`); there is no other SeqCst in the crate. The loom model `sleeper_wake`
//! checks it.

use std::time::Duration;

use crate::mem::RingMem;
use crate::sync::{fence, AtomicU32, AtomicU64, Ordering};

/// Waiter side: sleeps on `word` unless `ready()` holds after announcing itself in `sleepers`.
/// Returns whether `ready()` held (if not, the caller re-checks after the wait anyway).
pub(crate) fn park<M: RingMem>(
    mem: &M,
    word: &AtomicU32,
    sleepers: &AtomicU32,
    timeout: Option<Duration>,
    mut ready: impl FnMut() -> bool,
) -> bool {
    // Relaxed: ordered before the loads below by the SeqCst fence, which pairs with the fence in
    // `notify`.
    sleepers.fetch_add(1, Ordering::Relaxed);
    fence(Ordering::SeqCst);
    // Acquire: pairs with the Release bump in `notify`, so a bump seen here makes the notifier's
    // change visible to `ready()`.
    let seen = word.load(Ordering::Acquire);
    let is_ready = ready();
    if !is_ready {
        mem.wait(word, seen, timeout);
    }
    // Relaxed: a stale count only costs a notifier one needless wake.
    sleepers.fetch_sub(1, Ordering::Relaxed);
    is_ready
}

/// Notifier side: called after the change a waiter may be waiting for.
#[inline]
pub(crate) fn notify<M: RingMem>(
    mem: &M,
    word: &AtomicU32,
    sleepers: &AtomicU32,
    wakes: &AtomicU64,
) {
    // SeqCst: pairs with the fence in `park` (see the module docs).
    fence(Ordering::SeqCst);
    // Relaxed: ordered by the fence above.
    if sleepers.load(Ordering::Relaxed) != 0 {
        wake(mem, word, wakes);
    }
}

/// Bumps `word` and wakes every sleeper on it, unconditionally (closing, cancelling).
#[cold]
pub(crate) fn wake<M: RingMem>(mem: &M, word: &AtomicU32, wakes: &AtomicU64) {
    // Release: pairs with the Acquire read of the word in `park`.
    word.fetch_add(1, Ordering::Release);
    // Relaxed: a statistic.
    wakes.fetch_add(1, Ordering::Relaxed);
    mem.wake_all(word);
}
