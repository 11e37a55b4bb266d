//! Consumers: each has its own read cursor in the region and its own delivery policy.
//!
//! ## Reading frame `s` (a seqlock reader per slot)
//! ```text
//!   st = stamp(s)                     Acquire   pairs with the Release commit
//!   st <  committed(s): not yet written: wait
//!   st == committed(s): read len, kind, timestamp, payload   (plain loads)
//!   st >  committed(s): lapped: a later frame took the slot; skip ahead, count the loss
//!   fence(Acquire); st == stamp(s)?   Relaxed   the re-check: did a producer start over it?
//! ```
//! The re-check is the seqlock reader's exit: if any byte read came from a later frame, the
//! producer's `writing` stamp (stored before that byte, with a Release fence in between) is
//! visible after our Acquire fence, and the copy is discarded. A copying read
//! ([`Consumer::read_into`]) therefore never returns a torn frame; a zero-copy view
//! ([`Frame`]) is checked when it is released and counted in `torn` if it was overwritten.
//!
//! ## Releasing
//! `read` is stored with Release after the reader is done with every frame below it (pairs with
//! the producer's Acquire scan in `gate.rs`). A lossless consumer then notifies a producer that
//! may be asleep waiting for space (`sleep.rs`); a lossy one never gates, so it never needs to.
//!
//! ## Lapped
//! A consumer that finds a later frame in its slot jumps to `published - capacity + 1` (the oldest
//! frame that may still be intact) and adds every frame it skipped to `lost`: `delivered + lost`
//! always equals the frames published since it joined. A lossless consumer is only lapped by an
//! `overwrite` producer, or after it was evicted.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::gate;
use crate::layout::{consumer_state, delivery, kind_flags, ring_state, slot, stamp, ConsumerLine};
use crate::mem::RingMem;
use crate::region::Shared;
use crate::sleep;
use crate::sync::{fence, Backoff, Ordering};

/// How a consumer relates to producers when it falls behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Gates producers whose policy is `block` or `fail`: it sees every frame.
    #[default]
    Lossless,
    /// Never gates: when lapped it skips ahead and learns exactly how many frames it lost.
    Lossy,
}

/// What a slot holds for the sequence a reader expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// The frame is committed.
    Ready,
    /// Not written yet (or being written).
    Empty,
    /// A later frame took the slot.
    Lapped,
}

/// What a waiting consumer learns about the producers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProducerStatus {
    Alive,
    Closed,
    Gone(u32),
}

/// Frames between two heartbeats of a reader that is busy reading.
const HEARTBEAT_EVERY: u64 = 1024;

/// The consumer's side of the cursor protocol, over any [`RingMem`].
pub(crate) struct ConsumerCore<M: RingMem> {
    pub(crate) mem: Arc<M>,
    pub(crate) index: usize,
    generation: u32,
    /// The next sequence to read.
    pub(crate) next: u64,
    lossless: bool,
    delivered: u64,
    lost: u64,
    lapped: u64,
    torn: u64,
    /// Frames lost since the last frame handed out.
    lost_pending: u64,
    heartbeat_at: u64,
    liveness: Duration,
}

impl<M: RingMem> ConsumerCore<M> {
    pub(crate) fn register(mem: Arc<M>, delivery: Delivery, pid: u32) -> Result<Self> {
        let policy = match delivery {
            Delivery::Lossless => delivery::LOSSLESS,
            Delivery::Lossy => delivery::LOSSY,
        };
        let Some(reg) = gate::register(&*mem, policy, pid) else {
            return Err(Error::NoConsumerSlot { max: mem.max_consumers() });
        };
        Ok(ConsumerCore {
            mem,
            index: reg.index,
            generation: reg.generation,
            next: reg.start,
            lossless: delivery == Delivery::Lossless,
            delivered: 0,
            lost: 0,
            lapped: 0,
            torn: 0,
            lost_pending: 0,
            heartbeat_at: reg.start + HEARTBEAT_EVERY,
            liveness: Duration::from_millis(50),
        })
    }

    #[inline]
    fn block(&self) -> &ConsumerLine {
        self.mem.consumer(self.index)
    }

    /// What the slot of `seq` holds.
    #[inline]
    pub(crate) fn check(&self, seq: u64) -> Check {
        // Acquire: pairs with the Release store of committed(seq) in ProducerCore::commit.
        let st = self.mem.stamp(seq).load(Ordering::Acquire);
        let want = stamp::committed(seq);
        if st == want {
            Check::Ready
        } else if st < want {
            Check::Empty
        } else {
            Check::Lapped
        }
    }

