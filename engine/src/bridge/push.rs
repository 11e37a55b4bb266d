//! `ringflow bridge push`: a durable named consumer of a ring that publishes every frame to a
//! JetStream stream and moves its ring cursor only past frames JetStream acknowledged.
//!
//! ```text
//!   ring ──poll──────► window (≤ WINDOW unacknowledged publishes) ──ack──► commit(seq + 1)
//!                           │ an ack fails (server gone, timeout): back off, republish the
//!                           └ whole window; the server drops what it had (Nats-Msg-Id)
//! ```
//! Each message but a run's first names its predecessor (`Nats-Expected-Last-Msg-Id`), so the
//! stream holds the frames in ring order even when a connection died with some in flight.
//! A crash loses nothing and repeats nothing: the restarted bridge takes the same name, resumes
//! at the last committed frame, and republishes what was in flight, which the server
//! de-duplicates by message id (within the stream's duplicate window).

use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use async_nats::jetstream::context::PublishError;
use async_nats::jetstream::{self, publish::PublishAck, stream};
use bytes::Bytes;
use futures_util::FutureExt;
use ringflow::{Delivery, RecvError, Ring};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::arena::Arena;
use super::progress::{Progress, ProgressSnapshot};
use super::wire::{self, FrameHeaders, StreamSchema};
use super::{connect, BridgeError};

/// Unacknowledged publishes at most: a batch in flight, and the most a lossless bridge reads
/// ahead of its committed cursor (capped below the ring's capacity).
pub const WINDOW: usize = 256;

/// Acknowledged frames at most between two commits of the ring cursor (a quarter of the
/// window). Each commit may wake a producer waiting for space, a futex syscall on both sides
/// (FACTS.md: ~10 us in the waker); committing every frame cost the bridge most of its speed
/// at small frames (docs/BENCHMARKS.md "NATS bridge"). Whatever is acknowledged is committed
/// at once when nothing else is in flight, so a frame is never held back waiting for others.
pub const COMMIT_EVERY: usize = WINDOW / 4;

/// What `bridge push` does.
#[derive(Clone, Debug)]
pub struct PushOptions {
    /// The ring file.
    pub ring: PathBuf,
    /// NATS server URL(s), comma separated.
    pub url: String,
    /// JetStream stream (created if missing).
    pub stream: String,
    /// Subject the frames are published on.
    pub subject: String,
    /// The durable consumer name in the ring.
    pub name: String,
    /// Lossless (holds the ring's producers back while the server is away) or lossy.
    pub delivery: Delivery,
    /// How long the ownerless named consumer may hold producers back (after a crash).
    pub grace: Duration,
    /// Stream replicas when the stream is created.
    pub replicas: usize,
    /// Where the stream keeps its messages, when it is created: `File` (survives a server
    /// restart) or `Memory`.
    pub storage: stream::StorageType,
    /// How long the stream keeps a message, when it is created: `Limits` (until a limit
    /// removes it, by default never) or `WorkQueue` (until a consumer acknowledges it: a pull
    /// bridge, the one consumer such a stream allows). `Interest` is not offered: a message
    /// published while no consumer exists yet would be dropped.
    pub retention: stream::RetentionPolicy,
    /// The stream's size limit in bytes, when it is created, with discard `New`: a full stream
    /// refuses messages and push holds back (republishing its window with backoff) until there
    /// is room, which a work queue makes as the pull bridge acknowledges. `None`: no limit.
    pub max_bytes: Option<u64>,
    /// Stop after this many frames acknowledged.
    pub frames: Option<u64>,
    /// Stop after this long without a frame to read.
    pub idle_timeout: Option<Duration>,
}

