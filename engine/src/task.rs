//! The producer and consumer loops the engine runs: blocking loops on threads of the runtime's
//! blocking pool, each watching a cancellation token.

use std::time::{Duration, Instant};

use ringflow::{ClaimError, Delivery, Error, FullPolicy, ProducerOptions, RecvError, Ring, Start};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::error::{EngineError, Result};
use crate::sink::{FrameRef, SeqVerifier, Sink, Verdict};
use crate::source::Source;
use crate::stats::{Latency, LatencySummary};

/// How long a blocked producer or a waiting consumer sleeps before it looks at its
/// cancellation token again (a cancellation also wakes it at once: `Ring::wake_waiters`).
pub const CANCEL_SLICE: Duration = Duration::from_millis(50);

/// The most frames an unpaced producer claims and commits at once ([`Source::batch`]).
const MAX_BATCH: usize = 64;

/// Frames between two progress reports of a producer.
const PROGRESS_EVERY: u64 = 4096;

/// How a producer task runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProduceOptions {
    /// Full policy.
    pub policy: FullPolicy,
    /// Stop after this many frames (`None`: until cancelled or the source ends).
    pub frames: Option<u64>,
    /// Frames per second, overriding the source's own pacing (`None`: the source's).
    pub rate: Option<f64>,
}

impl Default for ProduceOptions {
    fn default() -> Self {
        ProduceOptions {
            policy: FullPolicy::Block { timeout: None },
            frames: None,
            rate: None,
        }
    }
}

/// What a producer task did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ProduceSummary {
    /// Frames committed: the frames the ring took.
    pub frames: u64,
    /// Payload bytes committed.
    pub bytes: u64,
    /// Frames the ring did not take: under the `fail` policy a frame whose claim the full ring
    /// refused is made by the source, dropped and counted here, never retried (the ring counts
    /// the same refusal in its own `dropped`). Always 0 under `block` and `overwrite`.
    pub dropped: u64,
    /// Frames the source made: `frames + dropped`.
    pub generated: u64,
    /// Seconds from the first claim to the end.
    pub elapsed_s: f64,
    /// `frames / elapsed_s`.
    pub frames_per_s: f64,
    /// Whether it ended by cancellation.
    pub cancelled: bool,
}