    /// The seqlock re-check: whether frame `seq` was still in its slot after everything read
    /// before this call.
    #[inline]
    pub(crate) fn verify(&self, seq: u64) -> bool {
        // Acquire fence: pairs with the Release fence after the producer's `writing` stamp; if
        // any load before this fence saw a later frame's byte, the load below sees that stamp.
        fence(Ordering::Acquire);
        // Relaxed: ordered by the fence.
        self.mem.stamp(seq).load(Ordering::Relaxed) == stamp::committed(seq)
    }

    /// Done with every frame below `next`; `frames` of them were handed out.
    #[inline]
    pub(crate) fn release(&mut self, next: u64, frames: u64) {
        self.next = next;
        self.delivered += frames;
        let block = self.mem.consumer(self.index);
        // Relaxed: a statistic, written only by us.
        block.delivered.store(self.delivered, Ordering::Relaxed);
        // Release: pairs with the Acquire load of `read` in gate::scan: our reads of the released
        // slots happen before a producer overwrites them.
        block.read.store(next, Ordering::Release);
        if next >= self.heartbeat_at {
            self.heartbeat();
            self.heartbeat_at = next + HEARTBEAT_EVERY;
        }
        if self.lossless {
            let wait = &self.mem.producer().wait;
            sleep::notify(&*self.mem, &wait.space_futex, &wait.space_sleepers, &wait.space_wakes);
        }
    }

    fn heartbeat(&self) {
        // Relaxed: read by an evicting producer, which only compares ages.
        self.block().heartbeat_ns.store(self.mem.now_ns(), Ordering::Relaxed);
    }

    /// Fails if a producer evicted us or our block was reused.
    fn check_evicted(&self) -> Result<()> {
        let block = self.block();
        // Relaxed: the eviction CAS publishes nothing else.
        if block.state.load(Ordering::Relaxed) != consumer_state::ACTIVE
            || block.generation.load(Ordering::Relaxed) != self.generation
        {
            return Err(Error::Evicted { index: self.index });
        }
        Ok(())
    }

    /// Lapped at `next`: skips to the oldest frame that may still be intact and counts the rest
    /// as lost.
    #[cold]
    pub(crate) fn skip_lapped(&mut self) -> Result<()> {
        self.check_evicted()?;
        // Acquire: pairs with the Release store of `published` in ProducerCore::commit.
        let published = self.mem.producer().cursor.published.load(Ordering::Acquire);
        let target = published.saturating_sub(self.mem.capacity() - 1).max(self.next + 1);
        let lost = target - self.next;
        self.lost += lost;
        self.lost_pending += lost;
        self.lapped += 1;
        let block = self.mem.consumer(self.index);
        // Relaxed: statistics, written only by us.
        block.lost.store(self.lost, Ordering::Relaxed);
        block.lapped.store(self.lapped, Ordering::Relaxed);
        self.release(target, 0);
        Ok(())
    }

    /// Counts one frame lost for a reason other than lapping (a corrupt slot).
    pub(crate) fn note_lost(&mut self) {
        self.lost += 1;
        // Relaxed: a statistic.
        self.block().lost.store(self.lost, Ordering::Relaxed);
    }

    /// Counts a zero-copy view that was overwritten before it was released.
    pub(crate) fn note_torn(&mut self, n: u64) {
        self.torn += n;
        // Relaxed: a statistic.
        self.block().torn.store(self.torn, Ordering::Relaxed);
    }

    /// Frames lost since the last frame handed out; resets the count.
    pub(crate) fn take_lost_pending(&mut self) -> u64 {
        std::mem::take(&mut self.lost_pending)
    }

    pub(crate) fn restore_lost_pending(&mut self, n: u64) {
        self.lost_pending += n;
    }

    pub(crate) fn producer_status(&self) -> ProducerStatus {
        let block = self.mem.producer();
        // Acquire: pairs with the Release store of CLOSED in ProducerCore::detach: every frame
        // committed before the close is visible to the re-check that follows.
        if block.wait.state.load(Ordering::Acquire) == ring_state::CLOSED {
            return ProducerStatus::Closed;
        }
        let mut dead = None;
        for entry in block.producers.iter() {
            // Relaxed: liveness is judged by the pid alone.
            let pid = entry.pid.load(Ordering::Relaxed);
            if pid != 0 {
                if self.mem.pid_alive(pid) {
                    return ProducerStatus::Alive;
                }
                dead = Some(pid);
            }
        }
        // No producer attached yet (and the ring not closed): one may still come.
        dead.map_or(ProducerStatus::Alive, ProducerStatus::Gone)
    }

