//! The sleeper protocol: an event count that costs the notifying side no syscall while nobody
//! sleeps, and loses no wake-up.
//!
//! A waiter announces itself in a sleeper count, then reads the futex word, then re-checks its
//! condition, then sleeps on the word's value. A notifier first makes its change (a slot stamp, a
//! read cursor), then reads the sleeper count, and only if it is non-zero bumps the word and wakes.
//!
//! ```text
//!   waiter                                  notifier
//!   w = word              Acquire           change (stamp / read cursor)   Release
//!   sleepers += 1
//!   fence(SeqCst) -------- orders --------- fence(SeqCst)
//!   if condition: leave                     if sleepers != 0:
//!   futex_wait(word, w)                         word += 1                  Release
//!   sleepers -= 1                               futex_wake(word)
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
//!
//! ### The notifier's fence is asymmetric
//! The notifier runs once per commit and per lossless release: a full fence there (`mfence`,
//! which also drains the store buffer of the frame just written) was the largest single cost of a
//! small frame. The waiter runs only before it sleeps, which costs tens of microseconds anyway. So
//! the fence is made asymmetric, as Linux's `membarrier(2)` is meant for: the notifier issues only
//! a compiler fence, and the waiter, after its own SeqCst fence, calls
//! `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`, which makes every CPU running a thread of a
//! registered process execute a full barrier before it returns (a thread not running has passed a
//! context switch, itself a full barrier). Every process that maps a ring registers
//! (`MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED`, once, in [`init`]). The argument above then holds
//! with "the notifier's fence" read as "the barrier membarrier forces on the notifier's CPU": it
//! splits the notifier's execution into a before (its change visible to the waiter's re-check)
//! and an after (its load of the sleeper count sees the waiter's announcement).
//!
//! Fallbacks keep it sound: a process that cannot register uses a real SeqCst fence when it
//! notifies (a full fence on the notifier side is always enough), and a waiter whose membarrier
//! call fails (an old kernel, a seccomp filter) sleeps in slices of at most
//! [`UNFENCED_SLICE`], so a wake-up it misses costs at most that long. Loom cannot model
//! membarrier: under `cfg(loom)` both sides use SeqCst fences, which the models check; this
//! paragraph is the argument for the rest.

use std::time::Duration;

use crate::mem::RingMem;
use crate::sync::{fence, AtomicU32, AtomicU64, Ordering};

/// The longest sleep of a waiter that could not force a barrier on notifiers.
pub(crate) const UNFENCED_SLICE: Duration = Duration::from_millis(1);

/// Whether this process registered for `MEMBARRIER_CMD_GLOBAL_EXPEDITED`: then its notifiers
/// issue only a compiler fence.
#[cfg(not(loom))]
static ASYMMETRIC: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Registers this process for expedited global membarriers, once (every ring constructor calls
/// it before a producer or consumer can exist). Returns whether notifiers here may use the light
/// fence.
#[cfg(not(loom))]
pub(crate) fn init() -> bool {
    use rustix::thread::{membarrier, membarrier_query, MembarrierCommand};
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REGISTERED.get_or_init(|| {
        let supported = membarrier_query();
        let ok = supported.contains_command(MembarrierCommand::GlobalExpedited)
            && membarrier(MembarrierCommand::RegisterGlobalExpedited).is_ok();
        // Relaxed: read only after this `OnceLock` is initialised, which orders it.
        ASYMMETRIC.store(ok, std::sync::atomic::Ordering::Relaxed);
        ok
    })
}

#[cfg(loom)]
pub(crate) fn init() -> bool {
    false
}

/// How this process's notifiers fence (see the module docs), for `inspect` and the benches.
pub fn fence_mode() -> &'static str {
    if init() {
        "asymmetric (notifier: compiler fence; waiter: SeqCst fence + membarrier GLOBAL_EXPEDITED)"
    } else {
        "symmetric (SeqCst fences on both sides)"
    }
}

/// The notifier's half of the asymmetric fence (see the module docs).
#[inline]
fn light_fence() {
    #[cfg(not(loom))]
    {
        // Relaxed: set once by `init`, before any ring (and so any notifier) existed.
        if ASYMMETRIC.load(std::sync::atomic::Ordering::Relaxed) {
            std::sync::atomic::compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }
    #[cfg(loom)]
    fence(Ordering::SeqCst);
}

/// The waiter's half: a SeqCst fence, then a barrier forced on every CPU running a registered
/// process. Returns false if that failed (then the caller sleeps in short slices).
fn heavy_fence() -> bool {
    fence(Ordering::SeqCst);
    #[cfg(not(loom))]
    {
        use rustix::thread::{membarrier, MembarrierCommand};
        membarrier(MembarrierCommand::GlobalExpedited).is_ok()
    }
    #[cfg(loom)]
    true
}

/// Waiter side: sleeps on `word` unless `ready()` holds after announcing itself in `sleepers`.
/// Returns whether `ready()` held (if not, the caller re-checks after the wait anyway).
pub(crate) fn park<M: RingMem>(
    mem: &M,
    word: &AtomicU32,
    sleepers: &AtomicU32,
    timeout: Option<Duration>,
    mut ready: impl FnMut() -> bool,
) -> bool {
    // Read before announcing ourselves: a bump by anyone who sees the announcement comes after
    // this load (Acquire keeps the announcement after it; the bump is a Release RMW after the
    // notifier's load of the count), so `wait` below returns at once for it. Read after the
    // announcement instead, a bump landing in between (an unconditional `wake`, which has no
    // change for `ready()` to see) would be taken as the value to sleep on, and lost. Acquire
    // also pairs with the Release bump, so a bump seen here makes its change visible to `ready()`.
    let seen = word.load(Ordering::Acquire);
    // Relaxed: ordered before the loads below by the heavy fence, which pairs with the light
    // fence in `notify`.
    sleepers.fetch_add(1, Ordering::Relaxed);
    let fenced = heavy_fence();
    let is_ready = ready();
    if !is_ready {
        let timeout = if fenced {
            timeout
        } else {
            Some(timeout.map_or(UNFENCED_SLICE, |t| t.min(UNFENCED_SLICE)))
        };
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
    // Pairs with the heavy fence in `park` (see the module docs).
    light_fence();
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
