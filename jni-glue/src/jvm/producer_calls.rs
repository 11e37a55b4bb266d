//! Producer calls: a Kotlin `RingProducer` attaches, claims and commits through the producer
//! table the C ABI shares (`producers.rs`), and writes each frame's payload itself, in place in
//! the region's direct buffer. So Rust keeps the whole writer side of the protocol (the producer
//! table, the liveness lock, the gate and its wait for space, stamps, `published`, the wake of a
//! sleeping reader) and Kotlin makes one call to claim and one to commit per claim: per batch
//! with `claimBatch` (docs/KOTLIN.md, "Writing", says why not fewer).
//!
//! A producer handle is opaque to Kotlin; a stale or made-up one throws `StaleHandleException`
//! ("unknown or stale handle"), never reaching another producer.
//!
//! A claim or gate call waiting for space (policy `block`) is ended by `Native.producerClose` on
//! the producer or `Native.close` on the ring handle it was attached through, from another
//! thread, within [`WATCH_SLICE`](crate::rings::WATCH_SLICE): it throws `RingClosedException`
//! with nothing claimed, and the entry it holds keeps the native producer alive until it
//! returns (`producers.rs`, "Ending a blocked claim").

use jni::objects::{JByteBuffer, JClass};
use jni::sys::{jint, jlong};
use jni::{jni_mangle, EnvUnowned};
use ringflow::{HeldClaim, ProducerOptions};
use ringflow_engine::error::ErrorKind;
use ringflow_engine::registry::Handle;
use ringflow_engine::EngineError;

use super::run::{run, run_thrown, Thrown};
use crate::producers::{self, Ended, ProducerEntry, ProducerSlot, Stopped};

/// `Native.producerAttach(ring, policy, timeoutMs): Long`: attaches a producer with the policy
/// `policy` (`Layout.POLICY_*`; `timeoutMs` for block, negative: none); returns its handle.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn producer_attach<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    ring: jlong,
    policy: jint,
    timeout_ms: jlong,
) -> jlong {
    run(&mut env, |_| {
        let policy = producers::policy_of(policy, timeout_ms)?;
        Ok(producers::attach(Handle(ring as u64), ProducerOptions::new(policy))? as jlong)
    })
}

/// Runs `f` on a live producer; refuses a call made while another thread is inside one.
fn with_producer<T>(
    handle: jlong,
    f: impl FnOnce(&mut ProducerEntry) -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    with_slot(handle, |_, e| f(e))
}

/// [`with_producer`], with the table entry (for a wait that a close ends).
fn with_slot<T, E: From<EngineError>>(
    handle: jlong,
    f: impl FnOnce(&ProducerSlot, &mut ProducerEntry) -> Result<T, E>,
) -> Result<T, E> {
    let slot = producers::get(handle as u64)?;
    let Some(mut entry) = producers::try_lock(&slot) else {
        return Err(EngineError::InvalidArgument(format!(
            "producer {handle} is in use by another thread: a producer is used by one thread at a time"
        ))
        .into());
    };
    f(&slot, &mut entry)
}

impl From<Ended> for Thrown {
    fn from(e: Ended) -> Self {
        match e {
            Ended::Refused(e) => EngineError::from(e).into(),
            Ended::Stopped(why) => {
                let by = match why {
                    Stopped::ProducerClosed => "the producer was closed (RingProducer.close)",
                    Stopped::RingClosed => "the ring was closed (Ring.close)",
                };
                Thrown::new(
                    ErrorKind::Closed,
                    format!("{by} while the claim waited for space: nothing was claimed"),
                )
            }
        }
    }
}

/// `Native.producerClaim(producer, n): Long`: claims `n` consecutive slots under the producer's
/// policy and returns the first one's sequence; the Kotlin side writes their payloads in place.
/// Throws `RingFullException`, `RingTimeoutException`, `RingReplacedException`, and
/// `BadArgumentException` for an `n` out of range or a claim still open; `RingClosedException`
/// when a close on another thread ends its wait (see the module docs).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn producer_claim<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    producer: jlong,
    n: jint,
) -> jlong {
    run_thrown(&mut env, |_| {
        with_slot(producer, |slot, e| {
            if e.claim.is_some() {
                return Err(EngineError::InvalidArgument(
                    "a claim is still open: commit it first".into(),
                )
                .into());
            }
            let n = usize::try_from(n)
                .map_err(|_| EngineError::InvalidArgument(format!("a claim of {n} frames")))?;
            let claim = slot.stoppable(e, |p, wait| match wait {
                Some(wait) => p.claim_within(n, wait),
                None => p.claim(n),
            })?;
            let first = claim.first_seq();
            e.claim = Some(claim);
            Ok(first as jlong)
        })
    })
}

