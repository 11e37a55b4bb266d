//! Producers attached through the C ABI (`rf_producer_*`), in a table of generation-checked
//! handles (`handles.rs`) of their own: a stale, made-up or consumer handle is
//! [`EngineError::UnknownHandle`], never a producer.
//!
//! Each entry owns a [`HeldProducer`]: its claims are tokens, kept in the entry between
//! `rf_producer_claim` and `rf_producer_commit`. The entry's lock is taken with `try_lock`: a
//! producer is used by one thread at a time, and a second thread that calls in while the first
//! is inside a call (a claim waiting for space, say) is told so (`RF_BUSY`) instead of waiting
//! behind it.

use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use std::time::Duration;

use ringflow::{FullPolicy, HeldClaim, HeldProducer, ProducerOptions};
use ringflow_engine::registry::Handle;
use ringflow_engine::EngineError;

use crate::capi::{RF_POLICY_BLOCK, RF_POLICY_FAIL, RF_POLICY_OVERWRITE};
use crate::handles::{HandleTable, TableKind};
use crate::rings;

/// One attached producer.
pub(crate) struct ProducerEntry {
    pub(crate) producer: HeldProducer,
    /// The claim handed out by `rf_producer_claim` or `rf_producer_claim_batch` and not yet
    /// committed.
    pub(crate) claim: Option<HeldClaim>,
}

/// Every attached producer, by handle.
static PRODUCERS: HandleTable<Mutex<ProducerEntry>> = HandleTable::new(TableKind::Producers);

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
    let (r, _gate) = rings::get(ring)?;
    let producer = r.producer(options)?.into_held();
    PRODUCERS.insert(Mutex::new(ProducerEntry {
        producer,
        claim: None,
    }))
}

/// The entry of a live producer handle.
pub(crate) fn get(handle: u64) -> Result<Arc<Mutex<ProducerEntry>>, EngineError> {
    PRODUCERS.get(handle)
}

/// Locks an entry unless another thread is inside a call on it (`None` then). A poisoned entry
/// is taken as it is: every call leaves the entry consistent before it can panic.
pub(crate) fn try_lock(entry: &Mutex<ProducerEntry>) -> Option<MutexGuard<'_, ProducerEntry>> {
    match entry.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// Detaches a producer: its handle is stale from now on. An open claim is published as frames
/// readers pass over, and the last producer to detach closes the ring, once no call is using
/// the entry any more (a call in progress on another thread finishes first).
pub(crate) fn close(handle: u64) -> Result<(), EngineError> {
    // Dropping the producer (with the last `Arc` of the entry) publishes its open claim.
    PRODUCERS.remove(handle).map(drop)
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
