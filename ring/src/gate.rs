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

use crate::layout::{consumer_name, consumer_state, delivery, ConsumerLine};
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
/// its process is gone, or (with `stale_after_ns`) its heartbeat is older than that. A named
/// block whose owner is gone (ownerless) is evicted only once it has held a producer back for
/// its `grace_ns`, counted from the first call that found it ownerless. Returns how many it
/// evicted, and adds them to `cursor.evicted`.
pub(crate) fn evict_dead<M: RingMem>(mem: &M, needed: u64, stale_after_ns: Option<u64>) -> usize {
    let capacity = mem.capacity();
    let mut evicted = 0;
    for index in 0..mem.max_consumers() {
        let block = mem.consumer(index);
        let who = Attachment::Consumer(index);
        // Acquire: as in `scan`.
        if block.state.load(Ordering::Acquire) != consumer_state::ACTIVE
            || block.policy.load(Ordering::Relaxed) != delivery::LOSSLESS
            || block.read.load(Ordering::Acquire).saturating_add(capacity) >= needed
        {
            continue;
        }
        // Relaxed: as below.
        if is_named(block) && !mem.alive(who, block.pid.load(Ordering::Relaxed)) {
            if evict_ownerless(mem, index) {
                evicted += 1;
            }
            continue;
        }
        // Relaxed: the pid and heartbeat are liveness hints; a stale heartbeat only delays the
        // eviction by one liveness slice.
        let dead = !mem.alive(who, block.pid.load(Ordering::Relaxed))
            || stale_after_ns.is_some_and(|limit| {
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
    if evicted > 0 {
        // Relaxed: a statistic.
        mem.producer()
            .cursor
            .evicted
            .fetch_add(evicted as u64, Ordering::Relaxed);
    }
    evicted
}

/// Whether block `block` has a name (its first name byte is not zero; names are never empty).
pub(crate) fn is_named(block: &ConsumerLine) -> bool {
    // Relaxed: the name is written before the Release store of ACTIVE that the caller's
    // Acquire load of `state` saw, and changes only under the naming lock.
    block.name[0].load(Ordering::Relaxed) != 0
}

/// The name words of `block`.
pub(crate) fn load_name(block: &ConsumerLine) -> [u64; consumer_name::WORDS] {
    // Relaxed: as in `is_named`.
    std::array::from_fn(|i| block.name[i].load(Ordering::Relaxed))
}

/// A producer held back by the named block `index`: evicts it if it is ownerless and has been
/// for its grace. Returns whether it evicted it.
///
/// Under this mapping's registration lock and the block's own liveness lock, which a taker
/// (`register_named`) holds from before it looks at the block until it lets it go: either the
/// taker owns the block first (our `take_lock` fails, or `alive` sees it) and we leave it, or
/// we evict it first and the taker finds it `EVICTED`. A taker never resumes a block that is
/// evicted under it.
fn evict_ownerless<M: RingMem>(mem: &M, index: usize) -> bool {
    let block = mem.consumer(index);
    let who = Attachment::Consumer(index);
    mem.registering(|| {
        // Relaxed: as in `evict_dead`; the lock decides.
        if mem.alive(who, block.pid.load(Ordering::Relaxed)) || !mem.take_lock(who) {
            return false;
        }
        let now = mem.now_ns().max(1);
        // Relaxed: the grace clock is written and read only by producers holding this block's
        // lock, and cleared by its next owner before it lets the lock go.
        let since = match block.ownerless_since_ns.load(Ordering::Relaxed) {
            0 => {
                block.ownerless_since_ns.store(now, Ordering::Relaxed);
                now
            }
            t => t,
        };
        let grace = block.grace_ns.load(Ordering::Relaxed);
        // Relaxed on success: as in `evict_dead`.
        let evicted = now.saturating_sub(since) >= grace
            && block
                .state
                .compare_exchange(
                    consumer_state::ACTIVE,
                    consumer_state::EVICTED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok();
        mem.release_lock(who);
        evicted
    })
}

/// A consumer block taken by [`register`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Registration {
    pub index: usize,
    /// The start the registration handshake protects.
    pub start: u64,
    pub generation: u32,
    /// A named block taken again: where its last owner left `read`.
    pub resume: Option<Resume>,
}

/// What a taker of a named block that existed already finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resume {
    /// The block's `read`: every frame below it was released by an earlier owner.
    pub read: u64,
    /// Whether a producer had evicted the block (ownerless past its grace): frames from `read`
    /// on may be gone.
    pub evicted: bool,
}

/// A name to register under ([`register_named`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Naming {
    /// The name's words ([`consumer_name::encode`]).
    pub words: [u64; consumer_name::WORDS],
    /// How long the block may hold producers back once ownerless.
    pub grace_ns: u64,
}

/// Why [`register_named`] took no block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NamedRefusal {
    /// A live owner (of process `pid`) holds the name.
    Taken { pid: u32 },
    /// The name is new and every block belongs to a live consumer or another name.
    NoBlock,
    /// Another process held the ring's naming lock throughout.
    Busy,
}

