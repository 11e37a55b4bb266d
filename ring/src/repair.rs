//! Repairing holes: frames a multi-producer claimed and never committed because it died.
//!
//! Such a frame keeps its `writing` stamp (or the previous lap's stamp, if the producer died
//! before marking it) for ever: readers wait at it and producers that come round to its slot
//! wait for it. Whoever waits on it first (a reader in its wait, a producer in `begin_multi`, a
//! producer attaching over the dead one's table entry) publishes it as an empty skip frame and
//! counts it in `abandoned` (docs/ARCHITECTURE.md, protocol 9).
//!
//! ## Knowing whose frame it is
//! Each producer table entry has a claim record (`CursorLine::claims`, `layout::claim_record`).
//! A producer stores `OPEN(first)` with Release just before its claim compare-and-swap (Release
//! too), so the record of every claim is visible to anyone who Acquire-loads `claim` past it.
//! A failed compare-and-swap leaves a record that claims nothing; but `first` was a value of
//! `claim`, so it is the first frame of some real claim or not claimed yet. A producer's record
//! moves on only after its claim's stamps are committed (its next record is a Release store).
//!
//! So, with `claim` loaded (Acquire), then the records (Acquire), then the stamp of `seq`
//! (Acquire): if `seq < claim` and the stamp is below `committed(seq)`, the claim holding `seq`
//! is still open, and its record is among those read, with the largest `first <= seq` (no real
//! claim starts inside another, and a record that moved on would have shown the stamp
//! committed). Records equal to that `first` are the owner's and perhaps stale intents of
//! others: `seq` is repaired only if *every* entry holding such a record is dead. The owner's
//! claim holds at most `capacity` frames and ends before the next larger record's `first`.
//!
//! ## Exactly once
//! Liveness must be exact (the OFD locks of `lock.rs`): a producer is taken for dead only when
//! its process is gone, so it stores nothing more, and everything it stored is visible. Rings
//! with pid liveness (anonymous rings, files this process cannot lock) are never repaired: a
//! pid can look dead to a process in another pid namespace while it still writes.
//!
//! Repairers exclude each other by one liveness lock, [`Attachment::Repairer`] (and, within a
//! process, `RingMem::registering`): a stale repairer never stores `SKIP` into a slot that has
//! moved on. A repairer takes the claim over with a compare-and-swap of each group record from
//! `OPEN(first)` to `REPAIRING(first)`; a committing producer swaps its record from
//! `OPEN(first)` to `COMMITTING(first)` before it stores its stamps. One of the two swaps fails,
//! so a producer wrongly taken for dead that commits late either published its frames (the
//! repairer then only completes that commit, stamps and no bytes) or learns that they were
//! repaired and stores nothing (`ProducerCore::commit` returns false). The stamp itself moves
//! by compare-and-swap from `writing(s)` to `committed(s)`, after the `SKIP` store.

use crate::layout::{claim_record, stamp, MAX_PRODUCERS};
use crate::mem::{Attachment, RingMem};
use crate::sleep;
use crate::sync::{fence, Ordering};

/// Whether holes of this ring can be repaired: a multi-producer ring with exact liveness.
fn repairable<M: RingMem>(mem: &M) -> bool {
    mem.multi_producer() && mem.exact_liveness()
}

/// Every entry's claim record.
fn records<M: RingMem>(mem: &M) -> [u64; MAX_PRODUCERS] {
    // Acquire: pairs with the Release stores of records in `ProducerCore::claim_multi` (a record
    // that moved on shows its claim's committed stamps) and `commit`.
    std::array::from_fn(|i| mem.producer().cursor.claims[i].load(Ordering::Acquire))
}

/// Whether every entry whose record is a claim from `first` is dead (`taken` counts as dead:
/// the caller took that dead producer's entry over).
fn group_dead<M: RingMem>(
    mem: &M,
    records: &[u64; MAX_PRODUCERS],
    first: u64,
    taken: Option<usize>,
) -> bool {
    let mut any = false;
    for (i, &r) in records.iter().enumerate() {
        if r == claim_record::NONE || claim_record::first(r) != first {
            continue;
        }
        any = true;
        // Relaxed: for display; liveness is the entry's lock.
        let pid = mem.producer().producers[i].pid.load(Ordering::Relaxed);
        if Some(i) != taken && mem.alive(Attachment::Producer(i), pid) {
            return false;
        }
    }
    any
}

