//! Whole engine jobs, as futures a caller can await (the CLI blocks on them; the foreign boundary
//! resumes a suspended caller when they end).

use std::time::Instant;

use ringflow::{Ring, RingConfig};
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::registry::{Handle, Registry, TaskState};
use crate::sink::NullSink;
use crate::source::SeqSource;
use crate::task::{ConsumeOptions, ProduceOptions};

/// What [`bench`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchSpec {
    /// Payload bytes per frame (at least [`ringflow::pattern::TAG_LEN`]).
    pub frame_size: u32,
    /// Frames in all, split between the producers.
    pub frames: u64,
    /// Lossless consumers.
    pub consumers: u32,
    /// Producers.
    pub producers: u32,
}

/// What [`bench`] measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Frames written.
    pub frames: u64,
    /// Payload bytes written.
    pub bytes: u64,
    /// Seconds from the first producer's start to the last consumer's end.
    pub elapsed_s: f64,
    /// `frames / elapsed_s`.
    pub frames_per_s: f64,
    /// `bytes / elapsed_s`.
    pub bytes_per_s: f64,
    /// Producers.
    pub producers: u32,
    /// Consumers.
    pub consumers: u32,
    /// Frames delivered, summed over the consumers (`frames * consumers` when nothing was lost).
    pub delivered: u64,
}

/// Cancels a ring handle (and every task on it) when dropped: a cancelled job leaves nothing
/// running.
struct RingGuard(&'static Registry, Handle);

impl Drop for RingGuard {
    fn drop(&mut self) {
        let _ = self.0.cancel(self.1);
    }
}

/// Streams `spec.frames` verifiable frames through an anonymous 4096-slot ring, from
/// `spec.producers` engine producers to `spec.consumers` lossless consumers, and reports the
/// rate. Dropping the future cancels every task it started.
pub async fn bench(registry: &'static Registry, spec: BenchSpec) -> Result<BenchReport> {
    if spec.producers == 0
        || spec.frames == 0
        || spec.frame_size < ringflow::pattern::TAG_LEN as u32
    {
        return Err(EngineError::InvalidArgument(format!(
            "producers and frames must be at least 1 and the frame size at least {}",
            ringflow::pattern::TAG_LEN
        )));
    }
    let config = RingConfig::new(4096, spec.frame_size)
        .max_consumers(spec.consumers.max(1))
        .multi_producer(spec.producers > 1);
    let ring = registry.add_ring(Ring::anonymous(&config)?);
    let _guard = RingGuard(registry, ring);
    let readers: Vec<Handle> = (0..spec.consumers)
        .map(|_| registry.spawn_consumer(ring, Box::new(NullSink), ConsumeOptions::default()))
        .collect::<Result<_>>()?;
    let start = Instant::now();
    let producers = u64::from(spec.producers);
    let writers: Vec<Handle> = (0..spec.producers)
        .map(|k| {
            let frames =
                spec.frames / producers + u64::from(u64::from(k) < spec.frames % producers);
            let options = ProduceOptions {
                frames: Some(frames),
                ..Default::default()
            };
            registry.spawn_producer(
                ring,
                Box::new(SeqSource::per_producer(spec.frame_size as usize)),
                options,
            )
        })
        .collect::<Result<_>>()?;
    for &w in &writers {
        if let TaskState::Failed(m) = registry.join(w).await? {
            return Err(EngineError::InvalidArgument(format!(
                "a bench producer failed: {m}"
            )));
        }
    }
    let mut delivered = 0;
    for &r in &readers {
        match registry.join(r).await? {
            TaskState::Done(v) => delivered += v["frames"].as_u64().unwrap_or(0),
            TaskState::Failed(m) => {
                return Err(EngineError::InvalidArgument(format!(
                    "a bench consumer failed: {m}"
                )))
            }
            TaskState::Running => {}
        }
    }
    let elapsed_s = start.elapsed().as_secs_f64();
    let bytes = spec.frames * u64::from(spec.frame_size);
    Ok(BenchReport {
        frames: spec.frames,
        bytes,
        elapsed_s,
        frames_per_s: (spec.frames as f64 / elapsed_s).round(),
        bytes_per_s: (bytes as f64 / elapsed_s).round(),
        producers: spec.producers,
        consumers: spec.consumers,
        delivered,
    })
}
