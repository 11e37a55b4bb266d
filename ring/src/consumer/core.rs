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

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, RecvError, Result};
use crate::gate;
use crate::layout::{consumer_name, consumer_state, delivery, ring_state, stamp, ConsumerLine};
use crate::mem::{Attachment, RingMem};
use crate::repair;
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

/// Where a new consumer starts reading.
///
/// Whatever the start, the consumer reports where it started ([`Consumer::start_seq`]) and how
/// many of the frames it asked for were gone before it read its first one
/// ([`Consumer::missed_at_start`]), so a reader that joined late can tell, and say so.
///
/// [`Consumer::start_seq`]: crate::Consumer::start_seq
/// [`Consumer::missed_at_start`]: crate::Consumer::missed_at_start
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Start {
    /// The next frame to be published: frames already in the ring are not read.
    #[default]
    Next,
    /// The oldest frame still in the ring (at most one ring's worth before the next frame).
    Oldest,
    /// Frame `seq`. Frames below the next one to be published that are no longer in the ring
    /// are skipped and counted in [`missed_at_start`](crate::Consumer::missed_at_start); a
    /// `seq` in the future makes the reader wait for it.
    Seq(u64),
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

/// Whether frames may still come: closed (the last producer detached cleanly), gone (every
/// attached producer's process died), or alive (including: no producer attached yet).
pub(crate) fn producer_status<M: RingMem>(mem: &M) -> ProducerStatus {
    let block = mem.producer();
    // Acquire: pairs with the Release store of CLOSED in ProducerCore::detach: every frame
    // committed before the close is visible to the re-check that follows.
    if block.wait.state.load(Ordering::Acquire) == ring_state::CLOSED {
        return ProducerStatus::Closed;
    }
    let mut dead = None;
    for (index, entry) in block.producers.iter().enumerate() {
        // Relaxed: the pid word says whether the entry is taken; liveness is the entry's lock
        // (or, without locks, the pid).
        let pid = entry.pid.load(Ordering::Relaxed);
        if pid != 0 {
            if mem.alive(Attachment::Producer(index), pid) {
                return ProducerStatus::Alive;
            }
            dead = Some(pid);
        }
    }
    // No producer attached yet (and the ring not closed): one may still come.
    dead.map_or(ProducerStatus::Alive, ProducerStatus::Gone)
}

fn policy_code(d: Delivery) -> u32 {
    match d {
        Delivery::Lossless => delivery::LOSSLESS,
        Delivery::Lossy => delivery::LOSSY,
    }
}

/// Frames between two heartbeats of a reader that is busy reading.
pub(crate) const HEARTBEAT_EVERY: u64 = 1024;

/// The consumer's side of the cursor protocol, over any [`RingMem`].
pub(crate) struct ConsumerCore<M: RingMem> {
    pub(crate) mem: Arc<M>,
    pub(crate) index: usize,
    generation: u32,
    /// The next sequence to read.
    pub(crate) next: u64,
    lossless: bool,
    /// A lossy consumer, or any consumer of an overwritable ring: every frame may be rewritten
    /// while held.
    always_unprotected: bool,
    pub(crate) delivered: u64,
    pub(crate) lost: u64,
    pub(crate) lapped: u64,
    pub(crate) torn: u64,
    /// Sleeps on the data futex (R7's `wakes`).
    pub(crate) wakes: u64,
    /// Frames lost since the last frame handed out.
    lost_pending: u64,
    /// The sequence the consumer asked to start at (resolved from its [`Start`]).
    pub(crate) start: u64,
    /// The start the registration handshake protects: frames from here on cannot be overwritten
    /// before a lossless consumer releases them. Frames below it that the consumer asked for
    /// (an `Oldest` or `Seq` start) may be overwritten under it: they are read with the lossy
    /// discipline, and those found gone before the first frame is handed out are counted in
    /// `missed_at_start`, not `lost`.
    pub(crate) protected_from: u64,
    /// The first sequence handed out, if any.
    pub(crate) first_seq: Option<u64>,
    /// Frames from `start` that were gone before the first frame was handed out.
    pub(crate) missed_at_start: u64,
    heartbeat_at: u64,
    pub(crate) liveness: Duration,
    /// Whether we woke a producer since we last waited (the next wait spins longer:
    /// `Backoff::after_wake`).
    woke_peer: bool,
    /// A named block: left ownerless, not freed, when this handle goes.
    named: bool,
    /// What a named block's earlier owner left (`None` for a new block).
    pub(crate) resumed: Option<gate::Resume>,
    /// Releases move only `next`; the block's `read` moves at [`ConsumerCore::commit`].
    pub(crate) holding: bool,
    /// The block's `read` as this handle last stored it.
    pub(crate) committed: u64,
}

impl<M: RingMem> ConsumerCore<M> {
    pub(crate) fn register(
        mem: Arc<M>,
        delivery: Delivery,
        start: Start,
        pid: u32,
    ) -> Result<Self> {
        if let Some(by) = mem.replaced_by() {
            return Err(Error::Replaced { by });
        }
        let Some(reg) = gate::register(&*mem, policy_code(delivery), pid) else {
            return Err(Error::NoConsumerSlot {
                max: mem.max_consumers(),
            });
        };
        Self::registered(mem, delivery, start, reg, false)
    }

    /// Takes the consumer block called `name` (see `gate::register_named`), or a new one that
    /// gets the name. A block taken again resumes where its last owner's releases left its
    /// `read`; a new one starts at the next frame.
    pub(crate) fn register_named(
        mem: Arc<M>,
        name: &str,
        delivery: Delivery,
        grace: Duration,
        pid: u32,
    ) -> Result<Self> {
        if let Some(by) = mem.replaced_by() {
            return Err(Error::Replaced { by });
        }
        let words = consumer_name::encode(name).map_err(Error::InvalidArgument)?;
        let naming = gate::Naming {
            words,
            grace_ns: grace.as_nanos().min(u128::from(u64::MAX)) as u64,
        };
        let reg =
            gate::register_named(&*mem, policy_code(delivery), pid, naming).map_err(|refusal| {
                match refusal {
                    gate::NamedRefusal::Taken { pid } => Error::NameTaken {
                        name: name.to_string(),
                        pid,
                    },
                    gate::NamedRefusal::Busy => Error::NameTaken {
                        name: name.to_string(),
                        pid: 0,
                    },
                    gate::NamedRefusal::NoBlock => Error::NoConsumerSlot {
                        max: mem.max_consumers(),
                    },
                }
            })?;
        let start = match reg.resume {
            Some(resume) => Start::Seq(resume.read),
            None => Start::Next,
        };
        Self::registered(mem, delivery, start, reg, true)
    }

    fn registered(
        mem: Arc<M>,
        delivery: Delivery,
        start: Start,
        reg: gate::Registration,
        named: bool,
    ) -> Result<Self> {
        let drop_block = |mem: &M| {
            if named {
                gate::leave_named(mem, reg.index, reg.generation);
            } else {
                gate::unregister(mem, reg.index, reg.generation);
            }
        };
        if reg.start >= stamp::MAX_SEQ {
            drop_block(&mem);
            return Err(Error::Corrupt {
                seq: reg.start,
                detail: "the published cursor is beyond any sequence a producer writes".into(),
            });
        }
        // A named block's cursor comes from the file: one no release could have stored (beyond
        // any sequence, or past what was published) is corruption, not a place to start.
        if let Some(resume) = reg.resume {
            // Acquire: pairs with the Release store of `published` in a producer's commit (a
            // cursor the last owner released is at most what it had seen published).
            let published = mem.producer().cursor.published.load(Ordering::Acquire);
            if resume.read >= stamp::MAX_SEQ || resume.read > published {
                drop_block(&mem);
                return Err(Error::Corrupt {
                    seq: resume.read,
                    detail: "a named block's read cursor is beyond any sequence published".into(),
                });
            }
        }
        if delivery == Delivery::Lossless {
            // A producer may have scanned us at the provisional start, found the ring full and
            // gone to sleep; if the handshake moved our start forward, it must rescan (found by
            // the loom model `registration_handshake`).
            let wait = &mem.producer().wait;
            sleep::notify(&*mem, &wait.space_futex, &wait.space_wakes);
        }
        // The handshake protects frames from `reg.start` on; an earlier start reads what is still
        // there. `read` moves back to it (Release: pairs with the Acquire load of `read` in
        // gate::scan), so every later scan holds producers at it; a producer whose gate came
        // from an earlier scan may still overwrite frames below `reg.start`, which the reader
        // detects by their stamps.
        let first = match start {
            Start::Next => reg.start,
            Start::Oldest => reg.start.saturating_sub(mem.capacity()),
            Start::Seq(seq) => seq.min(stamp::MAX_SEQ - 1),
        };
        if first != reg.start {
            mem.consumer(reg.index).read.store(first, Ordering::Release);
        }
        let always_unprotected = delivery == Delivery::Lossy || mem.overwritable();
        Ok(ConsumerCore {
            mem,
            index: reg.index,
            generation: reg.generation,
            next: first,
            start: first,
            protected_from: reg.start,
            first_seq: None,
            missed_at_start: 0,
            lossless: delivery == Delivery::Lossless,
            always_unprotected,
            delivered: 0,
            lost: 0,
            lapped: 0,
            torn: 0,
            wakes: 0,
            lost_pending: 0,
            heartbeat_at: first + HEARTBEAT_EVERY,
            liveness: Duration::from_millis(50),
            woke_peer: false,
            named,
            resumed: reg.resume,
            holding: false,
            committed: first,
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
    ///
    /// Always inlined, its slow parts (a heartbeat once per [`HEARTBEAT_EVERY`] frames, a wake)
    /// out of line: a release is a few stores and two tests.
    #[inline(always)]
    pub(crate) fn release(&mut self, next: u64, frames: u64) {
        self.next = next;
        self.delivered += frames;
        if next >= self.heartbeat_at {
            self.heartbeat_due(next);
        }
        // One look-up of our block for the stores below.
        let block = self.mem.consumer(self.index);
        // Relaxed: a statistic, written only by us.
        block.delivered.store(self.delivered, Ordering::Relaxed);
        if !self.holding {
            self.committed = next;
            // Release: pairs with the Acquire load of `read` in gate::scan, as in `store_read`
            // (written out here so the block is looked up once).
            block.read.store(next, Ordering::Release);
            if self.lossless && self.notify_producers() {
                self.woke_peer = true;
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn heartbeat_due(&mut self, next: u64) {
        self.heartbeat();
        self.heartbeat_at = next + HEARTBEAT_EVERY;
    }

    /// A holding consumer's owner is done with every frame below `upto` (at most `next`): moves
    /// the block's `read` there, so a later owner of the name resumes at `upto` and producers
    /// may overwrite the frames below. Returns the committed position.
    pub(crate) fn commit(&mut self, upto: u64) -> u64 {
        let upto = upto.min(self.next);
        if upto > self.committed {
            self.store_read(upto);
        }
        self.committed
    }

    #[inline]
    fn store_read(&mut self, next: u64) {
        self.committed = next;
        // Release: pairs with the Acquire load of `read` in gate::scan: our reads of the released
        // slots happen before a producer overwrites them (and with the Acquire load of `read`
        // by the next taker of a named block).
        self.mem
            .consumer(self.index)
            .read
            .store(next, Ordering::Release);
        if self.lossless && self.notify_producers() {
            self.woke_peer = true;
        }
    }

    /// Wakes producers asleep waiting for space, if any (the notify half of `sleep.rs`); returns
    /// whether it did.
    #[inline]
    fn notify_producers(&self) -> bool {
        let wait = &self.mem.producer().wait;
        sleep::notify(&*self.mem, &wait.space_futex, &wait.space_wakes)
    }

    fn heartbeat(&self) {
        // Relaxed: read by an evicting producer, which only compares ages.
        self.block()
            .heartbeat_ns
            .store(self.mem.now_ns(), Ordering::Relaxed);
    }

    /// Whether the frames from `first` on that this consumer read in place are still in their
    /// slots, for a reader that may skip the per-slot re-check: `Some(true)` if they are
    /// protected and the consumer was never evicted, so no producer can have started over any
    /// of them; `None` if they are not protected (the caller re-checks each stamp, and does so
    /// too on `Some(false)`, after an eviction, to count which were overwritten).
    ///
    /// The argument (docs/ARCHITECTURE.md, protocol 1, "One look for a protected batch"): a producer
    /// writes over a protected frame only after a lossless consumer was evicted (the
    /// registration handshake protects frames from `protected_from` on, and only an evicted
    /// consumer stops gating), and it evicts before its claim's Release fence (the `writing`
    /// stamp's), in its own thread or in one whose gate it inherited by Acquire. If any byte we
    /// read came from that producer, our Acquire fence below synchronizes with its Release
    /// fence, so our load of `state` sees the eviction or a later value of the block (a reuse,
    /// told apart by the generation).
    #[inline]
    pub(crate) fn protected_and_kept(&self, first: u64) -> Option<bool> {
        if self.unprotected(first) {
            return None;
        }
        // Acquire: pairs with the Release fence after a producer's `writing` stamp, as in
        // `verify`.
        fence(Ordering::Acquire);
        let block = self.block();
        // Relaxed: ordered by the fence above (the eviction CAS precedes the producer's fence).
        Some(
            block.state.load(Ordering::Relaxed) == consumer_state::ACTIVE
                && block.generation.load(Ordering::Relaxed) == self.generation,
        )
    }

    /// Fails if a producer evicted us or our block was reused.
    fn check_evicted(&self) -> Result<(), RecvError> {
        let block = self.block();
        // Relaxed: the eviction CAS publishes nothing else.
        if block.state.load(Ordering::Relaxed) != consumer_state::ACTIVE
            || block.generation.load(Ordering::Relaxed) != self.generation
        {
            return Err(RecvError::Evicted { index: self.index });
        }
        Ok(())
    }

    /// Fails if a new ring took this one's path (`Ring::create_or_replace`).
    fn check_replaced(&self) -> Result<(), RecvError> {
        match self.mem.replaced_by() {
            None => Ok(()),
            Some(by) => Err(RecvError::Replaced { by }),
        }
    }

    /// Lapped at `next`: skips to the oldest frame that may still be intact and counts the rest
    /// as lost.
    ///
    /// The frame found in the slot bounds the jump from below, whatever `published` says (it may
    /// be stale): that frame is `next + k * capacity` for some `k >= 1`, so every frame up to
    /// `lapper - capacity` is gone. A stamp that names a frame of another slot, or one beyond
    /// any sequence, is corruption (a hostile file): it is reported, never looped on.
    #[cold]
    pub(crate) fn skip_lapped(&mut self) -> Result<(), RecvError> {
        self.check_evicted()?;
        let capacity = self.mem.capacity();
        // Relaxed: `check` already loaded this stamp with Acquire; we only read which frame it
        // names.
        let found = self.mem.stamp(self.next).load(Ordering::Relaxed);
        let lapper = match stamp::seq_of(found) {
            Some(s) if s > self.next && s < stamp::MAX_SEQ && (s - self.next) % capacity == 0 => s,
            _ => {
                return Err(RecvError::Corrupt {
                    seq: self.next,
                    detail: format!("slot stamp {found:#x} names no later frame of this slot"),
                })
            }
        };
        // Acquire: pairs with the Release store of `published` in ProducerCore::commit.
        let published = self.mem.producer().cursor.published.load(Ordering::Acquire);
        let mut target = published
            .min(stamp::MAX_SEQ)
            .saturating_sub(capacity - 1)
            .max(lapper - capacity + 1);
        if !self.always_unprotected && self.next < self.protected_from {
            // A lossless reader catching up from an earlier start: frames from the protected
            // start on are still there (no producer overwrites them before it releases them),
            // so the jump stops there rather than one ring behind `published` (found by the loom
            // model `registration_at_the_oldest_frame`).
            target = target.min(self.protected_from.max(lapper - capacity + 1));
        }
        let skipped = target - self.next;
        if self.first_seq.is_none() && self.next < self.protected_from {
            // Still before the first frame handed out, in the part of the ring the consumer
            // asked for but the handshake could not protect: these frames were gone before it
            // could read any of them. Whatever was skipped from the protected part on was lost.
            let missed = skipped.min(self.protected_from - self.next);
            self.missed_at_start += missed;
            let lost = skipped - missed;
            self.lost += lost;
            self.lost_pending += lost;
        } else {
            self.lost += skipped;
            self.lost_pending += skipped;
        }
        self.lapped += 1;
        let block = self.mem.consumer(self.index);
        // Relaxed: statistics, written only by us.
        block.lost.store(self.lost, Ordering::Relaxed);
        block.lapped.store(self.lapped, Ordering::Relaxed);
        self.release(target, 0);
        Ok(())
    }

    /// Notes that frame `seq` is being handed out (the first one fixes `first_seq`).
    #[inline]
    pub(crate) fn note_handed_out(&mut self, seq: u64) {
        if self.first_seq.is_none() {
            self.first_seq = Some(seq);
        }
    }

    /// The first frame the registration handshake protects (see `protected_from`).
    #[cfg(all(test, loom))]
    pub(crate) fn protected_from(&self) -> u64 {
        self.protected_from
    }

    /// Whether frame `seq` may be rewritten while this consumer holds it: always for a lossy
    /// consumer or on an overwritable ring; for a lossless one, below the start the registration
    /// handshake protects.
    #[inline]
    pub(crate) fn unprotected(&self, seq: u64) -> bool {
        self.always_unprotected || seq < self.protected_from
    }

    /// Counts one frame lost for a reason other than lapping (a corrupt slot).
    pub(crate) fn note_lost(&mut self) {
        self.lost += 1;
        // Relaxed: a statistic.
        self.block().lost.store(self.lost, Ordering::Relaxed);
    }

    /// Counts a zero-copy view that was overwritten before it was released.
    #[cold]
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
        producer_status(&*self.mem)
    }

    /// Without waiting: fails if no frame is left and none can come (the producers are gone or
    /// closed, or the ring was replaced), or if we were evicted.
    pub(crate) fn check_live(&self) -> Result<(), RecvError> {
        self.check_evicted()?;
        if self.check(self.next) == Check::Empty {
            self.check_replaced()?;
        }
        match self.producer_status() {
            ProducerStatus::Alive => Ok(()),
            _ if self.check(self.next) != Check::Empty => Ok(()),
            _ if repair::repair_hole(&*self.mem, self.next) => Ok(()),
            status => Err(self.end_error(status)),
        }
    }

    /// The error a reader ends with once no frame can come and its next one is not there:
    /// `Closed` or `ProducerGone`, unless frames were committed after it (`published` is past
    /// it): then a producer claimed this frame and died before committing it, the hole could not
    /// be repaired (`repair.rs`: only with exact liveness), and a clean end would hide the
    /// committed frames after it: `Abandoned`.
    fn end_error(&self, status: ProducerStatus) -> RecvError {
        // Acquire: pairs with the Release `published` store (or fetch_max) of the commits.
        let published = self.mem.producer().cursor.published.load(Ordering::Acquire);
        if published > self.next {
            return RecvError::Abandoned {
                seq: self.next,
                unread: published - self.next - 1,
            };
        }
        match status {
            ProducerStatus::Gone(pid) => RecvError::ProducerGone { pid },
            _ => RecvError::Closed,
        }
    }

    /// Waits until the next frame is there (or the consumer was lapped), at most `timeout`. May
    /// return `Ok` early, with nothing to read (woken, or a liveness slice ended): callers
    /// re-check.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Result<(), RecvError> {
        if self.check(self.next) != Check::Empty {
            return Ok(());
        }
        let mut backoff = Backoff::after_wake(std::mem::take(&mut self.woke_peer));
        while !backoff.is_completed() {
            backoff.snooze();
            if self.check(self.next) != Check::Empty {
                return Ok(());
            }
        }
        let deadline = timeout.map(|t| {
            self.mem
                .now_ns()
                .saturating_add(t.as_nanos().min(u128::from(u64::MAX)) as u64)
        });
        self.heartbeat();
        self.check_evicted()?;
        // Before the producers' status: a replaced ring's producers end too, and the reader
        // should learn why rather than see it close.
        self.check_replaced()?;
        // Waited a spin budget: if the frame's producer died after claiming it, publish it as a
        // skip frame and read on (`repair.rs`; a load of `claim` and the stamp when not).
        if repair::repair_hole(&*self.mem, self.next) {
            return Ok(());
        }
        match self.producer_status() {
            ProducerStatus::Alive => {}
            status => {
                // Re-check after the status: frames committed before a close or a crash stay
                // readable.
                if self.check(self.next) != Check::Empty
                    || repair::repair_hole(&*self.mem, self.next)
                {
                    return Ok(());
                }
                return Err(self.end_error(status));
            }
        }
        // A producer in another process may die without waking us: sleep in slices and look
        // again. In-process rings close from `Drop`, which wakes.
        let mut slice = if self.mem.cross_process() {
            Some(self.liveness)
        } else {
            None
        };
        if let Some(deadline) = deadline {
            let now = self.mem.now_ns();
            if now >= deadline {
                return Err(RecvError::Timeout);
            }
            let left = Duration::from_nanos(deadline - now);
            slice = Some(slice.map_or(left, |s| s.min(left)));
        }
        let mem = &*self.mem;
        let wait = &mem.producer().wait;
        let next = self.next;
        let this = &*self;
        let slept = !sleep::park(mem, &wait.data_futex, &wait.data_sleepers, slice, || {
            // Acquire: as in `producer_status`.
            this.check(next) != Check::Empty
                || wait.state.load(Ordering::Acquire) == ring_state::CLOSED
                || mem.replaced_by().is_some()
                || repair::has_dead_owner(mem, next)
        });
        if slept {
            self.wakes += 1;
            // Relaxed: a statistic (R7).
            self.block().wakes.store(self.wakes, Ordering::Relaxed);
        }
        if self.check(self.next) != Check::Empty {
            return Ok(());
        }
        // Woken (or a slice ended) with no frame: return early, so a caller woken by
        // `Ring::wake_waiters` (a cancellation) can look at its own state. `recv` and
        // `recv_into` simply wait again; the liveness check runs at the top of the next wait.
        if deadline.is_some_and(|d| self.mem.now_ns() >= d) {
            return Err(RecvError::Timeout);
        }
        Ok(())
    }

    pub(crate) fn unregister(&mut self) {
        if self.named {
            // The name outlives this handle: the block keeps `read` where the last commit left it.
            gate::leave_named(&*self.mem, self.index, self.generation);
        } else {
            gate::unregister(&*self.mem, self.index, self.generation);
        }
        if self.lossless {
            // A producer may be asleep waiting for us: it must rescan without us.
            let _ = self.notify_producers();
        }
    }
}
