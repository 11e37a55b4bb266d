//! Gating: how far producers may run ahead of the lossless consumers, and how a consumer joins a
//! running ring without a producer overwriting the frames it is about to read.
//!
//! A producer may write frame `s` only once every *lossless* consumer has released frame
//! `s - capacity` (the frame that shared its slot). Scanning every consumer block on each claim
//! would cost a cache miss per consumer per frame, so a producer keeps the result of its last
//! scan, a *gate* (Disruptor's gating-sequence cache): frames below the gate need no scan.
//!
//! ## Joining (the registration handshake)
//!
//! A scan that misses a consumer which is just registering computes a gate that ignores it. The
//! scan therefore first publishes the claim position it scans from in `cursor.scan`, and a
//! registering consumer, after marking itself `ACTIVE`, reads `cursor.scan` and starts no earlier:
//!
//! ```text
//!   producer (scan from c)                 consumer (register)
//!   scan = max(scan, c)                    read = published; state = ACTIVE   Release
//!   fence(SeqCst) -------- orders -------- fence(SeqCst)
//!   for each block: state, read   Acquire  start = max(read, scan)
//!   gate = min(read of ACTIVE lossless, c) + capacity
//! ```
//!
//! Either the scan sees the consumer (and its `read` gates the producer), or the consumer sees the
//! scan's `c` and starts at or after it; a gate from a scan that missed the consumer is at most
//! `c + capacity`, which overwrites only frames below `c`. Every later scan sees the consumer.
//! The loom model `registration_handshake` checks it.

use crate::layout::{consumer_state, delivery};
use crate::mem::{Attachment, RingMem};
use crate::sync::{fence, Ordering};

/// Scans the consumer blocks from claim position `from` and returns the new gate: the first
/// sequence a producer may not write.
pub(crate) fn scan<M: RingMem>(mem: &M, from: u64) -> u64 {
    let cursor = &mem.producer().cursor;
    // Relaxed: ordered before the loads below by the SeqCst fence, which pairs with the fence in
    // `register`.
    cursor.scan.fetch_max(from, Ordering::Relaxed);
    fence(Ordering::SeqCst);
    let mut min = from;
    for index in 0..mem.max_consumers() {
        let block = mem.consumer(index);
        // Acquire: pairs with the Release store of ACTIVE in `register`, so `policy` and `read`
        // written before it are seen.
        if block.state.load(Ordering::Acquire) == consumer_state::ACTIVE
            && block.policy.load(Ordering::Relaxed) == delivery::LOSSLESS
        {
            // Acquire: pairs with the Release store of `read` in `Consumer::release`: the
            // consumer's reads of every frame below `read` happen before we overwrite its slot.
            min = min.min(block.read.load(Ordering::Acquire));
        }
    }
    min + mem.capacity()
}

/// Evicts every active lossless consumer that holds the producer back below `needed` and is dead:
/// its process is gone, or (with `stale_after_ns`) its heartbeat is older than that. Returns how
/// many it evicted.
pub(crate) fn evict_dead<M: RingMem>(mem: &M, needed: u64, stale_after_ns: Option<u64>) -> usize {
    let capacity = mem.capacity();
    let mut evicted = 0;
    for index in 0..mem.max_consumers() {
        let block = mem.consumer(index);
        // Acquire: as in `scan`.
        if block.state.load(Ordering::Acquire) != consumer_state::ACTIVE
            || block.policy.load(Ordering::Relaxed) != delivery::LOSSLESS
            || block.read.load(Ordering::Acquire) + capacity >= needed
        {
            continue;
        }
        // Relaxed: the pid and heartbeat are liveness hints; a stale heartbeat only delays the
        // eviction by one liveness slice.
        let dead = !mem.alive(
            Attachment::Consumer(index),
            block.pid.load(Ordering::Relaxed),
        ) || stale_after_ns.is_some_and(|limit| {
            mem.now_ns()
                .saturating_sub(block.heartbeat_ns.load(Ordering::Relaxed))
                > limit
        });
        // Relaxed on success: the consumer learns of the eviction by loading `state`, and the
        // producer only stops reading its cursor, which needs no ordering.
        if dead
            && block
                .state
                .compare_exchange(
                    consumer_state::ACTIVE,
                    consumer_state::EVICTED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            evicted += 1;
        }
    }
    evicted
}

