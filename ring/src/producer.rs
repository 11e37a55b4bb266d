//! Producers: claim slots, write frames in place, commit.
//!
//! ## Single producer
//! The handle owns the next sequence; a claim is a comparison with the cached gate (see
//! `gate.rs`) and a stamp store per slot; a commit is one Release store of the stamp per slot,
//! one Release store of `published`, and a check of the sleeper count. No allocation, no lock,
//! and a syscall only when a consumer sleeps: the hot path is wait-free.
//!
//! ## Multi-producer
//! Producers share `cursor.claim`. With the `overwrite` policy they claim by `fetch_add` and never
//! wait; with `block` and `fail` they claim by compare-and-swap after checking the shared gate, so
//! a refused frame never holds a sequence. Each slot is published by its own stamp (the
//! Disruptor's per-slot availability flag), so a consumer only ever sees a contiguous run of
//! fully written frames: it reads frame `s` only when `s`'s own stamp says committed.
//!
//! ## The slot protocol (a seqlock per slot)
//! ```text
//!   claim:   stamp = writing(s)     Relaxed, then fence(Release)
//!   write:   len, kind, timestamp, payload   (plain stores)
//!   commit:  stamp = committed(s)   Release    pairs with Acquire in ConsumerCore::check
//! ```
//! The Release fence after the `writing` stamp orders it before the payload stores, so a lossy
//! reader that saw a payload byte of frame `s` also sees a stamp other than the one it started
//! with (see `consumer.rs`).

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, PushError, Result};
use crate::gate;
use crate::layout::{full_policy, kind_flags, producer_state, ring_state, slot, stamp, MAX_PRODUCERS};
use crate::mem::RingMem;
use crate::region::Shared;
use crate::sleep;
use crate::sync::{fence, spin_hint, Backoff, Ordering};

/// What a producer does when the slowest lossless consumer is a whole ring behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FullPolicy {
    /// Wait for space, at most `timeout` (forever if `None`), then report
    /// [`Error::Timeout`].
    Block {
        /// How long to wait.
        timeout: Option<Duration>,
    },
    /// Give the frame back at once ([`Error::Full`], [`PushError::Full`]).
    Fail,
    /// Write over the oldest frame: the producer never waits, lagging consumers lose frames and
    /// are told how many. For real-time audio.
    Overwrite,
}

impl FullPolicy {
    fn code(self) -> u32 {
        match self {
            FullPolicy::Block { .. } => full_policy::BLOCK,
            FullPolicy::Fail => full_policy::FAIL,
            FullPolicy::Overwrite => full_policy::OVERWRITE,
        }
    }
}

/// How a producer behaves.
///
/// ```
/// use std::time::Duration;
/// use ringflow::{FullPolicy, ProducerOptions};
/// let options = ProducerOptions::new(FullPolicy::Block { timeout: Some(Duration::from_secs(1)) })
///     .evict_after(Duration::from_secs(5));
/// assert_eq!(options.evict_after, Some(Duration::from_secs(5)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerOptions {
    /// What to do when full.
    pub policy: FullPolicy,
    /// Evict a lossless consumer that holds the producer back and whose heartbeat is older than
    /// this. `None` (the default): evict only consumers whose process is gone.
    pub evict_after: Option<Duration>,
    /// How often a blocked producer wakes to look for dead consumers.
    pub liveness_interval: Duration,
    /// Whether commits write a `CLOCK_MONOTONIC` timestamp into each frame (one vDSO clock read
    /// per commit; off saves ~20 ns per frame).
    pub timestamps: bool,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        ProducerOptions {
            policy: FullPolicy::Block { timeout: None },
            evict_after: None,
            liveness_interval: Duration::from_millis(50),
            timestamps: true,
        }
    }
}

impl ProducerOptions {
    /// Default options with the given policy.
    pub fn new(policy: FullPolicy) -> Self {
        ProducerOptions { policy, ..Default::default() }
    }

    /// Sets the heartbeat age after which a lagging consumer is evicted.
    pub fn evict_after(mut self, age: Duration) -> Self {
        self.evict_after = Some(age);
        self
    }

