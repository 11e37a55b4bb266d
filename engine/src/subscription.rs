//! Async readers: a [`Subscription`] awaits frames without blocking a tokio worker. One waiter
//! thread per ring sleeps on the ring's futex for all of them (only while some subscription
//! waits) and wakes their tasks through a `tokio::sync::Notify`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ringflow::{AnyConsumer, RecvError, Ring};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::sink::FrameRef;

/// How long the waiter thread sleeps before it lets waiting tasks look at the producer's
/// liveness again.
const WAITER_SLICE: Duration = Duration::from_millis(50);

/// The per-ring waiter thread's shared state.
pub(crate) struct Waiter {
    notify: Notify,
    /// Subscriptions waiting now. SeqCst on both sides: a subscription stores it then unparks;
    /// the thread loads it after waking; a stale zero costs one `park_timeout` slice at most.
    waiting: AtomicUsize,
    stop: AtomicBool,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    ring: Ring,
}

impl Waiter {
    pub(crate) fn start(ring: Ring) -> Arc<Waiter> {
        let waiter = Arc::new(Waiter {
            notify: Notify::new(),
            waiting: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            thread: Mutex::new(None),
            ring,
        });
        let w = Arc::clone(&waiter);
        let handle = std::thread::Builder::new()
            .name("ringflow-waiter".into())
            .spawn(move || w.run())
            .expect("spawning the waiter thread");
        *waiter.thread.lock().unwrap() = Some(handle);
        waiter
    }

    fn run(&self) {
        let mut last = self.ring.published();
        while !self.stop.load(Ordering::SeqCst) {
            if self.waiting.load(Ordering::SeqCst) == 0 {
                // Nobody waits: don't register as a futex sleeper (that would cost every commit
                // a wake syscall).
                std::thread::park_timeout(WAITER_SLICE * 2);
                continue;
            }
            if self.ring.is_closed() {
                self.notify.notify_waiters();
                std::thread::park_timeout(WAITER_SLICE);
                continue;
            }
            last = self.ring.wait_published(last, Some(WAITER_SLICE));
            self.notify.notify_waiters();
        }
    }

    /// Resolves once `ring` published more than `seen` frames (with the count), or fails once it
    /// never will. Dropping the future (cancellation) leaves no waiter counted.
    pub(crate) async fn published_beyond(&self, ring: &Ring, seen: u64) -> Result<u64> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Enabled before the look at `published`: a notification after the look is kept.
            notified.as_mut().enable();
            let published = ring.published();
            if published > seen {
                return Ok(published);
            }
            ring.check_producer()?;
            let _counted = self.count_waiting();
            notified.await;
        }
    }

    /// Counts one more task waiting on `notify` (so the thread sleeps on the ring's futex for it)
    /// until the guard drops, however the wait ends: a dropped or cancelled future un-counts too,
    /// or the thread would go on sleeping on the futex, and every commit would pay a wake syscall.
    fn count_waiting(&self) -> Counted<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        self.unpark();
        Counted(&self.waiting)
    }

    fn unpark(&self) {
        if let Some(t) = self.thread.lock().unwrap().as_ref() {
            t.thread().unpark();
        }
    }

    /// Stops the thread and waits for it.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.ring.wake_waiters();
        self.unpark();
        if let Some(t) = self.thread.lock().unwrap().take() {
            let _ = t.join();
        }
        self.notify.notify_waiters();
    }
}

/// Un-counts a waiting task when dropped (see [`Waiter::count_waiting`]).
struct Counted<'a>(&'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        // SeqCst: as for `Waiter::waiting`.
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An owned copy of one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFrame {
    /// Sequence number.
    pub seq: u64,
    /// User kind.
    pub kind: u16,
    /// Producer's timestamp.
    pub timestamp_ns: u64,
    /// Frames lost just before this one.
    pub lost_before: u64,
    /// Payload.
    pub payload: Vec<u8>,
}

/// An async reader of one ring. Obtained from
/// [`Registry::subscribe`](crate::registry::Registry::subscribe).
pub struct Subscription {
    consumer: AnyConsumer,
    waiter: Arc<Waiter>,
    token: CancellationToken,
}

impl Subscription {
    pub(crate) fn new(
        consumer: AnyConsumer,
        waiter: Arc<Waiter>,
        token: CancellationToken,
    ) -> Self {
        Subscription {
            consumer,
            waiter,
            token,
        }
    }

    /// Frames this reader lost (lossy, or lapped by an `overwrite` producer).
    pub fn lost(&self) -> u64 {
        self.consumer.lost()
    }

    /// The next frame, copied; `None` once the ring closed (after the last frame) or the
    /// subscription was cancelled.
    pub async fn next(&mut self) -> Option<Result<OwnedFrame>> {
        self.next_with(|f, lost_before| OwnedFrame {
            seq: f.seq,
            kind: f.kind,
            timestamp_ns: f.timestamp_ns,
            lost_before,
            payload: f.payload.to_vec(),
        })
        .await
    }

    /// The next frame, handed to `read` in place (valid only during the call) with the count of
    /// frames lost just before it. If a producer overwrote the frame while `read` ran (a lossy
    /// reader), `read`'s result is discarded and the next frame is read instead.
    pub async fn next_with<R>(
        &mut self,
        mut read: impl FnMut(FrameRef<'_>, u64) -> R,
    ) -> Option<Result<R>> {
        loop {
            let notified = self.waiter.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.consumer.poll() {
                Ok(Some(frame)) => {
                    let view = FrameRef {
                        seq: frame.seq(),
                        kind: frame.kind(),
                        timestamp_ns: frame.timestamp_ns(),
                        payload: frame.payload(),
                    };
                    let out = read(view, frame.lost_before());
                    if frame.is_intact() {
                        return Some(Ok(out));
                    }
                    continue; // overwritten while read: the next poll counts it lost
                }
                Ok(None) => {}
                Err(e) => return Some(Err(e.into())),
            }
            match self.consumer.check_producer() {
                Ok(()) => {}
                Err(RecvError::Closed) => return None,
                Err(e) => return Some(Err(e.into())),
            }
            // The guard un-counts even if this future is dropped while it waits.
            let counted = self.waiter.count_waiting();
            let cancelled = tokio::select! {
                _ = &mut notified => false,
                _ = self.token.cancelled() => true,
            };
            drop(counted);
            if cancelled {
                return None;
            }
        }
    }
}
