//! Futex waits, behind one small module: the protocols decide *when* to sleep (see `sleep.rs`),
//! this decides *how*.
//!
//! - An anonymous (in-process) region parks with `atomic-wait` when no timeout is asked: its
//!   futex is private to this process, which is all an in-process ring needs, and the kernel's
//!   private-futex path is the cheaper one.
//! - A timed wait, or any wait on a file-backed region, uses `rustix`'s futex: `atomic-wait` 1.1
//!   always sets `FUTEX_PRIVATE_FLAG` and passes no timeout (its `src/linux.rs`), so it can neither
//!   wake a waiter in another process that maps the same file nor stop at a deadline. Leaving out
//!   the private flag keys the futex on the file page, so a wake in one process reaches a sleeper
//!   in another.
//!
//! Spurious returns (a signal, a changed word, a timeout) are normal: every caller re-checks its
//! condition after a wait.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

use rustix::thread::futex;

/// Who can share a futex word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Only threads of this process (anonymous mapping).
    Private,
    /// Any process that maps the same file.
    Shared,
}

/// Sleeps while `*word == expected`, at most `timeout` (forever if `None`).
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>, scope: Scope) {
    match (scope, timeout) {
        (Scope::Private, None) => atomic_wait::wait(word, expected),
        (scope, timeout) => {
            let ts = timeout.map(|t| futex::Timespec {
                tv_sec: t.as_secs().min(i64::MAX as u64) as i64,
                tv_nsec: i64::from(t.subsec_nanos()),
            });
            // EAGAIN (the word changed), ETIMEDOUT and EINTR all mean "re-check": ignored.
            let _ = futex::wait(word, flags(scope), expected, ts.as_ref());
        }
    }
}

/// Wakes every sleeper on `word`.
pub(crate) fn wake_all(word: &AtomicU32, scope: Scope) {
    match scope {
        // Same futex key as the untimed private wait above and rustix's private wait.
        Scope::Private => atomic_wait::wake_all(word),
        Scope::Shared => {
            // A wake can only fail on a bad address, which a reference into the mapping is not.
            let _ = futex::wake(word, flags(scope), i32::MAX as u32);
        }
    }
}

fn flags(scope: Scope) -> futex::Flags {
    match scope {
        Scope::Private => futex::Flags::PRIVATE,
        Scope::Shared => futex::Flags::empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn timed_wait_returns_at_its_deadline() {
        let word = AtomicU32::new(7);
        for scope in [Scope::Private, Scope::Shared] {
            let start = Instant::now();
            wait(&word, 7, Some(Duration::from_millis(20)), scope);
            assert!(
                start.elapsed() >= Duration::from_millis(19),
                "{scope:?} returned early"
            );
        }
    }

    #[test]
    fn wait_on_a_changed_word_returns_at_once() {
        let word = AtomicU32::new(1);
        wait(&word, 0, None, Scope::Private);
        wait(&word, 0, None, Scope::Shared);
    }

    #[test]
    fn wake_reaches_a_sleeper() {
        for scope in [Scope::Private, Scope::Shared] {
            let word = Arc::new(AtomicU32::new(0));
            let sleeper = {
                let word = Arc::clone(&word);
                std::thread::spawn(move || {
                    while word.load(Ordering::Acquire) == 0 {
                        wait(&word, 0, None, scope);
                    }
                })
            };
            word.store(1, Ordering::Release);
            wake_all(&word, scope);
            sleeper.join().unwrap();
        }
    }
}
