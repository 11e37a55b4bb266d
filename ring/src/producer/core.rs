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

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::gate;
use crate::layout::{
    claim_record, full_policy, producer_state, ring_state, stamp, ProducerEntry, MAX_PRODUCERS,
};
use crate::mem::{Attachment, RingMem};
use crate::repair;
use crate::sleep;
use crate::sync::{fence, spin_hint, AtomicU64, Backoff, Ordering};

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
    /// per commit; off saves ~20 ns per frame, and frames carry 0). Only rings created with
    /// [`RingConfig::timestamps`](crate::RingConfig::timestamps) keep timestamps; on others this
    /// does nothing.
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
        ProducerOptions {
            policy,
            ..Default::default()
        }
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
    /// A new ring took this one's path; the pid of the process that made it.
    Replaced(u32),
}

impl From<ClaimFail> for Error {
    fn from(f: ClaimFail) -> Error {
        crate::error::ClaimError::from(f).into()
    }
}

impl From<ClaimFail> for crate::error::ClaimError {
    fn from(f: ClaimFail) -> Self {
        match f {
            ClaimFail::Full => crate::error::ClaimError::Full,
            ClaimFail::Timeout => crate::error::ClaimError::Timeout,
            ClaimFail::Replaced(by) => crate::error::ClaimError::Replaced { by },
        }
    }
}

/// Gives a producer table entry back.
fn entry_release(entry: &ProducerEntry) {
    // Relaxed: informational; the pid word below is the ownership.
    entry.state.store(producer_state::FREE, Ordering::Relaxed);
    // Release: pairs with the Acquire load in `attach`; the owner's commits happen before a
    // successor reads `published`.
    entry.pid.store(0, Ordering::Release);
}

/// How long a claim may wait for space under a `block` policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitLimit {
    /// The policy's timeout.
    Policy,
    /// At most this long, whatever the policy's timeout (`fail` and `overwrite` still never
    /// wait).
    Within(Duration),
}

/// The producer's side of the cursor protocol, over any [`RingMem`] (the mapping, or loom's
/// atomics in the models).
pub(crate) struct ProducerCore<M: RingMem> {
    pub(crate) mem: Arc<M>,
    /// Our entry in the producer table.
    pub(crate) entry: usize,
    multi: bool,
    /// Single producer: the next sequence to claim.
    next: u64,
    /// Frames below this may be written without a scan (the gating cache).
    gate: u64,
    pub(crate) policy: FullPolicy,
    stale_after_ns: Option<u64>,
    liveness: Duration,
    /// `fail`: when it last looked for dead or ownerless consumers holding it back (it looks at
    /// most once a liveness interval, so a full ring costs no syscall per refused claim).
    fail_checked_ns: u64,
    /// Whether we woke a reader since we last waited for space (the next wait spins longer:
    /// `Backoff::after_wake`).
    woke_peer: bool,
    /// Multi-producer: the claim not yet committed, `first .. end` (its record is `OPEN`).
    open_claim: Option<(u64, u64)>,
    /// `overwrite`: frames it may still claim before it next looks at the ring (heartbeat, and
    /// whether the ring was replaced): once per lap, the slow path a producer that never waits
    /// has. Producers that gate look each time they refresh their gate.
    check_in: u64,
}

/// Spins of a producer waiting for a slot's previous frame between two looks for a dead
/// producer's claim there (`repair::repair_hole`): a live producer commits within a few
/// thousand.
const REPAIR_EVERY_SPINS: u32 = 1 << 14;

