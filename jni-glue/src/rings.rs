//! Ring handles at the boundary: both boundaries open, wake and close rings here, so each ring
//! handle has one [`RingGate`] that a call blocked on the ring (`rf_consumer_next`,
//! `rf_ring_wait`) watches.
//!
//! ### Why a gate beside the futex
//! [`Ring::wake_waiters`] makes every wait on the ring return early, and the woken thread cannot
//! tell a wake meant for it from a spurious return: a reader that simply waits again (as
//! `Consumer::recv` does) is never released. So waking and closing a handle first change its
//! gate, then wake the futex; a blocked call notes the gate's state when it starts and looks
//! again each time its wait returns.
//!
//! ```text
//!   blocked call                              rf_ring_wake / rf_ring_close
//!   w = gate.watch()          Acquire
//!   loop {                                     gate: epoch += 1 / closed = 1   Release
//!     frame? -> return it                      ring.wake_waiters()  (futex wake)
//!     w.interrupted()?  -> WOKEN / CLOSED
//!     wait on the futex, at most WATCH_SLICE
//!   }
//! ```
//!
//! A call parked on the futex when the wake comes returns at once. A call still between its
//! `watch` and its park (spinning, or about to arm the futex word) can miss the futex wake, since
//! the ring's park re-checks only the ring's own condition: it then sees the gate when its wait
//! ends, which [`WATCH_SLICE`] bounds. A call that starts after the wake is not affected by it.
//! (Closing that window would take the gate into the park's own re-check, `sleep::park`'s
//! `ready`: a `ring` API such as a `Consumer::wait` with an extra stop condition. The gate's
//! Release RMW before the futex word's, and the park's Acquire RMW on that word, would then order
//! it as the ring's own changes are.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use ringflow::Ring;
use ringflow_engine::registry::{Handle, Registry};
use ringflow_engine::EngineError;

/// The longest a blocked call waits on the futex before it looks at its gate again: how late a
/// wake or close can be for a call that had not parked yet when it came (see the module docs).
/// The same as a consumer's liveness slice on a file-backed ring, which already wakes it this
/// often.
pub(crate) const WATCH_SLICE: Duration = Duration::from_millis(50);

/// The gate word's bit that says the handle was closed; the wake epoch counts above it.
const CLOSED: u64 = 1;
/// One wake, in the gate word.
const EPOCH_ONE: u64 = 2;

/// A ring handle's wake epoch and closed flag, in one word (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct RingGate {
    /// `epoch * EPOCH_ONE | closed`.
    word: AtomicU64,
}

/// Why a blocked call must return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interrupted {
    /// `rf_ring_wake` (or `Native.wake`) on the ring handle since the call started.
    Woken,
    /// The ring handle was closed.
    Closed,
}

impl RingGate {
    /// Notes the gate's state as a call starts; wakes before this do not concern the call.
    pub(crate) fn watch(&self) -> Watch<'_> {
        // Acquire: pairs with the Release RMWs in `wake` and `close`.
        let seen = self.word.load(Ordering::Acquire);
        Watch { gate: self, seen }
    }

    fn wake(&self) {
        // Release: pairs with the Acquire loads in `watch` and `Watch::interrupted`. The futex
        // wake that follows is a full barrier in the kernel (both sides take the futex's hash
        // bucket lock), so a waiter it wakes loads the new epoch; one it missed loads it when
        // its slice ends.
        self.word.fetch_add(EPOCH_ONE, Ordering::Release);
    }

    fn close(&self) {
        // Release: as in `wake`.
        self.word.fetch_or(CLOSED, Ordering::Release);
    }
}

/// A gate's state as a call saw it when it started.
pub(crate) struct Watch<'g> {
    gate: &'g RingGate,
    seen: u64,
}

impl Watch<'_> {
    /// Whether the handle was closed (at any time), or woken since the call started.
    pub(crate) fn interrupted(&self) -> Option<Interrupted> {
        // Acquire: pairs with the Release RMWs in `RingGate::wake` and `RingGate::close`.
        let now = self.gate.word.load(Ordering::Acquire);
        if now & CLOSED != 0 {
            Some(Interrupted::Closed)
        } else if now != self.seen {
            Some(Interrupted::Woken)
        } else {
            None
        }
    }
}

/// Every open ring handle's gate. A handle is here from its `add` until its `cancel`.
type Gates = HashMap<u64, Arc<RingGate>>;

fn gates() -> MutexGuard<'static, Gates> {
    static GATES: OnceLock<Mutex<Gates>> = OnceLock::new();
    // Each change is one insert or remove: a panic elsewhere cannot leave the map half-changed.
    GATES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

fn registry() -> &'static Registry {
    Registry::global()
}

/// Adds an opened or created ring to the engine's registry, with a fresh gate; returns its handle.
pub(crate) fn add(ring: Ring) -> Handle {
    // Under the gates' lock: no one can see the handle before its gate is there.
    let mut gates = gates();
    let h = registry().add_ring(ring);
    gates.insert(h.0, Arc::default());
    h
}

/// The ring of a ring handle and its gate.
pub(crate) fn get(h: Handle) -> Result<(Ring, Arc<RingGate>), EngineError> {
    let ring = registry().ring(h)?;
    let gate = gates()
        .get(&h.0)
        .cloned()
        // Closed since the registry lookup.
        .ok_or(EngineError::UnknownHandle(h.0))?;
    Ok((ring, gate))
}

/// Wakes every call blocked on the ring handle (they return `Woken`) and every waiter parked on
/// the ring, in any process.
pub(crate) fn wake(h: Handle) -> Result<(), EngineError> {
    let (ring, gate) = get(h)?;
    gate.wake();
    ring.wake_waiters();
    Ok(())
}

/// Cancels any handle (`Registry::cancel`). A ring handle's gate is closed first, so the calls
/// blocked on it return `Closed` when the cancel wakes the ring's waiters, and is then forgotten.
pub(crate) fn cancel(h: Handle) -> Result<(), EngineError> {
    if let Some(gate) = gates().remove(&h.0) {
        gate.close();
    }
    registry().cancel(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_concerns_the_calls_already_watching_and_a_close_every_call() {
        let gate = RingGate::default();
        let before = gate.watch();
        gate.wake();
        let after = gate.watch();
        assert_eq!(before.interrupted(), Some(Interrupted::Woken));
        assert_eq!(
            after.interrupted(),
            None,
            "a call that started after the wake"
        );
        gate.close();
        for watch in [before, after, gate.watch()] {
            assert_eq!(watch.interrupted(), Some(Interrupted::Closed));
        }
    }

    #[test]
    fn a_closed_ring_handle_is_stale() {
        let h = add(Ring::anonymous(&ringflow::RingConfig::new(8, 32)).unwrap());
        let (_, gate) = get(h).unwrap();
        let watch = gate.watch();
        wake(h).unwrap();
        assert_eq!(watch.interrupted(), Some(Interrupted::Woken));
        cancel(h).unwrap();
        assert_eq!(watch.interrupted(), Some(Interrupted::Closed));
        assert!(matches!(get(h), Err(EngineError::UnknownHandle(_))));
        assert!(matches!(wake(h), Err(EngineError::UnknownHandle(_))));
        assert!(matches!(cancel(h), Err(EngineError::UnknownHandle(_))));
    }
}