/// How long a taker waits for another process's naming.
const NAMING_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a taker of an ownerless name looks again while a producer holds the block's lock
/// deciding whether to evict it (microseconds, in practice).
const TAKE_PATIENCE: std::time::Duration = std::time::Duration::from_millis(20);

/// Takes a free consumer block (or one whose process died), and returns it with the sequence the
/// consumer starts reading at. `None` if every block belongs to a live consumer.
pub(crate) fn register<M: RingMem>(mem: &M, policy: u32, pid: u32) -> Option<Registration> {
    mem.registering(|| register_locked(mem, policy, pid, None))
}

/// [`register`], with this mapping's other registrations held off (`RingMem::registering`).
fn register_locked<M: RingMem>(
    mem: &M,
    policy: u32,
    pid: u32,
    name: Option<&Naming>,
) -> Option<Registration> {
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
        // A named block outlives its owner: only a taker of its name takes it
        // (`register_named`).
        let takeable = state == consumer_state::FREE
            || ((state == consumer_state::ACTIVE || state == consumer_state::EVICTED)
                && !is_named(block)
                && dead_owner())
            || (state == consumer_state::CLAIMING
                && mem.exact_liveness()
                && !is_named(block)
                && dead_owner());
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
        for counter in [
            &block.delivered,
            &block.lost,
            &block.lapped,
            &block.torn,
            &block.wakes,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        let words = name.map_or([0; consumer_name::WORDS], |n| n.words);
        for (word, value) in block.name.iter().zip(words) {
            word.store(value, Ordering::Relaxed);
        }
        block
            .grace_ns
            .store(name.map_or(0, |n| n.grace_ns), Ordering::Relaxed);
        block.ownerless_since_ns.store(0, Ordering::Relaxed);
        let generation = block
            .generation
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        let start = join(mem, block);
        return Some(Registration {
            index,
            start,
            generation,
            resume: None,
        });
    }
    None
}

/// The registration handshake's last steps, for a block its taker holds in `CLAIMING` with its
/// fields written: starts it after the frames already published, makes it `ACTIVE`, and moves
/// its start past a scan that may have missed it (see the module docs). Returns the start the
/// handshake protects.
fn join<M: RingMem>(mem: &M, block: &ConsumerLine) -> u64 {
    let cursor = &mem.producer().cursor;
    // Acquire: pairs with the Release store of `published` by the producer's commit; we start
    // after frames that are already there.
    let published = cursor.published.load(Ordering::Acquire);
    block.read.store(published, Ordering::Relaxed);
    // Release: pairs with the Acquire load of `state` in `scan`; publishes the block's fields.
    block.state.store(consumer_state::ACTIVE, Ordering::Release);
    // SeqCst: pairs with the fence in `scan` (see the module docs).
    fence(Ordering::SeqCst);
    // Relaxed: ordered by the fence above.
    let start = published.max(cursor.scan.load(Ordering::Relaxed));
    if start != published {
        // Release: pairs with the Acquire load of `read` in `scan`.
        block.read.store(start, Ordering::Release);
    }
    start
}

