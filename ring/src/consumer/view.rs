//! Views of frames handed out by a consumer: one frame ([`Frame`]) or a run of them ([`Batch`]).

use super::reader::{read_meta_at, Reader};
use crate::layout::kind_flags;
use crate::region::SlotMap;

/// A view of one frame: in place in the ring, or a checked copy of it.
///
/// **Valid only until it is dropped**: dropping it advances the consumer's cursor, after which a
/// producer may overwrite the slot. Copy what must outlive it ([`Frame::to_vec`]).
///
/// A view from the safe API of a [`Consumer`](crate::Consumer) shows bytes no producer writes
/// while it is held: the slot itself when the frame is protected (a lossless consumer on a ring
/// that is not overwritable), else a copy of it that was checked whole before it was handed out.
/// A view from an `unsafe` call (`poll_unchecked` and the like) is always the slot itself; the
/// caller must not trust its bytes until [`Frame::is_intact`] said so after reading them, and
/// the consumer counts views found overwritten at release in `torn`.
///
/// A view borrows its consumer, so the cursor cannot move while it is held:
///
/// ```compile_fail,E0499
/// # use ringflow::{Ring, RingConfig};
/// # let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
/// let mut consumer = ring.consumer().unwrap();
/// let first = consumer.poll().unwrap();
/// let second = consumer.poll().unwrap(); // error: `consumer` is still borrowed by `first`
/// drop(first);
/// ```
pub struct Frame<'a> {
    pub(crate) reader: &'a mut Reader,
}

impl Frame<'_> {
    /// Sequence number.
    pub fn seq(&self) -> u64 {
        self.reader.ready.seq
    }

    /// Payload bytes.
    pub fn len(&self) -> usize {
        self.reader.ready.len
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.reader.ready.len == 0
    }

    /// User kind.
    pub fn kind(&self) -> u16 {
        self.reader.ready.kind
    }

    /// Producer's `CLOCK_MONOTONIC` timestamp (0 if the producer writes none).
    pub fn timestamp_ns(&self) -> u64 {
        self.reader.ready.timestamp_ns
    }

    /// Frames this consumer lost just before this one.
    pub fn lost_before(&self) -> u64 {
        self.reader.ready.lost_before
    }

    /// The payload (see the type's docs for where it lives).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        self.reader.ready_payload()
    }

    /// Whether the bytes [`payload`](Self::payload) shows are still the frame's (the seqlock
    /// re-check; always true for a checked copy).
    pub fn is_intact(&self) -> bool {
        self.reader.copied || self.reader.core.verify(self.reader.ready.seq)
    }

    /// An owned copy of the payload.
    pub fn to_vec(&self) -> Vec<u8> {
        self.payload().to_vec()
    }
}

impl Drop for Frame<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.reader.release_ready();
    }
}

/// Consecutive frames handed out at once by `poll_batch` / `recv_batch`; valid until dropped,
/// which advances the cursor past all of them. Where it lives is as for [`Frame`]: in place, or
/// (a batch of one) a checked copy of an unprotected frame.
pub struct Batch<'a> {
    pub(crate) reader: &'a mut Reader,
    pub(crate) first: u64,
    pub(crate) slots: u64,
    pub(crate) frames: usize,
    pub(crate) lost_before: u64,
}

/// [`Batch::iter`]'s iterator: the checked copy (a batch of one unprotected frame), or the
/// slots in place, skip frames passed over. A plain loop over the sequences rather than a chain
/// of adapters: it runs once per frame of every batch.
struct BatchIter<'b> {
    map: SlotMap,
    copied: Option<BatchFrame<'b>>,
    seq: u64,
    end: u64,
    /// The batch (and so the reader, which holds the mapping) outlives the views.
    _batch: std::marker::PhantomData<&'b ()>,
}

impl<'b> Iterator for BatchIter<'b> {
    type Item = BatchFrame<'b>;

    #[inline]
    fn next(&mut self) -> Option<BatchFrame<'b>> {
        if let Some(frame) = self.copied.take() {
            return Some(frame);
        }
        while self.seq < self.end {
            let seq = self.seq;
            self.seq += 1;
            let (len, kind, timestamp_ns) =
                read_meta_at(self.map.desc_ptr(seq), self.map.timestamps());
            if kind & kind_flags::SKIP != 0 {
                continue;
            }
            // Re-read fields may be torn in an unchecked batch: clamp so the view stays in the
            // slot.
            let len = (len as usize).min(self.map.slot_payload());
            // SAFETY: `len` is at most the slot size, so the slice lies inside the slot. The
            // batch is protected, or came from an `unsafe` call whose caller re-checks. The
            // batch borrows the reader, which holds the mapping, for `'b`.
            let payload = unsafe { std::slice::from_raw_parts(self.map.payload_ptr(seq), len) };
            return Some(BatchFrame {
                seq,
                kind: (kind & kind_flags::USER_MASK) as u16,
                timestamp_ns,
                payload,
            });
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let copied = usize::from(self.copied.is_some());
        (copied, Some(copied + (self.end - self.seq) as usize))
    }
}

/// One frame of a [`Batch`].
#[derive(Clone, Copy, Debug)]
pub struct BatchFrame<'b> {
    /// Sequence number.
    pub seq: u64,
    /// User kind.
    pub kind: u16,
    /// Producer's timestamp.
    pub timestamp_ns: u64,
    /// Payload bytes.
    pub payload: &'b [u8],
}

impl Batch<'_> {
    /// Number of frames in the batch.
    pub fn len(&self) -> usize {
        self.frames
    }

    /// Whether the batch holds no frame.
    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }

    /// Sequence number of the first frame.
    pub fn first_seq(&self) -> u64 {
        self.first
    }

    /// Frames lost just before the batch.
    pub fn lost_before(&self) -> u64 {
        self.lost_before
    }

    /// The frames, in order.
    pub fn iter(&self) -> impl Iterator<Item = BatchFrame<'_>> + '_ {
        let reader = &*self.reader;
        let copied = (reader.copied && self.frames > 0).then(|| BatchFrame {
            seq: reader.ready.seq,
            kind: reader.ready.kind,
            timestamp_ns: reader.ready.timestamp_ns,
            payload: reader.ready_payload(),
        });
        let end = if copied.is_some() {
            self.first
        } else {
            self.first + self.slots
        };
        BatchIter {
            map: reader.map,
            copied,
            seq: self.first,
            end,
            _batch: std::marker::PhantomData,
        }
    }

    /// How many slots of the batch still hold their frames (all of them unless a producer
    /// overwrote some; always all for a checked copy).
    pub fn intact(&self) -> usize {
        if self.reader.copied {
            return self.slots as usize;
        }
        let core = &self.reader.core;
        (self.first..self.first + self.slots)
            .filter(|&seq| core.verify(seq))
            .count()
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if self.slots == 0 {
            return;
        }
        // A protected batch of a consumer never evicted is whole: one look at the consumer's
        // block instead of a re-check per slot.
        let torn = if self.reader.copied
            || self.reader.core.protected_and_kept(self.first) == Some(true)
        {
            0
        } else {
            self.slots - self.intact() as u64
        };
        let core = &mut self.reader.core;
        if torn > 0 {
            core.note_torn(torn);
        }
        core.note_handed_out(self.first);
        core.release(self.first + self.slots, self.frames as u64);
    }
}