impl<M: RingMem> ProducerCore<M> {
    pub(crate) fn attach(mem: Arc<M>, options: &ProducerOptions, pid: u32) -> Result<Self> {
        if options.policy == FullPolicy::Overwrite && !mem.overwritable() {
            return Err(Error::NotOverwritable);
        }
        if let Some(by) = mem.replaced_by() {
            return Err(Error::Replaced { by });
        }
        let block = mem.producer();
        let multi = mem.multi_producer();
        let entries = if multi { MAX_PRODUCERS } else { 1 };
        let taken = mem.registering(|| -> Result<Option<usize>> {
            for (index, entry) in block.producers.iter().take(entries).enumerate() {
                let who = Attachment::Producer(index);
                // Acquire: pairs with the Release store of 0 in `detach`.
                let owner = entry.pid.load(Ordering::Acquire);
                if owner != 0 && mem.alive(who, owner) {
                    if !multi {
                        return Err(Error::ProducerBusy { pid: owner });
                    }
                    continue;
                }
                // A dead producer's claim record must be repaired before a new owner's first
                // claim overwrites it (`repair.rs`); an entry whose claim cannot be yet is left.
                if multi && !repair::clear_dead_entry(&*mem, index) {
                    continue;
                }
                // The lock first (it fails if a live producer of another process holds the
                // entry); then the pid word is the ownership: whoever swaps it from free (or
                // dead) owns the entry.
                if !mem.take_lock(who) {
                    if !multi {
                        return Err(Error::ProducerBusy { pid: owner });
                    }
                    continue;
                }
                if entry
                    .pid
                    .compare_exchange(owner, pid, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Ok(Some(index));
                }
                mem.release_lock(who);
            }
            Ok(None)
        })?;
        let Some(entry) = taken else {
            return Err(Error::TooManyProducers { max: entries });
        };
        let e = &block.producers[entry];
        // Relaxed: informational fields.
        e.state.store(producer_state::ATTACHED, Ordering::Relaxed);
        e.heartbeat_ns.store(mem.now_ns(), Ordering::Relaxed);
        block
            .wait
            .policy
            .store(options.policy.code(), Ordering::Relaxed);
        // Release: pairs with the Acquire load of the state in `ConsumerCore::producer_status`.
        block.wait.state.store(ring_state::OPEN, Ordering::Release);
        // Acquire: pairs with the Release store of `published` by a previous producer's commit: a
        // producer that replaces a dead one continues after its last committed frame.
        let next = block.cursor.published.load(Ordering::Acquire);
        // Relaxed: only checked for range.
        let claim = block.cursor.claim.load(Ordering::Relaxed);
        if next >= stamp::MAX_SEQ || claim >= stamp::MAX_SEQ {
            entry_release(e);
            mem.release_lock(Attachment::Producer(entry));
            return Err(Error::Corrupt {
                seq: next.max(claim),
                detail: "the producer cursors are beyond any sequence a producer writes".into(),
            });
        }
        Ok(ProducerCore {
            mem,
            entry,
            multi,
            next,
            gate: 0,
            policy: options.policy,
            stale_after_ns: options
                .evict_after
                .map(|d| d.as_nanos().min(u128::from(u64::MAX)) as u64),
            liveness: options.liveness_interval.max(Duration::from_millis(1)),
            fail_checked_ns: 0,
            woke_peer: false,
            open_claim: None,
            check_in: 0,
        })
    }

    /// Our claim record.
    #[inline]
    fn record(&self) -> &crate::sync::AtomicU64 {
        &self.mem.producer().cursor.claims[self.entry]
    }

    /// [`claim_limited`](Self::claim_limited) with the policy's wait (the loom models' claim).
    #[cfg(loom)]
    pub(crate) fn claim(&mut self, n: u64) -> Result<u64, ClaimFail> {
        self.claim_limited(n, WaitLimit::Policy)
    }

    /// Claims `n` consecutive slots (`1 ..= capacity`) and marks them as being written, waiting
    /// for space at most as `limit` says. Returns the first sequence.
    #[inline(always)]
    pub(crate) fn claim_limited(&mut self, n: u64, limit: WaitLimit) -> Result<u64, ClaimFail> {
        debug_assert!(n >= 1 && n <= self.mem.capacity());
        if self.multi {
            self.claim_multi(n, limit)
        } else {
            self.claim_single(n, limit)
        }
    }

