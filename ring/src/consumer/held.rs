//! Frames handed out without a borrow, for foreign runtimes ([`HeldFrame`]), and the facts of a
//! copied frame ([`FrameInfo`]).

/// What a copying read returns about the frame it copied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameInfo {
    /// Sequence number.
    pub seq: u64,
    /// Bytes copied.
    pub len: usize,
    /// User kind.
    pub kind: u16,
    /// Producer's `CLOCK_MONOTONIC` timestamp (0 if the producer writes none).
    pub timestamp_ns: u64,
    /// Frames this consumer lost just before this one.
    pub lost_before: u64,
}

/// A frame handed out by `poll_held`, not borrowing its consumer: a token that only that
/// consumer's `release_held` takes back, once.
///
/// It is neither `Copy` nor `Clone` and its fields are private, so safe code can release a frame
/// only once and cannot make one up; a frame from another consumer, or one that is not the frame
/// handed out last, is refused with a [`ReleaseError`](crate::ReleaseError) that gives it back.
///
/// ```compile_fail,E0382
/// # use ringflow::{ProducerOptions, Ring, RingConfig};
/// # let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
/// # let mut c = ring.consumer().unwrap();
/// # ring.producer(ProducerOptions::default()).unwrap().push(b"x").unwrap();
/// let frame = c.poll_held().unwrap().unwrap();
/// c.release_held(frame).unwrap();
/// c.release_held(frame).unwrap(); // error: `frame` was moved by the first release
/// ```
///
/// ```compile_fail,E0451
/// # use ringflow::{FrameInfo, HeldFrame};
/// let info = FrameInfo { seq: 7, len: 0, kind: 0, timestamp_ns: 0, lost_before: 0 };
/// let forged = HeldFrame { info, payload: std::ptr::null(), reader: 1 }; // private fields
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct HeldFrame {
    info: FrameInfo,
    payload: *const u8,
    reader: u64,
}

// SAFETY: a plain pointer into a shared mapping; the consumer it came from says when it is valid,
// and only that consumer takes the token back.
unsafe impl Send for HeldFrame {}

impl HeldFrame {
    pub(crate) fn new(info: FrameInfo, payload: *const u8, reader: u64) -> Self {
        HeldFrame {
            info,
            payload,
            reader,
        }
    }

    /// The frame's facts.
    pub fn info(&self) -> &FrameInfo {
        &self.info
    }

    /// Its payload (`info().len` bytes), valid until the frame is released (while the consumer
    /// and its ring live): in the mapping if the frame is protected (no producer may rewrite it
    /// before the release), else a copy in the consumer's own buffer, checked whole before it
    /// was handed out (a lossy consumer, an overwritable ring). Either way the bytes are never
    /// torn; `release_held` returns `Ok(false)` only if a protected frame lost its protection
    /// while held (its consumer was evicted), and bytes read from it must then be discarded.
    pub fn payload_ptr(&self) -> *const u8 {
        self.payload
    }

    pub(crate) fn reader_id(&self) -> u64 {
        self.reader
    }
}
