//! The public producer handle over a mapped region: slots as byte slices, batches, `push`.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::Arc;

use super::core::{ClaimFail, ProducerCore};
use super::ProducerOptions;
use crate::error::{ClaimError, PushError, Result};
use crate::layout::{desc, kind_flags};
use crate::mem::RingMem;
use crate::region::{Shared, SlotMap};

/// A producer handle: writes frames into the ring in place.
///
/// `Send` but not `Sync`: one thread writes through a handle at a time. On a multi-producer ring,
/// attach one handle per thread or process.
///
/// ```compile_fail,E0277
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<ringflow::Producer>();
/// ```
///
/// Dropping the handle detaches it; the last producer to detach closes the ring, and consumers
/// get [`Error::Closed`] once they have read every frame.
pub struct Producer {
    pub(super) core: ProducerCore<Shared>,
    /// The ring's geometry, copied so the hot path keeps it in registers (see `SlotMap`).
    map: SlotMap,
    timestamps: bool,
    /// The open claim of a [`WriteSlot`], kept here rather than in the slot handle: a handle of
    /// two words travels in registers, while a larger one was copied through the stack with
    /// mismatched widths, and the stalled store forwarding cost more than the rest of a commit.
    claim: Claim,
    _not_sync: PhantomData<Cell<()>>,
}

/// The state of the open single-slot claim.
#[derive(Clone, Copy, Debug, Default)]
struct Claim {
    seq: u64,
    kind: u32,
    timestamp: Option<u64>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("entry", &self.core.entry)
            .field("policy", &self.core.policy)
            .finish()
    }
}

impl Producer {
    pub(crate) fn attach(shared: Arc<Shared>, options: ProducerOptions) -> Result<Producer> {
        let core = ProducerCore::attach(shared, &options, crate::liveness::current_pid())?;
        Ok(Producer {
            map: core.mem.map(),
            core,
            timestamps: options.timestamps,
            claim: Claim::default(),
            _not_sync: PhantomData,
        })
    }

    /// This producer's identity on its ring: its entry in the producer table (`0 .. 8`; always 0
    /// on a single-producer ring). Producers attached at the same time have different ids,
    /// whatever process they are in, so frames can be told apart by producer without the user's
    /// help; an id is reused only after its producer detached or died.
    pub fn id(&self) -> u32 {
        self.core.entry as u32
    }

    /// Payload bytes one frame can hold.
    pub fn slot_size(&self) -> usize {
        self.core.mem.geometry().slot_payload as usize
    }

    /// One past the highest committed sequence of the ring.
    pub fn published(&self) -> u64 {
        self.core.published()
    }

