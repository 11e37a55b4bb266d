//! Producers attached through the C ABI (`rf_producer_*`), in a table of generation-checked
//! handles (`handles.rs`) of their own: a stale, made-up or consumer handle is
//! [`EngineError::UnknownHandle`], never a producer.
//!
//! Each entry owns a [`HeldProducer`]: its claims are tokens, kept in the entry between
//! `rf_producer_claim` and `rf_producer_commit`. The entry's lock is taken with `try_lock`: a
//! producer is used by one thread at a time, and a second thread that calls in while the first
//! is inside a call (a claim waiting for space, say) is told so (`RF_BUSY`) instead of waiting
//! behind it.
//!
//! ### Ending a blocked claim
//! A claim waiting for space holds the entry's lock and an `Arc` of the entry, so closing the
//! producer (which takes the entry out of the table) or its ring handle cannot free what the
//! claim uses: it only sets a flag the claim looks at. A claim, and the Kotlin direct writer's
//! gate, wait in slices of at most [`WATCH_SLICE`] ([`HeldProducer::claim_within`],
//! [`HeldProducer::external_gate_within`]) and look at [`ProducerSlot::stopped`] between them
//! ([`ProducerSlot::stoppable`], which the C ABI's `rf_producer_claim` and the JVM's
//! `Native.producerClaim` and `Native.producerGate` share), so they return within a slice of
//! the close; the entry (and with it the producer, which then detaches) is dropped when the call
//! lets go of its `Arc`. A claim that finds space after the producer was closed (within the
//! slice) looks at [`ProducerSlot::closed`] once more and gives it up (`RF_CLOSED`,
//! `RingClosedException`): the detach publishes it as frames readers pass over, so its slots are
//! never handed out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use std::time::{Duration, Instant};

use ringflow::{ClaimError, FullPolicy, HeldClaim, HeldProducer, ProducerOptions};
use ringflow_engine::registry::Handle;
use ringflow_engine::EngineError;

use crate::capi::{RF_POLICY_BLOCK, RF_POLICY_FAIL, RF_POLICY_OVERWRITE};
use crate::handles::{HandleTable, TableKind};
use crate::rings::{self, Interrupted, RingGate, WATCH_SLICE};

/// One attached producer.
pub(crate) struct ProducerEntry {
    pub(crate) producer: HeldProducer,
    /// The claim handed out by `rf_producer_claim` or `rf_producer_claim_batch` and not yet
    /// committed.
    pub(crate) claim: Option<HeldClaim>,
    /// The policy it was attached with (a blocked claim's timeout is its `Block` timeout).
    pub(crate) policy: FullPolicy,
}

/// A table entry: the producer behind its lock, and what a blocked claim watches, outside it.
pub(crate) struct ProducerSlot {
    /// The gate of the ring handle it was attached through: `rf_ring_close` of that handle
    /// ends a claim blocked on this producer.
    gate: Arc<RingGate>,
    /// Set by [`close`]: a claim blocked on another thread ends.
    closed: AtomicBool,
    entry: Mutex<ProducerEntry>,
}

impl ProducerSlot {
    /// Why a claim waiting for space must return, if it must: the producer was closed, or the
    /// ring handle it was attached through was (at any time; a wake of the handle does not
    /// concern producers).
    pub(crate) fn stopped(&self) -> Option<Stopped> {
        if self.closed() {
            return Some(Stopped::ProducerClosed);
        }
        match self.gate.watch().interrupted() {
            Some(Interrupted::Closed) => Some(Stopped::RingClosed),
            Some(Interrupted::Woken) | None => None,
        }
    }
}

impl ProducerSlot {
    /// Whether [`close`] took the producer out of the table: the entry, and with it the
    /// producer, goes when the call in progress lets go of it.
    pub(crate) fn closed(&self) -> bool {
        // Acquire: pairs with the Release store in `close`.
        self.closed.load(Ordering::Acquire)
    }

    /// Runs `attempt` (a claim or a gate of `e`'s producer) so that a close on another thread
    /// ends it (see the module docs). `attempt` gets `Some(slice)`: wait at most that long, then
    /// [`ClaimError::Timeout`]; or `None`: as the policy says (`fail` and `overwrite`, which
    /// never wait). A `block` producer's attempts are repeated slice by slice, with a look at
    /// [`stopped`](Self::stopped) after each that timed out; the policy's timeout is the sum of
    /// the slices. An attempt that succeeds after the producer was closed is given up
    /// ([`Stopped::ProducerClosed`]): the caller must not hand out what it got. An attempt with
    /// space returns from the first slice, without a look at the ring handle.
    pub(crate) fn stoppable<T>(
        &self,
        e: &mut ProducerEntry,
        mut attempt: impl FnMut(&mut HeldProducer, Option<Duration>) -> Result<T, ClaimError>,
    ) -> Result<T, Ended> {
        let got = match e.policy {
            FullPolicy::Block { timeout } => {
                let first = timeout.map_or(WATCH_SLICE, |t| t.min(WATCH_SLICE));
                let mut this = first;
                // Fixed when the first slice ran out (a claim with space returns from it, so
                // the fast path reads no clock): what was left of the timeout then. Each later
                // slice waits at most what is left of it, so the slices' own overhead does not
                // add up (adding up nominal slices ran a 5 s timeout to 5.02 s). A timeout past
                // what `Instant` holds waits for ever, as none does.
                let mut deadline: Option<Option<Instant>> = None;
                loop {
                    match attempt(&mut e.producer, Some(this)) {
                        Err(ClaimError::Timeout) => {}
                        got => break got,
                    }
                    if let Some(why) = self.stopped() {
                        return Err(Ended::Stopped(why));
                    }
                    let now = Instant::now();
                    let end = *deadline.get_or_insert_with(|| {
                        timeout.and_then(|t| now.checked_add(t.saturating_sub(first)))
                    });
                    match end {
                        Some(end) if now >= end => break Err(ClaimError::Timeout),
                        Some(end) => this = (end - now).min(WATCH_SLICE),
                        None => this = WATCH_SLICE,
                    }
                }
            }
            FullPolicy::Fail | FullPolicy::Overwrite => attempt(&mut e.producer, None),
        };
        let got = got.map_err(Ended::Refused)?;
        if self.closed() {
            // Closed while this call ran (space came after the close, within the wait's
            // slice): the producer detaches as soon as this call lets go of the entry (a claim
            // left open in it is published as frames readers pass over) and may take the
            // mapping with it. Handing out its slots, or a gate over them, would let the caller
            // write into published frames or unmapped memory.
            return Err(Ended::Stopped(Stopped::ProducerClosed));
        }
        Ok(got)
    }
}