    /// Sets how often a blocked producer looks for dead consumers.
    pub fn liveness_interval(mut self, interval: Duration) -> Self {
        self.liveness_interval = interval;
        self
    }

    /// Turns per-frame timestamps on or off.
    pub fn timestamps(mut self, on: bool) -> Self {
        self.timestamps = on;
        self
    }
}

/// Why a claim was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClaimFail {
    Full,
    Timeout,
}

impl From<ClaimFail> for Error {
    fn from(f: ClaimFail) -> Error {
        match f {
            ClaimFail::Full => Error::Full,
            ClaimFail::Timeout => Error::Timeout,
        }
    }
}

/// The producer's side of the cursor protocol, over any [`RingMem`] (the mapping, or loom's
/// atomics in the models).
pub(crate) struct ProducerCore<M: RingMem> {
    pub(crate) mem: Arc<M>,
    /// Our entry in the producer table.
    entry: usize,
    multi: bool,
    /// Single producer: the next sequence to claim.
    next: u64,
    /// Frames below this may be written without a scan (the gating cache).
    gate: u64,
    policy: FullPolicy,
    stale_after_ns: Option<u64>,
    liveness: Duration,
}

impl<M: RingMem> ProducerCore<M> {
    pub(crate) fn attach(mem: Arc<M>, options: &ProducerOptions, pid: u32) -> Result<Self> {
        let block = mem.producer();
        let multi = mem.multi_producer();
        let entries = if multi { MAX_PRODUCERS } else { 1 };
        let mut taken = None;
        for (index, entry) in block.producers.iter().take(entries).enumerate() {
            // Acquire: pairs with the Release store of 0 in `detach`.
            let owner = entry.pid.load(Ordering::Acquire);
            if owner != 0 && mem.pid_alive(owner) {
                if !multi {
                    return Err(Error::ProducerBusy { pid: owner });
                }
                continue;
            }
            // The pid word is the ownership: whoever swaps it from free (or dead) owns the entry.
            if entry.pid.compare_exchange(owner, pid, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                taken = Some(index);
                break;
            }
        }
        let Some(entry) = taken else {
            return Err(Error::TooManyProducers { max: entries });
        };
        let e = &block.producers[entry];
        // Relaxed: informational fields.
        e.state.store(producer_state::ATTACHED, Ordering::Relaxed);
        e.heartbeat_ns.store(mem.now_ns(), Ordering::Relaxed);
        block.wait.policy.store(options.policy.code(), Ordering::Relaxed);
        // Release: pairs with the Acquire load of the state in `ConsumerCore::producer_status`.
        block.wait.state.store(ring_state::OPEN, Ordering::Release);
        // Acquire: pairs with the Release store of `published` by a previous producer's commit: a
        // producer that replaces a dead one continues after its last committed frame.
        let next = block.cursor.published.load(Ordering::Acquire);
        Ok(ProducerCore {
            mem,
            entry,
            multi,
            next,
            gate: 0,
            policy: options.policy,
            stale_after_ns: options.evict_after.map(|d| d.as_nanos().min(u128::from(u64::MAX)) as u64),
            liveness: options.liveness_interval.max(Duration::from_millis(1)),
        })
    }

    /// Claims `n` consecutive slots (`1 ..= capacity`) and marks them as being written. Returns
    /// the first sequence.
    #[inline]
    pub(crate) fn claim(&mut self, n: u64) -> Result<u64, ClaimFail> {
        debug_assert!(n >= 1 && n <= self.mem.capacity());
        if self.multi {
            self.claim_multi(n)
        } else {
            self.claim_single(n)
        }
    }

