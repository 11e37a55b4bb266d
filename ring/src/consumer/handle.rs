//! The public consumer handle over a mapped region: zero-copy views, batches, copying reads.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use super::core::{Check, ConsumerCore};
use super::Delivery;
use crate::error::{Error, Result};
use crate::layout::{kind_flags, slot};
use crate::region::Shared;

/// The header fields of a ready frame.
#[derive(Clone, Copy, Debug)]
struct Ready {
    seq: u64,
    /// The slot's address.
    slot: *const u8,
    len: usize,
    kind: u16,
    timestamp_ns: u64,
    lost_before: u64,
}

// SAFETY: `slot` points into the mapping that the consumer handing out the frame keeps alive; a
// `Ready` moves with its `Frame` (which borrows that consumer) or is dropped.
unsafe impl Send for Ready {}

/// What a copying read returns about the frame it copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// A frame handed out by [`Consumer::poll_held`], not borrowing the consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldFrame {
    /// The frame's facts.
    pub info: FrameInfo,
    /// Its payload (`info.len` bytes) in the mapping.
    pub payload: *const u8,
}

// SAFETY: a plain pointer into a shared mapping; the consumer it came from says when it is valid.
unsafe impl Send for HeldFrame {}

/// A consumer handle: reads frames in place, from its own cursor.
///
/// `Send` but not `Sync`; dropping it unregisters the consumer (a lossless one stops gating).
///
/// ```compile_fail,E0277
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<ringflow::Consumer>();
/// ```
pub struct Consumer {
    core: ConsumerCore<Shared>,
    /// The frame `next_ready` found last. Kept here, not in the [`Frame`] handed out: a view of
    /// one word travels in a register, while a larger one was copied through the stack with
    /// mismatched widths, and the stalled store forwarding cost more than the rest of a read.
    ready: Ready,
    _not_sync: PhantomData<Cell<()>>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("index", &self.core.index)
            .field("next", &self.core.next)
            .finish()
    }
}

impl Consumer {
    pub(crate) fn register(shared: Arc<Shared>, delivery: Delivery) -> Result<Consumer> {
        let core = ConsumerCore::register(shared, delivery, crate::liveness::current_pid())?;
        Ok(Consumer {
            core,
            ready: Ready {
                seq: 0,
                slot: std::ptr::null(),
                len: 0,
                kind: 0,
                timestamp_ns: 0,
                lost_before: 0,
            },
            _not_sync: PhantomData,
        })
    }

    /// This consumer's block index in the region.
    pub fn index(&self) -> usize {
        self.core.index
    }

    /// The next sequence this consumer reads.
    pub fn next_seq(&self) -> u64 {
        self.core.next
    }

    /// Frames handed out so far.
    pub fn delivered(&self) -> u64 {
        self.core.delivered
    }

    /// Frames this consumer never got (overwritten before it read them, or corrupt).
    pub fn lost(&self) -> u64 {
        self.core.lost
    }

    /// Times this consumer was lapped.
    pub fn lapped(&self) -> u64 {
        self.core.lapped
    }

    /// Zero-copy views found overwritten when released.
    pub fn torn(&self) -> u64 {
        self.core.torn
    }

    /// How often a waiting consumer looks whether the producer's process is still alive
    /// (50 ms by default).
    pub fn set_liveness_interval(&mut self, interval: Duration) {
        self.core.liveness = interval.max(Duration::from_millis(1));
    }

    #[inline]
    fn payload_capacity(&self) -> usize {
        self.core.mem.slot_payload()
    }

    /// Finds the next frame to hand out and puts it in `self.ready` (true), or finds none
    /// (false): skips marked-empty slots, recovers from laps, reports corrupt slots.
    ///
    /// Always inlined: its caller reads `self.ready` right after, and across a call those loads
    /// went wider than the stores that wrote the fields, a store-forwarding stall per frame
    /// (one thread writing and reading a 64-byte frame: 10.7 -> 8.4 ns, `cargo run --release -p
    /// ringflow-benches --example one_thread` on the commits before and after). Inlined, the
    /// compiler forwards the values itself.
    #[inline(always)]
    fn next_ready(&mut self) -> Result<bool> {
        loop {
            let seq = self.core.next;
            match self.core.check(seq) {
                Check::Empty => {
                    // Fetch the frame's second line while we wait, not after (see `touch_tail`).
                    self.core.mem.touch_tail(seq);
                    return Ok(false);
                }
                Check::Lapped => self.core.skip_lapped()?,
                Check::Ready => {
                    let slot = self.core.mem.slot_ptr(seq).cast_const();
                    let (len, kind, timestamp_ns) = read_meta_at(slot);
                    if kind & kind_flags::SKIP != 0 {
                        if self.core.verify(seq) {
                            self.core.release(seq + 1, 0);
                        }
                        continue;
                    }
                    if len as usize > self.payload_capacity() {
                        if !self.core.verify(seq) {
                            continue; // overwritten while we looked: the next check says Lapped
                        }
                        self.core.note_lost();
                        self.core.release(seq + 1, 0);
                        return Err(Error::Corrupt {
                            seq,
                            detail: format!(
                                "length {len} exceeds the slot size {}",
                                self.payload_capacity()
                            ),
                        });
                    }
                    self.ready = Ready {
                        seq,
                        slot,
                        len: len as usize,
                        kind: (kind & kind_flags::USER_MASK) as u16,
                        timestamp_ns,
                        lost_before: self.core.take_lost_pending(),
                    };
                    return Ok(true);
                }
            }
        }
    }

