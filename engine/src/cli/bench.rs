//! `ringflow bench`.

use clap::Args;
use ringflow_engine::registry::Registry;
use ringflow_engine::runtime;

use super::report::report;
use super::Failure;

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// Payload bytes per frame.
    #[arg(long, default_value_t = 256)]
    pub(crate) frame_size: u32,
    /// Frames in all.
    #[arg(long, default_value_t = 5_000_000)]
    pub(crate) frames: u64,
    /// Lossless consumers.
    #[arg(long, default_value_t = 1)]
    pub(crate) consumers: u32,
    /// Producers.
    #[arg(long, default_value_t = 1)]
    pub(crate) producers: u32,
    /// Print the summary as one JSON line.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn bench(a: BenchArgs) -> Result<u8, Failure> {
    if a.producers == 0 || a.frames == 0 || a.frame_size < ringflow::pattern::TAG_LEN as u32 {
        return Err(Failure::usage(format!(
            "--producers and --frames must be at least 1 and --frame-size at least {}",
            ringflow::pattern::TAG_LEN
        )));
    }
    let spec = ringflow_engine::jobs::BenchSpec {
        frame_size: a.frame_size,
        frames: a.frames,
        consumers: a.consumers,
        producers: a.producers,
    };
    let summary =
        runtime::runtime().block_on(ringflow_engine::jobs::bench(Registry::global(), spec))?;
    let complete = summary.delivered == a.frames * u64::from(a.consumers);
    let v = serde_json::to_value(&summary).map_err(|e| Failure::job(e.to_string()))?;
    report(a.json, "bench:", &v);
    Ok(if complete { 0 } else { 1 })
}
