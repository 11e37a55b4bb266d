//! Sinks: what a consumer task does with each frame it reads.

mod jsonl;
mod level;
mod verify;
mod wav;

pub use jsonl::JsonlSink;
pub use level::LevelMeter;
pub use verify::{SeqVerifier, Verdict};
pub use wav::WavSink;

use crate::error::Result;

/// One frame as a sink sees it (a view into the ring, or a copy for lossy readers).
#[derive(Debug, Clone, Copy)]
pub struct FrameRef<'a> {
    /// Sequence number.
    pub seq: u64,
    /// User kind.
    pub kind: u16,
    /// Producer's `CLOCK_MONOTONIC` timestamp.
    pub timestamp_ns: u64,
    /// Payload.
    pub payload: &'a [u8],
}

/// Receives frames.
pub trait Sink: Send + 'static {
    /// Handles one frame.
    fn write(&mut self, frame: &FrameRef<'_>) -> Result<()>;
    /// Called while the reader has no frame and waits (every
    /// [`CANCEL_SLICE`](crate::task::CANCEL_SLICE) or so): time-based work, such as making a file
    /// on disk count what it was given, goes here.
    fn idle(&mut self) -> Result<()> {
        Ok(())
    }
    /// Flushes and closes; returns a line to report (where a file went), if any.
    fn finish(&mut self) -> Result<Option<String>> {
        Ok(None)
    }
}

/// A sink that drops every frame (counting is done by the consumer task).
#[derive(Debug, Default)]
pub struct NullSink;

impl Sink for NullSink {
    fn write(&mut self, _frame: &FrameRef<'_>) -> Result<()> {
        Ok(())
    }
}