/// A consumer block taken by [`register`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Registration {
    pub index: usize,
    pub start: u64,
    pub generation: u32,
}

/// Takes a free consumer block (or one whose process died), and returns it with the sequence the
/// consumer starts reading at. `None` if every block belongs to a live consumer.
pub(crate) fn register<M: RingMem>(mem: &M, policy: u32, pid: u32) -> Option<Registration> {
    mem.registering(|| register_locked(mem, policy, pid))
}

/// [`register`], with this mapping's other registrations held off (`RingMem::registering`).
fn register_locked<M: RingMem>(mem: &M, policy: u32, pid: u32) -> Option<Registration> {
    let cursor = &mem.producer().cursor;
    for index in 0..mem.max_consumers() {
        let block = mem.consumer(index);
        let who = Attachment::Consumer(index);
        // Relaxed: a hint of which blocks to try; the lock and the CAS below decide.
        let state = block.state.load(Ordering::Relaxed);
        // With exact liveness (a file-backed ring's locks) a block whose owner holds no lock is
        // free to take whatever its state, a half-done registration (CLAIMING) included: its
        // registrant died. With pid liveness a CLAIMING block is never taken over (its pid field
        // may not be written yet), and a registrant that died in that window leaks the block.
        let dead_owner = || !mem.alive(who, block.pid.load(Ordering::Relaxed));
        let takeable = state == consumer_state::FREE
            || ((state == consumer_state::ACTIVE || state == consumer_state::EVICTED)
                && dead_owner())
            || (state == consumer_state::CLAIMING && mem.exact_liveness() && dead_owner());
        // The lock first: it fails if a live participant (of another process) holds the block,
        // and while we hold it nobody else takes the block.
        if !takeable || !mem.take_lock(who) {
            continue;
        }
        // Acquire: pairs with the Release store of FREE in `unregister`, so the previous owner's
        // last writes to the block are done before ours.
        if block
            .state
            .compare_exchange(
                state,
                consumer_state::CLAIMING,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_err()
        {
            mem.release_lock(who);
            continue;
        }
        // Relaxed stores: published by the Release store of ACTIVE below.
        block.pid.store(pid, Ordering::Relaxed);
        block.policy.store(policy, Ordering::Relaxed);
        block.heartbeat_ns.store(mem.now_ns(), Ordering::Relaxed);
        for counter in [&block.delivered, &block.lost, &block.lapped, &block.torn] {
            counter.store(0, Ordering::Relaxed);
        }
        let generation = block
            .generation
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        // Acquire: pairs with the Release store of `published` by the producer's commit; we start
        // after frames that are already there.
        let published = cursor.published.load(Ordering::Acquire);
        block.read.store(published, Ordering::Relaxed);
        // Release: pairs with the Acquire load of `state` in `scan`.
        block.state.store(consumer_state::ACTIVE, Ordering::Release);
        // SeqCst: pairs with the fence in `scan` (see the module docs).
        fence(Ordering::SeqCst);
        // Relaxed: ordered by the fence above.
        let scanned = cursor.scan.load(Ordering::Relaxed);
        let start = published.max(scanned);
        if start != published {
            // Release: pairs with the Acquire load of `read` in `scan`.
            block.read.store(start, Ordering::Release);
        }
        return Some(Registration {
            index,
            start,
            generation,
        });
    }
    None
}

/// Gives a consumer block back, and its liveness lock.
pub(crate) fn unregister<M: RingMem>(mem: &M, index: usize, generation: u32) {
    unregister_block(mem, index, generation);
    mem.release_lock(Attachment::Consumer(index));
}

fn unregister_block<M: RingMem>(mem: &M, index: usize, generation: u32) {
    let block = mem.consumer(index);
    // Only our own registration: after an eviction the block may belong to someone else.
    // Relaxed: only this consumer's own registration bumps it while it is alive.
    if block.generation.load(Ordering::Relaxed) == generation {
        // Release: pairs with the Acquire CAS in `register`. Failing means we were evicted.
        let _ = block.state.compare_exchange(
            consumer_state::ACTIVE,
            consumer_state::FREE,
            Ordering::Release,
            Ordering::Relaxed,
        );
        let _ = block.state.compare_exchange(
            consumer_state::EVICTED,
            consumer_state::FREE,
            Ordering::Release,
            Ordering::Relaxed,
        );
    }
}
