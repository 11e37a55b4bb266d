//! The handle registry: every ring, task and subscription is an opaque `u64` handle (the form
//! that crosses FFI), each with a cancellation token; a task's token is a child of its ring's,
//! and every ring's a child of the registry's root.
//!
//! The registry's map sits behind a mutex: it is touched when work starts, ends or is cancelled,
//! never per frame.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ringflow::{Delivery, Ring};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::{EngineError, Result};
use crate::sink::Sink;
use crate::source::Source;
use crate::subscription::{Subscription, Waiter};
use crate::task::{self, ConsumeOptions, ProduceOptions};

/// An opaque handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Handle(pub u64);

/// How a task ended, its error kept as a value (for callers that map errors to types, as the
/// foreign boundary does).
#[derive(Debug)]
pub enum Outcome {
    /// It returned this (serialized).
    Done(Value),
    /// It failed.
    Failed(EngineError),
    /// Its token was cancelled before it finished.
    Cancelled,
    /// It panicked; the panic's message.
    Panicked(String),
}

impl Outcome {
    fn state(&self) -> TaskState {
        match self {
            Outcome::Done(v) => TaskState::Done(v.clone()),
            Outcome::Failed(e) => TaskState::Failed(e.to_string()),
            Outcome::Cancelled => TaskState::Failed(EngineError::Cancelled.to_string()),
            Outcome::Panicked(m) => TaskState::Failed(format!("panicked: {m}")),
        }
    }
}

/// Called once, on a runtime thread, with a task's handle and outcome when it ends (before
/// [`Registry::join`] returns).
pub type OnEnd = Box<dyn FnOnce(Handle, Outcome) + Send>;

fn to_json<T: Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Where a task is.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Still running.
    Running,
    /// Ended; its summary.
    Done(serde_json::Value),
    /// Ended with an error (or a panic, whose message this is).
    Failed(String),
}

enum Kind {
    Ring {
        ring: Ring,
        waiter: OnceLock<Arc<Waiter>>,
    },
    Task {
        state: watch::Receiver<TaskState>,
        ring: Option<Handle>,
        live: Live,
    },
    Subscription {
        ring: Handle,
    },
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Ring { .. } => "ring",
            Kind::Task { .. } => "task",
            Kind::Subscription { .. } => "subscription",
        }
    }
}

struct Entry {
    kind: Kind,
    token: CancellationToken,
}

/// A task's latest progress (frames so far, latency so far), updated every few thousand frames.
type Live = Arc<Mutex<serde_json::Value>>;

/// Counts running tasks, for `shutdown`.
#[derive(Default)]
struct Running {
    count: Mutex<usize>,
    idle: Condvar,
}

/// Every ring, task and subscription the engine runs.
pub struct Registry {
    entries: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
    root: CancellationToken,
    runtime: tokio::runtime::Handle,
    running: Arc<Running>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("entries", &self.entries.lock().unwrap().len())
            .finish()
    }
}

impl Registry {
    /// A registry whose tasks run on `runtime`.
    pub fn new(runtime: tokio::runtime::Handle) -> Self {
        Registry {
            entries: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            root: CancellationToken::new(),
            runtime,
            running: Arc::default(),
        }
    }