    /// Claims one slot to write a frame into, under the producer's [`FullPolicy`]: fails with
    /// [`ClaimError::Full`] (`fail`) or [`ClaimError::Timeout`] (`block` with a timeout), and
    /// with [`ClaimError::Replaced`] once a new ring took this one's path (seen on the slow path:
    /// at a gate refresh or wait for space, or once per lap for `overwrite`).
    ///
    /// ```
    /// # use ringflow::{Delivery, ProducerOptions, Ring, RingConfig};
    /// # let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
    /// let mut producer = ring.producer(ProducerOptions::default())?;
    /// let mut slot = producer.claim()?;
    /// slot.payload_mut()[..3].copy_from_slice(b"abc");
    /// slot.commit(3);
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    #[inline(always)]
    pub fn claim(&mut self) -> Result<WriteSlot<'_>, ClaimError> {
        let seq = self.claim_one()?;
        Ok(WriteSlot::new(self, seq))
    }

    /// Claims one slot and marks it as being written (the claim of `ProducerCore::claim`, with
    /// the stamp found through this handle's copy of the geometry).
    #[inline(always)]
    fn claim_one(&mut self) -> Result<u64, ClaimFail> {
        let (seq, marked) = self.core.claim_unmarked(1)?;
        if !marked {
            self.core.begin_write(self.map.stamp(seq), seq);
        }
        Ok(seq)
    }

    /// Claims `n` consecutive slots (`1 ..= capacity`) at once: one gate check and one commit
    /// for all of them.
    ///
    /// ```
    /// # use ringflow::{Delivery, ProducerOptions, Ring, RingConfig};
    /// # let ring = Ring::anonymous(&RingConfig::new(8, 16))?;
    /// let mut consumer = ring.consumer()?;
    /// let mut producer = ring.producer(ProducerOptions::default())?;
    /// let mut batch = producer.claim_batch(4)?;
    /// for i in 0..batch.len() {
    ///     batch.slot_mut(i)[0] = i as u8;
    ///     batch.set_len(i, 1);
    /// }
    /// batch.commit();
    /// assert_eq!(consumer.poll_batch(8)?.len(), 4);
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn claim_batch(&mut self, n: usize) -> Result<WriteBatch<'_>, ClaimError> {
        let capacity = self.core.mem.capacity();
        if n == 0 || n as u64 > capacity {
            return Err(ClaimError::InvalidArgument(format!(
                "batch of {n} frames: must be 1 ..= {capacity}"
            )));
        }
        // Slots are opened (marked as being written, their header reset) one by one as they are
        // first touched, in order: see `ProducerCore::claim_unmarked`.
        let (first, marked) = self.core.claim_unmarked(n as u64)?;
        let mut batch = WriteBatch {
            map: self.core.mem.map(),
            first,
            n,
            opened: 0,
            marked,
            committed: false,
            producer: self,
        };
        if marked {
            batch.open_to(n - 1);
        }
        Ok(batch)
    }

    /// Copies `frame` into the next slot and commits it.
    ///
    /// ```
    /// # use ringflow::{ClaimError, FullPolicy, ProducerOptions, Ring, RingConfig};
    /// # let ring = Ring::anonymous(&RingConfig::new(2, 16))?;
    /// let _consumer = ring.consumer()?;
    /// let mut producer = ring.producer(ProducerOptions::new(FullPolicy::Fail))?;
    /// producer.push(b"one")?;
    /// producer.push(b"two")?;
    /// assert!(matches!(producer.push(b"three"), Err(ClaimError::Full)));
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn push(&mut self, frame: &[u8]) -> Result<(), ClaimError> {
        if frame.len() > self.slot_size() {
            return Err(ClaimError::InvalidArgument(format!(
                "frame of {} bytes does not fit a slot of {}",
                frame.len(),
                self.slot_size()
            )));
        }
        let mut slot = self.claim()?;
        slot.payload_mut()[..frame.len()].copy_from_slice(frame);
        slot.commit(frame.len());
        Ok(())
    }

    /// Claims a slot and lets `write` fill it in place; `write` returns the frame's length. If
    /// the ring refuses, `write` is given back unrun.
    ///
    /// # Panics
    /// If `write` returns more than [`slot_size`](Self::slot_size).
    pub fn push_with<F: FnOnce(&mut [u8]) -> usize>(
        &mut self,
        write: F,
    ) -> Result<(), PushError<F>> {
        match self.claim_one() {
            Ok(seq) => {
                let mut slot = WriteSlot::new(self, seq);
                let len = write(slot.payload_mut());
                slot.commit(len);
                Ok(())
            }
            Err(ClaimFail::Full) => Err(PushError::Full(write)),
            Err(ClaimFail::Timeout) => Err(PushError::Timeout(write)),
            Err(ClaimFail::Replaced(by)) => Err(PushError::Replaced(write, by)),
        }
    }

    #[inline]
    pub(super) fn timestamp(&self) -> u64 {
        if self.timestamps {
            crate::liveness::monotonic_ns()
        } else {
            0
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.core.detach();
    }
}

/// Writes a slot's length and kind (the slot is claimed by the caller).
#[inline]
pub(super) fn write_meta(shared: &Shared, seq: u64, len: u32, kind: u32) {
    write_meta_at(shared.desc_ptr(seq), len, kind);
}