    /// Waits until the next frame is there (or the consumer was lapped), at most `timeout`.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Result<()> {
        if self.check(self.next) != Check::Empty {
            return Ok(());
        }
        let mut backoff = Backoff::new();
        while !backoff.is_completed() {
            backoff.snooze();
            if self.check(self.next) != Check::Empty {
                return Ok(());
            }
        }
        let deadline = timeout.map(|t| self.mem.now_ns().saturating_add(t.as_nanos().min(u128::from(u64::MAX)) as u64));
        loop {
            self.heartbeat();
            self.check_evicted()?;
            match self.producer_status() {
                ProducerStatus::Alive => {}
                status => {
                    // Re-check after the status: frames committed before a close or a crash stay
                    // readable.
                    if self.check(self.next) != Check::Empty {
                        return Ok(());
                    }
                    return Err(match status {
                        ProducerStatus::Gone(pid) => Error::ProducerGone { pid },
                        _ => Error::Closed,
                    });
                }
            }
            // A producer in another process may die without waking us: sleep in slices and look
            // again. In-process rings close from `Drop`, which wakes.
            let mut slice = if self.mem.cross_process() { Some(self.liveness) } else { None };
            if let Some(deadline) = deadline {
                let now = self.mem.now_ns();
                if now >= deadline {
                    return Err(Error::Timeout);
                }
                let left = Duration::from_nanos(deadline - now);
                slice = Some(slice.map_or(left, |s| s.min(left)));
            }
            let mem = &*self.mem;
            let wait = &mem.producer().wait;
            let next = self.next;
            let this = &*self;
            sleep::park(mem, &wait.data_futex, &wait.data_sleepers, slice, || {
                // Acquire: as in `producer_status`.
                this.check(next) != Check::Empty || wait.state.load(Ordering::Acquire) == ring_state::CLOSED
            });
            if self.check(self.next) != Check::Empty {
                return Ok(());
            }
        }
    }

    pub(crate) fn unregister(&mut self) {
        gate::unregister(&*self.mem, self.index, self.generation);
        if self.lossless {
            // A producer may be asleep waiting for us: it must rescan without us.
            let wait = &self.mem.producer().wait;
            sleep::notify(&*self.mem, &wait.space_futex, &wait.space_sleepers, &wait.space_wakes);
        }
    }
}

/// The header fields of a ready frame.
#[derive(Clone, Copy, Debug)]
struct Ready {
    seq: u64,
    len: usize,
    kind: u16,
    timestamp_ns: u64,
    lost_before: u64,
}

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

/// A consumer handle: reads frames in place, from its own cursor.
///
/// `Send` but not `Sync`; dropping it unregisters the consumer (a lossless one stops gating).
///
/// ```compile_fail
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<ringflow::Consumer>();
/// ```
pub struct Consumer {
    core: ConsumerCore<Shared>,
    _not_sync: PhantomData<Cell<()>>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer").field("index", &self.core.index).field("next", &self.core.next).finish()
    }
}

