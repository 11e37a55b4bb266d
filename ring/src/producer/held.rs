//! A producer for foreign runtimes: claims handed out as tokens that do not borrow the handle, as
//! [`HeldFrame`](crate::HeldFrame) is for consumers. The C ABI keeps one such token between
//! `rf_producer_claim` and `rf_producer_commit`, two calls that a borrow cannot span.
//!
//! A [`HeldProducer`] is a [`Producer`] that writes only this way: it holds at most one claim
//! (one slot or a batch), so the commits of a single producer stay in claim order, which its
//! `published` store relies on. Mixing token claims with [`Producer::claim`] on one handle is
//! therefore made impossible by the types rather than checked on every claim.

use std::sync::atomic::{AtomicU64 as StdAtomicU64, Ordering as StdOrdering};
use std::time::Duration;

use super::core::WaitLimit;
use super::handle::{payload_mut, write_meta, write_timestamp_at};
use super::{FullPolicy, Producer};
use crate::error::ClaimError;
use crate::layout::kind_flags;
use crate::mem::RingMem;

/// Issues each [`HeldProducer`] a token of its own (never 0), so a claim from another producer is
/// told apart.
static NEXT_TOKEN: StdAtomicU64 = StdAtomicU64::new(1);

/// A producer whose claims are tokens ([`HeldClaim`]) rather than borrows: for foreign runtimes
/// that claim in one call and commit in another. Made by [`Producer::into_held`].
///
/// `Send` but not `Sync`, like [`Producer`]. At most one claim is open at a time. Dropping it
/// publishes an open claim as empty frames readers pass over (so no reader waits on a hole),
/// then detaches as [`Producer`] does.
///
/// ```
/// # use ringflow::{ProducerOptions, Ring, RingConfig};
/// # let ring = Ring::anonymous(&RingConfig::new(8, 16))?;
/// let mut consumer = ring.consumer()?;
/// let mut producer = ring.producer(ProducerOptions::default())?.into_held();
/// let claim = producer.claim(2)?;
/// for i in 0..claim.len() {
///     let slot = producer.payload_ptr(&claim, i).unwrap();
///     // SAFETY: the claim owns the slot's `slot_size()` payload bytes until its commit.
///     unsafe { slot.write(b'a' + i as u8) };
/// }
/// producer.commit(claim, 2, |_| (1, 0)).unwrap();
/// assert_eq!(consumer.poll()?.unwrap().payload(), b"a");
/// # Ok::<(), ringflow::Error>(())
/// ```
///
/// ```compile_fail,E0277
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<ringflow::HeldProducer>();
/// ```
pub struct HeldProducer {
    producer: Producer,
    /// The open claim: its first sequence and length.
    open: Option<(u64, usize)>,
    token: u64,
    /// Whether another runtime writes through [`external_gate`](Self::external_gate): then
    /// [`claim`](Self::claim) is refused, since `next` is that runtime's.
    external: bool,
}

impl std::fmt::Debug for HeldProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldProducer")
            .field("producer", &self.producer)
            .field("open", &self.open)
            .finish()
    }
}

/// `n` consecutive slots claimed by [`HeldProducer::claim`], not borrowing the producer: a token
/// only that producer's [`commit`](HeldProducer::commit) takes back, once.
///
/// Neither `Copy` nor `Clone`, with private fields: safe code commits a claim at most once and
/// cannot make one up.
///
/// ```compile_fail,E0382
/// # use ringflow::{ProducerOptions, Ring, RingConfig};
/// # let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
/// let mut p = ring.producer(ProducerOptions::default()).unwrap().into_held();
/// let claim = p.claim(1).unwrap();
/// p.commit(claim, 1, |_| (0, 0)).unwrap();
/// p.commit(claim, 1, |_| (0, 0)).unwrap(); // error: `claim` was moved by the first commit
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct HeldClaim {
    first: u64,
    n: usize,
    token: u64,
}

