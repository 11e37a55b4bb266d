//! `ringflow bridge pull`: a durable JetStream consumer that writes each message of a stream as
//! one frame into a local ring, acknowledging after the commit.
//!
//! Exactly once: every stream message becomes exactly one ring frame, in stream order, so the
//! ring itself records how far the bridge got. A small state file beside the ring
//! (`PATH.bridge-pull`, written once, before the first frame, and atomically) says which stream
//! sequence the ring's frame `base_ring_seq` holds; after a crash the last stream sequence
//! committed is `base_stream_seq + (published - base_ring_seq) - 1`, and a message the server
//! delivers again at or below it is acknowledged without being written.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull, AckKind};
use futures_util::StreamExt;
use ringflow::{FullPolicy, ProducerOptions, Ring, RingConfig};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::progress::{Progress, ProgressSnapshot};
use super::push::is_not_found;
use super::wire::{FrameHeaders, StreamSchema};
use super::{connect, BridgeError};

/// What `bridge pull` does.
#[derive(Clone, Debug)]
pub struct PullOptions {
    /// NATS server URL(s), comma separated.
    pub url: String,
    /// The stream to read.
    pub stream: String,
    /// The durable JetStream consumer's name.
    pub durable: String,
    /// The ring file (created from the stream's schema if missing).
    pub ring: PathBuf,
    /// Stop after this many frames written.
    pub frames: Option<u64>,
    /// Stop after this long without a message.
    pub idle_timeout: Option<Duration>,
}

/// How `bridge pull` ended.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PullSummary {
    /// `frames`, `idle`, `cancelled`.
    pub end: String,
    /// Frames written into the ring in this run.
    pub frames: u64,
    /// Payload bytes of those frames.
    pub bytes: u64,
    /// Messages delivered again that were already in the ring (acknowledged, not written).
    pub duplicates: u64,
    /// Frames the origin's bridge reported lost before the frames written (lossy push).
    pub upstream_lost: u64,
    /// The last stream sequence committed into the ring.
    pub last_stream_seq: u64,
    /// Seconds from start to end.
    pub elapsed_s: f64,
}

/// Which stream sequence a ring's frame holds: written once per ring, before its first frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct PullState {
    stream: String,
    ring_epoch: u64,
    base_stream_seq: u64,
    base_ring_seq: u64,
}

/// Removes the pull bridge's state file of the ring at `ring`, if there is one (`ringflow rm`
/// removes it with the ring, so no stale file stays next to where the ring was).
pub fn remove_state(ring: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(state_path(ring)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Where the pull bridge keeps its state for the ring at `ring`: `PATH.bridge-pull`.
pub fn state_path(ring: &Path) -> PathBuf {
    let mut p = ring.as_os_str().to_owned();
    p.push(".bridge-pull");
    PathBuf::from(p)
}

fn load_state(path: &Path) -> Result<Option<PullState>, BridgeError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| BridgeError::Io(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BridgeError::Io(format!("{}: {e}", path.display()))),
    }
}