/// Takes the consumer block named `naming.words`, or, if no block has that name, a free one
/// that gets it. A block that has the name keeps its `read`: the result's `resume` says where,
/// and whether a producer evicted the block meanwhile. Fails if a live owner holds the name.
///
/// Takers of names exclude each other ring-wide by the naming lock (`Attachment::Naming`), and
/// within this mapping by its registration lock, so two takers never give one name two blocks
/// and exactly one of two takers of one name wins. A block found with the name is taken by its
/// liveness lock (as in `register`), which its owner holds while it lives; the block stays
/// `ACTIVE` throughout, so it never stops gating producers while it changes hands.
pub(crate) fn register_named<M: RingMem>(
    mem: &M,
    policy: u32,
    pid: u32,
    naming: Naming,
) -> Result<Registration, NamedRefusal> {
    mem.registering(|| {
        let deadline = mem.now_ns() + NAMING_PATIENCE.as_nanos() as u64;
        while !mem.take_lock(Attachment::Naming) {
            if mem.now_ns() >= deadline {
                return Err(NamedRefusal::Busy);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let result = register_named_locked(mem, policy, pid, naming);
        mem.release_lock(Attachment::Naming);
        result
    })
}

fn register_named_locked<M: RingMem>(
    mem: &M,
    policy: u32,
    pid: u32,
    naming: Naming,
) -> Result<Registration, NamedRefusal> {
    let Some(index) = find_named(mem, &naming.words) else {
        return register_locked(mem, policy, pid, Some(&naming)).ok_or(NamedRefusal::NoBlock);
    };
    let block = mem.consumer(index);
    let who = Attachment::Consumer(index);
    take_ownerless(mem, index).map_err(|pid| NamedRefusal::Taken { pid })?;
    let owner = block.pid.load(Ordering::Relaxed);
    // Ours now: no producer evicts it while we hold its lock (`evict_ownerless`). Relaxed
    // stores: the pid and clocks are liveness hints read by producers under this same lock (or
    // compared by age); the generation is read only by this block's own handle.
    block.pid.store(pid, Ordering::Relaxed);
    block.heartbeat_ns.store(mem.now_ns(), Ordering::Relaxed);
    block.ownerless_since_ns.store(0, Ordering::Relaxed);
    block.grace_ns.store(naming.grace_ns, Ordering::Relaxed);
    let generation = block
        .generation
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_add(1);
    // Acquire: pairs with the Release store of `read` by the last owner's release: its reads
    // of the frames below are done.
    let read = block.read.load(Ordering::Acquire);
    // Relaxed: evictions happen only under the lock we hold, so this is settled.
    let state = block.state.load(Ordering::Relaxed);
    let was_lossless = block.policy.load(Ordering::Relaxed) == delivery::LOSSLESS;
    if state == consumer_state::ACTIVE && (was_lossless || policy == delivery::LOSSY) {
        // Still gating (or not needed to): every frame from `read` on is where it was. A lossless
        // block turning lossy only stops gating.
        block.policy.store(policy, Ordering::Relaxed);
        return Ok(Registration {
            index,
            start: read,
            generation,
            resume: Some(Resume {
                read,
                evicted: false,
            }),
        });
    }
    // Evicted, or a lossy block turning lossless: frames from `read` on may already be
    // overwritten. Join again with the registration handshake, as `register_locked` does, from
    // the state we found (the block's lock is ours, so nobody else moves it).
    // Acquire: as in `register_locked`.
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
        return Err(NamedRefusal::Taken { pid: owner });
    }
    block.policy.store(policy, Ordering::Relaxed);
    let start = join(mem, block);
    Ok(Registration {
        index,
        start,
        generation,
        resume: Some(Resume {
            read,
            // A re-join that died half-way (CLAIMING) may have moved `read` already: what was
            // below it counts as possibly overwritten, as after an eviction.
            evicted: state != consumer_state::ACTIVE,
        }),
    })
}

/// Leaves named block `index` ownerless: it keeps its name, `read` and state (it goes on gating
/// producers for its grace), its pid is cleared (so pid liveness sees it ownerless too), and its
/// liveness lock is given back.
pub(crate) fn leave_named<M: RingMem>(mem: &M, index: usize, generation: u32) {
    let block = mem.consumer(index);
    // Relaxed: only this owner's own registration bumped it.
    if block.generation.load(Ordering::Relaxed) == generation {
        // Relaxed: a liveness hint; the lock released below is what exact liveness tests.
        block.pid.store(0, Ordering::Relaxed);
    }
    mem.release_lock(Attachment::Consumer(index));
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

/// What [`forget_named`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Forgotten {
    /// No block has the name.
    NoSuchName,
    /// The ownerless block was freed.
    Freed { index: usize },
    /// Forced: the block had a live owner; it was evicted (its owner learns it at its next
    /// read) and lost its name, and is free once that owner lets it go.
    Evicted { index: usize },
}

/// Forgets the durable consumer named `words`: its block stops gating producers and no longer
/// has the name, so a later taker of the name starts afresh. An ownerless block is freed
/// (`CLAIMING` first, so nobody takes it half-cleared, then its name and grace cleared, then
/// `FREE`); one with a live owner is refused unless `force`, which evicts it instead. Wakes
/// producers waiting for space afterwards: the block may have been what held them.
///
/// Under the mapping's registration lock and the ring's naming lock, as a taker of a name
/// (`register_named`), so a forget and a take of one name are ordered: either the taker owns
/// the block first (then the forget is refused, `Taken`, or evicts it if forced) or the forget
/// frees it first (then the taker finds no block with the name and registers a new one).
pub(crate) fn forget_named<M: RingMem>(
    mem: &M,
    words: [u64; consumer_name::WORDS],
    force: bool,
) -> Result<Forgotten, NamedRefusal> {
    let result = mem.registering(|| {
        let deadline = mem.now_ns() + NAMING_PATIENCE.as_nanos() as u64;
        while !mem.take_lock(Attachment::Naming) {
            if mem.now_ns() >= deadline {
                return Err(NamedRefusal::Busy);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let result = forget_named_locked(mem, words, force);
        mem.release_lock(Attachment::Naming);
        result
    })?;
    if result != Forgotten::NoSuchName {
        let wait = &mem.producer().wait;
        crate::sleep::notify(mem, &wait.space_futex, &wait.space_wakes);
    }
    Ok(result)
}

fn forget_named_locked<M: RingMem>(
    mem: &M,
    words: [u64; consumer_name::WORDS],
    force: bool,
) -> Result<Forgotten, NamedRefusal> {
    let Some(index) = find_named(mem, &words) else {
        return Ok(Forgotten::NoSuchName);
    };
    let block = mem.consumer(index);
    if let Err(pid) = take_ownerless(mem, index) {
        if !force {
            return Err(NamedRefusal::Taken { pid });
        }
        // Relaxed: as in `evict_dead`; the owner learns it by loading `state`. A block a
        // producer evicted already (or a re-join that died half-way) stays as it is.
        let evicted = block
            .state
            .compare_exchange(
                consumer_state::ACTIVE,
                consumer_state::EVICTED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok();
        if evicted {
            // Relaxed: a statistic.
            mem.producer()
                .cursor
                .evicted
                .fetch_add(1, Ordering::Relaxed);
        }
        // Relaxed: names are read under the naming lock we hold (or for display); the block
        // is no longer `ACTIVE`, and an unnamed non-`ACTIVE` block is taken by `register` only
        // once its owner let its lock go.
        clear_name(block);
        return Ok(Forgotten::Evicted { index });
    }
    // Ours: no producer evicts it and no registrant takes it while we hold its lock. Acquire:
    // pairs with the Release store of `read` by its last owner, as a taker's load does (its
    // last writes to the block are done before ours). It stops gating producers here.
    let mut state = block.state.load(Ordering::Relaxed);
    while let Err(now) = block.state.compare_exchange(
        state,
        consumer_state::CLAIMING,
        Ordering::Acquire,
        Ordering::Relaxed,
    ) {
        // A producer's stale-heartbeat eviction (`evict_dead`) takes no lock.
        state = now;
    }
    clear_name(block);
    // Relaxed: published by the Release store of FREE below.
    block.grace_ns.store(0, Ordering::Relaxed);
    block.ownerless_since_ns.store(0, Ordering::Relaxed);
    block.pid.store(0, Ordering::Relaxed);
    // Release: pairs with the Acquire CAS in `register_locked`: the next registrant sees the
    // block cleared.
    block.state.store(consumer_state::FREE, Ordering::Release);
    mem.release_lock(Attachment::Consumer(index));
    Ok(Forgotten::Freed { index })
}

/// The block named `words` (`ACTIVE`, `EVICTED`, or a re-join that died in `CLAIMING`), with
/// the naming lock held.
fn find_named<M: RingMem>(mem: &M, words: &[u64; consumer_name::WORDS]) -> Option<usize> {
    (0..mem.max_consumers()).find(|&index| {
        let block = mem.consumer(index);
        // Acquire: pairs with the Release store of ACTIVE in `register_locked`: the name was
        // written before it.
        let state = block.state.load(Ordering::Acquire);
        // A CLAIMING block with our name is a taker that died re-joining it (exact liveness
        // only: with pid liveness its pid may not be written yet); anonymous registrants never
        // take it (`register_locked`), so the name and its cursor survive for us.
        let rejoin_died = state == consumer_state::CLAIMING && mem.exact_liveness();
        (state == consumer_state::ACTIVE || state == consumer_state::EVICTED || rejoin_died)
            && load_name(block) == *words
    })
}

/// Takes the liveness lock of named block `index` if no live owner holds it; else the owner's
/// pid. A producer deciding whether to evict the ownerless block (`evict_ownerless`) holds its
/// lock for a moment, which looks like a live owner: with exact liveness, looks again for a
/// little while before giving up (with pid liveness the lock is not what says alive).
fn take_ownerless<M: RingMem>(mem: &M, index: usize) -> Result<(), u32> {
    let block = mem.consumer(index);
    let who = Attachment::Consumer(index);
    let patience = if mem.exact_liveness() {
        mem.now_ns() + TAKE_PATIENCE.as_nanos() as u64
    } else {
        0
    };
    loop {
        // Relaxed: the pid is for the error message; the lock decides.
        let owner = block.pid.load(Ordering::Relaxed);
        if !mem.alive(who, owner) && mem.take_lock(who) {
            return Ok(());
        }
        if mem.now_ns() >= patience {
            return Err(owner);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn clear_name(block: &ConsumerLine) {
    for word in &block.name {
        // Relaxed: see the callers.
        word.store(0, Ordering::Relaxed);
    }
}