    /// The process-wide registry, on the shared runtime.
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(|| Registry::new(crate::runtime::runtime().handle().clone()))
    }

    fn insert(&self, kind: Kind, token: CancellationToken) -> Handle {
        // Relaxed: only uniqueness matters.
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.entries
            .lock()
            .unwrap()
            .insert(id, Entry { kind, token });
        Handle(id)
    }

    /// Adds a ring; its tasks and subscriptions are cancelled with it.
    pub fn add_ring(&self, ring: Ring) -> Handle {
        self.insert(
            Kind::Ring {
                ring,
                waiter: OnceLock::new(),
            },
            self.root.child_token(),
        )
    }

    /// The ring of a ring handle.
    pub fn ring(&self, h: Handle) -> Result<Ring> {
        self.with_ring(h, |ring, _, _| ring.clone())
    }

    fn with_ring<R>(
        &self,
        h: Handle,
        f: impl FnOnce(&Ring, &CancellationToken, &OnceLock<Arc<Waiter>>) -> R,
    ) -> Result<R> {
        let entries = self.entries.lock().unwrap();
        match entries.get(&h.0) {
            Some(Entry {
                kind: Kind::Ring { ring, waiter },
                token,
            }) => Ok(f(ring, token, waiter)),
            Some(e) => Err(EngineError::WrongKind {
                handle: h.0,
                found: e.kind.name(),
                expected: "ring",
            }),
            None => Err(EngineError::UnknownHandle(h.0)),
        }
    }

    /// Runs `job` on the blocking pool under a child token of `parent` (a ring handle) or of the
    /// root. A panic in `job` ends this task in `Failed` with the panic's message; nothing else
    /// stops.
    pub fn spawn_job<T, F>(&self, parent: Option<Handle>, job: F) -> Result<Handle>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(CancellationToken) -> Result<T> + Send + 'static,
    {
        self.spawn_job_then(parent, job, None)
    }

    /// [`spawn_job`](Self::spawn_job), calling `on_end` once when the job ends.
    pub fn spawn_job_then<T, F>(
        &self,
        parent: Option<Handle>,
        job: F,
        on_end: Option<OnEnd>,
    ) -> Result<Handle>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(CancellationToken) -> Result<T> + Send + 'static,
    {
        self.spawn_task(parent, Live::default(), job, on_end)
    }

    /// Runs the future `work(token)` on the runtime's workers under a child token of `parent`
    /// (a ring handle) or of the root; cancelling the token drops the future (the task ends as
    /// [`Outcome::Cancelled`]). No thread waits for it: use it for work that awaits (a frame, a
    /// task's end), and [`spawn_job`](Self::spawn_job) for work that blocks.
    pub fn spawn_future<T, F, Fut>(
        &self,
        parent: Option<Handle>,
        work: F,
        on_end: Option<OnEnd>,
    ) -> Result<Handle>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        self.track(
            parent,
            Live::default(),
            |runtime, token| {
                let work = work(token.clone());
                runtime.spawn(async move {
                    tokio::select! {
                        biased;
                        _ = token.cancelled() => Err(EngineError::Cancelled),
                        r = work => r.map(to_json),
                    }
                })
            },
            on_end,
        )
    }

    fn spawn_task<T, F>(
        &self,
        parent: Option<Handle>,
        live: Live,
        job: F,
        on_end: Option<OnEnd>,
    ) -> Result<Handle>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(CancellationToken) -> Result<T> + Send + 'static,
    {
        self.track(
            parent,
            live,
            |runtime, token| runtime.spawn_blocking(move || job(token).map(to_json)),
            on_end,
        )
    }

    /// Registers a task, starts it with `start` and, when it ends, sets its state and calls
    /// `on_end`.
    fn track(
        &self,
        parent: Option<Handle>,
        live: Live,
        start: impl FnOnce(&tokio::runtime::Handle, CancellationToken) -> JoinHandle<Result<Value>>,
        on_end: Option<OnEnd>,
    ) -> Result<Handle> {
        let token = match parent {
            Some(h) => self.with_ring(h, |_, token, _| token.child_token())?,
            None => self.root.child_token(),
        };
        let (tx, rx) = watch::channel(TaskState::Running);
        let h = self.insert(
            Kind::Task {
                state: rx,
                ring: parent,
                live,
            },
            token.clone(),
        );
        *self.running.count.lock().unwrap() += 1;
        let running = Arc::clone(&self.running);
        let join = start(&self.runtime, token);
        self.runtime.spawn(async move {
            let outcome = match join.await {
                Ok(Ok(value)) => Outcome::Done(value),
                Ok(Err(EngineError::Cancelled)) => Outcome::Cancelled,
                Ok(Err(e)) => Outcome::Failed(e),
                Err(e) if e.is_panic() => Outcome::Panicked(panic_message(e.into_panic())),
                Err(_) => Outcome::Cancelled,
            };
            let state = outcome.state();
            if let Some(on_end) = on_end {
                // A panicking callback must not keep the task counted as running.
                let _ =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| on_end(h, outcome)));
            }
            let _ = tx.send(state);
            let mut count = running.count.lock().unwrap();
            *count -= 1;
            running.idle.notify_all();
        });
        Ok(h)
    }

    /// Starts a producer task writing `source` into a ring.
    pub fn spawn_producer(
        &self,
        ring: Handle,
        source: Box<dyn Source>,
        options: ProduceOptions,
    ) -> Result<Handle> {
        self.spawn_producer_then(ring, source, options, None)
    }

    /// [`spawn_producer`](Self::spawn_producer), calling `on_end` once when the producer ends.
    pub fn spawn_producer_then(
        &self,
        ring: Handle,
        source: Box<dyn Source>,
        options: ProduceOptions,
        on_end: Option<OnEnd>,
    ) -> Result<Handle> {
        let r = self.ring(ring)?;
        let live = Live::default();
        let l = Arc::clone(&live);
        self.spawn_task(
            Some(ring),
            live,
            move |token| {
                task::run_producer(&r, source, options, &token, |frames| {
                    *l.lock().unwrap() = serde_json::json!({"role": "producer", "frames": frames});
                })
            },
            on_end,
        )
    }

    /// Starts a consumer task reading a ring into `sink`. The consumer is registered before this
    /// returns, so it sees every frame published afterwards.
    pub fn spawn_consumer(
        &self,
        ring: Handle,
        mut sink: Box<dyn Sink>,
        options: ConsumeOptions,
    ) -> Result<Handle> {
        let r = self.ring(ring)?;
        // Before registering: drops from the registration on are this reader's gaps.
        let dropped_at_start = r.stats().dropped;
        let mut consumer = match &options.name {
            Some((name, grace)) => r.consumer_named(name, options.delivery, *grace)?,
            None => r.consumer_with(options.delivery, options.start)?,
        };
        let live = Live::default();
        let l = Arc::clone(&live);
        self.spawn_task(Some(ring), live, move |token| {
            let mut progress = |frames: u64, latency: &crate::stats::Latency| {
                *l.lock().unwrap() =
                    serde_json::json!({"role": "consumer", "frames": frames, "latency_ns": latency.summary()});
            };
            let summary = task::run_consumer_with(&mut consumer, dropped_at_start, &r, &mut *sink, options, &token, &mut progress)?;
            sink.finish()?;
            Ok(summary)
        }, None)
    }

    /// An async reader of a ring, registered now.
    pub fn subscribe(&self, ring: Handle, delivery: Delivery) -> Result<(Handle, Subscription)> {
        let (r, token, waiter) = self.with_ring(ring, |r, token, waiter| {
            let waiter = Arc::clone(waiter.get_or_init(|| Waiter::start(r.clone())));
            (r.clone(), token.child_token(), waiter)
        })?;
        let consumer = r.consumer_with(delivery, ringflow::Start::Next)?;
        let h = self.insert(Kind::Subscription { ring }, token.clone());
        Ok((h, Subscription::new(consumer, waiter, token)))
    }

    /// A future that resolves once the ring has published more than `seen` frames, with the
    /// count then; [`Error::Closed`](ringflow::Error::Closed) (or `ProducerGone`) if it never
    /// will. Any number of these wait on the ring's one waiter thread: none holds a thread.
    pub fn published_beyond(
        &self,
        ring: Handle,
        seen: u64,
    ) -> Result<impl Future<Output = Result<u64>> + Send + 'static> {
        let (r, waiter) = self.with_ring(ring, |r, _, waiter| {
            let waiter = Arc::clone(waiter.get_or_init(|| Waiter::start(r.clone())));
            (r.clone(), waiter)
        })?;
        Ok(async move { waiter.published_beyond(&r, seen).await })
    }

    /// Statistics of a ring and of every task on it, as JSON: the ring's header, cursors, lag
    /// and counters ([`stats::ring_json`](crate::stats::ring_json)), and per task its state and
    /// latest progress (frames, latency percentiles).
    pub fn stats(&self, ring: Handle) -> Result<serde_json::Value> {
        let r = self.ring(ring)?;
        let entries = self.entries.lock().unwrap();
        let mut tasks: Vec<(u64, serde_json::Value)> = entries
            .iter()
            .filter_map(|(id, e)| match &e.kind {
                Kind::Task {
                    state,
                    ring: Some(rh),
                    live,
                } if *rh == ring => Some((
                    *id,
                    serde_json::json!({
                        "handle": id,
                        "state": *state.borrow(),
                        "progress": live.lock().unwrap().clone(),
                    }),
                )),
                _ => None,
            })
            .collect();
        drop(entries);
        tasks.sort_by_key(|(id, _)| *id);
        Ok(serde_json::json!({
            "ring": crate::stats::ring_json(&r),
            "tasks": tasks.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        }))
    }

    /// Where a task is.
    pub fn state(&self, h: Handle) -> Result<TaskState> {
        let entries = self.entries.lock().unwrap();
        match entries.get(&h.0) {
            Some(Entry {
                kind: Kind::Task { state, .. },
                ..
            }) => Ok(state.borrow().clone()),
            Some(e) => Err(EngineError::WrongKind {
                handle: h.0,
                found: e.kind.name(),
                expected: "task",
            }),
            None => Err(EngineError::UnknownHandle(h.0)),
        }
    }

    /// Waits until a task ends and returns its final state; the handle stays valid until
    /// [`release`](Self::release).
    pub async fn join(&self, h: Handle) -> Result<TaskState> {
        let mut rx = {
            let entries = self.entries.lock().unwrap();
            match entries.get(&h.0) {
                Some(Entry {
                    kind: Kind::Task { state, .. },
                    ..
                }) => state.clone(),
                Some(e) => {
                    return Err(EngineError::WrongKind {
                        handle: h.0,
                        found: e.kind.name(),
                        expected: "task",
                    })
                }
                None => return Err(EngineError::UnknownHandle(h.0)),
            }
        };
        let state = rx
            .wait_for(|s| *s != TaskState::Running)
            .await
            .map(|s| s.clone());
        // The sender is dropped only after sending the final state.
        Ok(state.unwrap_or_else(|_| rx.borrow().clone()))
    }

    /// Stops a ring, task or subscription cooperatively and frees its handle (a ring's tasks
    /// and subscriptions go with it). Waiters parked on the ring are woken at once. The task
    /// itself ends at its next look at its token; [`join`](Self::join) before cancelling to
    /// wait for that.
    pub fn cancel(&self, h: Handle) -> Result<()> {
        let (entry, ring) = {
            let mut entries = self.entries.lock().unwrap();
            let entry = entries
                .remove(&h.0)
                .ok_or(EngineError::UnknownHandle(h.0))?;
            let ring_of = |r: Handle| match entries.get(&r.0) {
                Some(Entry {
                    kind: Kind::Ring { ring, .. },
                    ..
                }) => Some(ring.clone()),
                _ => None,
            };
            let ring = match &entry.kind {
                Kind::Ring { ring, .. } => Some(ring.clone()),
                Kind::Task { ring: Some(r), .. } | Kind::Subscription { ring: r } => ring_of(*r),
                Kind::Task { ring: None, .. } => None,
            };
            if let Kind::Ring { .. } = entry.kind {
                // Everything under the ring goes too.
                entries.retain(|_, e| match &e.kind {
                    Kind::Task { ring: Some(r), .. } | Kind::Subscription { ring: r } => r.0 != h.0,
                    _ => true,
                });
            }
            (entry, ring)
        };
        entry.token.cancel();
        if let Kind::Ring { waiter, .. } = &entry.kind {
            if let Some(w) = waiter.get() {
                w.stop();
            }
        }
        if let Some(ring) = ring {
            ring.wake_waiters();
        }
        Ok(())
    }

    /// Frees the handle of a task that ended (or any handle: like `cancel`).
    pub fn release(&self, h: Handle) -> Result<()> {
        self.cancel(h)
    }

    /// Asks a task (or every task of a ring) to stop, and wakes waiters parked on its ring, but
    /// keeps the handle so the caller can still [`join`](Self::join) it (Ctrl-C in the CLI).
    pub fn stop(&self, h: Handle) -> Result<()> {
        let (token, ring) = {
            let entries = self.entries.lock().unwrap();
            let entry = entries.get(&h.0).ok_or(EngineError::UnknownHandle(h.0))?;
            let ring = match &entry.kind {
                Kind::Ring { ring, .. } => Some(ring.clone()),
                Kind::Task { ring: Some(r), .. } | Kind::Subscription { ring: r } => {
                    match entries.get(&r.0) {
                        Some(Entry {
                            kind: Kind::Ring { ring, .. },
                            ..
                        }) => Some(ring.clone()),
                        _ => None,
                    }
                }
                Kind::Task { ring: None, .. } => None,
            };
            (entry.token.clone(), ring)
        };
        token.cancel();
        if let Some(ring) = ring {
            ring.wake_waiters();
        }
        Ok(())
    }

    /// Handles alive now.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }

    /// Whether no handle is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops everything: cancels every token, wakes every waiter parked on every ring, frees
    /// every handle, and waits until the tasks ended or `deadline` passed. Returns how many tasks
    /// were still running then. Call it from outside the runtime's threads.
    pub fn shutdown(&self, deadline: Duration) -> usize {
        self.root.cancel();
        let entries: Vec<Entry> = self
            .entries
            .lock()
            .unwrap()
            .drain()
            .map(|(_, e)| e)
            .collect();
        for e in &entries {
            if let Kind::Ring { ring, waiter } = &e.kind {
                if let Some(w) = waiter.get() {
                    w.stop();
                }
                ring.wake_waiters();
            }
        }
        let until = Instant::now() + deadline;
        let mut count = self.running.count.lock().unwrap();
        while *count > 0 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            count = self.running.idle.wait_timeout(count, left).unwrap().0;
        }
        *count
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".into())
}
