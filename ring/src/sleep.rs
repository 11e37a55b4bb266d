//! The sleeper protocol: an event count that costs the notifying side no syscall while nobody
//! sleeps, one wake per sleep at most, and loses no wake-up.
//!
//! The futex word is an event count whose low bit, [`ARMED`], says that someone may sleep on its
//! current value. A waiter sets the bit (reading the word's value), announces itself in a sleeper
//! count (kept for statistics), re-checks its condition, then sleeps on the word's value with the
//! bit. A notifier first makes its change (a slot stamp, a read cursor), then reads the word, and
//! only if the bit is set moves it to the next even value (clearing the bit) and wakes.
//!
//! ```text
//!   waiter                                  notifier
//!   w = word.fetch_or(ARMED) | ARMED  Acq   change (stamp / read cursor)   Release
//!   sleepers += 1
//!   fence(SeqCst) -------- orders --------- fence(SeqCst)
//!   if condition: leave                     v = word
//!   futex_wait(word, w)                     if v & ARMED:
//!   sleepers -= 1                               CAS word v -> v + 1        Release
//!                                               futex_wake(word)
//! ```
//!
//! No lost wake-up: the two SeqCst fences are ordered one way or the other. If the waiter's comes
//! first, the notifier's load sees the bit (or a later value: another notifier's bump, which
//! already moved the word off `w`) and moves the word off `w`, before or after the waiter's
//! `futex_wait`, which then returns at once or is woken. If the notifier's fence comes first, the
//! waiter's condition re-check sees the change. This is a store-then-load on both sides (Dekker),
//! which acquire/release alone cannot order: that is the reason for the two SeqCst fences. The
//! same store-then-load shape, and so the same fences, appear twice more: the registration
//! handshake (`gate.rs`) and the last producer's close (`ProducerCore::detach`); there is no other
//! SeqCst in the crate. The loom model `sleeper_wake` checks it.
//!
//! Why a bit and not just the count: a woken thread takes 20 us to milliseconds to run again on
//! this VM (the wakee is often queued behind its waker on the waker's CPU), and its count stays
//! up until it runs. With the count as the test, every commit or release in that window made
//! another wake syscall: measured in the JVM runner, up to 14,000 wake calls per million frames
//! from a few hundred real sleeps. The first notifier clears the bit, so the rest make none until
//! a waiter sets it again. The word always moves to a value it has not had recently (the epoch
//! above the bit counts up), so a waiter that read `w` before a wake can never sleep on `w` after
//! it (clearing the bit alone would let a second waiter set it back to `w`: an ABA, and a lost
//! wake for the first).
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

/// The futex word's bit that says someone may sleep on its current value (see the module docs).
pub const ARMED: u32 = 1;

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
    //
    // Setting the bit is how notifiers learn that this value of the word may be slept on.
    let seen = word.fetch_or(ARMED, Ordering::Acquire) | ARMED;
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
    // Relaxed: a statistic, and the test below, which errs only towards a wake.
    let last = sleepers.fetch_sub(1, Ordering::Relaxed) == 1;
    // Leaving with the word still armed at our value (a timeout, a slice, or the condition held
    // before we slept): nobody woke us, and the next notifier would make a wake call for nobody.
    // The last sleeper to leave disarms it instead (moving it on, as a notifier does), on this
    // slow path rather than the notifier's. And wakes: a waiter may have armed the same value
    // and gone to sleep after our count went down; woken, it re-checks and arms anew. (This
    // call is not counted in `wakes`, which counts notifiers' calls.)
    // Relaxed: the exchange decides.
    if last
        && word.load(Ordering::Relaxed) == seen
        && word
            .compare_exchange(
                seen,
                seen.wrapping_add(1),
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_ok()
    {
        mem.wake_all(word);
    }
    is_ready
}

