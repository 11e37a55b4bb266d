//! Sources: what a producer task writes into the ring, one frame at a time, in place.

mod audio;
mod seq;
mod telemetry;

use std::time::Duration;

pub use audio::{AudioSource, Waveform};
pub use seq::SeqSource;
pub use telemetry::{TelemetryEvent, TelemetrySource, TELEMETRY_SCHEMA_VERSION};

/// Writes frames. A producer task calls [`next_frame`](Source::next_frame) with a claimed slot's
/// payload area and commits what it returns.
pub trait Source: Send + 'static {
    /// Writes the next frame into `buf` (a whole slot) and returns its length, or `None` when
    /// the source is exhausted.
    fn next_frame(&mut self, buf: &mut [u8]) -> Option<usize>;

    /// Time from this frame to the next one, if the source is paced in real time. Pacing uses
    /// absolute deadlines (start + sum of periods), so it does not drift.
    fn period(&self) -> Option<Duration> {
        None
    }

    /// The user kind written with each frame.
    fn kind(&self) -> u16 {
        0
    }

    /// Called once the producer that will write this source's frames has attached, with its
    /// [`id`](ringflow::Producer::id) on the ring (its producer-table entry), so frames can name
    /// their producer without the user's help.
    fn attached(&mut self, _producer_id: u32) {}

    /// How many frames an unpaced producer may claim and publish at once (1 ..= 64). Readers
    /// see a batch's frames only once all of it is written, so a source that may wait inside
    /// [`next_frame`](Self::next_frame) (for input, say) keeps the default of 1; one that
    /// computes its frames can say more and save the per-frame commit.
    fn batch(&self) -> usize {
        1
    }
}

/// Frames whose every byte is the frame's number (its low byte): the cheapest frames there are,
/// for benchmarks.
///
/// ```
/// use ringflow_engine::source::{FillSource, Source};
/// let mut source = FillSource::new(4);
/// let mut buf = [9u8; 8];
/// source.next_frame(&mut buf);
/// assert_eq!(source.next_frame(&mut buf), Some(4));
/// assert_eq!(buf, [1, 1, 1, 1, 9, 9, 9, 9]);
/// ```
#[derive(Debug, Clone)]
pub struct FillSource {
    size: usize,
    next: u64,
}

impl FillSource {
    /// Frames of `size` bytes (cut to the slot).
    pub fn new(size: usize) -> Self {
        FillSource { size, next: 0 }
    }
}

impl Source for FillSource {
    fn next_frame(&mut self, buf: &mut [u8]) -> Option<usize> {
        let len = self.size.min(buf.len());
        buf[..len].fill(self.next as u8);
        self.next += 1;
        Some(len)
    }

    fn batch(&self) -> usize {
        64
    }
}

/// Any closure that writes one frame in place and returns its length.
///
/// ```
/// use ringflow_engine::source::{FnSource, Source};
/// let mut counter = 0u8;
/// let mut source = FnSource(move |buf: &mut [u8]| {
///     counter += 1;
///     buf[0] = counter;
///     1
/// });
/// let mut buf = [0u8; 4];
/// assert_eq!(source.next_frame(&mut buf), Some(1));
/// assert_eq!(buf[0], 1);
/// ```
pub struct FnSource<F>(pub F);

impl<F: FnMut(&mut [u8]) -> usize + Send + 'static> Source for FnSource<F> {
    fn next_frame(&mut self, buf: &mut [u8]) -> Option<usize> {
        Some((self.0)(buf))
    }
}