/// How `bridge push` ended.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PushSummary {
    /// `frames`, `closed`, `producer_gone`, `idle`, `cancelled`.
    pub end: String,
    /// Frames published and acknowledged in this run.
    pub frames: u64,
    /// Payload bytes of those frames.
    pub bytes: u64,
    /// Where this run started in the ring (where the last owner of the name committed).
    pub start_seq: u64,
    /// Whether the name existed already (a restart).
    pub resumed: bool,
    /// Frames the named consumer lost because a producer evicted it meanwhile (before start).
    pub missed_at_start: u64,
    /// Frames lost while this run read (lossy: lapped while the server was away).
    pub lost: u64,
    /// Publishes acknowledged as duplicates (republished after a failure or a restart).
    pub duplicates: u64,
    /// Times the window was republished after a failed acknowledgement.
    pub retries: u64,
    /// The ring's committed cursor at the end.
    pub committed: u64,
    /// Seconds from start to end.
    pub elapsed_s: f64,
}

/// An acknowledgement on its way (`PublishAckFuture` turned into a future once, so it can be
/// polled without waiting for it).
type Ack = Pin<Box<dyn Future<Output = Result<PublishAck, PublishError>> + Send>>;

/// A frame published and not yet acknowledged: enough to publish it again in the same form.
struct Pending {
    facts: FrameHeaders,
    /// The sequence of the frame published before it in this run (its expected last id).
    prev: Option<u64>,
    payload: Bytes,
    ack: Option<Ack>,
}

/// Acknowledged frames whose ring cursor is not committed yet.
#[derive(Default)]
struct Uncommitted {
    /// One past the last acknowledged frame.
    upto: u64,
    frames: usize,
}

/// Runs the push bridge until its end (see [`PushSummary::end`]).
pub async fn push(o: PushOptions, token: CancellationToken) -> Result<PushSummary, BridgeError> {
    push_with(o, token, &Progress::default()).await
}