/// Notifier side: called after the change a waiter may be waiting for. Wakes the sleepers on
/// `word` if one armed it since the last wake; returns whether it did.
#[inline]
pub(crate) fn notify<M: RingMem>(mem: &M, word: &AtomicU32, wakes: &AtomicU64) -> bool {
    // Pairs with the heavy fence in `park` (see the module docs).
    light_fence();
    // Relaxed: ordered by the fence above.
    let armed = word.load(Ordering::Relaxed);
    if armed & ARMED == 0 {
        return false;
    }
    wake_armed(mem, word, wakes, armed)
}

/// The rest of [`notify`], out of line (a notifier that finds the word armed makes a syscall
/// anyway): moves the word off `armed` and wakes its sleepers; returns whether it did.
#[cold]
#[inline(never)]
fn wake_armed<M: RingMem>(mem: &M, word: &AtomicU32, wakes: &AtomicU64, armed: u32) -> bool {
    // Release: pairs with the Acquire `fetch_or` in `park`, so a waiter that arms the next value
    // sees our change. `armed + 1` clears the bit and moves the epoch on. A failed exchange means
    // another notifier (or `wake`) moved the word off `armed` already, and so woke its sleepers.
    if word
        .compare_exchange(
            armed,
            armed.wrapping_add(1),
            Ordering::Release,
            Ordering::Relaxed,
        )
        .is_err()
    {
        return false;
    }
    count_and_wake(mem, word, wakes);
    true
}

/// Moves `word` to its next epoch and wakes every sleeper on it, unconditionally (closing,
/// cancelling).
#[cold]
pub(crate) fn wake<M: RingMem>(mem: &M, word: &AtomicU32, wakes: &AtomicU64) {
    // Release: as in `notify`. `(w | ARMED) + 1` is the next even value whether or not the
    // bit was set; the word never takes a value a waiter may still hold.
    let _ = word.fetch_update(Ordering::Release, Ordering::Relaxed, |w| {
        Some((w | ARMED).wrapping_add(1))
    });
    count_and_wake(mem, word, wakes);
}

fn count_and_wake<M: RingMem>(mem: &M, word: &AtomicU32, wakes: &AtomicU64) {
    // Relaxed: a statistic.
    wakes.fetch_add(1, Ordering::Relaxed);
    mem.wake_all(word);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::{Ring, RingConfig};

    /// The notifier's side of the bit, without a sleeper thread: one wake per arming, none
    /// while the word is not armed, and a word that only moves forward.
    #[test]
    fn one_wake_per_arming_and_the_word_never_returns_to_an_armed_value() {
        let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
        let mem = &*ring.shared;
        let wait = &mem.producer().wait;
        let (word, wakes) = (&wait.data_futex, &wait.data_wakes);
        assert!(!notify(mem, word, wakes), "nobody armed it");
        // A waiter arms the word (what `park` does before it sleeps)...
        let armed = word.fetch_or(ARMED, Ordering::Acquire) | ARMED;
        // ...the first notifier wakes and disarms; the ones after it, until someone arms again,
        // make no wake call (the woken waiter may not have run yet).
        assert!(notify(mem, word, wakes));
        for _ in 0..10 {
            assert!(!notify(mem, word, wakes));
        }
        assert_eq!(wakes.load(Ordering::Relaxed), 1);
        let after = word.load(Ordering::Relaxed);
        assert_eq!((after & ARMED, after > armed), (0, true));
        // Armed again, it moves on to a value it has not had; so does an unconditional wake,
        // armed or not.
        let again = word.fetch_or(ARMED, Ordering::Acquire) | ARMED;
        assert!(again != armed && notify(mem, word, wakes));
        let before = word.load(Ordering::Relaxed);
        wake(mem, word, wakes);
        let woken = word.load(Ordering::Relaxed);
        assert_eq!((woken & ARMED, woken > before), (0, true));
        word.fetch_or(ARMED, Ordering::Relaxed);
        wake(mem, word, wakes);
        assert_eq!(word.load(Ordering::Relaxed), woken + 2);
        assert_eq!(wakes.load(Ordering::Relaxed), 4);
    }
}