    /// The next frame as a zero-copy view, or `None` if there is none yet. The cursor advances
    /// when the view is dropped.
    ///
    /// ```
    /// # use ringflow::{Delivery, ProducerOptions, Ring, RingConfig};
    /// # let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
    /// let mut consumer = ring.consumer(Delivery::Lossless)?;
    /// assert!(consumer.poll()?.is_none());
    /// ring.producer(ProducerOptions::default())?.push(b"x")?;
    /// let frame = consumer.poll()?.unwrap();
    /// assert_eq!((frame.seq(), frame.payload()), (0, &b"x"[..]));
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    #[inline]
    pub fn poll(&mut self) -> Result<Option<Frame<'_>>> {
        Ok(if self.next_ready()? {
            Some(Frame { consumer: self })
        } else {
            None
        })
    }

    /// The next frame for a caller that cannot hold a borrow (a foreign runtime): its facts and
    /// a pointer to its payload in place, which stays valid until
    /// [`release_held`](Self::release_held) (while the consumer and its ring live). The cursor
    /// does not move until then; call `release_held` before the next read. Returns `None` if
    /// no frame is there.
    pub fn poll_held(&mut self) -> Result<Option<HeldFrame>> {
        if !self.next_ready()? {
            return Ok(None);
        }
        let ready = self.ready;
        Ok(Some(HeldFrame {
            info: FrameInfo {
                seq: ready.seq,
                len: ready.len,
                kind: ready.kind,
                timestamp_ns: ready.timestamp_ns,
                lost_before: ready.lost_before,
            },
            payload: payload_at(ready.slot),
        }))
    }

    /// Done with a frame from [`poll_held`](Self::poll_held): moves the cursor past it (as
    /// dropping a [`Frame`] does). Returns whether the frame was still intact (false if a
    /// producer overwrote it while it was held: a lossy reader, or an `overwrite` producer;
    /// counted as torn).
    pub fn release_held(&mut self, frame: HeldFrame) -> bool {
        let intact = self.core.verify(frame.info.seq);
        if !intact {
            self.core.note_torn(1);
        }
        self.core.release(frame.info.seq + 1, 1);
        intact
    }

    /// Waits for the next frame at most `timeout` (forever if `None`) and returns it as a view.
    ///
    /// Errors: [`Error::Timeout`]; [`Error::Closed`] once the last producer detached and every
    /// frame was read; [`Error::ProducerGone`] if the producer's process died (every frame it
    /// committed is read first); [`Error::Evicted`].
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Frame<'_>> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            if self.next_ready()? {
                return Ok(Frame { consumer: self });
            }
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            self.core.wait(left)?;
        }
    }

    /// Copies the next frame into `buf` and advances; never returns a torn frame (a frame
    /// overwritten during the copy is counted lost and the next one is read instead).
    ///
    /// Fails with [`Error::InvalidArgument`] (consuming nothing) if `buf` is shorter than the
    /// frame.
    pub fn read_into(&mut self, buf: &mut [u8]) -> Result<Option<FrameInfo>> {
        loop {
            if !self.next_ready()? {
                return Ok(None);
            }
            let ready = self.ready;
            if buf.len() < ready.len {
                self.core.restore_lost_pending(ready.lost_before);
                return Err(Error::InvalidArgument(format!(
                    "buffer of {} bytes is shorter than frame {} of {}",
                    buf.len(),
                    ready.seq,
                    ready.len
                )));
            }
            let src = payload_at(ready.slot);
            // SAFETY: `ready.len` is at most the slot size (checked in `next_ready`), so the
            // source lies inside the slot, and `buf` holds at least that many bytes. The source
            // may change during the copy (a lossy read): `verify` below discards such a copy.
            unsafe { std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), ready.len) };
            if self.core.verify(ready.seq) {
                self.core.release(ready.seq + 1, 1);
                return Ok(Some(FrameInfo {
                    seq: ready.seq,
                    len: ready.len,
                    kind: ready.kind,
                    timestamp_ns: ready.timestamp_ns,
                    lost_before: ready.lost_before,
                }));
            }
            // Overwritten mid-copy: the next check sees the lap and counts this frame as lost.
            self.core.restore_lost_pending(ready.lost_before);
        }
    }

    /// [`read_into`](Self::read_into), waiting at most `timeout` for a frame.
    pub fn recv_into(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<FrameInfo> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            if let Some(info) = self.read_into(buf)? {
                return Ok(info);
            }
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            self.core.wait(left)?;
        }
    }

    /// Up to `max` consecutive frames as zero-copy views; the cursor advances once, when the
    /// batch is dropped. Empty if no frame is there.
    pub fn poll_batch(&mut self, max: usize) -> Result<Batch<'_>> {
        let head = (max > 0 && self.next_ready()?).then_some(self.ready);
        self.batch_from(head, max)
    }

    /// Waits for the next frame at most `timeout` (forever if `None`), as [`recv`](Self::recv)
    /// does, and returns it with the frames ready after it, up to `max`, as
    /// [`poll_batch`](Self::poll_batch) does. Never empty.
    ///
    /// Errors: those of [`recv`](Self::recv), and [`Error::InvalidArgument`] if `max` is 0.
    ///
    /// ```
    /// # use ringflow::{Delivery, ProducerOptions, Ring, RingConfig};
    /// # let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
    /// let mut consumer = ring.consumer(Delivery::Lossless)?;
    /// let mut producer = ring.producer(ProducerOptions::default())?;
    /// producer.push(b"a")?;
    /// producer.push(b"b")?;
    /// let batch = consumer.recv_batch(16, None)?;
    /// assert_eq!(batch.len(), 2);
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn recv_batch(&mut self, max: usize, timeout: Option<Duration>) -> Result<Batch<'_>> {
        if max == 0 {
            return Err(Error::InvalidArgument(
                "a batch of at most 0 frames would never come".into(),
            ));
        }
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        while !self.next_ready()? {
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            self.core.wait(left)?;
        }
        let head = Some(self.ready);
        self.batch_from(head, max)
    }

    /// The batch that starts with `head` (the frame `next_ready` found, if any): it and the
    /// frames ready after it, up to `max` slots.
    #[inline(always)]
    fn batch_from(&mut self, head: Option<Ready>, max: usize) -> Result<Batch<'_>> {
        let Some(head) = head else {
            return Ok(Batch {
                first: self.core.next,
                slots: 0,
                frames: 0,
                lost_before: 0,
                consumer: self,
            });
        };
        let capacity = self.payload_capacity();
        let mut slots = 1u64;
        let mut frames = 1usize;
        while (slots as usize) < max {
            let seq = head.seq + slots;
            if self.core.check(seq) != Check::Ready {
                break;
            }
            let (len, kind, _) = read_meta(&self.core.mem, seq);
            if len as usize > capacity {
                break; // reported by the next poll
            }
            if kind & kind_flags::SKIP == 0 {
                frames += 1;
            }
            slots += 1;
        }
        Ok(Batch {
            first: head.seq,
            slots,
            frames,
            lost_before: head.lost_before,
            consumer: self,
        })
    }

    /// Waits until a frame is there (or the ring closed, or the producer died), at most
    /// `timeout`: spins briefly, then parks on the futex. It may return `Ok` early with nothing
    /// to read ([`Ring::wake_waiters`](crate::Ring::wake_waiters), or a liveness check of a
    /// file-backed ring): poll again, and wait again if there is nothing.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.core.wait(timeout)
    }

    /// Whether frames may still come, without waiting: [`Error::Closed`] or
    /// [`Error::ProducerGone`] once they cannot and nothing is left to read, [`Error::Evicted`]
    /// if a producer evicted this consumer, `Ok` otherwise.
    pub fn check_producer(&mut self) -> Result<()> {
        self.core.check_live()
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.core.unregister();
    }
}