/// The first frame of the open claim that holds frame `seq`, if `seq` is claimed, not committed,
/// and every producer that may own it is dead.
fn dead_owner<M: RingMem>(mem: &M, seq: u64) -> Option<u64> {
    // Acquire: pairs with the Release claim compare-and-swap (and the RMWs after it, which
    // continue its release sequence): the records written before it are visible below.
    let claim = mem.producer().cursor.claim.load(Ordering::Acquire);
    if seq >= claim {
        return None;
    }
    let records = records(mem);
    // Acquire: pairs with the Release commit of `seq`; loaded after the records (see the module
    // docs: a committed stamp here means nothing to repair).
    if mem.stamp(seq).load(Ordering::Acquire) >= stamp::committed(seq) {
        return None;
    }
    let first = records
        .iter()
        .filter(|&&r| r != claim_record::NONE)
        .map(|&r| claim_record::first(r))
        .filter(|&f| f <= seq)
        .max()?;
    group_dead(mem, &records, first, None).then_some(first)
}

/// Whether frame `seq` lies in a claim [`repair_hole`] would repair now: the last look of a
/// reader before it sleeps, so a producer that died after its earlier look does not leave it
/// asleep for a whole liveness slice.
pub(crate) fn has_dead_owner<M: RingMem>(mem: &M, seq: u64) -> bool {
    repairable(mem) && dead_owner(mem, seq).is_some()
}

/// Runs `f` holding the ring's repair lock, if no live participant holds it.
fn with_repair_lock<M: RingMem, T>(mem: &M, f: impl FnOnce() -> T) -> Option<T> {
    if !mem.take_lock(Attachment::Repairer) {
        return None;
    }
    let result = f();
    mem.release_lock(Attachment::Repairer);
    Some(result)
}

/// Frame `seq` is not committed: if it belongs to a dead producer's claim, publishes that
/// claim's uncommitted frames as skip frames. Returns whether it published any frame. Cheap when
/// there is nothing to repair (a load of `claim` and the stamp); costs a lock test per entry
/// that may own `seq` when there may be. Call it from waits only.
pub(crate) fn repair_hole<M: RingMem>(mem: &M, seq: u64) -> bool {
    if !repairable(mem) || dead_owner(mem, seq).is_none() {
        return false;
    }
    mem.registering(|| {
        with_repair_lock(mem, || match dead_owner(mem, seq) {
            Some(first) => repair_claim(mem, first, None).published,
            None => false,
        })
        .unwrap_or(false)
    })
}

/// A producer attaching over table entry `entry`, whose previous owner is dead, with
/// `registering` held: repairs what that owner left. Returns whether the entry's record is now
/// clear (else the caller must not take the entry: its first claim would overwrite the record).
pub(crate) fn clear_dead_entry<M: RingMem>(mem: &M, entry: usize) -> bool {
    let record = &mem.producer().cursor.claims[entry];
    // Acquire: as in `records`.
    let r = record.load(Ordering::Acquire);
    if r == claim_record::NONE {
        return true;
    }
    if !repairable(mem) {
        // Pid liveness: nothing is repaired (module docs); the hole stays, readers report it.
        // Relaxed: only this attach touches a dead entry's record now.
        record.store(claim_record::NONE, Ordering::Relaxed);
        return true;
    }
    with_repair_lock(mem, || {
        repair_claim(mem, claim_record::first(r), Some(entry)).complete
    })
    .unwrap_or(false)
}

struct Repaired {
    /// Whether a frame was published (a skip frame, or a dead committer's frame completed).
    published: bool,
    /// Whether every frame of the claim is committed now and the group's records were cleared.
    complete: bool,
}