    #[inline]
    fn claim_single(&mut self, n: u64) -> Result<u64, ClaimFail> {
        let first = self.next;
        let end = first + n;
        if self.policy != FullPolicy::Overwrite && end > self.gate {
            self.refresh_gate(first);
            if end > self.gate {
                self.wait_for_space(first, end)?;
            }
        }
        for seq in first..end {
            // Relaxed: ordered before the payload stores by the fence below.
            self.mem.stamp(seq).store(stamp::writing(seq), Ordering::Relaxed);
        }
        // Release: a reader that sees one of our payload stores and then fences with Acquire sees
        // the `writing` stamp (the seqlock writer's entry; pairs with ConsumerCore::verify).
        fence(Ordering::Release);
        self.next = end;
        Ok(first)
    }

    fn claim_multi(&mut self, n: u64) -> Result<u64, ClaimFail> {
        let first = if self.policy == FullPolicy::Overwrite {
            // Relaxed: the add only hands out distinct sequences; slot ownership is ordered by
            // the stamps in `begin_multi`.
            self.mem.producer().cursor.claim.fetch_add(n, Ordering::Relaxed)
        } else {
            loop {
                // Relaxed: the CAS below decides; a stale value only fails it.
                let first = self.mem.producer().cursor.claim.load(Ordering::Relaxed);
                let end = first + n;
                if end > self.gate {
                    // Acquire: pairs with the AcqRel fetch_max in `refresh_gate` of another
                    // producer, whose scan's Acquire loads of consumer cursors we inherit.
                    self.gate = self.gate.max(self.mem.producer().cursor.gate.load(Ordering::Acquire));
                    if end > self.gate {
                        self.refresh_gate(first);
                        if end > self.gate {
                            self.wait_for_space(first, end)?;
                            continue;
                        }
                    }
                }
                // Relaxed: as for the fetch_add above.
                let claim = &self.mem.producer().cursor.claim;
                if claim.compare_exchange_weak(first, end, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                    break first;
                }
            }
        };
        self.begin_multi(first, first + n);
        Ok(first)
    }

    /// Multi-producer: waits until each slot's previous frame is committed (another producer may
    /// still be writing it), then marks it as being written.
    fn begin_multi(&self, first: u64, end: u64) {
        let capacity = self.mem.capacity();
        for seq in first..end {
            let st = self.mem.stamp(seq);
            if let Some(previous) = seq.checked_sub(capacity) {
                // Acquire: pairs with the Release commit of the previous frame, whose writes to
                // the slot happen before ours. Bounded by another producer's write of one frame.
                while st.load(Ordering::Acquire) < stamp::committed(previous) {
                    spin_hint();
                }
            }
            // Relaxed: ordered before the payload stores by the fence below.
            st.store(stamp::writing(seq), Ordering::Relaxed);
        }
        // Release: as in `claim_single`.
        fence(Ordering::Release);
    }

    /// Scans the consumers from claim position `from` and caches the result.
    fn refresh_gate(&mut self, from: u64) {
        let gate = gate::scan(&*self.mem, from);
        if self.multi {
            // AcqRel: Release publishes the scan's view to other producers (pairs with the Acquire
            // load in `claim_multi`); Acquire inherits theirs.
            let previous = self.mem.producer().cursor.gate.fetch_max(gate, Ordering::AcqRel);
            self.gate = gate.max(previous);
        } else {
            self.gate = gate;
        }
        self.heartbeat();
    }

    #[cold]
    fn wait_for_space(&mut self, from: u64, end: u64) -> Result<(), ClaimFail> {
        let timeout = match self.policy {
            FullPolicy::Fail => {
                // Relaxed: a statistic.
                self.mem.producer().cursor.dropped.fetch_add(1, Ordering::Relaxed);
                return Err(ClaimFail::Full);
            }
            FullPolicy::Block { timeout } => timeout,
            FullPolicy::Overwrite => unreachable!("overwrite never waits"),
        };
        let deadline = timeout.map(|t| self.mem.now_ns().saturating_add(t.as_nanos().min(u128::from(u64::MAX)) as u64));
        let mut backoff = Backoff::new();
        loop {
            if backoff.is_completed() {
                gate::evict_dead(&*self.mem, end, self.stale_after_ns);
                let mut slice = self.liveness;
                if let Some(deadline) = deadline {
                    let now = self.mem.now_ns();
                    if now >= deadline {
                        return Err(ClaimFail::Timeout);
                    }
                    slice = slice.min(Duration::from_nanos(deadline - now));
                }
                let mem = &*self.mem;
                let wait = &mem.producer().wait;
                sleep::park(mem, &wait.space_futex, &wait.space_sleepers, Some(slice), || end <= gate::scan(mem, from));
            } else {
                backoff.snooze();
            }
            self.refresh_gate(from);
            if end <= self.gate {
                return Ok(());
            }
        }
    }