/// Writes the state file whole or not at all (a temporary file, synced, then renamed).
fn store_state(path: &Path, state: &PullState) -> Result<(), BridgeError> {
    use std::io::Write;
    let io = |e: std::io::Error| BridgeError::Io(format!("{}: {e}", path.display()));
    let tmp = path.with_extension("bridge-pull.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(&serde_json::to_vec(state).expect("plain data"))
        .map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Runs the pull bridge until its end (see [`PullSummary::end`]).
pub async fn pull(o: PullOptions, token: CancellationToken) -> Result<PullSummary, BridgeError> {
    pull_with(o, token, &Progress::default()).await
}

/// [`pull`], keeping `progress` up to date as frames are committed.
pub async fn pull_with(
    o: PullOptions,
    token: CancellationToken,
    progress: &Progress,
) -> Result<PullSummary, BridgeError> {
    let client = connect(&o.url).await?;
    let js = jetstream::new(client);
    let mut stream = match js.get_stream(&o.stream).await {
        Ok(s) => s,
        Err(e) if is_not_found(&e) => return Err(BridgeError::StreamMissing(o.stream.clone())),
        Err(e) => return Err(BridgeError::Nats(format!("stream {}: {e}", o.stream))),
    };
    let info = stream
        .info()
        .await
        .map_err(|e| BridgeError::Nats(format!("stream {}: {e}", o.stream)))?;
    let schema = StreamSchema::from_description(info.config.description.as_deref())
        .ok_or_else(|| {
            BridgeError::SchemaMismatch(format!("stream {} is not a ringflow stream", o.stream))
        })?
        .map_err(BridgeError::SchemaMismatch)?;
    let ring = if o.ring.exists() {
        let ring = Ring::open(&o.ring)?;
        if let Some(why) = schema.mismatch(&ring) {
            return Err(BridgeError::SchemaMismatch(why));
        }
        ring
    } else {
        let config = RingConfig::new(schema.slots, schema.slot_size)
            .schema(schema.ring_schema().map_err(BridgeError::SchemaMismatch)?);
        Ring::create(&o.ring, &config)?
    };
    let mut producer = ring.producer(ProducerOptions::new(FullPolicy::Block { timeout: None }))?;
    let state_file = state_path(&o.ring);
    let epoch = ring.header().epoch;
    let mut state =
        load_state(&state_file)?.filter(|s| s.ring_epoch == epoch && s.stream == o.stream);
    // The last stream sequence in the ring, if the ring has the stream's frames.
    let committed = |state: &Option<PullState>, published: u64| {
        state.as_ref().and_then(|s| {
            (published > s.base_ring_seq)
                .then(|| s.base_stream_seq + (published - s.base_ring_seq) - 1)
        })
    };

    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .get_or_create_consumer(
            &o.durable,
            pull::Config {
                durable_name: Some(o.durable.clone()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                deliver_policy: jetstream::consumer::DeliverPolicy::All,
                ack_wait: Duration::from_secs(10),
                max_ack_pending: 4096,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| BridgeError::Nats(format!("consumer {}: {e}", o.durable)))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| BridgeError::Nats(format!("consumer {}: {e}", o.durable)))?;

    let started = Instant::now();
    let mut s = PullSummary::default();
    let limit = o.frames.unwrap_or(u64::MAX);
    let end = loop {
        if s.frames >= limit {
            break "frames";
        }
        let next = tokio::select! {
            _ = token.cancelled() => break "cancelled",
            m = messages.next() => m,
            _ = tokio::time::sleep(o.idle_timeout.unwrap_or(Duration::MAX)), if o.idle_timeout.is_some() => break "idle",
        };
        let msg = match next {
            Some(Ok(m)) => m,
            // The client reconnects by itself; a failed pull request is retried by the stream.
            Some(Err(_)) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            None => return Err(BridgeError::Nats("the message stream ended".into())),
        };
        let seq = msg
            .info()
            .map_err(|e| BridgeError::BadMessage(e.to_string()))?
            .stream_sequence;
        let last = committed(&state, ring.published());
        if last.is_some_and(|l| seq <= l) {
            // Delivered again after a crash or a lost acknowledgement: already in the ring.
            s.duplicates += 1;
            progress.set(snapshot(&s));
            let _ = msg.ack().await;
            continue;
        }
        if let Some(l) = last {
            if seq != l + 1 {
                // A later message overtook one the server will deliver again: not yet.
                let _ = msg
                    .ack_with(AckKind::Nak(Some(Duration::from_millis(20))))
                    .await;
                continue;
            }
        }
        let h = FrameHeaders::from_map(msg.headers.as_ref()).map_err(BridgeError::BadMessage)?;
        if msg.payload.len() > ring.slot_size() {
            return Err(BridgeError::BadMessage(format!(
                "stream sequence {seq}: {} bytes do not fit the ring's {}-byte slots",
                msg.payload.len(),
                ring.slot_size()
            )));
        }
        if state.is_none() {
            let fresh = PullState {
                stream: o.stream.clone(),
                ring_epoch: epoch,
                base_stream_seq: seq,
                base_ring_seq: ring.published(),
            };
            store_state(&state_file, &fresh)?;
            state = Some(fresh);
        }
        // A lossless reader of the ring may hold us back: wait off the async workers.
        tokio::task::block_in_place(|| -> Result<(), BridgeError> {
            let mut slot = producer.claim().map_err(ringflow::Error::from)?;
            slot.payload_mut()[..msg.payload.len()].copy_from_slice(&msg.payload);
            slot.set_kind(h.kind);
            slot.set_timestamp_ns(h.timestamp_ns);
            slot.commit(msg.payload.len());
            Ok(())
        })?;
        s.frames += 1;
        s.bytes += msg.payload.len() as u64;
        s.upstream_lost += h.lost_before;
        s.last_stream_seq = seq;
        progress.set(snapshot(&s));
        // Acknowledged after the commit; a lost acknowledgement brings the message again,
        // which the check above drops.
        let _ = msg.ack().await;
    };
    s.end = end.into();
    s.elapsed_s = started.elapsed().as_secs_f64();
    Ok(s)
}

fn snapshot(s: &PullSummary) -> ProgressSnapshot {
    ProgressSnapshot {
        frames: s.frames,
        bytes: s.bytes,
        duplicates: s.duplicates,
        retries: 0,
    }
}