impl HeldClaim {
    /// Sequence number of the claim's first slot.
    pub fn first_seq(&self) -> u64 {
        self.first
    }

    /// Slots claimed (at least 1).
    #[allow(clippy::len_without_is_empty)] // a claim holds at least one slot
    pub fn len(&self) -> usize {
        self.n
    }
}

/// [`HeldProducer::commit`] refused a claim: nothing was written or published, and the claim is
/// given back (still open, if it was this producer's).
#[derive(Debug, thiserror::Error)]
#[error("commit refused: {reason}")]
pub struct CommitHeldError {
    /// The claim offered.
    pub claim: HeldClaim,
    /// Why it was refused.
    pub reason: String,
}

impl Producer {
    /// This producer, writing through claims that are tokens ([`HeldProducer`]).
    pub fn into_held(self) -> HeldProducer {
        HeldProducer {
            producer: self,
            open: None,
            external: false,
            // Relaxed: a unique number; nothing is ordered by it.
            token: NEXT_TOKEN.fetch_add(1, StdOrdering::Relaxed),
        }
    }
}

impl HeldProducer {
    /// The producer's entry in the producer table ([`Producer::id`]).
    pub fn id(&self) -> u32 {
        self.producer.id()
    }

    /// Payload bytes one frame can hold.
    pub fn slot_size(&self) -> usize {
        self.producer.slot_size()
    }

    /// One past the highest committed sequence of the ring.
    pub fn published(&self) -> u64 {
        self.producer.published()
    }

    /// Whether a claim is open (claimed and not yet committed).
    pub fn has_open_claim(&self) -> bool {
        self.open.is_some()
    }

    /// Claims `n` consecutive slots (`1 ..= capacity`) under the producer's policy, as
    /// [`Producer::claim_batch`] does (same errors). Refused with
    /// [`ClaimError::InvalidArgument`] while a claim is open.
    pub fn claim(&mut self, n: usize) -> Result<HeldClaim, ClaimError> {
        self.claim_limited(n, WaitLimit::Policy)
    }

    fn claim_limited(&mut self, n: usize, limit: WaitLimit) -> Result<HeldClaim, ClaimError> {
        let capacity = self.producer.core.mem.capacity();
        if n == 0 || n as u64 > capacity {
            return Err(ClaimError::InvalidArgument(format!(
                "a claim of {n} frames: must be 1 ..= {capacity}"
            )));
        }
        if let Some((first, open)) = self.open {
            return Err(ClaimError::InvalidArgument(format!(
                "a claim of {open} frames from sequence {first} is still open: commit it first"
            )));
        }
        if self.external {
            return Err(ClaimError::InvalidArgument(
                "this producer's writer steps run elsewhere (external_gate): it claims no slot"
                    .into(),
            ));
        }
        // Marks every slot as being written (the seqlock writer's entry) before it returns.
        let first = self.producer.core.claim_limited(n as u64, limit)?;
        self.open = Some((first, n));
        Ok(HeldClaim {
            first,
            n,
            token: self.token,
        })
    }