/// [`push`], keeping `progress` up to date as frames are acknowledged.
pub async fn push_with(
    o: PushOptions,
    token: CancellationToken,
    progress: &Progress,
) -> Result<PushSummary, BridgeError> {
    let ring = Ring::open(&o.ring)?;
    let ring_id = wire::ring_id(&ring);
    let schema = StreamSchema::of(&ring);
    let client = connect(&o.url).await?;
    let js = jetstream::new(client);
    // A cluster that just started has no JetStream leader yet: its requests fail for a while.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ensure_stream(&js, &o, &schema).await {
            Ok(()) => break,
            Err(BridgeError::Nats(_)) if Instant::now() < deadline && !token.is_cancelled() => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => return Err(e),
        }
    }

    let mut consumer = ring.consumer_named(&o.name, o.delivery, o.grace)?;
    consumer.hold_releases();
    let started = Instant::now();
    let mut s = PushSummary {
        start_seq: consumer.next_seq(),
        resumed: consumer.resumed().is_some(),
        missed_at_start: consumer.missed_at_start(),
        ..Default::default()
    };
    let window = WINDOW.min(ring.capacity().saturating_sub(1)).max(1);
    let commit_every = COMMIT_EVERY.min(window).max(1);
    let mut pending: VecDeque<Pending> = VecDeque::with_capacity(window);
    let mut done = Uncommitted::default();
    let limit = o.frames.unwrap_or(u64::MAX);
    let mut idle_since: Option<Instant> = None;
    // The frame published last: the next one must follow it in the stream.
    let mut prev: Option<u64> = None;
    let mut arena = Arena::default();
    let mut settle = Settle {
        js: &js,
        subject: &o.subject,
        ring_id: &ring_id,
        commit_every,
        token: &token,
        progress,
    };
    let end = loop {
        if token.is_cancelled() {
            break "cancelled";
        }
        let full = pending.len() >= window || s.frames + pending.len() as u64 >= limit;
        if full {
            if pending.is_empty() {
                break "frames";
            }
            if settle
                .oldest(&mut pending, &mut done, &mut consumer, &mut s)
                .await
                .is_err()
            {
                break "cancelled";
            }
            continue;
        }
        // A view (the slot itself, for a lossless reader) copied once into the message, with
        // no allocation (`arena`).
        let next = consumer.poll().map(|f| {
            f.map(|f| {
                let facts = FrameHeaders {
                    seq: f.seq(),
                    kind: f.kind(),
                    timestamp_ns: f.timestamp_ns(),
                    lost_before: f.lost_before(),
                };
                (facts, arena.copy(f.payload()))
            })
        });
        match next {
            Ok(Some((facts, payload))) => {
                idle_since = None;
                // The stream keeps the ring's order: a message whose predecessor did not make
                // it (lost with a dying connection while later ones were buffered) is refused,
                // and the window is republished in order.
                let headers = facts.to_map(&ring_id, prev);
                let ack = publish(&js, &o.subject, headers, payload.clone()).await;
                pending.push_back(Pending {
                    facts,
                    prev,
                    payload,
                    ack,
                });
                prev = Some(facts.seq);
            }
            Ok(None) => {
                // Nothing to read: settle what is in flight first, then wait for the ring.
                if !pending.is_empty() {
                    if settle
                        .oldest(&mut pending, &mut done, &mut consumer, &mut s)
                        .await
                        .is_err()
                    {
                        break "cancelled";
                    }
                    continue;
                }
                let since = *idle_since.get_or_insert_with(Instant::now);
                if o.idle_timeout.is_some_and(|t| since.elapsed() >= t) {
                    break "idle";
                }
                match tokio::task::block_in_place(|| consumer.wait(Some(Duration::from_millis(20))))
                {
                    Ok(()) | Err(RecvError::Timeout) => {}
                    Err(RecvError::Closed) => break "closed",
                    Err(RecvError::ProducerGone { .. }) => break "producer_gone",
                    Err(e) => return Err(ringflow::Error::from(e).into()),
                }
            }
            Err(e) => return Err(ringflow::Error::from(e).into()),
        }
    };
    // A run that ended settles what is in flight; a cancelled one leaves it uncommitted, for
    // the next run to republish (the server drops the copies it has).
    let mut end = end;
    if end != "cancelled" {
        while !pending.is_empty() {
            match settle
                .oldest(&mut pending, &mut done, &mut consumer, &mut s)
                .await
            {
                Ok(()) => {}
                Err(BridgeError::Cancelled) => {
                    end = "cancelled";
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
    // What was acknowledged is the far side's: commit it, however the run ended.
    done.commit(&mut consumer);
    s.end = end.into();
    s.lost = consumer.lost();
    s.committed = consumer.committed_seq();
    s.elapsed_s = started.elapsed().as_secs_f64();
    Ok(s)
}

/// Publishes one message; `None` if the publish could not even be sent (it is sent again when
/// the window is republished).
async fn publish(
    js: &jetstream::Context,
    subject: &str,
    headers: async_nats::HeaderMap,
    payload: Bytes,
) -> Option<Ack> {
    js.publish_with_headers(subject.to_string(), headers, payload)
        .await
        .ok()
        .map(IntoFuture::into_future)
}

/// Whether a failed stream lookup says the stream does not exist.
pub(crate) fn is_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(
        e.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(err)
            if err.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

impl Uncommitted {
    /// Frame `seq` is acknowledged.
    fn acked(&mut self, seq: u64) {
        self.upto = seq + 1;
        self.frames += 1;
    }

    /// Moves the ring cursor past every acknowledged frame.
    fn commit(&mut self, consumer: &mut ringflow::AnyConsumer) {
        if self.frames > 0 {
            consumer.commit(self.upto);
            self.frames = 0;
        }
    }
}

/// How the window is settled.
struct Settle<'a> {
    js: &'a jetstream::Context,
    subject: &'a str,
    ring_id: &'a str,
    commit_every: usize,
    token: &'a CancellationToken,
    progress: &'a Progress,
}

impl Settle<'_> {
    /// Waits for the oldest publish's acknowledgement, takes every later one that is already
    /// there, and commits the ring past them once `commit_every` are uncommitted or nothing is
    /// in flight any more. If the oldest fails, backs off and republishes the whole window until
    /// it is acknowledged (the server drops the duplicates by `Nats-Msg-Id`), or the run is
    /// cancelled.
    async fn oldest(
        &mut self,
        pending: &mut VecDeque<Pending>,
        done: &mut Uncommitted,
        consumer: &mut ringflow::AnyConsumer,
        s: &mut PushSummary,
    ) -> Result<(), BridgeError> {
        let mut backoff = Duration::from_millis(50);
        loop {
            let front = pending.front_mut().expect("a pending publish");
            let acked = match front.ack.take() {
                Some(ack) => ack.await.ok(),
                None => None,
            };
            if let Some(ack) = acked {
                take(pending, done, s, &ack);
                break;
            }
            if self.token.is_cancelled() {
                return Err(BridgeError::Cancelled);
            }
            s.retries += 1;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
            for p in pending.iter_mut() {
                let headers = p.facts.to_map(self.ring_id, p.prev);
                p.ack = publish(self.js, self.subject, headers, p.payload.clone()).await;
            }
        }
        // Acknowledgements come in bursts (one read of the socket): take those already here.
        while let Some(front) = pending.front_mut() {
            match front
                .ack
                .as_mut()
                .and_then(|ack| ack.as_mut().now_or_never())
            {
                Some(Ok(ack)) => take(pending, done, s, &ack),
                Some(Err(_)) => {
                    // Republished by the next call, which finds no future to wait for.
                    front.ack = None;
                    break;
                }
                None => break,
            }
        }
        if done.frames >= self.commit_every || pending.is_empty() {
            done.commit(consumer);
        }
        self.progress.set(ProgressSnapshot {
            frames: s.frames,
            bytes: s.bytes,
            duplicates: s.duplicates,
            retries: s.retries,
        });
        Ok(())
    }
}

/// The oldest pending publish was acknowledged by `ack`.
fn take(
    pending: &mut VecDeque<Pending>,
    done: &mut Uncommitted,
    s: &mut PushSummary,
    ack: &PublishAck,
) {
    let p = pending.pop_front().expect("the front");
    s.frames += 1;
    s.bytes += p.payload.len() as u64;
    s.duplicates += u64::from(ack.duplicate);
    done.acked(p.facts.seq);
}

/// Creates the stream if it is missing, recording the ring's schema in its description; if it
/// exists, checks that it carries this ring's schema and subject.
async fn ensure_stream(
    js: &jetstream::Context,
    o: &PushOptions,
    schema: &StreamSchema,
) -> Result<(), BridgeError> {
    match js.get_stream(&o.stream).await {
        Ok(mut existing) => {
            let info = existing
                .info()
                .await
                .map_err(|e| BridgeError::Nats(format!("stream {}: {e}", o.stream)))?;
            match StreamSchema::from_description(info.config.description.as_deref()) {
                Some(Ok(theirs)) if theirs.ring_schema() == schema.ring_schema() => {}
                Some(Ok(theirs)) => {
                    return Err(BridgeError::SchemaMismatch(format!(
                        "stream {} carries {} frames of {} bytes, the ring {} frames of {} bytes",
                        o.stream, theirs.schema, theirs.slot_size, schema.schema, schema.slot_size
                    )))
                }
                Some(Err(e)) => return Err(BridgeError::SchemaMismatch(e)),
                None => {
                    return Err(BridgeError::SchemaMismatch(format!(
                        "stream {} exists and is not a ringflow stream",
                        o.stream
                    )))
                }
            }
            if !info.config.subjects.iter().any(|s| s == &o.subject) {
                return Err(BridgeError::SchemaMismatch(format!(
                    "stream {} does not take subject {} (it takes {:?})",
                    o.stream, o.subject, info.config.subjects
                )));
            }
            Ok(())
        }
        Err(e) if is_not_found(&e) => {
            js.create_stream(stream::Config {
                name: o.stream.clone(),
                subjects: vec![o.subject.clone()],
                description: Some(schema.description()),
                storage: o.storage,
                retention: o.retention,
                max_bytes: match o.max_bytes {
                    Some(b) => i64::try_from(b).unwrap_or(i64::MAX),
                    None => -1,
                },
                discard: stream::DiscardPolicy::New,
                num_replicas: o.replicas,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(|e| BridgeError::Nats(format!("creating stream {}: {e}", o.stream)))?;
            Ok(())
        }
        Err(e) => Err(BridgeError::Nats(format!("stream {}: {e}", o.stream))),
    }
}
