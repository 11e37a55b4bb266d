//! `seq`: deterministic frames whose every byte is a function of (producer id, frame number),
//! so a reader can verify each one and count lost, duplicated, reordered and corrupt frames.

use ringflow::pattern;

use super::Source;

/// Verifiable frames of `size` bytes from producer `id`, numbered from 0.
#[derive(Debug, Clone)]
pub struct SeqSource {
    id: u32,
    /// Whether `id` is the producer's table entry, set when it attaches (else fixed by the user).
    id_from_ring: bool,
    next: u64,
    size: usize,
}

impl SeqSource {
    /// Frames of `size` bytes (at least [`pattern::TAG_LEN`]) from producer `id`.
    pub fn new(id: u32, size: usize) -> Self {
        SeqSource {
            id,
            id_from_ring: false,
            next: 0,
            size: size.max(pattern::TAG_LEN),
        }
    }

    /// Frames of `size` bytes whose producer id is the producer's entry in the ring's producer
    /// table ([`ringflow::Producer::id`]): producers in different processes that write one ring
    /// at the same time get different ids, so a reader verifies each one's frames apart.
    pub fn per_producer(size: usize) -> Self {
        SeqSource {
            id_from_ring: true,
            ..SeqSource::new(0, size)
        }
    }
}

impl Source for SeqSource {
    fn attached(&mut self, producer_id: u32) {
        if self.id_from_ring {
            self.id = producer_id;
        }
    }

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