/// [`write_meta`] at a descriptor's address.
#[inline]
fn write_meta_at(desc_ptr: *mut u8, len: u32, kind: u32) {
    // SAFETY: the caller claimed the slot whose descriptor is at `desc_ptr`, so no producer
    // writes it; readers of the previous frame validate their reads with the stamp (seqlock).
    // LEN and KIND lie inside the descriptor, 4-byte aligned.
    unsafe {
        desc_ptr
            .add(desc::LEN_OFFSET)
            .cast::<u32>()
            .write_volatile(len);
        desc_ptr
            .add(desc::KIND_OFFSET)
            .cast::<u32>()
            .write_volatile(kind);
    }
}

/// Writes a slot's timestamp, on a ring that keeps them (the caller checked).
#[inline]
pub(super) fn write_timestamp_at(desc_ptr: *mut u8, ns: u64) {
    // SAFETY: as in `write_meta_at`; on a ring with timestamps TIMESTAMP lies inside the
    // 32-byte descriptor, 8-byte aligned.
    unsafe {
        desc_ptr
            .add(desc::TIMESTAMP_OFFSET)
            .cast::<u64>()
            .write_volatile(ns)
    };
}

#[inline]
#[allow(clippy::mut_from_ref)] // the claim on the slot, not the borrow, makes the slice exclusive
/// The payload of slot `seq` as a mutable slice.
///
/// # Safety
/// The caller must own slot `seq` (claimed, not committed) for the slice's lifetime.
pub(super) unsafe fn payload_mut(shared: &Shared, seq: u64) -> &mut [u8] {
    // SAFETY: forwarded to the caller.
    unsafe { payload_mut_at(shared.payload_ptr(seq), shared.slot_payload()) }
}

#[inline]
/// The payload at `payload_ptr`, `len` (the slot's payload capacity) bytes, as a mutable slice.
///
/// # Safety
/// The caller must own the slot (claimed, not committed) for the slice's lifetime;
/// `payload_ptr` must be a slot's payload address and `len` its capacity.
unsafe fn payload_mut_at<'a>(payload_ptr: *mut u8, len: usize) -> &'a mut [u8] {
    // SAFETY: the payload lies inside its stride (stride >= payload), inside the mapping; the
    // caller owns the slot, so no other handle writes it. Lossy readers may read it at the same
    // time: they validate what they read with the stamp and never trust a torn copy.
    unsafe { std::slice::from_raw_parts_mut(payload_ptr, len) }
}

/// One claimed slot. Write the payload, then [`commit`](Self::commit). Dropping it uncommitted
/// publishes an empty frame marked to be skipped, so readers never wait on a hole.
///
/// A committed slot is gone: it cannot be written again.
///
/// ```compile_fail,E0382
/// # use ringflow::{ProducerOptions, Ring, RingConfig};
/// # let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
/// let mut producer = ring.producer(ProducerOptions::default()).unwrap();
/// let mut slot = producer.claim().unwrap();
/// slot.commit(0);
/// slot.payload_mut()[0] = 1; // error: `slot` was moved by `commit`
/// ```
///
/// And a producer holds one claim at a time:
///
/// ```compile_fail,E0499
/// # use ringflow::{ProducerOptions, Ring, RingConfig};
/// # let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
/// let mut producer = ring.producer(ProducerOptions::default()).unwrap();
/// let a = producer.claim().unwrap();
/// let b = producer.claim().unwrap(); // error: `producer` is still borrowed by `a`
/// a.commit(0);
/// ```
pub struct WriteSlot<'a> {
    producer: &'a mut Producer,
    /// The slot's payload address, computed once at the claim. The sequence, kind and timestamp
    /// are in `producer.claim`.
    payload: *mut u8,
}

// SAFETY: `payload` points into the mapping the borrowed producer keeps alive, and only this claim
// writes it: moving the claim to another thread moves nothing a `&mut Producer` could not.
unsafe impl Send for WriteSlot<'_> {}

impl<'a> WriteSlot<'a> {
    #[inline]
    fn new(producer: &'a mut Producer, seq: u64) -> Self {
        let payload = producer.map.payload_ptr(seq);
        producer.claim = Claim {
            seq,
            kind: 0,
            timestamp: None,
        };
        WriteSlot { producer, payload }
    }
}