    /// Publishes frames `first .. end`, which this producer claimed and wrote.
    #[inline]
    pub(crate) fn commit(&mut self, first: u64, end: u64) {
        for seq in first..end {
            // Release: pairs with the Acquire load in ConsumerCore::check: the frame's bytes are
            // visible to a reader that sees this stamp.
            self.mem.stamp(seq).store(stamp::committed(seq), Ordering::Release);
        }
        let block = self.mem.producer();
        if self.multi {
            // Release: as below; fetch_max because producers commit out of order.
            block.cursor.published.fetch_max(end, Ordering::Release);
        } else {
            // Release: pairs with the Acquire loads of `published` in register and lap recovery.
            block.cursor.published.store(end, Ordering::Release);
        }
        sleep::notify(&*self.mem, &block.wait.data_futex, &block.wait.data_sleepers, &block.wait.data_wakes);
    }

    fn heartbeat(&self) {
        // Relaxed: read by `inspect` only.
        self.mem.producer().producers[self.entry].heartbeat_ns.store(self.mem.now_ns(), Ordering::Relaxed);
    }

    /// Detaches; the last producer to detach closes the ring and wakes every consumer.
    pub(crate) fn detach(&mut self) {
        let block = self.mem.producer();
        let entry = &block.producers[self.entry];
        entry.state.store(producer_state::FREE, Ordering::Relaxed);
        // Release: pairs with the Acquire load in `attach`; our commits happen before a successor
        // reads `published`.
        entry.pid.store(0, Ordering::Release);
        // Acquire: pairs with the CAS in `attach` of a producer attaching now.
        if block.producers.iter().all(|e| e.pid.load(Ordering::Acquire) == 0) {
            // Release: pairs with the Acquire load of the state by consumers: they see every
            // frame committed before the close.
            block.wait.state.store(ring_state::CLOSED, Ordering::Release);
            sleep::wake(&*self.mem, &block.wait.data_futex, &block.wait.data_wakes);
        }
    }

    pub(crate) fn published(&self) -> u64 {
        // Relaxed: informational.
        self.mem.producer().cursor.published.load(Ordering::Relaxed)
    }
}

/// A producer handle: writes frames into the ring in place.
///
/// `Send` but not `Sync`: one thread writes through a handle at a time. On a multi-producer ring,
/// attach one handle per thread or process.
///
/// ```compile_fail
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<ringflow::Producer>();
/// ```
///
/// Dropping the handle detaches it; the last producer to detach closes the ring, and consumers
/// get [`Error::Closed`] once they have read every frame.
pub struct Producer {
    core: ProducerCore<Shared>,
    timestamps: bool,
    _not_sync: PhantomData<Cell<()>>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer").field("entry", &self.core.entry).field("policy", &self.core.policy).finish()
    }
}

impl Producer {
    pub(crate) fn attach(shared: Arc<Shared>, options: ProducerOptions) -> Result<Producer> {
        let core = ProducerCore::attach(shared, &options, crate::liveness::current_pid())?;
        Ok(Producer { core, timestamps: options.timestamps, _not_sync: PhantomData })
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
    /// [`Error::Full`] (`fail`) or [`Error::Timeout`] (`block` with a timeout).
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
    #[inline]
    pub fn claim(&mut self) -> Result<WriteSlot<'_>> {
        let seq = self.core.claim(1)?;
        Ok(WriteSlot { seq, kind: 0, timestamp: None, committed: false, producer: self })
    }

