//! `ringflow bridge push`: a durable named consumer of a ring that publishes every frame to a
//! JetStream stream and moves its ring cursor only past frames JetStream acknowledged.
//!
//! ```text
//!   ring ──read_into──► window (≤ WINDOW unacknowledged publishes) ──ack──► commit(seq + 1)
//!                           │ an ack fails (server gone, timeout): back off, republish the
//!                           └ whole window; the server drops what it had (Nats-Msg-Id)
//! ```
//! Each message but a run's first names its predecessor (`Nats-Expected-Last-Msg-Id`), so the
//! stream holds the frames in ring order even when a connection died with some in flight.
//! A crash loses nothing and repeats nothing: the restarted bridge takes the same name, resumes
//! at the last committed frame, and republishes what was in flight, which the server
//! de-duplicates by message id (within the stream's duplicate window).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, context::PublishAckFuture, stream};
use bytes::Bytes;
use ringflow::{Delivery, RecvError, Ring};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::wire::{self, FrameHeaders, StreamSchema};
use super::{connect, BridgeError};

/// Unacknowledged publishes at most: a batch in flight, and the most a lossless bridge reads
/// ahead of its committed cursor (capped below the ring's capacity).
pub const WINDOW: usize = 256;

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

struct Pending {
    seq: u64,
    len: usize,
    headers: async_nats::HeaderMap,
    payload: Bytes,
    ack: Option<PublishAckFuture>,
}

/// Runs the push bridge until its end (see [`PushSummary::end`]).
pub async fn push(o: PushOptions, token: CancellationToken) -> Result<PushSummary, BridgeError> {
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
    let mut pending: VecDeque<Pending> = VecDeque::with_capacity(window);
    let mut buf = vec![0u8; ring.slot_size()];
    let limit = o.frames.unwrap_or(u64::MAX);
    let mut idle_since: Option<Instant> = None;
    // The message id of the frame published last: the next one must follow it in the stream.
    let mut last_id: Option<String> = None;
    let end = loop {
        if token.is_cancelled() {
            break "cancelled";
        }
        if s.frames + pending.len() as u64 >= limit {
            if pending.is_empty() {
                break "frames";
            }
            if settle_oldest(&js, &o, &mut pending, &mut consumer, &mut s, &token)
                .await
                .is_err()
            {
                break "cancelled";
            }
            continue;
        }
        if pending.len() >= window {
            if settle_oldest(&js, &o, &mut pending, &mut consumer, &mut s, &token)
                .await
                .is_err()
            {
                break "cancelled";
            }
            continue;
        }
        match consumer.read_into(&mut buf) {
            Ok(Some(info)) => {
                idle_since = None;
                let mut headers = FrameHeaders {
                    seq: info.seq,
                    kind: info.kind,
                    timestamp_ns: info.timestamp_ns,
                    lost_before: info.lost_before,
                }
                .to_map(&ring_id);
                // The stream keeps the ring's order: a message whose predecessor did not make
                // it (lost with a dying connection while later ones were buffered) is refused,
                // and the window is republished in order.
                if let Some(prev) = &last_id {
                    headers.insert(wire::EXPECTED_LAST_MSG_ID, prev.as_str());
                }
                last_id = Some(format!("{ring_id}-{}", info.seq));
                let payload = Bytes::copy_from_slice(&buf[..info.len]);
                let ack = publish(&js, &o.subject, headers.clone(), payload.clone()).await;
                pending.push_back(Pending {
                    seq: info.seq,
                    len: info.len,
                    headers,
                    payload,
                    ack,
                });
            }
            Ok(None) => {
                // Nothing to read: settle what is in flight first, then wait for the ring.
                if !pending.is_empty() {
                    if settle_oldest(&js, &o, &mut pending, &mut consumer, &mut s, &token)
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
            match settle_oldest(&js, &o, &mut pending, &mut consumer, &mut s, &token).await {
                Ok(()) => {}
                Err(BridgeError::Cancelled) => {
                    end = "cancelled";
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
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
) -> Option<PublishAckFuture> {
    js.publish_with_headers(subject.to_string(), headers, payload)
        .await
        .ok()
}

/// Waits for the oldest publish's acknowledgement and commits the ring past it. If it fails,
/// backs off and republishes the whole window until the oldest is acknowledged (the server
/// drops the duplicates by `Nats-Msg-Id`), or the run is cancelled.
/// Whether a failed stream lookup says the stream does not exist.
pub(crate) fn is_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(
        e.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(err)
            if err.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

async fn settle_oldest(
    js: &jetstream::Context,
    o: &PushOptions,
    pending: &mut VecDeque<Pending>,
    consumer: &mut ringflow::AnyConsumer,
    s: &mut PushSummary,
    token: &CancellationToken,
) -> Result<(), BridgeError> {
    let mut backoff = Duration::from_millis(50);
    loop {
        let front = pending.front_mut().expect("a pending publish");
        let acked = match front.ack.take() {
            Some(ack) => ack.await.ok(),
            None => None,
        };
        if let Some(ack) = acked {
            let p = pending.pop_front().expect("the front");
            s.frames += 1;
            s.bytes += p.len as u64;
            s.duplicates += u64::from(ack.duplicate);
            consumer.commit(p.seq + 1);
            return Ok(());
        }
        if token.is_cancelled() {
            return Err(BridgeError::Cancelled);
        }
        s.retries += 1;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
        for p in pending.iter_mut() {
            p.ack = publish(js, &o.subject, p.headers.clone(), p.payload.clone()).await;
        }
    }
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
                storage: stream::StorageType::File,
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