    /// Claims `n` consecutive slots like [`claim`](Self::claim), but a single producer leaves
    /// them unmarked: the caller marks each with [`begin_write`](Self::begin_write) before it
    /// writes any byte of it, and every one of them before [`commit`](Self::commit). Returns the
    /// first sequence and whether the slots are already marked (a multi-producer's are: its
    /// claim is ordered by the stamps).
    ///
    /// For batches: marking slot by slot as they are written keeps a batch's stores in address
    /// order (header, payload, next slot), which the store buffer and the hardware prefetcher
    /// stream; marking the whole batch first sends the stores to every slot's first line, then
    /// back for each payload (64-byte frames, two lines each, between cores in a far placement:
    /// 24 -> 41 M frames/s; `cargo run --release -p ringflow-benches --example lines` on this
    /// commit and the one before, in turns).
    #[inline(always)]
    pub(crate) fn claim_unmarked(&mut self, n: u64) -> Result<(u64, bool), ClaimFail> {
        debug_assert!(n >= 1 && n <= self.mem.capacity());
        if self.multi {
            self.claim_multi(n, WaitLimit::Policy)
                .map(|first| (first, true))
        } else {
            let first = self.reserve_single(n, WaitLimit::Policy)?;
            Ok((first, false))
        }
    }

    /// Marks slot `seq`, claimed by [`claim_unmarked`](Self::claim_unmarked), as being written:
    /// the seqlock writer's entry, as `claim` does for each slot it claims. `stamp` is the slot's
    /// stamp word (the caller has the slot's address at hand).
    #[inline(always)]
    pub(crate) fn begin_write(&self, stamp: &AtomicU64, seq: u64) {
        debug_assert!(!self.multi && seq < self.next);
        // Relaxed: ordered before the slot's payload stores by the fence below.
        stamp.store(stamp::writing(seq), Ordering::Relaxed);
        // Release: as in `claim_single`.
        fence(Ordering::Release);
    }

    #[inline(always)]
    fn claim_single(&mut self, n: u64, limit: WaitLimit) -> Result<u64, ClaimFail> {
        let first = self.reserve_single(n, limit)?;
        for seq in first..first + n {
            // Relaxed: ordered before the payload stores by the fence below.
            self.mem
                .stamp(seq)
                .store(stamp::writing(seq), Ordering::Relaxed);
        }
        // Release: a reader that sees one of our payload stores and then fences with Acquire sees
        // the `writing` stamp (the seqlock writer's entry; pairs with ConsumerCore::verify).
        fence(Ordering::Release);
        Ok(first)
    }

    /// A single producer's claim of `n` sequences: waits for space (unless it overwrites) and
    /// moves `next` past them.
    ///
    /// Always inlined, with everything but the two comparisons out of line: the claim then costs
    /// its caller no call (the slow paths are `#[cold]`).
    #[inline(always)]
    fn reserve_single(&mut self, n: u64, limit: WaitLimit) -> Result<u64, ClaimFail> {
        let first = self.next;
        let end = first + n;
        if self.policy == FullPolicy::Overwrite {
            if self.check_in >= n {
                self.check_in -= n;
            } else {
                self.overwrite_check_in(n)?;
            }
        } else if end > self.gate {
            self.make_room(first, end, limit)?;
        }
        self.next = end;
        Ok(first)
    }

