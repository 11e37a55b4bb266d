//! `seq`: deterministic frames whose every byte is a function of (producer id, frame number),
//! so a reader can verify each one and count lost, duplicated, reordered and corrupt frames.

use ringflow::pattern;

use super::Source;

/// Verifiable frames of `size` bytes from producer `id`, numbered from 0.
#[derive(Debug, Clone)]
pub struct SeqSource {
    id: u32,
    next: u64,
    size: usize,
}

impl SeqSource {
    /// Frames of `size` bytes (at least [`pattern::TAG_LEN`]) from producer `id`.
    pub fn new(id: u32, size: usize) -> Self {
        SeqSource {
            id,
            next: 0,
            size: size.max(pattern::TAG_LEN),
        }
    }
}

impl Source for SeqSource {
    fn next_frame(&mut self, buf: &mut [u8]) -> Option<usize> {
        let len = self.size.min(buf.len());
        pattern::fill(&mut buf[..len], self.id, self.next);
        self.next += 1;
        Some(len)
    }

    fn batch(&self) -> usize {
        64
    }
}