impl WriteSlot<'_> {
    /// The frame's sequence number.
    pub fn seq(&self) -> u64 {
        self.producer.claim.seq
    }

    /// The whole payload area of the slot ([`Producer::slot_size`] bytes).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        // SAFETY: we hold the claim on the frame (whose payload `self.payload` is) until commit
        // or drop, and the slice borrows `self`.
        unsafe { payload_mut_at(self.payload, self.producer.map.slot_payload()) }
    }

    /// Sets the user kind (16 bits) of the frame.
    pub fn set_kind(&mut self, kind: u16) {
        self.producer.claim.kind = u32::from(kind);
    }

    /// Sets the frame's timestamp instead of the clock reading the commit would take.
    pub fn set_timestamp_ns(&mut self, ns: u64) {
        self.producer.claim.timestamp = Some(ns);
    }

    /// Publishes the first `len` payload bytes as one frame.
    ///
    /// # Panics
    /// If `len` exceeds [`Producer::slot_size`].
    #[inline(always)]
    pub fn commit(self, len: usize) {
        let capacity = self.producer.map.slot_payload();
        assert!(
            len <= capacity,
            "frame length {len} exceeds the slot size {capacity}"
        );
        let kind = self.producer.claim.kind;
        // Committed: not the drop's skip frame.
        let mut this = std::mem::ManuallyDrop::new(self);
        this.finish(len as u32, kind);
    }

    #[inline(always)]
    fn finish(&mut self, len: u32, kind: u32) {
        let claim = self.producer.claim;
        let map = self.producer.map;
        let desc = map.desc_ptr(claim.seq);
        write_meta_at(desc, len, kind);
        if map.timestamps() {
            let ts = claim.timestamp.unwrap_or_else(|| self.producer.timestamp());
            write_timestamp_at(desc, ts);
        }
        // False only if a repairer took this producer for dead and published the frame as a skip
        // frame (counted in `abandoned`); with exact liveness that does not happen.
        self.producer
            .core
            .commit_with(claim.seq, claim.seq + 1, |_, seq| map.stamp(seq));
    }
}

impl Drop for WriteSlot<'_> {
    /// Dropped uncommitted (`commit` consumes the handle without running this): publishes an
    /// empty frame marked to be skipped.
    #[inline]
    fn drop(&mut self) {
        self.finish(0, kind_flags::SKIP);
    }
}

/// `n` claimed consecutive slots, committed together.
pub struct WriteBatch<'a> {
    producer: &'a mut Producer,
    /// The ring's geometry, copied so the batch's loop keeps it in registers (see `SlotMap`).
    map: SlotMap,
    first: u64,
    n: usize,
    /// Slots `0..opened` are open: marked as being written, their header reset.
    opened: usize,
    /// Whether the claim marked every slot already (a multi-producer's).
    marked: bool,
    committed: bool,
}