#[inline]
fn read_meta(shared: &Shared, seq: u64) -> (u32, u32, u64) {
    read_meta_at(shared.slot_ptr(seq))
}

/// The length, kind and timestamp of the slot at `slot_ptr` (a slot's address in the mapping).
#[inline]
fn read_meta_at(slot_ptr: *const u8) -> (u32, u32, u64) {
    // SAFETY: the fields lie inside the slot header, aligned; volatile because a producer may
    // write them concurrently (a lossy read), which the caller detects with the stamp.
    unsafe {
        (
            slot_ptr.add(slot::LEN_OFFSET).cast::<u32>().read_volatile(),
            slot_ptr
                .add(slot::KIND_OFFSET)
                .cast::<u32>()
                .read_volatile(),
            slot_ptr
                .add(slot::TIMESTAMP_OFFSET)
                .cast::<u64>()
                .read_volatile(),
        )
    }
}

#[inline]
fn payload_ptr(shared: &Shared, seq: u64) -> *const u8 {
    payload_at(shared.slot_ptr(seq))
}

/// The payload of the slot at `slot_ptr` (a slot's address in the mapping).
#[inline]
fn payload_at(slot_ptr: *const u8) -> *const u8 {
    // SAFETY: the payload starts inside the slot, inside the mapping.
    unsafe { slot_ptr.add(slot::PAYLOAD_OFFSET) }
}

