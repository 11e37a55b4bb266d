//! Engine producer sources by number, as both boundaries name them (`Native.startProducer`,
//! `rf_produce_async`).

use ringflow::Ring;
use ringflow_engine::source::{
    AudioSource, FillSource, SeqSource, Source, TelemetrySource, Waveform,
};
use ringflow_engine::task::ProduceOptions;
use ringflow_engine::EngineError;

/// An engine source for `Native.startProducer`'s codes: 0 is `seq` (frames of the slot size), 1
/// `audio` (a 440 Hz sine in the ring's audio format), 2 `telemetry`, 3 `fill` (slot-size
/// frames whose every byte is the frame's number: the cheapest, for benchmarks); `frames` < 0 runs until
/// cancelled; `rate` <= 0 keeps the source's own pacing.
pub(crate) fn producer_source(
    ring: &Ring,
    source: i32,
    frames: i64,
    rate: f64,
) -> Result<(Box<dyn Source>, ProduceOptions), EngineError> {
    let paced_by_rate = rate > 0.0;
    let (source, fixed_rate): (Box<dyn Source>, bool) = match source {
        0 => (
            Box::new(SeqSource::per_producer(ring.slot_size())),
            paced_by_rate,
        ),
        1 => match ring.schema() {
            ringflow::Schema::Audio(format) => (
                Box::new(AudioSource::generator(format, Waveform::Sine(440.0))?),
                paced_by_rate,
            ),
            other => {
                return Err(EngineError::InvalidArgument(format!(
                    "an audio producer needs an audio ring, not {other:?}"
                )))
            }
        },
        // Every byte the frame's number: the cheapest frames (benchmarks).
        3 => (Box::new(FillSource::new(ring.slot_size())), paced_by_rate),
        // Telemetry paces itself from the rate (with bursts).
        2 => (
            Box::new(TelemetrySource::new(
                if paced_by_rate { rate } else { 1000.0 },
                64,
            )),
            false,
        ),
        other => {
            return Err(EngineError::InvalidArgument(format!(
                "source must be 0 (seq), 1 (audio), 2 (telemetry) or 3 (fill), but was {other}"
            )))
        }
    };
    let options = ProduceOptions {
        frames: (frames >= 0).then_some(frames as u64),
        rate: fixed_rate.then_some(rate),
        ..Default::default()
    };
    Ok((source, options))
}