impl WriteBatch<'_> {
    /// Number of slots in the batch.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false: a batch holds at least one slot.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Sequence number of slot 0 of the batch.
    pub fn first_seq(&self) -> u64 {
        self.first
    }

    #[inline(always)]
    fn seq(&self, i: usize) -> u64 {
        assert!(i < self.n, "slot {i} out of a batch of {}", self.n);
        self.first + i as u64
    }

    /// Opens slot `i`, and any before it not yet open, before a byte of it is written.
    #[inline(always)]
    fn open(&mut self, i: usize) -> u64 {
        let seq = self.seq(i);
        if i >= self.opened {
            self.open_to(i);
        }
        seq
    }

    /// Opens slots `opened..=i`: marks each as being written (unless the claim did), then
    /// resets its header to an empty frame of kind 0 with timestamp 0 (a producer with
    /// timestamps writes the commit's time over it).
    #[inline]
    fn open_to(&mut self, i: usize) {
        while self.opened <= i {
            let seq = self.first + self.opened as u64;
            let desc = self.map.desc_ptr(seq);
            if !self.marked {
                self.producer.core.begin_write(self.map.stamp(seq), seq);
            }
            write_meta_at(desc, 0, 0);
            if self.map.timestamps() {
                write_timestamp_at(desc, 0);
            }
            self.opened += 1;
        }
    }

    /// The payload area of slot `i`.
    #[inline(always)]
    pub fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        let seq = self.open(i);
        // SAFETY: we hold the claim on the batch until commit or drop (the producer, which we
        // borrow, holds the mapping); the slice borrows `self`.
        unsafe { payload_mut_at(self.map.payload_ptr(seq), self.map.slot_payload()) }
    }

    /// Sets the frame length of slot `i` (0 until set).
    ///
    /// # Panics
    /// If `len` exceeds the slot size.
    #[inline(always)]
    pub fn set_len(&mut self, i: usize, len: usize) {
        assert!(
            len <= self.map.slot_payload(),
            "frame length {len} exceeds the slot size"
        );
        let seq = self.open(i);
        let base = self.map.desc_ptr(seq);
        // SAFETY: as in `write_meta`.
        unsafe {
            base.add(desc::LEN_OFFSET)
                .cast::<u32>()
                .write_volatile(len as u32)
        };
    }

    /// Sets the user kind of slot `i`.
    pub fn set_kind(&mut self, i: usize, kind: u16) {
        let seq = self.open(i);
        let base = self.producer.core.mem.desc_ptr(seq);
        // SAFETY: as in `write_meta`.
        unsafe {
            base.add(desc::KIND_OFFSET)
                .cast::<u32>()
                .write_volatile(u32::from(kind))
        };
    }

    /// Publishes every slot of the batch (one timestamp for all).
    pub fn commit(mut self) {
        self.finish();
    }

    /// Publishes slots `0..k` as frames and the rest as empty frames readers pass over (for a
    /// writer that ran out of frames part way through the batch; their sequences were claimed,
    /// so they must be published).
    ///
    /// ```
    /// # use ringflow::{Delivery, ProducerOptions, Ring, RingConfig};
    /// # let ring = Ring::anonymous(&RingConfig::new(8, 16))?;
    /// let mut consumer = ring.consumer()?;
    /// let mut producer = ring.producer(ProducerOptions::default())?;
    /// let mut batch = producer.claim_batch(4)?;
    /// batch.slot_mut(0)[0] = 7;
    /// batch.set_len(0, 1);
    /// batch.commit_first(1);
    /// let got = consumer.poll_batch(8)?;
    /// assert_eq!(got.len(), 1);
    /// assert_eq!(got.iter().next().unwrap().payload, &[7][..]);
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    ///
    /// # Panics
    /// If `k` exceeds the batch's length.
    pub fn commit_first(mut self, k: usize) {
        assert!(k <= self.n, "{k} frames of a batch of {}", self.n);
        self.open_to(self.n - 1);
        for seq in self.first + k as u64..self.first + self.n as u64 {
            write_meta(&self.producer.core.mem, seq, 0, kind_flags::SKIP);
        }
        self.finish();
    }

    fn finish(&mut self) {
        // Every slot goes through the seqlock's writing state before its commit.
        self.open_to(self.n - 1);
        let end = self.first + self.n as u64;
        let map = self.map;
        if map.timestamps() {
            let ts = self.producer.timestamp();
            for seq in self.first..end {
                write_timestamp_at(map.desc_ptr(seq), ts);
            }
        }
        self.committed = true;
        // As in `WriteSlot::finish`; the stamps found through the batch's copy of the geometry.
        self.producer
            .core
            .commit_with(self.first, end, |_, seq| map.stamp(seq));
    }
}

impl Drop for WriteBatch<'_> {
    fn drop(&mut self) {
        if !self.committed {
            self.open_to(self.n - 1);
            for seq in self.first..self.first + self.n as u64 {
                write_meta(&self.producer.core.mem, seq, 0, kind_flags::SKIP);
            }
            self.finish();
        }
    }
}
