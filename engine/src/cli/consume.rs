//! `ringflow consume`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use ringflow::{Delivery, Ring, Schema, Start};
use ringflow_engine::registry::{Registry, TaskState};
use ringflow_engine::sink::{JsonlSink, NullSink, Sink, WavSink};
use ringflow_engine::task::{ConsumeOptions, ConsumeSummary, End};

use super::report::{finish_progress, join_all, progress, report};
use super::signals::stop_on_signals;
use super::Failure;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DeliveryArg {
    Lossless,
    Lossy,
}

#[derive(Args)]
pub(crate) struct ConsumeArgs {
    pub(crate) path: PathBuf,
    /// Stop after this many frames (0: none).
    #[arg(long)]
    pub(crate) frames: Option<u64>,
    /// Where to start: a sequence number (0, the default: the whole stream; frames already gone
    /// are reported as missed and fail --verify), `oldest` (the oldest frame still in the ring)
    /// or `next` (the next frame published).
    #[arg(long, default_value = "0", value_parser = parse_start, value_name = "next|oldest|SEQ")]
    pub(crate) from: Start,
    /// Lossless (holds producers back) or lossy (never does).
    #[arg(long, value_enum, default_value_t = DeliveryArg::Lossless)]
    pub(crate) policy: DeliveryArg,
    /// Check every frame as a `seq` frame.
    #[arg(long)]
    pub(crate) verify: bool,
    /// Read as the durable consumer NAME: resume where its last owner released (--from is then
    /// ignored); after this process ends the ring keeps its cursor for the next owner.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// With --name: seconds the ownerless consumer may hold lossless producers back before it
    /// is evicted.
    #[arg(long, default_value_t = 10.0, value_name = "SECS", requires = "name")]
    pub(crate) grace: f64,
    /// Give up after this many seconds without a frame.
    #[arg(long)]
    pub(crate) timeout: Option<f64>,
    /// Write audio frames to this WAV file.
    #[arg(long)]
    pub(crate) wav: Option<PathBuf>,
    /// Write one JSON line per frame (telemetry events decoded) to this file.
    #[arg(long)]
    pub(crate) jsonl: Option<PathBuf>,
    /// Print the summary as one JSON line.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `--from`: `next`, `oldest` or a sequence number.
pub(crate) fn parse_start(s: &str) -> Result<Start, String> {
    match s {
        "next" => Ok(Start::Next),
        "oldest" => Ok(Start::Oldest),
        _ => match s.parse::<u64>() {
            Ok(seq) if seq < ringflow::layout::stamp::MAX_SEQ => Ok(Start::Seq(seq)),
            _ => Err(format!(
                "expected `next`, `oldest` or a sequence number below 2^62, got {s:?}"
            )),
        },
    }
}

pub(crate) fn consume_json(
    s: &ConsumeSummary,
    delivery: Delivery,
    verify: bool,
) -> serde_json::Value {
    let v = s.verify.unwrap_or_default();
    serde_json::json!({
        "end": s.end,
        "frames": s.frames,
        "bytes": s.bytes,
        "elapsed_s": s.elapsed_s,
        "frames_per_s": s.frames_per_s.round(),
        "start_seq": s.start_seq,
        "first_seq": s.first_seq,
        "unseen_before": s.unseen_before,
        "missed_at_start": s.missed_at_start,
        "lost": s.lost,
        "lapped": s.lapped,
        "dropped_by_producers": s.dropped_by_producers,
        "gaps": v.gaps,
        "duplicated": v.duplicated,
        "reordered": v.reordered,
        "corrupt": v.corrupt,
        "verified": if verify { serde_json::Value::from(s.verified(delivery).unwrap_or(false)) } else { serde_json::Value::Null },
        "latency_ns": {"p50": s.latency_ns.p50, "p99": s.latency_ns.p99, "p999": s.latency_ns.p999, "max": s.latency_ns.max},
    })
}

pub(crate) fn consume(a: ConsumeArgs) -> Result<u8, Failure> {
    // Negative, NaN, infinite, or too large for a Duration (which would panic below).
    if a.timeout
        .is_some_and(|t| Duration::try_from_secs_f64(t).is_err())
    {
        return Err(Failure::usage(
            "--timeout must be a non-negative number of seconds",
        ));
    }
    let ring = Ring::open(&a.path)?;
    let delivery = match a.policy {
        DeliveryArg::Lossless => Delivery::Lossless,
        DeliveryArg::Lossy => Delivery::Lossy,
    };
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(p) = &a.wav {
        let Schema::Audio(format) = ring.schema() else {
            return Err(Failure::usage(format!(
                "--wav records an audio ring; {} holds {} frames",
                a.path.display(),
                super::inspect::schema_words(ring.schema())
            )));
        };
        sinks.push(Box::new(WavSink::create(&p.to_string_lossy(), format)?));
    }
    if let Some(p) = &a.jsonl {
        let telemetry = matches!(ring.schema(), Schema::Telemetry { .. });
        sinks.push(Box::new(JsonlSink::create(
            &p.to_string_lossy(),
            telemetry,
        )?));
    }
    let sink: Box<dyn Sink> = match sinks.len() {
        0 => Box::new(NullSink),
        _ => Box::new(Fanout(sinks)),
    };
    let registry = Registry::global();
    let ring_h = registry.add_ring(ring.clone());
    let options = ConsumeOptions {
        delivery,
        frames: a.frames,
        timeout: a.timeout.map(Duration::from_secs_f64),
        verify: a.verify,
        start: a.from,
        name: match a.name {
            Some(n) => Some((
                n,
                Duration::try_from_secs_f64(a.grace).map_err(|_| {
                    Failure::usage(format!(
                        "--grace {}: not a non-negative number of seconds",
                        a.grace
                    ))
                })?,
            )),
            None => None,
        },
    };
    let h = registry.spawn_consumer(ring_h, sink, options)?;
    stop_on_signals(registry, vec![h])?;
    let bar = progress(&ring);
    let state = join_all(registry, &[h]).remove(0);
    finish_progress(bar);
    let _ = registry.release(ring_h);
    let summary: ConsumeSummary = match state {
        TaskState::Done(v) => serde_json::from_value(v).map_err(|e| Failure::job(e.to_string()))?,
        TaskState::Failed(m) => return Err(Failure::job(m)),
        TaskState::Running => return Err(Failure::job("the consumer did not end")),
    };
    report(
        a.json,
        "consumed",
        &consume_json(&summary, delivery, a.verify),
    );
    if !a.json && summary.unseen_before > 0 {
        println!(
            "started at frame {} ({} earlier frames not seen{})",
            summary
                .first_seq
                .map_or("none".to_string(), |f| f.to_string()),
            summary.unseen_before,
            if summary.missed_at_start > 0 {
                format!(
                    ", {} of them gone before the reader reached them",
                    summary.missed_at_start
                )
            } else {
                String::new()
            }
        );
    }
    if let Some(v) = summary.verify {
        if let Some(why) = summary.verify_failure(delivery, &v) {
            return Err(Failure::job(format!("verification failed: {why}")));
        }
    }
    let short = |why: &str| {
        Failure::job(format!(
            "{why} after {} of {} frames",
            summary.frames,
            a.frames.unwrap_or(0)
        ))
    };
    let is_short = a.frames.is_some_and(|n| summary.frames < n);
    match summary.end {
        End::Timeout => Err(Failure::job(format!(
            "timed out waiting for frames after {} frames",
            summary.frames
        ))),
        End::Evicted => Err(Failure::job("evicted by a producer")),
        End::Abandoned => Err(Failure::job(format!(
            "a producer ended without committing a frame after the {} read; frames committed after that hole were not delivered",
            summary.frames
        ))),
        End::ProducerGone if is_short => Err(short("the producer died")),
        End::Closed if is_short => Err(short("the ring closed")),
        _ => Ok(0),
    }
}

/// Several sinks fed in turn.
pub(crate) struct Fanout(Vec<Box<dyn Sink>>);

impl Sink for Fanout {
    fn write(
        &mut self,
        frame: &ringflow_engine::sink::FrameRef<'_>,
    ) -> ringflow_engine::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.write(frame))
    }
    fn idle(&mut self) -> ringflow_engine::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.idle())
    }
    fn finish(&mut self) -> ringflow_engine::Result<Option<String>> {
        let mut lines = Vec::new();
        for s in &mut self.0 {
            if let Some(l) = s.finish()? {
                lines.push(l);
            }
        }
        Ok((!lines.is_empty()).then(|| lines.join("; ")))
    }
}