/// Runs `source` into `ring` until the frame count, the end of the source, or cancellation.
/// The frame count (`options.frames`) counts the frames the source makes: under the `fail`
/// policy some of them may be dropped ([`ProduceSummary::dropped`]).
pub fn run_producer(
    ring: &Ring,
    mut source: Box<dyn Source>,
    options: ProduceOptions,
    token: &CancellationToken,
    mut progress: impl FnMut(u64),
) -> Result<ProduceSummary> {
    // A blocking producer waits in slices, so a cancellation is seen.
    let policy = match options.policy {
        FullPolicy::Block { timeout } => FullPolicy::Block {
            timeout: Some(timeout.unwrap_or(CANCEL_SLICE).min(CANCEL_SLICE)),
        },
        other => other,
    };
    let user_timeout = match options.policy {
        FullPolicy::Block { timeout } => timeout,
        _ => None,
    };
    let mut producer = ring.producer(ProducerOptions::new(policy))?;
    source.attached(producer.id());
    let fixed_period = options
        .rate
        .map(|r| Duration::from_secs_f64(1.0 / r.max(1e-6)));
    let limit = options.frames.unwrap_or(u64::MAX);
    let start = Instant::now();
    let mut deadline = start;
    let mut summary = ProduceSummary::default();
    let mut blocked_since: Option<Instant> = None;
    let mut progress_at = PROGRESS_EVERY;
    let batch_max = source.batch().clamp(1, MAX_BATCH).min(ring.capacity());
    // Where a `fail` producer makes each frame before it claims a slot: allocated once, before
    // the first frame.
    let mut scratch = match policy {
        FullPolicy::Fail => vec![0u8; ring.slot_size()],
        _ => Vec::new(),
    };
    while summary.frames + summary.dropped < limit {
        if token.is_cancelled() {
            summary.cancelled = true;
            break;
        }
        let paced = fixed_period.is_some() || source.period().is_some();
        // Absolute deadlines: a late frame does not push the later ones back. An unpaced source
        // reads no clock here (a clock read is ~20 ns on this VM: a tenth of a small frame).
        if paced {
            let now = Instant::now();
            if deadline > now {
                std::thread::sleep((deadline - now).min(CANCEL_SLICE));
                continue;
            }
        }
        if matches!(policy, FullPolicy::Fail) {
            // `fail`: a frame the full ring refuses is dropped, not retried, as a publisher
            // drops a back-pressured offer (Aeron) or a failed `tryPublish` (Disruptor). The
            // frame is made first, so a refused one is a frame the source made (what follows is
            // the stream's next frame: audio keeps its time, a `seq` reader sees the gap), and a
            // source that runs dry ends the loop before a claim: the ring's own `dropped`, which
            // counts refused claims, stays equal to the frames counted here.
            let Some(len) = source.next_frame(&mut scratch) else {
                break;
            };
            match producer.claim() {
                Ok(mut slot) => {
                    slot.set_kind(source.kind());
                    slot.payload_mut()[..len].copy_from_slice(&scratch[..len]);
                    slot.commit(len);
                    summary.frames += 1;
                    summary.bytes += len as u64;
                }
                Err(ClaimError::Full) => summary.dropped += 1,
                Err(e) => return Err(e.into()),
            }
            if let Some(p) = fixed_period.or(source.period()) {
                deadline += p;
            }
            if summary.frames + summary.dropped >= progress_at {
                progress(summary.frames);
                progress_at = summary.frames + summary.dropped + PROGRESS_EVERY;
            }
            continue;
        }
        if !paced && batch_max > 1 {
            // Unpaced, and the source allows it: a batch per claim, one commit (and one clock
            // reading) for all of it. (The `fail` policy stays per frame, above: it drops and
            // counts per frame.)
            let n = (batch_max as u64).min(limit - summary.frames) as usize;
            let mut batch = match producer.claim_batch(n) {
                Ok(batch) => batch,
                Err(ClaimError::Timeout) => {
                    still_blocked(&mut blocked_since, user_timeout)?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            blocked_since = None;
            let kind = source.kind();
            let mut filled = 0;
            while filled < n {
                let Some(len) = source.next_frame(batch.slot_mut(filled)) else {
                    break;
                };
                batch.set_len(filled, len);
                batch.set_kind(filled, kind);
                summary.bytes += len as u64;
                filled += 1;
            }
            // Slots the source did not fill are published as skip frames readers pass over.
            batch.commit_first(filled);
            summary.frames += filled as u64;
            if summary.frames >= progress_at {
                progress(summary.frames);
                progress_at = summary.frames + PROGRESS_EVERY;
            }
            if filled < n {
                break; // the source ran dry
            }
            continue;
        }
        let mut slot = match producer.claim() {
            Ok(slot) => slot,
            Err(ClaimError::Timeout) => {
                still_blocked(&mut blocked_since, user_timeout)?;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        blocked_since = None;
        slot.set_kind(source.kind());
        let Some(len) = source.next_frame(slot.payload_mut()) else {
            break; // dropping the slot publishes a skip frame readers pass over
        };
        slot.commit(len);
        summary.frames += 1;
        summary.bytes += len as u64;
        if let Some(p) = fixed_period.or(source.period()) {
            deadline += p;
        }
        if summary.frames >= progress_at {
            progress(summary.frames);
            progress_at = summary.frames + PROGRESS_EVERY;
        }
    }
    summary.generated = summary.frames + summary.dropped;
    summary.elapsed_s = start.elapsed().as_secs_f64();
    summary.frames_per_s = summary.frames as f64 / summary.elapsed_s.max(1e-9);
    Ok(summary)
}

/// A claim ended by the cancellation slice: fails with [`Error::Timeout`] once the producer has
/// been blocked for the user's own timeout, if it has one.
fn still_blocked(since: &mut Option<Instant>, user_timeout: Option<Duration>) -> Result<()> {
    let since = *since.get_or_insert_with(Instant::now);
    if user_timeout.is_some_and(|t| since.elapsed() >= t) {
        return Err(EngineError::Ring(Error::Timeout));
    }
    Ok(())
}

/// How a consumer task runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumeOptions {
    /// Lossless or lossy.
    pub delivery: Delivery,
    /// Stop after this many frames.
    pub frames: Option<u64>,
    /// Give up when no frame came for this long.
    pub timeout: Option<Duration>,
    /// Check every frame as a `seq` frame.
    pub verify: bool,
    /// Where the reader starts (unless `name` resumes a durable consumer).
    pub start: Start,
    /// Read as the durable named consumer of this name ([`Ring::consumer_named`]), which may
    /// hold producers back this long once ownerless; it resumes where the last owner of the
    /// name released, and `start` is then ignored.
    pub name: Option<(String, Duration)>,
}

impl Default for ConsumeOptions {
    fn default() -> Self {
        ConsumeOptions {
            delivery: Delivery::Lossless,
            frames: None,
            timeout: None,
            verify: false,
            start: Start::Next,
            name: None,
        }
    }
}

/// Why a consumer task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// It read the frames it was asked for.
    Frames,
    /// The ring closed and every frame was read.
    Closed,
    /// The producer's process died; every committed frame was read.
    ProducerGone,
    /// No frame came within the timeout.
    Timeout,
    /// It was cancelled.
    Cancelled,
    /// A producer evicted it.
    Evicted,
    /// No producer is left, and a frame was never committed while later ones were (a producer
    /// died between claim and commit): the frames after it were not read.
    Abandoned,
}

/// What a consumer task did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConsumeSummary {
    /// Why it ended.
    pub end: End,
    /// Frames read.
    pub frames: u64,
    /// Payload bytes read.
    pub bytes: u64,
    /// Seconds from the first frame to the end.
    pub elapsed_s: f64,
    /// `frames / elapsed_s`.
    pub frames_per_s: f64,
    /// The sequence the reader asked to start at (its start, resolved at registration).
    pub start_seq: u64,
    /// The sequence of the first frame it read, if any.
    pub first_seq: Option<u64>,
    /// Frames published before its first frame (or, if it read none, before where it stopped)
    /// that it did not see: it joined after them, or asked to start later.
    pub unseen_before: u64,
    /// Frames from `start_seq` on that were gone before the reader got to them, before its first
    /// frame (a start before the oldest frame still in the ring).
    pub missed_at_start: u64,
    /// Whether the start was exact (a sequence number), so frames missed at the start are
    /// frames the reader asked for; an `oldest` start takes what is still there, a `next` one
    /// nothing before it.
    pub exact_start: bool,
    /// Frames the ring overwrote before this reader got them, after its first frame.
    pub lost: u64,
    /// Times it was lapped.
    pub lapped: u64,
    /// Frames producers under the `fail` policy dropped while this reader was registered (the
    /// ring's `dropped` counter, at the end less just before registration): a `seq` reader sees
    /// them as gaps in the payloads that no reader lost.
    #[serde(default)]
    pub dropped_by_producers: u64,
    /// With verification: the verdict.
    pub verify: Option<Verdict>,
    /// Producer timestamp to receipt.
    pub latency_ns: LatencySummary,
}

impl ConsumeSummary {
    /// Whether verification passed: every frame whole, none duplicated or reordered, the
    /// reader's loss count equal to the gaps the payloads show (zero for a lossless reader), and,
    /// for an exact start, no frame it asked for gone before it began.
    pub fn verified(&self, delivery: Delivery) -> Option<bool> {
        self.verify
            .map(|v| self.verify_failure(delivery, &v).is_none())
    }

    /// Why verification failed, in one line, or `None` if it passed.
    pub fn verify_failure(&self, delivery: Delivery, v: &Verdict) -> Option<String> {
        if v.corrupt > 0 {
            return Some(format!("{} frames were torn or corrupt", v.corrupt));
        }
        if v.duplicated > 0 || v.reordered > 0 {
            return Some(format!(
                "{} frames came twice and {} out of order",
                v.duplicated, v.reordered
            ));
        }
        if self.exact_start && self.missed_at_start > 0 {
            return Some(format!(
                "{} frames from {} on were gone before the reader started (its first frame was {}); \
                 start with --from next or --from oldest to accept a late start, or start the reader \
                 first (produce --wait-consumers)",
                self.missed_at_start,
                self.start_seq,
                self.first_seq.map_or("none".to_string(), |f| f.to_string())
            ));
        }
        if delivery == Delivery::Lossless && self.lost > 0 {
            return Some(format!(
                "a lossless reader lost {} frames (overwritten before it read them)",
                self.lost
            ));
        }
        // Every gap is a frame this reader lost or one a `fail` producer dropped; every frame
        // it lost is a gap.
        if v.gaps < self.lost || v.gaps > self.lost + self.dropped_by_producers {
            return Some(format!(
                "the payloads show {} missing frames but the reader counted {} lost and producers \
                 dropped {} while it read",
                v.gaps, self.lost, self.dropped_by_producers
            ));
        }
        None
    }
}

/// Reads `ring` into `sink` until the frame count, close, producer death, timeout or
/// cancellation. Lossless readers of a ring that cannot be overwritten read in place; lossy readers
/// and readers of an overwritable ring copy and check (a copy is never torn).
pub fn run_consumer(
    ring: &Ring,
    sink: &mut dyn Sink,
    options: ConsumeOptions,
    token: &CancellationToken,
    mut progress: impl FnMut(u64, &Latency),
) -> Result<ConsumeSummary> {
    let dropped_at_start = ring.stats().dropped;
    let mut consumer = ring.consumer_with(options.delivery, options.start)?;
    run_consumer_with(
        &mut consumer,
        dropped_at_start,
        ring,
        sink,
        options,
        token,
        &mut progress,
    )
}

/// [`run_consumer`] with a consumer registered beforehand (so a caller can register before a
/// producer starts). `dropped_at_start` is the ring's `dropped` counter
/// ([`RingStats::dropped`](ringflow::RingStats::dropped)) read before `consumer` registered:
/// a producer may drop frames for want of the reader's space from its registration on, and
/// each such drop must count in `dropped_by_producers`, however late this call starts.
pub fn run_consumer_with(
    consumer: &mut ringflow::AnyConsumer,
    dropped_at_start: u64,
    ring: &Ring,
    sink: &mut dyn Sink,
    options: ConsumeOptions,
    token: &CancellationToken,
    progress: &mut dyn FnMut(u64, &Latency),
) -> Result<ConsumeSummary> {
    // Every producer's frames are expected from its first (number 0) only if the reader asked for
    // the ring from sequence 0 exactly; an `oldest` or `next` start begins wherever it is.
    let exact_start = matches!(options.start, Start::Seq(_));
    let mut verifier = options
        .verify
        .then(|| SeqVerifier::new(exact_start && consumer.start_seq() == 0));
    let mut latency = Latency::default();
    let mut buf = vec![0u8; ring.slot_size()];
    let limit = options.frames.unwrap_or(u64::MAX);
    let copying = options.delivery == Delivery::Lossy || ring.is_overwritable();
    let (mut frames, mut bytes) = (0u64, 0u64);
    let mut first: Option<Instant> = None;
    let mut idle_since: Option<Instant> = None;
    let mut progress_at = PROGRESS_EVERY;
    let end = loop {
        if frames >= limit {
            break End::Frames;
        }
        if token.is_cancelled() {
            break End::Cancelled;
        }
        // Frames read now and their bytes, or none; an error of the sink or the verifier ends
        // the task.
        // A lossy reader, and any reader of an overwritable ring, copies and checks: a frame may
        // be rewritten under it, and a torn frame must never reach the sink.
        let got: Result<Option<(u64, u64)>, RecvError> = if copying {
            match consumer.read_into(&mut buf) {
                Ok(Some(i)) => {
                    let f = FrameRef {
                        seq: i.seq,
                        kind: i.kind,
                        timestamp_ns: i.timestamp_ns,
                        payload: &buf[..i.len],
                    };
                    let now = ringflow::liveness::monotonic_ns();
                    handle(&f, sink, verifier.as_mut(), &mut latency, now)?;
                    Ok(Some((1, i.len as u64)))
                }
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            }
        } else {
            // Lossless: every ready frame at once, in place, with one clock reading for all of
            // them (they were all there when it was taken; a reading is ~20 ns on this VM, a
            // third of a small frame's whole cost here).
            let max = (limit - frames).min(MAX_BATCH as u64) as usize;
            match consumer.poll_batch(max) {
                Ok(batch) if batch.is_empty() => Ok(None),
                Ok(batch) => {
                    let now = ringflow::liveness::monotonic_ns();
                    let mut bytes = 0u64;
                    for frame in batch.iter() {
                        let f = FrameRef {
                            seq: frame.seq,
                            kind: frame.kind,
                            timestamp_ns: frame.timestamp_ns,
                            payload: frame.payload,
                        };
                        handle(&f, sink, verifier.as_mut(), &mut latency, now)?;
                        bytes += frame.payload.len() as u64;
                    }
                    Ok(Some((batch.len() as u64, bytes)))
                }
                Err(e) => Err(e),
            }
        };
        match got {
            Ok(Some((n, len))) => {
                first.get_or_insert_with(Instant::now);
                frames += n;
                bytes += len;
                idle_since = None;
                if frames >= progress_at {
                    progress(frames, &latency);
                    progress_at = frames + PROGRESS_EVERY;
                }
            }
            Ok(None) => {
                sink.idle()?;
                let slice = match options.timeout {
                    Some(t) => {
                        let since = *idle_since.get_or_insert_with(Instant::now);
                        let left = t.saturating_sub(since.elapsed());
                        if left.is_zero() {
                            break End::Timeout;
                        }
                        left.min(CANCEL_SLICE)
                    }
                    None => CANCEL_SLICE,
                };
                match consumer.wait(Some(slice)) {
                    Ok(()) | Err(RecvError::Timeout) => {}
                    Err(RecvError::Closed) => break End::Closed,
                    Err(RecvError::ProducerGone { .. }) => break End::ProducerGone,
                    Err(RecvError::Evicted { .. }) => break End::Evicted,
                    Err(RecvError::Abandoned { .. }) => break End::Abandoned,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(RecvError::Evicted { .. }) => break End::Evicted,
            Err(e) => return Err(e.into()),
        }
    };
    let elapsed_s = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
    Ok(ConsumeSummary {
        end,
        frames,
        bytes,
        elapsed_s,
        frames_per_s: frames as f64 / elapsed_s.max(1e-9),
        start_seq: consumer.start_seq(),
        first_seq: consumer.first_seq(),
        unseen_before: consumer.first_seq().unwrap_or(consumer.next_seq()),
        missed_at_start: consumer.missed_at_start(),
        exact_start,
        lost: consumer.lost(),
        lapped: consumer.lapped(),
        dropped_by_producers: ring.stats().dropped.saturating_sub(dropped_at_start),
        verify: verifier.map(|v| v.verdict()),
        latency_ns: latency.summary(),
    })
}

/// Hands one frame, received at `now_ns`, to the latency record, the verifier and the sink.
fn handle(
    frame: &FrameRef<'_>,
    sink: &mut dyn Sink,
    verifier: Option<&mut SeqVerifier>,
    latency: &mut Latency,
    now_ns: u64,
) -> Result<()> {
    latency.record(frame.timestamp_ns, now_ns);
    if let Some(v) = verifier {
        v.write(frame)?;
    }
    sink.write(frame)
}