/// Why [`ProducerSlot::stoppable`] got nothing.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The ring refused, as a claim does: full, timed out, replaced, a bad argument.
    Refused(ClaimError),
    /// A close on another thread ended it.
    Stopped(Stopped),
}

/// What ended a blocked claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// `rf_producer_close` on the producer's handle.
    ProducerClosed,
    /// `rf_ring_close` on the ring handle it was attached through.
    RingClosed,
}

/// Every attached producer, by handle.
static PRODUCERS: HandleTable<ProducerSlot> = HandleTable::new(TableKind::Producers);

/// The [`FullPolicy`] a policy code and a block timeout (negative: none) encode; an unknown code
/// is refused, naming it. The codes are the C header's (`RF_POLICY_*`), equal to the producer
/// block's `policy` codes (`layout::full_policy`, `Layout.FULL_POLICY_*` in Kotlin, which
/// `ProducerPolicy` passes; a unit test below holds them equal).
pub(crate) fn policy_of(code: i32, timeout_ms: i64) -> Result<FullPolicy, EngineError> {
    match code {
        RF_POLICY_BLOCK => Ok(FullPolicy::Block {
            timeout: u64::try_from(timeout_ms).ok().map(Duration::from_millis),
        }),
        RF_POLICY_FAIL => Ok(FullPolicy::Fail),
        RF_POLICY_OVERWRITE => Ok(FullPolicy::Overwrite),
        other => Err(EngineError::InvalidArgument(format!(
            "policy {other}: must be 0 (block), 1 (fail) or 2 (overwrite)"
        ))),
    }
}

/// Attaches a producer to a ring handle's ring; returns the producer's handle. The producer
/// keeps the mapping alive: closing the ring handle does not detach it.
pub(crate) fn attach(ring: Handle, options: ProducerOptions) -> Result<u64, EngineError> {
    let (r, gate) = rings::get(ring)?;
    let policy = options.policy;
    let producer = r.producer(options)?.into_held();
    PRODUCERS.insert(ProducerSlot {
        gate,
        closed: AtomicBool::new(false),
        entry: Mutex::new(ProducerEntry {
            producer,
            claim: None,
            policy,
        }),
    })
}

/// The entry of a live producer handle.
pub(crate) fn get(handle: u64) -> Result<Arc<ProducerSlot>, EngineError> {
    PRODUCERS.get(handle)
}

/// Locks an entry unless another thread is inside a call on it (`None` then). A poisoned entry
/// is taken as it is: every call leaves the entry consistent before it can panic.
pub(crate) fn try_lock(slot: &ProducerSlot) -> Option<MutexGuard<'_, ProducerEntry>> {
    match slot.entry.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// Detaches a producer: its handle is stale from now on. An open claim is published as frames
/// readers pass over, and the last producer to detach closes the ring, once no call is using
/// the entry any more (a call in progress on another thread finishes first; a claim waiting for
/// space ends within a slice, see the module docs).
pub(crate) fn close(handle: u64) -> Result<(), EngineError> {
    let slot = PRODUCERS.remove(handle)?;
    // Release: pairs with the Acquire load in `ProducerSlot::stopped`.
    slot.closed.store(true, Ordering::Release);
    // Dropping the producer (with the last `Arc` of the entry) publishes its open claim.
    drop(slot);
    Ok(())
}

/// Producers attached and not yet closed (for leak tests).
#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
pub(crate) fn live() -> usize {
    PRODUCERS.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringflow::layout::full_policy;

    #[test]
    fn policy_codes_are_the_layouts_and_unknown_ones_are_refused() {
        for (code, layout) in [
            (RF_POLICY_BLOCK, full_policy::BLOCK),
            (RF_POLICY_FAIL, full_policy::FAIL),
            (RF_POLICY_OVERWRITE, full_policy::OVERWRITE),
        ] {
            assert_eq!(code as u32, layout);
        }
        assert_eq!(
            policy_of(RF_POLICY_BLOCK, 250).unwrap(),
            FullPolicy::Block {
                timeout: Some(Duration::from_millis(250))
            }
        );
        assert_eq!(
            policy_of(RF_POLICY_BLOCK, -1).unwrap(),
            FullPolicy::Block { timeout: None }
        );
        assert_eq!(policy_of(RF_POLICY_FAIL, 9).unwrap(), FullPolicy::Fail);
        let e = policy_of(3, 0).unwrap_err().to_string();
        assert!(e.contains("policy 3"), "{e}");
    }
}