    /// Claims `n` consecutive slots (`1 ..= capacity`) at once: one gate check and one commit
    /// for all of them.
    ///
    /// ```
    /// # use ringflow::{Delivery, ProducerOptions, Ring, RingConfig};
    /// # let ring = Ring::anonymous(&RingConfig::new(8, 16))?;
    /// let mut consumer = ring.consumer(Delivery::Lossless)?;
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
    pub fn claim_batch(&mut self, n: usize) -> Result<WriteBatch<'_>> {
        let capacity = self.core.mem.capacity();
        if n == 0 || n as u64 > capacity {
            return Err(Error::InvalidArgument(format!("batch of {n} frames: must be 1 ..= {capacity}")));
        }
        let first = self.core.claim(n as u64)?;
        for seq in first..first + n as u64 {
            write_meta(&self.core.mem, seq, 0, 0);
        }
        Ok(WriteBatch { first, n, committed: false, producer: self })
    }

    /// Copies `frame` into the next slot and commits it.
    ///
    /// ```
    /// # use ringflow::{FullPolicy, ProducerOptions, Ring, RingConfig, Error};
    /// # let ring = Ring::anonymous(&RingConfig::new(2, 16))?;
    /// let _consumer = ring.consumer(ringflow::Delivery::Lossless)?;
    /// let mut producer = ring.producer(ProducerOptions::new(FullPolicy::Fail))?;
    /// producer.push(b"one")?;
    /// producer.push(b"two")?;
    /// assert!(matches!(producer.push(b"three"), Err(Error::Full)));
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn push(&mut self, frame: &[u8]) -> Result<()> {
        if frame.len() > self.slot_size() {
            return Err(Error::InvalidArgument(format!(
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
    pub fn push_with<F: FnOnce(&mut [u8]) -> usize>(&mut self, write: F) -> Result<(), PushError<F>> {
        match self.core.claim(1) {
            Ok(seq) => {
                let mut slot = WriteSlot { seq, kind: 0, timestamp: None, committed: false, producer: self };
                let len = write(slot.payload_mut());
                slot.commit(len);
                Ok(())
            }
            Err(ClaimFail::Full) => Err(PushError::Full(write)),
            Err(ClaimFail::Timeout) => Err(PushError::Timeout(write)),
        }
    }

    fn timestamp(&self) -> u64 {
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

/// Writes a slot's length, kind and timestamp (the slot is claimed by the caller).
#[inline]
fn write_meta(shared: &Shared, seq: u64, len: u32, kind: u32) {
    let base = shared.slot_ptr(seq);
    // SAFETY: the caller claimed the slot, so no producer writes it; readers of the previous frame
    // validate their reads with the stamp (seqlock). LEN and KIND lie inside the slot header,
    // 4-byte aligned.
    unsafe {
        base.add(slot::LEN_OFFSET).cast::<u32>().write_volatile(len);
        base.add(slot::KIND_OFFSET).cast::<u32>().write_volatile(kind);
    }
}

#[inline]
fn write_timestamp(shared: &Shared, seq: u64, ns: u64) {
    // SAFETY: as in `write_meta`; TIMESTAMP lies inside the slot header, 8-byte aligned.
    unsafe { shared.slot_ptr(seq).add(slot::TIMESTAMP_OFFSET).cast::<u64>().write_volatile(ns) };
}

/// The payload of slot `seq` as a mutable slice.
///
/// # Safety
/// The caller must own slot `seq` (claimed, not committed) for the slice's lifetime.
#[inline]
unsafe fn payload_mut<'a>(shared: &'a Shared, seq: u64) -> &'a mut [u8] {
    let len = shared.geometry().slot_payload as usize;
    // SAFETY: the payload lies inside the slot (stride >= header + payload), inside the mapping;
    // the caller owns the slot, so no other handle writes it. Lossy readers may read it at the
    // same time: they validate what they read with the stamp and never trust a torn copy.
    unsafe { std::slice::from_raw_parts_mut(shared.slot_ptr(seq).add(slot::PAYLOAD_OFFSET), len) }
}

/// One claimed slot. Write the payload, then [`commit`](Self::commit). Dropping it uncommitted
/// publishes an empty frame marked to be skipped, so readers never wait on a hole.
pub struct WriteSlot<'a> {
    producer: &'a mut Producer,
    seq: u64,
    kind: u32,
    timestamp: Option<u64>,
    committed: bool,
}

impl WriteSlot<'_> {
    /// The frame's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The whole payload area of the slot ([`Producer::slot_size`] bytes).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        // SAFETY: we hold the claim on `seq` until commit or drop, and the slice borrows `self`.
        unsafe { payload_mut(&self.producer.core.mem, self.seq) }
    }

    /// Sets the user kind (16 bits) of the frame.
    pub fn set_kind(&mut self, kind: u16) {
        self.kind = u32::from(kind);
    }

    /// Sets the frame's timestamp instead of the clock reading the commit would take.
    pub fn set_timestamp_ns(&mut self, ns: u64) {
        self.timestamp = Some(ns);
    }

    /// Publishes the first `len` payload bytes as one frame.
    ///
    /// # Panics
    /// If `len` exceeds [`Producer::slot_size`].
    #[inline]
    pub fn commit(mut self, len: usize) {
        assert!(len <= self.producer.slot_size(), "frame length {len} exceeds the slot size {}", self.producer.slot_size());
        self.finish(len as u32, self.kind);
    }

    #[inline]
    fn finish(&mut self, len: u32, kind: u32) {
        let ts = self.timestamp.unwrap_or_else(|| self.producer.timestamp());
        let shared = &*self.producer.core.mem;
        write_meta(shared, self.seq, len, kind);
        write_timestamp(shared, self.seq, ts);
        self.committed = true;
        self.producer.core.commit(self.seq, self.seq + 1);
    }
}

impl Drop for WriteSlot<'_> {
    fn drop(&mut self) {
        if !self.committed {
            self.finish(0, kind_flags::SKIP);
        }
    }
}

