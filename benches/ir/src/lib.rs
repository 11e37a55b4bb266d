//! ringflow-ir: the CPU cost of a frame as a count of instructions, which the host's CPU
//! placement cannot move (times can: see docs/BENCHMARKS.md).
//!
//! [`one_thread`] holds the loops (one thread writes a frame and reads it back, for ringflow and
//! rtrb, single frames and batches); the `ringflow-ir` binary runs each under callgrind at two
//! stream lengths and divides the difference of the instruction counts (`Ir`) by the difference
//! of the frames, so set-up costs cancel out. `ringflow-ir report --check baseline.txt` fails if a
//! ringflow loop's count grew more than 20% over the recorded figure; the test command runs it.

pub mod one_thread;

/// Slots (or elements) of every queue.
pub const CAPACITY: usize = 4096;
/// Frames per batch where a contestant batches.
pub const BATCH: usize = 64;

/// Reads every byte of a frame `S` bytes long as an `[u8; S]`, so the loop's length is known
/// when it is compiled, as it is for rtrb's and the other peers' typed `[u8; S]` elements. A
/// ringflow frame's length is read from the ring at run time: a reader of fixed-size frames
/// checks it once and reads a fixed array, as this does. Any other length (and `S == 0`, for
/// "any length") is read by [`touch`].
///
/// (Before 2026-12-01 the ringflow loops read every frame with `touch`, whose loop over a run-time
/// length costs ~28 more instructions per 64-byte frame than the peers' loop over the same bytes:
/// a cost of the harness, not of the ring.)
#[inline]
pub fn touch_frame<const S: usize>(bytes: &[u8]) -> u64 {
    match <&[u8; S]>::try_from(bytes) {
        Ok(array) => touch(array),
        Err(_) => touch(bytes),
    }
}

/// Reads every byte of a frame.
#[inline]
pub fn touch(bytes: &[u8]) -> u64 {
    let mut acc = 0u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        acc ^= u64::from_ne_bytes(c.try_into().unwrap());
    }
    for &b in chunks.remainder() {
        acc ^= u64::from(b);
    }
    acc
}