/// A zero-copy view of one frame in the ring.
///
/// **Valid only until it is dropped**: dropping it advances the consumer's cursor, after which a
/// producer may overwrite the slot. Copy what must outlive it ([`Frame::to_vec`]).
///
/// The bytes live in memory other processes write. A lossless consumer's frame cannot be
/// overwritten while it is held, unless the producer's policy is `overwrite` or the consumer was
/// evicted; a lossy consumer's can. [`Frame::is_intact`] says whether it still was at the time of
/// the call; the consumer counts views found overwritten at release in [`Consumer::torn`].
///
/// A view borrows its consumer, so the cursor cannot move while it is held:
///
/// ```compile_fail,E0499
/// # use ringflow::{Delivery, Ring, RingConfig};
/// # let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
/// let mut consumer = ring.consumer(Delivery::Lossless).unwrap();
/// let first = consumer.poll().unwrap();
/// let second = consumer.poll().unwrap(); // error: `consumer` is still borrowed by `first`
/// drop(first);
/// ```
pub struct Frame<'a> {
    consumer: &'a mut Consumer,
}

impl Frame<'_> {
    #[inline]
    fn ready(&self) -> &Ready {
        &self.consumer.ready
    }

    /// Sequence number.
    pub fn seq(&self) -> u64 {
        self.ready().seq
    }

    /// Payload bytes.
    pub fn len(&self) -> usize {
        self.ready().len
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.ready().len == 0
    }

    /// User kind.
    pub fn kind(&self) -> u16 {
        self.ready().kind
    }

    /// Producer's `CLOCK_MONOTONIC` timestamp (0 if the producer writes none).
    pub fn timestamp_ns(&self) -> u64 {
        self.ready().timestamp_ns
    }

    /// Frames this consumer lost just before this one.
    pub fn lost_before(&self) -> u64 {
        self.ready().lost_before
    }

    /// The payload, in place.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        // SAFETY: `len` is at most the slot size (checked when the frame was found), so the
        // slice lies inside the slot; see the type's docs for who else may write it.
        unsafe { std::slice::from_raw_parts(payload_at(self.ready().slot), self.ready().len) }
    }

    /// Whether the frame was still in its slot when this was called (the seqlock re-check).
    pub fn is_intact(&self) -> bool {
        self.consumer.core.verify(self.ready().seq)
    }

    /// An owned copy of the payload. Check [`is_intact`](Self::is_intact) after copying if the
    /// consumer is lossy.
    pub fn to_vec(&self) -> Vec<u8> {
        self.payload().to_vec()
    }
}

impl Drop for Frame<'_> {
    #[inline]
    fn drop(&mut self) {
        let seq = self.consumer.ready.seq;
        let core = &mut self.consumer.core;
        if !core.verify(seq) {
            core.note_torn(1);
        }
        core.release(seq + 1, 1);
    }
}

/// Consecutive frames handed out at once by [`Consumer::poll_batch`]; valid until dropped, which
/// advances the cursor past all of them.
pub struct Batch<'a> {
    consumer: &'a mut Consumer,
    first: u64,
    slots: u64,
    frames: usize,
    lost_before: u64,
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
    /// Payload bytes, in place.
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
        let shared = &*self.consumer.core.mem;
        let capacity = shared.geometry().slot_payload as usize;
        (self.first..self.first + self.slots).filter_map(move |seq| {
            let (len, kind, timestamp_ns) = read_meta(shared, seq);
            if kind & kind_flags::SKIP != 0 {
                return None;
            }
            // Re-read fields may be torn in a lossy batch: clamp so the view stays in the slot.
            let len = (len as usize).min(capacity);
            // SAFETY: `len` is at most the slot size, so the slice lies inside the slot.
            let payload = unsafe { std::slice::from_raw_parts(payload_ptr(shared, seq), len) };
            Some(BatchFrame {
                seq,
                kind: (kind & kind_flags::USER_MASK) as u16,
                timestamp_ns,
                payload,
            })
        })
    }

    /// How many frames of the batch are still intact (all of them unless a producer overwrote
    /// some: a lossy consumer, or an `overwrite` producer).
    pub fn intact(&self) -> usize {
        let core = &self.consumer.core;
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
        let torn = self.slots - self.intact() as u64;
        let core = &mut self.consumer.core;
        if torn > 0 {
            core.note_torn(torn);
        }
        core.release(self.first + self.slots, self.frames as u64);
    }
}
