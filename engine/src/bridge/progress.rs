//! Live counters of a running bridge, read by a progress display on another thread.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a bridge has done so far in this run; the bridge's loop stores, anyone loads.
#[derive(Debug, Default)]
pub struct Progress {
    frames: AtomicU64,
    bytes: AtomicU64,
    duplicates: AtomicU64,
    retries: AtomicU64,
}

/// One reading of [`Progress`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgressSnapshot {
    /// Frames done: acknowledged by the server (push) or committed into the ring (pull).
    pub frames: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Duplicates: acknowledged as such by the server (push), or dropped (pull).
    pub duplicates: u64,
    /// Times push republished its window after a failure (0 for pull).
    pub retries: u64,
}

impl Progress {
    /// Stores the bridge's counters.
    pub(crate) fn set(&self, s: ProgressSnapshot) {
        // Relaxed: each counter is a display value on its own; nothing is ordered by it.
        self.frames.store(s.frames, Ordering::Relaxed);
        self.bytes.store(s.bytes, Ordering::Relaxed);
        self.duplicates.store(s.duplicates, Ordering::Relaxed);
        self.retries.store(s.retries, Ordering::Relaxed);
    }

    /// The counters as last stored (each one may be a moment newer than the others).
    pub fn snapshot(&self) -> ProgressSnapshot {
        // Relaxed: as in `set`.
        ProgressSnapshot {
            frames: self.frames.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}
