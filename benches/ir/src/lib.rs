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