    /// Claims as [`claim`](Self::claim) does, but a `block` producer waits at most `wait` this
    /// time, whatever its policy's timeout (then [`ClaimError::Timeout`], nothing claimed);
    /// `fail` and `overwrite` never wait, as always. For a caller that must look at a stop
    /// condition of its own while it waits: it claims in slices and looks between them (the C
    /// ABI's `rf_producer_claim`, which `rf_ring_close` and `rf_producer_close` end). Only the
    /// wait for space reads the timeout, so a claim with space costs what `claim` costs.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringflow::{ClaimError, ProducerOptions, Ring, RingConfig};
    /// let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
    /// let _reader = ring.consumer()?; // reads nothing: four frames fill the ring
    /// let mut p = ring.producer(ProducerOptions::default())?.into_held();
    /// let claim = p.claim(4)?;
    /// p.commit(claim, 4, |_| (0, 0))?;
    /// // The policy would wait for ever; this claim waits 10 ms.
    /// let waited = p.claim_within(1, Duration::from_millis(10));
    /// assert!(matches!(waited, Err(ClaimError::Timeout)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn claim_within(&mut self, n: usize, wait: Duration) -> Result<HeldClaim, ClaimError> {
        self.claim_limited(n, WaitLimit::Within(wait))
    }

    /// For a writer in another runtime that keeps the single-producer writer steps itself
    /// (docs/FORMAT.md, "Writer obligations"; the Kotlin `RingProducer`): waits until frames
    /// `first .. end` fit, as [`claim`](Self::claim) would (the policy's wait or refusal,
    /// evicting dead readers, the heartbeat, the replaced check), and returns the gate: frames
    /// below it fit without asking again. From the first call on, [`claim`](Self::claim) is
    /// refused. Refused ([`ClaimError::InvalidArgument`]) on a multi-producer ring, under
    /// `overwrite` (their claims are not the writer's own to make: they stay in Rust), with a
    /// claim open, and for an empty range or one longer than the ring.
    pub fn external_gate(&mut self, first: u64, end: u64) -> Result<u64, ClaimError> {
        self.external_gate_limited(first, end, WaitLimit::Policy)
    }

    fn external_gate_limited(
        &mut self,
        first: u64,
        end: u64,
        limit: WaitLimit,
    ) -> Result<u64, ClaimError> {
        let mem = &self.producer.core.mem;
        if mem.multi_producer() || self.producer.core.policy == FullPolicy::Overwrite {
            return Err(ClaimError::InvalidArgument(
                "the writer steps run elsewhere only for a single producer that gates (block, fail)"
                    .into(),
            ));
        }
        if first >= end || end - first > mem.capacity() || self.open.is_some() {
            return Err(ClaimError::InvalidArgument(format!(
                "frames {first} .. {end}: must be 1 ..= {} frames, with no claim open",
                mem.capacity()
            )));
        }
        self.external = true;
        Ok(self.producer.core.external_gate(first, end, limit)?)
    }

    /// [`external_gate`](Self::external_gate), but a `block` producer waits at most `wait` this
    /// time, whatever its policy's timeout (then [`ClaimError::Timeout`], the gate unchanged),
    /// as [`claim_within`](Self::claim_within) is to [`claim`](Self::claim): for a caller that
    /// looks at a stop condition of its own between slices of the wait (the Kotlin
    /// `RingProducer`, which `RingProducer.close` and `Ring.close` end).
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringflow::{ClaimError, ProducerOptions, Ring, RingConfig};
    /// let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
    /// let _reader = ring.consumer()?; // reads nothing: frames 0 .. 4 fill the ring
    /// let mut p = ring.producer(ProducerOptions::default())?.into_held();
    /// assert_eq!(p.external_gate_within(0, 4, Duration::from_millis(10))?, 4);
    /// // Frame 4 needs the reader to move; the policy would wait for ever, this waits 10 ms.
    /// let waited = p.external_gate_within(4, 5, Duration::from_millis(10));
    /// assert!(matches!(waited, Err(ClaimError::Timeout)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn external_gate_within(
        &mut self,
        first: u64,
        end: u64,
        wait: Duration,
    ) -> Result<u64, ClaimError> {
        self.external_gate_limited(first, end, WaitLimit::Within(wait))
    }

    /// Wakes the readers parked on the ring's data futex if one armed it: the last step of a
    /// commit by a writer in another runtime that saw the armed bit (docs/FORMAT.md, W5).
    /// Returns whether it woke them.
    pub fn external_notify(&mut self) -> bool {
        self.producer.core.notify_data()
    }

    /// Whether `claim` is this producer's open claim.
    fn is_open(&self, claim: &HeldClaim) -> bool {
        claim.token == self.token && self.open == Some((claim.first, claim.n))
    }

    /// The payload area of slot `i` of `claim` ([`slot_size`](Self::slot_size) bytes, writable
    /// until the claim is committed); `None` if `claim` is not this producer's open claim or `i`
    /// is out of it. Slots of a claim are not contiguous in general (a claim can wrap).
    pub fn payload_ptr(&self, claim: &HeldClaim, i: usize) -> Option<*mut u8> {
        if !self.is_open(claim) || i >= claim.n {
            return None;
        }
        let shared = &self.producer.core.mem;
        // SAFETY: the open claim owns slot `first + i` until its commit; only the pointer leaves
        // here, and the caller's writes through it are bounded by the same claim.
        Some(unsafe { payload_mut(shared, claim.first + i as u64) }.as_mut_ptr())
    }

    /// Publishes `claim`: slots `0 .. frames` as frames whose length and kind `meta(i)` gives,
    /// the rest (a writer that ran short) as empty frames readers pass over. Every length is
    /// checked against the slot size before anything is written; a refused commit gives the
    /// claim back untouched: another producer's claim, one already committed, `frames` beyond
    /// the claim, or a length over [`slot_size`](Self::slot_size).
    pub fn commit(
        &mut self,
        claim: HeldClaim,
        frames: usize,
        meta: impl Fn(usize) -> (usize, u16),
    ) -> Result<(), CommitHeldError> {
        let refuse = |claim, reason: String| Err(CommitHeldError { claim, reason });
        if !self.is_open(&claim) {
            return refuse(claim, "the claim is not this producer's open claim".into());
        }
        if frames > claim.n {
            let reason = format!("{frames} frames of a claim of {}", claim.n);
            return refuse(claim, reason);
        }
        let slot_size = self.slot_size();
        if let Some((i, len)) = (0..frames)
            .map(|i| (i, meta(i).0))
            .find(|&(_, len)| len > slot_size)
        {
            let reason = format!("frame {i}: length {len} exceeds the slot size {slot_size}");
            return refuse(claim, reason);
        }
        let ts = self.producer.timestamp();
        let shared = &self.producer.core.mem;
        let timestamps = shared.timestamps();
        for i in 0..claim.n {
            let seq = claim.first + i as u64;
            let (len, kind) = if i < frames {
                let (len, kind) = meta(i);
                (len as u32, u32::from(kind))
            } else {
                (0, kind_flags::SKIP)
            };
            write_meta(shared, seq, len, kind);
            if timestamps {
                write_timestamp_at(shared.desc_ptr(seq), ts);
            }
        }
        self.open = None;
        // False only if a repairer took this producer for dead (as in `WriteSlot::finish`).
        self.producer
            .core
            .commit(claim.first, claim.first + claim.n as u64);
        Ok(())
    }
}

