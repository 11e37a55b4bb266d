//! Verifiable payloads: bytes that are a function of (producer id, sequence number), so a reader
//! can check every byte of every frame and tell lost, duplicated, reordered and corrupt frames
//! apart. Used by the stream example, the cross-process tests and the engine's `seq` source.
//!
//! A pattern frame starts with a 16-byte tag, then filler bytes derived from the tag:
//! ```text
//!   0      8          12         16
//!   | seq  | producer | length   | filler ... |
//! ```

/// Bytes of the tag at the start of a pattern frame; the smallest pattern frame.
pub const TAG_LEN: usize = 16;

/// The filler byte at index `i` (>= [`TAG_LEN`]) of frame `seq` from `producer`: byte `i % 8`
/// of a per-frame key, XOR the index of its 8-byte word. (`fill` and `check` compute it a word
/// at a time; `filler_words` is that, and the tests hold it to this definition.)
#[cfg(test)]
fn filler(seq: u64, producer: u32, i: usize) -> u8 {
    (key(seq, producer) >> ((i % 8) * 8)) as u8 ^ (i / 8) as u8
}

#[inline]
fn key(seq: u64, producer: u32) -> u64 {
    (seq ^ (u64::from(producer) << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The filler of a frame as little-endian words: word `w` (covering bytes `8w..8w+8`) is the
/// key XOR `w` in every byte. Filling a word at a time instead of a byte at a time makes the
/// `seq` source's frames cheap enough not to be what an engine benchmark measures.
#[inline]
fn filler_word(key: u64, w: usize) -> [u8; 8] {
    (key ^ (w as u8 as u64).wrapping_mul(0x0101_0101_0101_0101)).to_le_bytes()
}

/// Fills `buf` with the pattern of frame `seq` from `producer`.
///
/// # Panics
/// If `buf` is shorter than [`TAG_LEN`].
pub fn fill(buf: &mut [u8], producer: u32, seq: u64) {
    assert!(
        buf.len() >= TAG_LEN,
        "a pattern frame needs at least {TAG_LEN} bytes"
    );
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    buf[8..12].copy_from_slice(&producer.to_le_bytes());
    let len = buf.len() as u32;
    buf[12..16].copy_from_slice(&len.to_le_bytes());
    let key = key(seq, producer);
    // TAG_LEN is a multiple of 8, so the filler's words start at word TAG_LEN / 8.
    let mut words = buf[TAG_LEN..].chunks_exact_mut(8);
    let mut w = TAG_LEN / 8;
    for chunk in &mut words {
        chunk.copy_from_slice(&filler_word(key, w));
        w += 1;
    }
    let tail = words.into_remainder();
    let last = filler_word(key, w);
    tail.copy_from_slice(&last[..tail.len()]);
}

/// Checks a pattern frame and returns its (producer, seq), or `None` if any byte is wrong.
pub fn check(buf: &[u8]) -> Option<(u32, u64)> {
    if buf.len() < TAG_LEN {
        return None;
    }
    let seq = u64::from_le_bytes(buf[..8].try_into().ok()?);
    let producer = u32::from_le_bytes(buf[8..12].try_into().ok()?);
    let len = u32::from_le_bytes(buf[12..16].try_into().ok()?);
    if len as usize != buf.len() {
        return None;
    }
    let key = key(seq, producer);
    let mut words = buf[TAG_LEN..].chunks_exact(8);
    let mut w = TAG_LEN / 8;
    for chunk in &mut words {
        if *chunk != filler_word(key, w) {
            return None;
        }
        w += 1;
    }
    let tail = words.remainder();
    (*tail == filler_word(key, w)[..tail.len()]).then_some((producer, seq))
}

/// Tallies what a reader saw of one producer's pattern frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Frames whose bytes checked out.
    pub frames: u64,
    /// Frames whose bytes did not.
    pub corrupt: u64,
    /// Frames missing between two frames seen (sequence gaps).
    pub gaps: u64,
    /// Frames seen again (sequence equal to one before).
    pub duplicated: u64,
    /// Frames that came with a lower sequence than one before.
    pub reordered: u64,
    /// The next sequence expected.
    pub next: Option<u64>,
}

impl Tally {
    /// Records one frame's payload.
    pub fn record(&mut self, payload: &[u8]) {
        let Some((_, seq)) = check(payload) else {
            self.corrupt += 1;
            return;
        };
        self.frames += 1;
        match self.next {
            Some(next) if seq == next => {}
            Some(next) if seq > next => self.gaps += seq - next,
            Some(next) if seq + 1 == next => {
                self.duplicated += 1;
                return;
            }
            Some(_) => {
                self.reordered += 1;
                return;
            }
            None => {}
        }
        self.next = Some(seq + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_frame_checks_and_a_flipped_byte_does_not() {
        let mut buf = vec![0; 100];
        fill(&mut buf, 3, 77);
        assert_eq!(check(&buf), Some((3, 77)));
        for i in [0, 9, 13, 16, 99] {
            buf[i] ^= 1;
            assert_eq!(check(&buf), None, "byte {i}");
            buf[i] ^= 1;
        }
        assert_eq!(check(&buf[..99]), None);
    }

    #[test]
    fn the_word_filler_is_the_byte_definition() {
        for len in [16, 17, 23, 24, 64, 100, 4096] {
            let mut buf = vec![0; len];
            fill(&mut buf, 5, 0x1234_5678_9abc);
            for (i, &b) in buf.iter().enumerate().skip(TAG_LEN) {
                assert_eq!(b, filler(0x1234_5678_9abc, 5, i), "length {len}, byte {i}");
            }
            assert_eq!(check(&buf), Some((5, 0x1234_5678_9abc)));
        }
    }

    #[test]
    fn tally_counts_gaps_duplicates_and_reordering() {
        let frame = |seq| {
            let mut b = vec![0; 32];
            fill(&mut b, 0, seq);
            b
        };
        let mut t = Tally::default();
        for seq in [0, 1, 1, 4, 2, 5] {
            t.record(&frame(seq));
        }
        t.record(&[0; 8]);
        assert_eq!(
            (t.frames, t.gaps, t.duplicated, t.reordered, t.corrupt),
            (6, 2, 1, 1, 1)
        );
    }
}