    /// A single gating producer past its cached gate: refreshes it, and waits for space if the
    /// refreshed gate is still short of `end`.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self, first: u64, end: u64, limit: WaitLimit) -> Result<(), ClaimFail> {
        self.refresh_gate(first)?;
        if end > self.gate {
            self.wait_for_space(first, end, limit, &mut None)?;
        }
        Ok(())
    }

    #[inline(never)]
    fn claim_multi(&mut self, n: u64, limit: WaitLimit) -> Result<u64, ClaimFail> {
        // Every policy claims by compare-and-swap, after recording the claim it is about to make
        // (`repair.rs`): a producer that dies right after its claim leaves a record of it.
        let mut recorded = false;
        // The claim's deadline, fixed at its first wait: a claim that found space, lost it to
        // another producer's claim and waits again still ends at its timeout.
        let mut deadline = None;
        if self.policy == FullPolicy::Overwrite {
            // Before the claim: a sequence taken is a frame owed to the readers.
            self.overwrite_check_in(n)?;
        }
        let first = loop {
            // Relaxed: the CAS below decides; a stale value only fails it.
            let first = self.mem.producer().cursor.claim.load(Ordering::Relaxed);
            let end = first + n;
            if self.policy != FullPolicy::Overwrite && end > self.gate {
                // Acquire: pairs with the AcqRel fetch_max in `refresh_gate` of another
                // producer, whose scan's Acquire loads of consumer cursors we inherit.
                self.gate = self
                    .gate
                    .max(self.mem.producer().cursor.gate.load(Ordering::Acquire));
                if end > self.gate {
                    self.refresh_gate(first)?;
                    if end > self.gate {
                        if recorded {
                            // A stale intent must not stand while we wait: a repairer would
                            // take it for a live owner of a dead claim from the same frame.
                            // Release: as below.
                            self.record().store(claim_record::NONE, Ordering::Release);
                            recorded = false;
                        }
                        self.wait_for_space(first, end, limit, &mut deadline)?;
                        continue;
                    }
                }
            }
            // Release: pairs with the Acquire loads of the records in `repair.rs`: a repairer
            // that sees this record moved on from our previous claim sees that claim's
            // committed stamps.
            self.record().store(
                claim_record::make(claim_record::OPEN, first),
                Ordering::Release,
            );
            recorded = true;
            // Release: the record above is visible to whoever Acquire-loads `claim` at or past
            // our claim (pairs with `repair::dead_owner`; later claims' RMWs continue the
            // release sequence). Slot ownership is ordered by the stamps in `begin_multi`.
            let claim = &self.mem.producer().cursor.claim;
            if claim
                .compare_exchange_weak(first, end, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                break first;
            }
        };
        self.open_claim = Some((first, first + n));
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
                // the slot happen before ours. Bounded by another producer's write of one frame,
                // unless that producer died: then we repair its claim.
                let mut spins = 0u32;
                while st.load(Ordering::Acquire) < stamp::committed(previous) {
                    spins = spins.wrapping_add(1);
                    if spins % REPAIR_EVERY_SPINS == 0 {
                        repair::repair_hole(&*self.mem, previous);
                    }
                    spin_hint();
                }
            }
            // Relaxed: ordered before the payload stores by the fence below.
            st.store(stamp::writing(seq), Ordering::Relaxed);
        }
        // Release: as in `claim_single`.
        fence(Ordering::Release);
    }

    /// An `overwrite` producer's once-per-lap look at the ring: a heartbeat, and whether the
    /// ring was replaced. One subtraction otherwise.
    #[cold]
    fn overwrite_check_in(&mut self, n: u64) -> Result<(), ClaimFail> {
        if self.check_in < n {
            self.look_in()?;
            self.check_in = self.mem.capacity();
        }
        self.check_in -= n;
        Ok(())
    }

    /// The slow path's look at the ring: a heartbeat, then fails if a new ring took its path.
    fn look_in(&self) -> Result<(), ClaimFail> {
        self.heartbeat();
        match self.mem.replaced_by() {
            None => Ok(()),
            Some(by) => Err(ClaimFail::Replaced(by)),
        }
    }

    /// Scans the consumers from claim position `from` and caches the result; fails if the ring
    /// was replaced (the gate refresh is a gating producer's slow path).
    fn refresh_gate(&mut self, from: u64) -> Result<(), ClaimFail> {
        let gate = gate::scan(&*self.mem, from);
        if self.multi {
            // AcqRel: Release publishes the scan's view to other producers (pairs with the Acquire
            // load in `claim_multi`); Acquire inherits theirs.
            let previous = self
                .mem
                .producer()
                .cursor
                .gate
                .fetch_max(gate, Ordering::AcqRel);
            self.gate = gate.max(previous);
        } else {
            self.gate = gate;
        }
        self.look_in()
    }

    /// A single producer whose writer steps run in another runtime (docs/FORMAT.md, "Writer
    /// obligations"): waits until frames `first .. end` fit, as a claim of them would (the
    /// policy's wait or refusal, the eviction of dead readers, the heartbeat, the replaced
    /// check; a `block` wait bounded by `limit`), and returns the gate: frames below it fit
    /// without asking again. `next` follows `first`, since the other runtime moves it.
    pub(crate) fn external_gate(
        &mut self,
        first: u64,
        end: u64,
        limit: WaitLimit,
    ) -> Result<u64, ClaimFail> {
        debug_assert!(!self.multi && self.policy != FullPolicy::Overwrite && first < end);
        self.next = first;
        if end > self.gate {
            self.refresh_gate(first)?;
            if end > self.gate {
                self.wait_for_space(first, end, limit, &mut None)?;
            }
        }
        Ok(self.gate)
    }

    /// Wakes the readers parked on the data futex if one armed it (the end of a commit, for a
    /// writer in another runtime that saw the armed bit). Returns whether it woke them.
    pub(crate) fn notify_data(&mut self) -> bool {
        let block = self.mem.producer();
        let woke = sleep::notify(&*self.mem, &block.wait.data_futex, &block.wait.data_wakes);
        self.woke_peer |= woke;
        woke
    }

    /// Waits until frames `from .. end` fit (the policy's wait or refusal; a `block` policy's
    /// timeout replaced by `limit`'s, if it gives one). `deadline` is the claim's: `None` until
    /// its first wait, which fixes it from the timeout (`Some(None)` for none), so every later
    /// wait of the same claim ends at the same instant.
    #[cold]
    fn wait_for_space(
        &mut self,
        from: u64,
        end: u64,
        limit: WaitLimit,
        deadline: &mut Option<Option<u64>>,
    ) -> Result<(), ClaimFail> {
        let timeout = match self.policy {
            FullPolicy::Fail => {
                // A `fail` producer never waits, but a dead reader, or a named one past its
                // grace, must not hold it back for ever either: once a liveness interval it
                // evicts them as a waiting producer does, and takes the space if that freed it.
                let now = self.mem.now_ns();
                if now.saturating_sub(self.fail_checked_ns) >= self.liveness.as_nanos() as u64 {
                    self.fail_checked_ns = now;
                    if gate::evict_dead(&*self.mem, end, self.stale_after_ns) > 0 {
                        self.refresh_gate(from)?;
                        if end <= self.gate {
                            return Ok(());
                        }
                    }
                }
                // Relaxed: a statistic.
                self.mem
                    .producer()
                    .cursor
                    .dropped
                    .fetch_add(1, Ordering::Relaxed);
                return Err(ClaimFail::Full);
            }
            FullPolicy::Block { timeout } => match limit {
                WaitLimit::Policy => timeout,
                WaitLimit::Within(wait) => Some(wait),
            },
            FullPolicy::Overwrite => unreachable!("overwrite never waits"),
        };
        let mem = &*self.mem;
        let deadline = *deadline.get_or_insert_with(|| {
            timeout.map(|t| {
                mem.now_ns()
                    .saturating_add(t.as_nanos().min(u128::from(u64::MAX)) as u64)
            })
        });
        let mut backoff = Backoff::after_wake(std::mem::take(&mut self.woke_peer));
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
                sleep::park(
                    mem,
                    &wait.space_futex,
                    &wait.space_sleepers,
                    Some(slice),
                    || end <= gate::scan(mem, from) || mem.replaced_by().is_some(),
                );
            } else {
                backoff.snooze();
            }
            self.refresh_gate(from)?;
            if end <= self.gate {
                return Ok(());
            }
        }
    }

    /// Publishes frames `first .. end`, which this producer claimed and wrote. Returns false if
    /// a repairer had taken this producer for dead and published them as skip frames: then it
    /// stores nothing (with exact liveness a live producer is never taken for dead).
    #[inline(always)]
    pub(crate) fn commit(&mut self, first: u64, end: u64) -> bool {
        self.commit_with(first, end, |mem, seq| mem.stamp(seq))
    }

    /// [`commit`](Self::commit), with the slots' stamp words found by `stamp` (a handle's copy
    /// of the geometry, which a loop keeps in registers, rather than the shared one).
    #[inline(always)]
    pub(crate) fn commit_with(
        &mut self,
        first: u64,
        end: u64,
        stamp: impl for<'m> Fn(&'m M, u64) -> &'m AtomicU64,
    ) -> bool {
        if self.multi && !self.close_claim(first) {
            return false;
        }
        let mem = &*self.mem;
        for seq in first..end {
            // Release: pairs with the Acquire load in ConsumerCore::check: the frame's bytes are
            // visible to a reader that sees this stamp.
            stamp(mem, seq).store(stamp::committed(seq), Ordering::Release);
        }
        let block = mem.producer();
        if self.multi {
            // Release: as below; fetch_max because producers commit out of order.
            block.cursor.published.fetch_max(end, Ordering::Release);
        } else {
            // Release: pairs with the Acquire loads of `published` in register and lap recovery.
            block.cursor.published.store(end, Ordering::Release);
        }
        if sleep::notify(mem, &block.wait.data_futex, &block.wait.data_wakes) {
            self.woke_peer = true;
        }
        true
    }

    /// Multi-producer: moves our claim record from `OPEN` to `COMMITTING` before the claim's
    /// stamps are committed; false if a repairer took the claim over first.
    #[inline(never)]
    fn close_claim(&mut self, first: u64) -> bool {
        self.open_claim = None;
        let open = claim_record::make(claim_record::OPEN, first);
        let committing = claim_record::make(claim_record::COMMITTING, first);
        // Release: pairs with the Acquire swap or load of our record by a repairer: our
        // writes to the claim's slots happen before it completes this commit. The swap is
        // the arbiter against a repairer's `OPEN -> REPAIRING` (`repair.rs`).
        self.record()
            .compare_exchange(open, committing, Ordering::Release, Ordering::Relaxed)
            .is_ok()
    }

    /// Multi-producer: publishes a claim left open (a `WriteSlot` that was forgotten) as skip
    /// frames, counted in `abandoned`, and clears our record.
    fn publish_open_claim(&mut self) {
        if let Some((first, end)) = self.open_claim {
            for seq in first..end {
                self.mem.mark_skip(seq);
            }
            if self.commit(first, end) {
                // Relaxed: a statistic.
                self.mem
                    .producer()
                    .cursor
                    .abandoned
                    .fetch_add(end - first, Ordering::Relaxed);
            }
        }
        // Release: as the record's other stores.
        self.record().store(claim_record::NONE, Ordering::Release);
    }

    fn heartbeat(&self) {
        // Relaxed: read by `inspect` only.
        self.mem.producer().producers[self.entry]
            .heartbeat_ns
            .store(self.mem.now_ns(), Ordering::Relaxed);
    }

    /// Detaches; the last producer to detach closes the ring and wakes every consumer.
    pub(crate) fn detach(&mut self) {
        if self.multi {
            self.publish_open_claim();
        }
        let block = self.mem.producer();
        entry_release(&block.producers[self.entry]);
        self.mem.release_lock(Attachment::Producer(self.entry));
        // SeqCst: two producers detaching at once each store their own entry, then load the
        // other's (store-then-load on both sides): without the fence both could see the other
        // still attached and nobody would close the ring (found by the loom model
        // `multi_producer_claim_publish`). With it, at least one sees both gone; closing twice
        // is harmless.
        fence(Ordering::SeqCst);
        // Acquire: pairs with the CAS in `attach` of a producer attaching now.
        if block
            .producers
            .iter()
            .all(|e| e.pid.load(Ordering::Acquire) == 0)
        {
            // Release: pairs with the Acquire load of the state by consumers: they see every
            // frame committed before the close.
            block
                .wait
                .state
                .store(ring_state::CLOSED, Ordering::Release);
            sleep::wake(&*self.mem, &block.wait.data_futex, &block.wait.data_wakes);
        }
    }

    pub(crate) fn published(&self) -> u64 {
        // Relaxed: informational.
        self.mem.producer().cursor.published.load(Ordering::Relaxed)
    }
}