/// `n` claimed consecutive slots, committed together.
pub struct WriteBatch<'a> {
    producer: &'a mut Producer,
    first: u64,
    n: usize,
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

    fn seq(&self, i: usize) -> u64 {
        assert!(i < self.n, "slot {i} out of a batch of {}", self.n);
        self.first + i as u64
    }

    /// The payload area of slot `i`.
    #[inline]
    pub fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        let seq = self.seq(i);
        // SAFETY: we hold the claim on the batch until commit or drop; the slice borrows `self`.
        unsafe { payload_mut(&self.producer.core.mem, seq) }
    }

    /// Sets the frame length of slot `i` (0 until set).
    ///
    /// # Panics
    /// If `len` exceeds the slot size.
    #[inline]
    pub fn set_len(&mut self, i: usize, len: usize) {
        assert!(len <= self.producer.slot_size(), "frame length {len} exceeds the slot size");
        let seq = self.seq(i);
        let base = self.producer.core.mem.slot_ptr(seq);
        // SAFETY: as in `write_meta`.
        unsafe { base.add(slot::LEN_OFFSET).cast::<u32>().write_volatile(len as u32) };
    }

    /// Sets the user kind of slot `i`.
    pub fn set_kind(&mut self, i: usize, kind: u16) {
        let seq = self.seq(i);
        let base = self.producer.core.mem.slot_ptr(seq);
        // SAFETY: as in `write_meta`.
        unsafe { base.add(slot::KIND_OFFSET).cast::<u32>().write_volatile(u32::from(kind)) };
    }

    /// Publishes every slot of the batch (one timestamp for all).
    pub fn commit(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        let ts = self.producer.timestamp();
        let end = self.first + self.n as u64;
        for seq in self.first..end {
            write_timestamp(&self.producer.core.mem, seq, ts);
        }
        self.committed = true;
        self.producer.core.commit(self.first, end);
    }
}

impl Drop for WriteBatch<'_> {
    fn drop(&mut self) {
        if !self.committed {
            for seq in self.first..self.first + self.n as u64 {
                write_meta(&self.producer.core.mem, seq, 0, kind_flags::SKIP);
            }
            self.finish();
        }
    }
}