/// Commits the open claim, `frames` frames of it with `meta(i)` as length and kind.
fn commit(
    producer: jlong,
    frames: usize,
    meta: impl Fn(usize) -> (usize, u16),
) -> Result<(), EngineError> {
    with_producer(producer, |e| {
        let Some(claim): Option<HeldClaim> = e.claim.take() else {
            return Err(EngineError::InvalidArgument(
                "no claim is open: claim first".into(),
            ));
        };
        e.producer.commit(claim, frames, meta).map_err(|refused| {
            let message = format!("{refused} (the claim is still open)");
            e.claim = Some(refused.claim);
            EngineError::InvalidArgument(message)
        })
    })
}

/// `Native.producerCommitOne(producer, length, kind)`: publishes the open claim of one slot as a
/// frame of `length` bytes and user kind `kind` (its low 16 bits).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn producer_commit_one<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    producer: jlong,
    length: jint,
    kind: jint,
) {
    run(&mut env, |_| {
        let len = usize::try_from(length)
            .map_err(|_| EngineError::InvalidArgument(format!("frame length {length}")))?;
        commit(producer, 1, |_| (len, kind as u16))
    })
}

/// `Native.producerCommit(producer, frames, meta)`: publishes the open claim: slots
/// `0 .. frames` as frames whose length and kind are the `int`s at `8i` and `8i + 4` of `meta`
/// (a direct buffer in native order, the Kotlin batch's), the rest as frames readers pass over.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn producer_commit<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    producer: jlong,
    frames: jint,
    meta: JByteBuffer<'l>,
) {
    run(&mut env, |env| {
        let frames = usize::try_from(frames)
            .map_err(|_| EngineError::InvalidArgument(format!("{frames} frames")))?;
        let bad = |e: jni::errors::Error| EngineError::InvalidArgument(format!("meta: {e}"));
        let at = env.get_direct_buffer_address(&meta).map_err(bad)?;
        let capacity = env.get_direct_buffer_capacity(&meta).map_err(bad)?;
        if frames.saturating_mul(8) > capacity || at.align_offset(4) != 0 {
            return Err(EngineError::InvalidArgument(format!(
                "meta holds {capacity} bytes: too few for {frames} frames, or misaligned"
            )));
        }
        let words = at.cast::<i32>();
        commit(producer, frames, |i| {
            // SAFETY: `i < frames` (the commit asks for those only), and the buffer holds
            // `8 * frames` bytes from its 4-byte aligned address (checked above); the Kotlin
            // batch does not write it during this call (its thread is in this call).
            let (len, kind) = unsafe { (words.add(2 * i).read(), words.add(2 * i + 1).read()) };
            // A negative length becomes one over any slot size: refused by the commit.
            (usize::try_from(len).unwrap_or(usize::MAX), kind as u16)
        })
    })
}

/// `Native.producerGate(producer, first, end): Long`: for a Kotlin writer that keeps the
/// single-producer writer steps itself (docs/FORMAT.md, "Writer obligations"): waits until
/// frames `first .. end` fit as a claim would (or throws as a claim would), and returns the gate,
/// below which frames fit without asking again. Called once per gate used up, not per frame.
/// `RingClosedException` when a close on another thread ends its wait, as for a claim.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn producer_gate<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    producer: jlong,
    first: jlong,
    end: jlong,
) -> jlong {
    let (first, end) = (first as u64, end as u64);
    run_thrown(&mut env, |_| {
        with_slot(producer, |slot, e| {
            let gate = slot.stoppable(e, |p, wait| match wait {
                Some(wait) => p.external_gate_within(first, end, wait),
                None => p.external_gate(first, end),
            })?;
            // The gate can be "no reader": beyond any sequence a Kotlin Long holds.
            Ok(gate.min(i64::MAX as u64) as jlong)
        })
    })
}

/// `Native.producerNotify(producer)`: wakes the readers parked on the data futex if one armed it
/// (W5: called by the Kotlin writer only when it saw the armed bit after a commit).
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn producer_notify<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, producer: jlong) {
    run(&mut env, |_| {
        with_producer(producer, |e| {
            e.producer.external_notify();
            Ok(())
        })
    })
}

/// `Native.producerClose(producer)`: detaches the producer (an open claim is published as
/// frames readers pass over; the last producer closes the ring); the handle is stale from now on.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn producer_close<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, producer: jlong) {
    run(&mut env, |_| producers::close(producer as u64))
}