/// With the repair lock held: publishes the uncommitted frames of the claim from `first`, whose
/// producers (every entry with a record from `first`) are dead.
fn repair_claim<M: RingMem>(mem: &M, first: u64, taken: Option<usize>) -> Repaired {
    let nothing = Repaired {
        published: false,
        complete: false,
    };
    let cursor = &mem.producer().cursor;
    // Acquire: as in `dead_owner`.
    let claim = cursor.claim.load(Ordering::Acquire);
    let records = records(mem);
    if !group_dead(mem, &records, first, taken) {
        return nothing;
    }
    let group: Vec<usize> = (0..MAX_PRODUCERS)
        .filter(|&i| records[i] != claim_record::NONE && claim_record::first(records[i]) == first)
        .collect();
    // A producer that died committing had written every byte: its frames are completed, not
    // skipped (and no byte of them is touched).
    let whole = group
        .iter()
        .any(|&i| claim_record::state(records[i]) == claim_record::COMMITTING);
    // Take the open records over: a late commit by their producer now fails (module docs).
    for &i in &group {
        let r = records[i];
        if claim_record::state(r) == claim_record::OPEN {
            let repairing = claim_record::make(claim_record::REPAIRING, first);
            // Acquire: pairs with the Release record stores of the producer: its writes to the
            // claim's slots happen before ours. Failure: the record moved, its producer lives.
            if cursor.claims[i]
                .compare_exchange(r, repairing, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                return nothing;
            }
        }
    }
    let capacity = mem.capacity();
    let next = records
        .iter()
        .filter(|&&r| r != claim_record::NONE)
        .map(|&r| claim_record::first(r))
        .filter(|&f| f > first)
        .min()
        .unwrap_or(u64::MAX);
    let end = first.saturating_add(capacity).min(next).min(claim);
    let mut skipped = 0;
    let mut published_to = None;
    let mut complete = true;
    for seq in first..end {
        let st = mem.stamp(seq);
        // Acquire: pairs with the Release commit of `seq`, or of the previous frame of its slot.
        let found = st.load(Ordering::Acquire);
        if found >= stamp::committed(seq) {
            continue;
        }
        if whole {
            if found != stamp::writing(seq) {
                // A committing producer had marked every frame: not a claim we understand.
                complete = false;
                break;
            }
            // Release: pairs with the readers' Acquire stamp load; the dead producer's bytes,
            // which our Acquire swap of its record inherited, are theirs.
            if st
                .compare_exchange(
                    found,
                    stamp::committed(seq),
                    Ordering::Release,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                published_to = Some(seq + 1);
            }
            continue;
        }
        if found != stamp::writing(seq) {
            // Never marked: the producer died before (or while) waiting for the slot's previous
            // frame. That frame must be committed first; a dead claim's is repaired here.
            if let Some(previous) = seq.checked_sub(capacity) {
                if found < stamp::committed(previous) {
                    let earlier = dead_owner(mem, previous);
                    if earlier.is_none_or(|f| !repair_claim(mem, f, None).complete)
                        // Acquire: as above.
                        || st.load(Ordering::Acquire) != stamp::committed(previous)
                    {
                        complete = false;
                        break;
                    }
                }
            }
            let before = st.load(Ordering::Relaxed);
            // Relaxed: ordered before the slot's stores by the fence below, as a producer's
            // `writing` stamp is (`ProducerCore::begin_multi`).
            if before >= stamp::writing(seq)
                || st
                    .compare_exchange(
                        before,
                        stamp::writing(seq),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_err()
            {
                complete = false;
                break;
            }
        }
        // Release: a lossy reader of the slot's previous frame that sees one of our stores below
        // and then fences with Acquire sees `writing(seq)` (ours, or the dead producer's, which
        // we loaded: read-read coherence), and drops its copy (the seqlock writer's entry).
        fence(Ordering::Release);
        mem.mark_skip(seq);
        // Release: pairs with the readers' Acquire stamp load: they see `SKIP`. A compare-and-
        // swap, so a `committed` stamp is never stored twice.
        if st
            .compare_exchange(
                stamp::writing(seq),
                stamp::committed(seq),
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_err()
        {
            complete = false;
            break;
        }
        skipped += 1;
        published_to = Some(seq + 1);
    }
    if skipped > 0 {
        // Relaxed: a statistic.
        cursor.abandoned.fetch_add(skipped, Ordering::Relaxed);
    }
    if let Some(to) = published_to {
        // Release: as in `ProducerCore::commit`.
        cursor.published.fetch_max(to, Ordering::Release);
        let wait = &mem.producer().wait;
        sleep::notify(mem, &wait.data_futex, &wait.data_wakes);
    }
    if complete {
        for &i in &group {
            let r = cursor.claims[i].load(Ordering::Relaxed);
            if r != claim_record::NONE && claim_record::first(r) == first {
                // Release: as the records' other stores; a failure means the record moved on.
                let _ = cursor.claims[i].compare_exchange(
                    r,
                    claim_record::NONE,
                    Ordering::Release,
                    Ordering::Relaxed,
                );
            }
        }
    }
    Repaired {
        published: published_to.is_some(),
        complete,
    }
}
