//! The push bridge's copies of frames: one large buffer split into one `Bytes` per message, so
//! a message costs a copy and no allocation.
//!
//! A message's payload must outlive the frame it came from: a lossy reader's slot may be
//! overwritten while the message waits for its acknowledgement (and may be republished), so
//! the bridge copies each frame once. `Bytes::copy_from_slice` would allocate for each frame;
//! here frames are appended to a `BytesMut` reserved [`CHUNK`] bytes at a time, and each one is
//! split off and frozen (`BytesMut::split` + `freeze`: the new `Bytes` shares the chunk by
//! reference count). A chunk is freed when the last message copied into it is dropped (it was
//! acknowledged and the client wrote it out); if that happens before the arena needs room
//! again, `BytesMut::reserve` takes the chunk back whole instead of allocating.

use bytes::{Bytes, BytesMut};

/// Bytes reserved at once: room for a whole window of 3840-byte frames (256 x 3840 = 983,040
/// bytes), so at that size a chunk is allocated about once per window, and far less often at
/// small frames.
pub const CHUNK: usize = 1 << 20;

/// Copies frames into shared chunks (see the module doc).
pub struct Arena {
    buf: BytesMut,
}

impl Default for Arena {
    fn default() -> Self {
        Arena {
            buf: BytesMut::with_capacity(CHUNK),
        }
    }
}

impl Arena {
    /// A `Bytes` holding a copy of `src`.
    pub fn copy(&mut self, src: &[u8]) -> Bytes {
        debug_assert!(self.buf.is_empty(), "every copy is split off whole");
        if self.buf.capacity() < src.len() {
            self.buf.reserve(CHUNK.max(src.len()));
        }
        self.buf.extend_from_slice(src);
        self.buf.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_copy_holds_its_frame_and_shares_a_chunk() {
        let mut a = Arena::default();
        let first = a.copy(&[1; 3840]);
        let second = a.copy(&[2; 3840]);
        assert_eq!(&first[..], &[1; 3840][..]);
        assert_eq!(&second[..], &[2; 3840][..]);
        // Consecutive in one chunk: no allocation between them.
        assert_eq!(first.as_ptr().wrapping_add(3840), second.as_ptr());
        assert!(a.copy(&[]).is_empty());
    }

    #[test]
    fn a_chunk_full_of_live_messages_is_left_to_them() {
        let mut a = Arena::default();
        let live: Vec<Bytes> = (0..300u32).map(|i| a.copy(&[i as u8; 3840])).collect();
        for (i, b) in live.iter().enumerate() {
            assert!(b.iter().all(|&x| x == i as u8), "message {i} intact");
        }
        let big = a.copy(&vec![9; 3 * CHUNK]);
        assert_eq!(big.len(), 3 * CHUNK);
        assert!(live[0].iter().all(|&x| x == 0));
    }
}