impl Drop for HeldProducer {
    /// Publishes an open claim as empty frames marked to be skipped; the producer then detaches.
    fn drop(&mut self) {
        if let Some((first, n)) = self.open.take() {
            let shared = &self.producer.core.mem;
            for seq in first..first + n as u64 {
                write_meta(shared, seq, 0, kind_flags::SKIP);
                if shared.timestamps() {
                    write_timestamp_at(shared.desc_ptr(seq), 0);
                }
            }
            self.producer.core.commit(first, first + n as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{HeldClaim, HeldProducer};
    use crate::{ClaimError, FullPolicy, ProducerOptions, Ring, RingConfig};

    /// The default policy: wait for space, for ever.
    const BLOCK: FullPolicy = FullPolicy::Block { timeout: None };

    /// An in-process ring of `slots` 16-byte slots (the size `write` relies on).
    fn slots16(slots: u32, multi_producer: bool) -> Ring {
        Ring::anonymous(&RingConfig::new(slots, 16).multi_producer(multi_producer)).unwrap()
    }

    /// A token producer on `ring` with `policy`.
    fn held(ring: &Ring, policy: FullPolicy) -> HeldProducer {
        ring.producer(ProducerOptions::new(policy))
            .unwrap()
            .into_held()
    }

    fn write(p: &HeldProducer, claim: &HeldClaim, i: usize, bytes: &[u8]) {
        let slot = p.payload_ptr(claim, i).unwrap();
        // SAFETY: the open claim owns the slot; `bytes` fits the test rings' 16-byte slots.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), slot, bytes.len()) };
    }

    #[test]
    fn claims_commit_in_order_and_a_short_batch_skips_the_rest() {
        let ring = slots16(8, false);
        let mut consumer = ring.consumer().unwrap();
        let mut p = held(&ring, BLOCK);
        let claim = p.claim(3).unwrap();
        assert_eq!((claim.first_seq(), claim.len()), (0, 3));
        write(&p, &claim, 0, b"zero");
        write(&p, &claim, 1, b"one");
        p.commit(claim, 2, |i| ([4, 3][i], 7)).unwrap();
        let claim = p.claim(1).unwrap();
        assert_eq!(claim.first_seq(), 3);
        write(&p, &claim, 0, b"three");
        p.commit(claim, 1, |_| (5, 0)).unwrap();
        let mut got = Vec::new();
        while let Some(f) = consumer.poll().unwrap() {
            got.push((f.seq(), f.payload().to_vec(), f.kind()));
        }
        assert_eq!(
            got,
            [
                (0, b"zero".to_vec(), 7),
                (1, b"one".to_vec(), 7),
                (3, b"three".to_vec(), 0)
            ]
        );
    }

    #[test]
    fn misuse_is_refused_and_gives_the_claim_back() {
        let ring = slots16(4, false);
        let _consumer = ring.consumer().unwrap();
        let mut a = held(&ring, FullPolicy::Fail);
        assert!(matches!(a.claim(0), Err(ClaimError::InvalidArgument(_))));
        assert!(matches!(a.claim(5), Err(ClaimError::InvalidArgument(_))));
        let claim = a.claim(2).unwrap();
        assert!(matches!(a.claim(1), Err(ClaimError::InvalidArgument(_))));
        assert!(a.payload_ptr(&claim, 2).is_none());
        let e = a.commit(claim, 3, |_| (0, 0)).unwrap_err();
        let e = a.commit(e.claim, 1, |_| (17, 0)).unwrap_err();
        assert!(
            e.reason.contains("exceeds the slot size 16"),
            "{}",
            e.reason
        );
        // Still open: the refused commits changed nothing.
        assert!(a.has_open_claim());
        assert_eq!(a.published(), 0);
        a.commit(e.claim, 2, |_| (1, 0)).unwrap();
        assert_eq!(a.published(), 2);
        // Full under `fail` (the consumer read nothing), refused as `Producer::claim` is.
        a.claim(2)
            .map(|c| a.commit(c, 0, |_| (0, 0)).unwrap())
            .unwrap();
        assert!(matches!(a.claim(1), Err(ClaimError::Full)));
    }

    #[test]
    fn a_claim_from_another_producer_is_refused() {
        let ring = slots16(8, true);
        let mut a = held(&ring, BLOCK);
        let mut b = held(&ring, BLOCK);
        let from_a = a.claim(1).unwrap();
        let from_b = b.claim(1).unwrap();
        assert!(b.payload_ptr(&from_a, 0).is_none());
        let e = b.commit(from_a, 1, |_| (0, 0)).unwrap_err();
        a.commit(e.claim, 1, |_| (0, 0)).unwrap();
        b.commit(from_b, 1, |_| (0, 0)).unwrap();
        assert_eq!(a.published(), 2);
    }

    #[test]
    fn the_external_gate_waits_or_refuses_as_a_claim_does() {
        let ring = slots16(4, false);
        let _lagging = ring.consumer().unwrap();
        let mut p = held(&ring, FullPolicy::Fail);
        assert!(p.external_gate(0, 4).unwrap() >= 4);
        // Nothing was published: the lagging reader still holds frame 0, so 4 .. 5 is refused
        // as a fifth claim would be.
        assert!(matches!(p.external_gate(4, 5), Err(ClaimError::Full)));
        assert!(matches!(
            p.external_gate(0, 0),
            Err(ClaimError::InvalidArgument(_))
        ));
        assert!(matches!(
            p.external_gate(0, 5),
            Err(ClaimError::InvalidArgument(_))
        ));
        assert!(matches!(p.claim(1), Err(ClaimError::InvalidArgument(_))));
        assert!(!p.external_notify(), "no reader sleeps");
        let multi = slots16(4, true);
        let mut m = held(&multi, BLOCK);
        assert!(matches!(
            m.external_gate(0, 1),
            Err(ClaimError::InvalidArgument(_))
        ));
    }

    #[test]
    fn a_claim_within_a_wait_ends_with_timeout_and_leaves_the_policy() {
        let ring = slots16(4, false);
        let mut consumer = ring.consumer().unwrap();
        // Waits for ever under its policy; only `claim_within` bounds a wait.
        let mut p = held(&ring, BLOCK);
        let full = p.claim_within(4, Duration::from_millis(1)).unwrap();
        p.commit(full, 4, |_| (0, 0)).unwrap();
        assert!(matches!(
            p.claim_within(1, Duration::from_millis(20)),
            Err(ClaimError::Timeout)
        ));
        assert!(!p.has_open_claim(), "a timed-out claim claims nothing");
        assert!(consumer.poll().unwrap().is_some());
        let c = p.claim_within(1, Duration::from_millis(20)).unwrap();
        assert_eq!(c.first_seq(), 4);
        p.commit(c, 1, |_| (0, 0)).unwrap();
        assert_eq!(
            p.producer.core.policy,
            FullPolicy::Block { timeout: None },
            "the policy is the producer's again"
        );
        // `fail` never waits, within a wait or not.
        drop(p);
        let ring = slots16(4, false);
        let _lagging = ring.consumer().unwrap();
        let mut f = held(&ring, FullPolicy::Fail);
        let c = f.claim(4).unwrap();
        f.commit(c, 4, |_| (0, 0)).unwrap();
        assert!(matches!(
            f.claim_within(1, Duration::from_secs(60)),
            Err(ClaimError::Full)
        ));
        // A multi-producer claim (compare-and-swap, a claim record) is bounded the same way.
        let ring = slots16(4, true);
        let _lagging = ring.consumer().unwrap();
        let mut m = held(&ring, BLOCK);
        let c = m.claim(4).unwrap();
        m.commit(c, 4, |_| (0, 0)).unwrap();
        assert!(matches!(
            m.claim_within(1, Duration::from_millis(20)),
            Err(ClaimError::Timeout)
        ));
        assert!(!m.has_open_claim(), "a timed-out claim claims nothing");
    }

    #[test]
    fn dropping_with_a_claim_open_publishes_skip_frames_and_closes() {
        let ring = slots16(8, false);
        let mut consumer = ring.consumer().unwrap();
        let mut p = held(&ring, BLOCK);
        let c = p.claim(1).unwrap();
        write(&p, &c, 0, b"x");
        p.commit(c, 1, |_| (1, 0)).unwrap();
        let _open = p.claim(3).unwrap();
        drop(p);
        assert_eq!(consumer.poll().unwrap().unwrap().payload(), b"x");
        // The three open slots were passed over, and the ring closed.
        assert!(consumer.poll().unwrap().is_none());
        assert!(matches!(
            consumer.recv(Some(std::time::Duration::from_millis(10))),
            Err(crate::RecvError::Closed)
        ));
    }
}