impl Consumer {
    pub(crate) fn register(shared: Arc<Shared>, delivery: Delivery) -> Result<Consumer> {
        let core = ConsumerCore::register(shared, delivery, crate::liveness::current_pid())?;
        Ok(Consumer { core, _not_sync: PhantomData })
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

    fn payload_capacity(&self) -> usize {
        self.core.mem.geometry().slot_payload as usize
    }

    /// Finds the next frame to hand out: skips marked-empty slots, recovers from laps, reports
    /// corrupt slots.
    #[inline]
    fn next_ready(&mut self) -> Result<Option<Ready>> {
        loop {
            let seq = self.core.next;
            match self.core.check(seq) {
                Check::Empty => return Ok(None),
                Check::Lapped => self.core.skip_lapped()?,
                Check::Ready => {
                    let (len, kind, timestamp_ns) = read_meta(&self.core.mem, seq);
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
                            detail: format!("length {len} exceeds the slot size {}", self.payload_capacity()),
                        });
                    }
                    return Ok(Some(Ready {
                        seq,
                        len: len as usize,
                        kind: (kind & kind_flags::USER_MASK) as u16,
                        timestamp_ns,
                        lost_before: self.core.take_lost_pending(),
                    }));
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
        Ok(self.next_ready()?.map(|ready| Frame { consumer: self, ready }))
    }

    /// Waits for the next frame at most `timeout` (forever if `None`) and returns it as a view.
    ///
    /// Errors: [`Error::Timeout`]; [`Error::Closed`] once the last producer detached and every
    /// frame was read; [`Error::ProducerGone`] if the producer's process died (every frame it
    /// committed is read first); [`Error::Evicted`].
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Frame<'_>> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            if let Some(ready) = self.next_ready()? {
                return Ok(Frame { consumer: self, ready });
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
            let Some(ready) = self.next_ready()? else { return Ok(None) };
            if buf.len() < ready.len {
                self.core.restore_lost_pending(ready.lost_before);
                return Err(Error::InvalidArgument(format!(
                    "buffer of {} bytes is shorter than frame {} of {}",
                    buf.len(),
                    ready.seq,
                    ready.len
                )));
            }
            let src = payload_ptr(&self.core.mem, ready.seq);
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
        let Some(head) = (if max == 0 { None } else { self.next_ready()? }) else {
            return Ok(Batch { first: self.core.next, slots: 0, frames: 0, lost_before: 0, consumer: self });
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
        Ok(Batch { first: head.seq, slots, frames, lost_before: head.lost_before, consumer: self })
    }

    /// Waits until a frame is there (or the ring closed, or the producer died), at most
    /// `timeout`: spins briefly, then parks on the futex.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.core.wait(timeout)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.core.unregister();
    }
}

#[inline]
fn read_meta(shared: &Shared, seq: u64) -> (u32, u32, u64) {
    let base = shared.slot_ptr(seq);
    // SAFETY: the fields lie inside the slot header, aligned; volatile because a producer may
    // write them concurrently (a lossy read), which the caller detects with the stamp.
    unsafe {
        (
            base.add(slot::LEN_OFFSET).cast::<u32>().read_volatile(),
            base.add(slot::KIND_OFFSET).cast::<u32>().read_volatile(),
            base.add(slot::TIMESTAMP_OFFSET).cast::<u64>().read_volatile(),
        )
    }
}

#[inline]
fn payload_ptr(shared: &Shared, seq: u64) -> *const u8 {
    // SAFETY: the payload starts inside the slot, inside the mapping.
    unsafe { shared.slot_ptr(seq).add(slot::PAYLOAD_OFFSET) }
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
pub struct Frame<'a> {
    consumer: &'a mut Consumer,
    ready: Ready,
}

impl Frame<'_> {
    /// Sequence number.
    pub fn seq(&self) -> u64 {
        self.ready.seq
    }

    /// Payload bytes.
    pub fn len(&self) -> usize {
        self.ready.len
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.ready.len == 0
    }

    /// User kind.
    pub fn kind(&self) -> u16 {
        self.ready.kind
    }

    /// Producer's `CLOCK_MONOTONIC` timestamp (0 if the producer writes none).
    pub fn timestamp_ns(&self) -> u64 {
        self.ready.timestamp_ns
    }

    /// Frames this consumer lost just before this one.
    pub fn lost_before(&self) -> u64 {
        self.ready.lost_before
    }

    /// The payload, in place.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        // SAFETY: `len` is at most the slot size (checked when the frame was found), so the
        // slice lies inside the slot; see the type's docs for who else may write it.
        unsafe { std::slice::from_raw_parts(payload_ptr(&self.consumer.core.mem, self.ready.seq), self.ready.len) }
    }

    /// Whether the frame was still in its slot when this was called (the seqlock re-check).
    pub fn is_intact(&self) -> bool {
        self.consumer.core.verify(self.ready.seq)
    }

    /// An owned copy of the payload. Check [`is_intact`](Self::is_intact) after copying if the
    /// consumer is lossy.
    pub fn to_vec(&self) -> Vec<u8> {
        self.payload().to_vec()
    }
}

impl Drop for Frame<'_> {
    fn drop(&mut self) {
        let core = &mut self.consumer.core;
        if !core.verify(self.ready.seq) {
            core.note_torn(1);
        }
        core.release(self.ready.seq + 1, 1);
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
            Some(BatchFrame { seq, kind: (kind & kind_flags::USER_MASK) as u16, timestamp_ns, payload })
        })
    }

    /// How many frames of the batch are still intact (all of them unless a producer overwrote
    /// some: a lossy consumer, or an `overwrite` producer).
    pub fn intact(&self) -> usize {
        let core = &self.consumer.core;
        (self.first..self.first + self.slots).filter(|&seq| core.verify(seq)).count()
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
