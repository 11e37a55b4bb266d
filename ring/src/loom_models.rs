//! loom models of every cursor protocol, run on heap-allocated loom atomics through the same
//! `RingMem` trait the mapping implements. Tiny on purpose (2 slots, 2-4 frames): run with
//!
//! ```text
//! LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" cargo test -p ringflow --lib --release loom_models
//! ```
//!
//! `LoomMem` keeps each slot's stamp (and kind) in arrays apart from the payload words, which is
//! what layout version 5 does with its descriptor array: the models check the protocol over the
//! stamps, and where the bytes lie does not enter it.
//!
//! A failure prints the schedule; `LOOM_CHECKPOINT_FILE` and `LOOM_LOG` reproduce it (loom's
//! README).

use std::sync::Arc;
use std::time::Duration;

use loom::cell::UnsafeCell;
use loom::sync::{Condvar, Mutex};
use loom::thread;

use crate::consumer::core::{Check, ConsumerCore};
use crate::consumer::{Delivery, Start};
use crate::error::RecvError;
use crate::layout::{kind_flags, stamp, ConsumerBlock, ConsumerLine, ProducerBlock};
use crate::mem::{Attachment, RingMem};
use crate::producer::core::ProducerCore;
use crate::producer::{FullPolicy, ProducerOptions};
use crate::sleep;
use crate::sync::{AtomicU32, AtomicU64, Ordering};

/// A ring's control words on the heap, a futex emulated with a mutex and a condvar, and two
/// kinds of payload: an `UnsafeCell` per slot (loom reports any unsynchronized access: the
/// lossless protocols must order every write before every read) and two atomic words per slot
/// (for the seqlock, whose races are intended and detected by the stamp).
struct LoomMem {
    capacity: u64,
    multi: bool,
    overwritable: bool,
    producer: ProducerBlock,
    consumers: Vec<ConsumerBlock>,
    stamps: Vec<AtomicU64>,
    cells: Vec<UnsafeCell<u64>>,
    words: Vec<[AtomicU64; 2]>,
    /// Each slot's `kind` word (the repair models read it; `mark_skip` writes it).
    kinds: Vec<AtomicU32>,
    /// Whether `alive` is exact (a lock test), as on a file-backed ring: holes are repaired only
    /// then.
    exact: bool,
    /// Producer entries `alive` reports dead (bit `i` for entry `i`).
    dead: AtomicU64,
    /// Consumer blocks whose liveness lock is held (bit `i` for block `i`): the kernel's lock
    /// table of one process, whose own locks never conflict (`take_lock` always succeeds), as
    /// on one mapping.
    consumer_locks: AtomicU64,
    /// `registering`'s mutex, as the mapping's: it also keeps two repairers apart.
    registering: Mutex<()>,
    futex: Mutex<()>,
    woken: Condvar,
}

// SAFETY: the cells are the payload of a ring: the protocols under test are what makes sharing
// them sound, and loom's cells report any access those protocols fail to order.
unsafe impl Sync for LoomMem {}

impl LoomMem {
    /// An overwritable ring (every policy may attach).
    fn new(capacity: u64, consumers: usize, multi: bool) -> Arc<Self> {
        Self::with_flags(capacity, consumers, multi, true)
    }

    fn with_flags(capacity: u64, consumers: usize, multi: bool, overwritable: bool) -> Arc<Self> {
        Self::build(capacity, consumers, multi, overwritable, false)
    }

    /// A multi-producer ring with exact liveness, whose dead claims are repaired.
    fn repairable(capacity: u64, consumers: usize) -> Arc<Self> {
        Self::build(capacity, consumers, true, false, true)
    }

    fn build(
        capacity: u64,
        consumers: usize,
        multi: bool,
        overwritable: bool,
        exact: bool,
    ) -> Arc<Self> {
        Arc::new(LoomMem {
            capacity,
            multi,
            overwritable,
            producer: ProducerBlock::default(),
            consumers: (0..consumers).map(|_| ConsumerBlock::default()).collect(),
            stamps: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            cells: (0..capacity).map(|_| UnsafeCell::new(0)).collect(),
            words: (0..capacity)
                .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
                .collect(),
            kinds: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
            exact,
            dead: AtomicU64::new(0),
            consumer_locks: AtomicU64::new(0),
            registering: Mutex::new(()),
            futex: Mutex::new(()),
            woken: Condvar::new(),
        })
    }

    fn index(&self, seq: u64) -> usize {
        (seq % self.capacity) as usize
    }

    /// Writes the lossless payload of a claimed slot.
    fn put(&self, seq: u64, value: u64) {
        // SAFETY: loom's cell checks the access; the claim makes us its only writer.
        self.cells[self.index(seq)].with_mut(|p| unsafe { *p = value });
    }

    /// Reads the lossless payload of a ready slot.
    fn get(&self, seq: u64) -> u64 {
        // SAFETY: loom's cell checks the access against every write.
        self.cells[self.index(seq)].with(|p| unsafe { *p })
    }
}

impl RingMem for LoomMem {
    fn capacity(&self) -> u64 {
        self.capacity
    }
    fn max_consumers(&self) -> usize {
        self.consumers.len()
    }
    fn multi_producer(&self) -> bool {
        self.multi
    }
    fn overwritable(&self) -> bool {
        self.overwritable
    }
    fn producer(&self) -> &ProducerBlock {
        &self.producer
    }
    fn consumer(&self, index: usize) -> &ConsumerLine {
        &self.consumers[index]
    }
    fn stamp(&self, seq: u64) -> &AtomicU64 {
        &self.stamps[self.index(seq)]
    }
    fn mark_skip(&self, seq: u64) {
        // Relaxed: published by the repairer's Release stamp swap.
        self.kinds[self.index(seq)].store(kind_flags::SKIP, Ordering::Relaxed);
    }
    /// A futex: the comparison and the sleep are atomic with respect to `wake_all`, which takes
    /// the same lock after the waker changed the word.
    /// A wait with a zero timeout returns at once, as if its time ran out (a futex wait may
    /// always return early): a model's waiter that leaves without being woken. Other timeouts
    /// are taken as long enough to be woken first (a producer waits for space in slices; a wait
    /// that returned at once there would spin, which loom rejects).
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        if timeout == Some(Duration::ZERO) {
            return;
        }
        let guard = self.futex.lock().unwrap();
        if word.load(Ordering::Relaxed) == expected {
            drop(self.woken.wait(guard).unwrap());
        }
    }
    fn wake_all(&self, _word: &AtomicU32) {
        let _guard = self.futex.lock().unwrap();
        self.woken.notify_all();
    }
    fn cross_process(&self) -> bool {
        false
    }
    /// Acquire: pairs with the Release store that makes a model's producer look dead, after
    /// its last store to the slots (what the kernel's release of a dead process's lock gives).
    /// A consumer is alive while its block's lock is held. Acquire: pairs with the Release
    /// of `release_lock`, as the kernel's lock table orders a release before a later test.
    fn alive(&self, who: Attachment, _pid: u32) -> bool {
        match who {
            Attachment::Producer(i) => self.dead.load(Ordering::Acquire) & (1 << i) == 0,
            Attachment::Consumer(i) => self.consumer_locks.load(Ordering::Acquire) & (1 << i) != 0,
            _ => true,
        }
    }
    fn exact_liveness(&self) -> bool {
        self.exact
    }
    /// AcqRel: the Acquire half pairs with the Release of `release_lock` (what the last owner
    /// did before it let go happens before), the Release half with `alive`'s Acquire.
    fn take_lock(&self, who: Attachment) -> bool {
        if let Attachment::Consumer(i) = who {
            self.consumer_locks.fetch_or(1 << i, Ordering::AcqRel);
        }
        true
    }
    /// Release: pairs with the Acquire of `alive` and `take_lock`.
    fn release_lock(&self, who: Attachment) {
        if let Attachment::Consumer(i) = who {
            self.consumer_locks.fetch_and(!(1 << i), Ordering::Release);
        }
    }
    fn registering<T>(&self, f: impl FnOnce() -> T) -> T {
        let _one_at_a_time = self.registering.lock().unwrap();
        f()
    }
    fn now_ns(&self) -> u64 {
        0
    }
}

const PID: u32 = 1;

fn producer(mem: &Arc<LoomMem>, policy: FullPolicy) -> ProducerCore<LoomMem> {
    ProducerCore::attach(Arc::clone(mem), &ProducerOptions::new(policy), PID).unwrap()
}

fn consumer(mem: &Arc<LoomMem>, delivery: Delivery) -> ConsumerCore<LoomMem> {
    ConsumerCore::register(Arc::clone(mem), delivery, Start::Next, PID).unwrap()
}

const BLOCK: FullPolicy = FullPolicy::Block { timeout: None };

/// Reads lossless frames until the ring closes; returns the values read.
fn drain_lossless(mem: &LoomMem, c: &mut ConsumerCore<LoomMem>) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        match c.check(c.next) {
            Check::Ready => {
                seen.push(mem.get(c.next));
                c.release(c.next + 1, 1);
            }
            Check::Lapped => panic!("a lossless consumer of a blocking producer was lapped"),
            Check::Empty => match c.wait(None) {
                Ok(()) => {}
                Err(RecvError::Closed) => return seen,
                Err(e) => panic!("{e}"),
            },
        }
    }
}

/// SPSC: three frames through two slots. The producer must wait for space once and the consumer
/// for data: every payload write is ordered before its read (the cells would report a race),
/// nothing is lost, and neither side sleeps forever (loom reports a deadlock).
#[test]
fn spsc_publish_consume() {
    loom::model(|| {
        let mem = LoomMem::new(2, 1, false);
        let mut c = consumer(&mem, Delivery::Lossless);
        let writer = {
            let mem = Arc::clone(&mem);
            thread::spawn(move || {
                let mut p = producer(&mem, BLOCK);
                for value in 0..3 {
                    let seq = p.claim(1).unwrap();
                    mem.put(seq, value * 10);
                    p.commit(seq, seq + 1);
                }
                p.detach();
            })
        };
        assert_eq!(drain_lossless(&mem, &mut c), vec![0, 10, 20]);
        writer.join().unwrap();
    });
}

/// Multi-producer: two producers claim by compare-and-swap and publish per slot; the consumer
/// sees each frame exactly once, fully written.
#[test]
fn multi_producer_claim_publish() {
    loom::model(|| {
        let mem = LoomMem::new(2, 1, true);
        let mut c = consumer(&mem, Delivery::Lossless);
        // Both attach before either runs: the ring closes when the last attached one detaches.
        let producers: Vec<_> = (1..=2u64).map(|id| (id, producer(&mem, BLOCK))).collect();
        let writers: Vec<_> = producers
            .into_iter()
            .map(|(id, mut p)| {
                let mem = Arc::clone(&mem);
                thread::spawn(move || {
                    let seq = p.claim(1).unwrap();
                    mem.put(seq, id);
                    p.commit(seq, seq + 1);
                    p.detach();
                })
            })
            .collect();
        let mut seen = drain_lossless(&mem, &mut c);
        for w in writers {
            w.join().unwrap();
        }
        seen.sort_unstable();
        assert_eq!(seen, vec![1, 2]);
    });
}

/// Multi-producer with `overwrite`: three frames from two producers into two slots. A producer
/// whose slot still holds another producer's unfinished frame waits for it, so the cells never
/// see two writers at once.
#[test]
fn multi_producer_overwrite_waits_for_the_slot() {
    loom::model(|| {
        let mem = LoomMem::new(2, 1, true);
        let producers: Vec<_> = [2u64, 1]
            .into_iter()
            .map(|n| (n, producer(&mem, FullPolicy::Overwrite)))
            .collect();
        let writers: Vec<_> = producers
            .into_iter()
            .map(|(frames, mut p)| {
                let mem = Arc::clone(&mem);
                thread::spawn(move || {
                    for _ in 0..frames {
                        let seq = p.claim(1).unwrap();
                        mem.put(seq, seq);
                        p.commit(seq, seq + 1);
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        for seq in 1..3 {
            assert_eq!(mem.get(seq), seq);
        }
    });
}

/// The sleeper protocol alone: a waiter that parks until a flag is set is always woken, and a
/// notifier that finds no sleeper makes no wake call.
#[test]
fn sleeper_wake() {
    loom::model(|| {
        let mem = LoomMem::new(2, 1, false);
        let flag = Arc::new(AtomicU64::new(0));
        let notifier = set_and_notify(&mem, &flag);
        park_until_set(&mem, &flag);
        notifier.join().unwrap();
        assert!(mem.producer.wait.data_wakes.load(Ordering::Relaxed) <= 1);
    });
}

/// Two waiters on one word, one of which leaves without being woken (a timed wait that ran
/// out, which disarms the word if it was the last sleeper): the other is still always woken, and
/// the notifier makes one wake call at most.
#[test]
fn sleeper_wake_with_a_waiter_that_leaves() {
    loom::model(|| {
        let mem = LoomMem::new(2, 1, false);
        let flag = Arc::new(AtomicU64::new(0));
        let leaver = {
            let (mem, flag) = (Arc::clone(&mem), Arc::clone(&flag));
            thread::spawn(move || {
                let w = &mem.producer.wait;
                let timeout = Some(Duration::ZERO);
                sleep::park(&*mem, &w.data_futex, &w.data_sleepers, timeout, || {
                    is_set(&flag)
                });
            })
        };
        let notifier = set_and_notify(&mem, &flag);
        park_until_set(&mem, &flag);
        leaver.join().unwrap();
        notifier.join().unwrap();
        assert!(mem.producer.wait.data_wakes.load(Ordering::Relaxed) <= 1);
    });
}

/// Acquire: pairs with the Release store in `set_and_notify`.
fn is_set(flag: &AtomicU64) -> bool {
    flag.load(Ordering::Acquire) != 0
}

/// A thread that sets `flag` (Release) and then runs the notify half of the sleeper protocol.
fn set_and_notify(mem: &Arc<LoomMem>, flag: &Arc<AtomicU64>) -> thread::JoinHandle<()> {
    let (mem, flag) = (Arc::clone(mem), Arc::clone(flag));
    thread::spawn(move || {
        flag.store(1, Ordering::Release);
        let w = &mem.producer.wait;
        sleep::notify(&*mem, &w.data_futex, &w.data_wakes);
    })
}

/// The waiter half: parks (untimed) until `flag` is set.
fn park_until_set(mem: &LoomMem, flag: &AtomicU64) {
    let w = &mem.producer.wait;
    while !is_set(flag) {
        sleep::park(mem, &w.data_futex, &w.data_sleepers, None, || is_set(flag));
    }
}

/// Lossy lapping and the seqlock re-check: an `overwrite` producer writes four frames into two
/// slots, each frame two words equal to its sequence; a lossy reader concurrently reads with the
/// stamp check and re-check. Every frame it accepts is whole (both words equal its sequence), the
/// frames it accepts come in order, and what it read plus what it counted lost is every frame.
#[test]
fn lossy_lapping_seqlock() {
    lossy_model(|mem, p| {
        for _ in 0..4 {
            let seq = p.claim(1).unwrap();
            write_words(mem, seq);
            p.commit(seq, seq + 1);
        }
    });
}

/// The same with batches as `Producer::claim_batch` writes them: each claim takes both slots
/// unmarked, and each slot is marked as being written (`begin_write`) just before its words,
/// not all at the claim. Every accepted frame is still whole.
#[test]
fn lossy_lapping_seqlock_batches() {
    lossy_model(|mem, p| {
        for _ in 0..2 {
            let (first, marked) = p.claim_unmarked(2).unwrap();
            assert!(!marked);
            for seq in first..first + 2 {
                p.begin_write(mem.stamp(seq), seq);
                write_words(mem, seq);
            }
            p.commit(first, first + 2);
        }
    });
}

/// A two-slot ring, an `overwrite` producer thread running `write` (frames 0..4, then it
/// detaches) and a lossy reader checking every frame it accepts (`read_lossy`).
fn lossy_model(write: fn(&LoomMem, &mut ProducerCore<LoomMem>)) {
    loom::model(move || {
        let mem = LoomMem::new(2, 1, false);
        let c = consumer(&mem, Delivery::Lossy);
        let writer = {
            let mem = Arc::clone(&mem);
            thread::spawn(move || {
                let mut p = producer(&mem, FullPolicy::Overwrite);
                write(&mem, &mut p);
                p.detach();
            })
        };
        read_lossy(&mem, c);
        writer.join().unwrap();
    });
}

/// Reads frame `seq`'s two words from its slot, for a reader whose re-check (`verify`,
/// `protected_and_kept`) then says whether they are the frame's.
fn read_words(mem: &LoomMem, seq: u64) -> (u64, u64) {
    let [a, b] = &mem.words[mem.index(seq)];
    // Relaxed: validated by the caller's re-check.
    (a.load(Ordering::Relaxed), b.load(Ordering::Relaxed))
}

/// A thread with a `block` producer that writes frames 0..4 (`write_words`), then detaches.
fn spawn_blocking_writer(mem: &Arc<LoomMem>) -> thread::JoinHandle<()> {
    let mem = Arc::clone(mem);
    thread::spawn(move || {
        let mut p = producer(&mem, BLOCK);
        for _ in 0..4 {
            let seq = p.claim(1).unwrap();
            write_words(&mem, seq);
            p.commit(seq, seq + 1);
        }
        p.detach();
    })
}

/// Writes frame `seq` into its slot: two words equal to its sequence.
fn write_words(mem: &LoomMem, seq: u64) {
    for word in &mem.words[mem.index(seq)] {
        // Relaxed: the seqlock orders these (writing stamp + Release fence before, committed
        // stamp Release after).
        word.store(seq, Ordering::Relaxed);
    }
}

/// The protected batch's check: if the one look at the reader's block (`protected_and_kept`)
/// says the frames from 0 on were kept, each `read[seq]` must be frame `seq`'s words.
fn assert_kept_only_if_whole(c: &ConsumerCore<LoomMem>, read: &[(u64, u64)]) {
    match c.protected_and_kept(0) {
        Some(true) => {
            for (seq, &words) in (0u64..).zip(read) {
                assert_eq!(words, (seq, seq), "a rewritten frame passed as kept");
            }
        }
        Some(false) => {}
        None => panic!("frame 0 is protected"),
    }
}

/// A lossy reader with the stamp check and re-check, until the close, against a producer of
/// frames 0..4 (`write_words`): every frame it accepts is whole, they come in order, and what it
/// read plus what it counted lost is every frame.
fn read_lossy(mem: &LoomMem, mut c: ConsumerCore<LoomMem>) {
    let mut accepted = Vec::new();
    loop {
        let seq = c.next;
        match c.check(seq) {
            Check::Ready => {
                let (a, b) = read_words(mem, seq);
                if c.verify(seq) {
                    assert_eq!((a, b), (seq, seq), "torn frame accepted");
                    accepted.push(seq);
                    c.release(seq + 1, 1);
                }
            }
            Check::Lapped => c.skip_lapped().unwrap(),
            Check::Empty => match c.wait(None) {
                Ok(()) => {}
                Err(RecvError::Closed) => break,
                Err(e) => panic!("{e}"),
            },
        }
    }
    assert!(accepted.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(c.next, 4, "the reader ends after the last frame");
    assert_eq!(accepted.len() as u64 + c.lost, 4, "read + lost = published");
}

/// The registration handshake: a lossless consumer joins while a blocking producer runs through
/// two slots. Whatever frame it starts at, it then sees every later frame and is never lapped:
/// no scan that missed it let the producer overwrite a frame it was owed.
#[test]
fn registration_handshake() {
    loom::model(|| {
        let mem = LoomMem::new(2, 1, false);
        let writer = {
            let mem = Arc::clone(&mem);
            thread::spawn(move || {
                let mut p = producer(&mem, BLOCK);
                for value in 0..3 {
                    let seq = p.claim(1).unwrap();
                    mem.put(seq, value);
                    p.commit(seq, seq + 1);
                }
                p.detach();
            })
        };
        let mut c = consumer(&mem, Delivery::Lossless);
        let start = c.next;
        let seen = drain_lossless(&mem, &mut c);
        writer.join().unwrap();
        assert_eq!(seen, (start..3).collect::<Vec<_>>());
    });
}

/// A lossless consumer that starts at the oldest frame (`Start::Oldest`) while a blocking
/// producer writes frames 0..4 through two slots. Frames before the start its handshake
/// protects may be overwritten under it (a producer's gate from a scan before it moved `read`
/// back): it reads them with the seqlock check and counts those gone as missed at the start.
/// From the protected start on, no frame is ever overwritten before it releases it and every one
/// is read; every frame it accepts is whole and in order, and each frame is read, missed or lost
/// exactly once.
#[test]
fn registration_at_the_oldest_frame() {
    loom::model(|| {
        let mem = LoomMem::with_flags(2, 1, false, false);
        let writer = spawn_blocking_writer(&mem);
        let mut c =
            ConsumerCore::register(Arc::clone(&mem), Delivery::Lossless, Start::Oldest, PID)
                .unwrap();
        let (start, protected) = (c.start, c.protected_from());
        let mut accepted = Vec::new();
        loop {
            let seq = c.next;
            match c.check(seq) {
                Check::Ready => {
                    let (a, b) = read_words(&mem, seq);
                    if c.verify(seq) {
                        assert_eq!((a, b), (seq, seq), "torn frame accepted");
                        c.note_handed_out(seq);
                        accepted.push(seq);
                        c.release(seq + 1, 1);
                    } else {
                        assert!(seq < protected, "protected frame {seq} overwritten");
                    }
                }
                Check::Lapped => {
                    assert!(seq < protected, "lapped at protected frame {seq}");
                    c.skip_lapped().unwrap();
                }
                Check::Empty => match c.wait(None) {
                    Ok(()) => {}
                    Err(RecvError::Closed) => break,
                    Err(e) => panic!("{e}"),
                },
            }
        }
        writer.join().unwrap();
        assert!(accepted.windows(2).all(|w| w[0] < w[1]));
        assert!(
            (protected..4).all(|s| accepted.contains(&s)),
            "every protected frame is read"
        );
        // Frames below the protected start may be gone: before the first frame read they are
        // missed at the start, after it lost; every frame is accounted for once.
        assert_eq!(
            accepted.len() as u64 + c.missed_at_start + c.lost,
            4 - start
        );
    });
}

/// Repairing a hole, racing a late commit (docs/ARCHITECTURE.md, protocol 8): a producer claims
/// frame 0, writes it (two words and its kind), then stalls long enough that a repairer takes
/// it for dead (`alive` says so once the producer set its flag, after its last byte store), and
/// commits late; the repairer runs `repair_hole` on frame 0 meanwhile. Whatever the
/// interleaving, exactly one of the two publishes the frame: the reader sees it once, either
/// whole (the commit succeeded, `abandoned` is 0) or as a skip frame (the commit failed and
/// stored nothing, `abandoned` is 1), never torn and never both.
#[test]
fn repair_races_a_late_commit() {
    const KIND: u32 = 5;
    loom::model(|| {
        let mem = LoomMem::repairable(2, 1);
        let c = consumer(&mem, Delivery::Lossless);
        let mut p = producer(&mem, BLOCK);
        let writer = {
            let mem = Arc::clone(&mem);
            thread::spawn(move || {
                let seq = p.claim(1).unwrap();
                for word in &mem.words[mem.index(seq)] {
                    // Relaxed: published by the commit (or read by the repairer after the flag).
                    word.store(7, Ordering::Relaxed);
                }
                // Relaxed: as the words.
                mem.kinds[mem.index(seq)].store(KIND, Ordering::Relaxed);
                // From here on a repairer takes us for dead. Release: pairs with `alive`.
                mem.dead.store(1, Ordering::Release);
                p.commit(seq, seq + 1)
            })
        };
        let repairer = {
            let mem = Arc::clone(&mem);
            // Finds nothing to do unless it runs after the producer looks dead.
            thread::spawn(move || crate::repair::repair_hole(&*mem, 0))
        };
        // Woken by the commit or by the repair (both notify).
        let w = &mem.producer.wait;
        while c.check(0) != Check::Ready {
            sleep::park(&*mem, &w.data_futex, &w.data_sleepers, None, || {
                c.check(0) == Check::Ready
            });
        }
        // Relaxed: validated by `verify`.
        let kind = mem.kinds[0].load(Ordering::Relaxed);
        let [a, b] = &mem.words[0];
        let words = (a.load(Ordering::Relaxed), b.load(Ordering::Relaxed));
        assert!(c.verify(0), "frame 0 rewritten");
        let committed = writer.join().unwrap();
        repairer.join().unwrap();
        let abandoned = mem.producer.cursor.abandoned.load(Ordering::Relaxed);
        assert_eq!(
            mem.stamps[0].load(Ordering::Relaxed),
            stamp::committed(0),
            "one commit, no later stamp"
        );
        if kind == kind_flags::SKIP {
            assert!(
                !committed,
                "a skip frame, and the producer's commit succeeded too"
            );
            assert_eq!(abandoned, 1);
        } else {
            assert_eq!((kind, words), (KIND, (7, 7)), "torn frame");
            assert!(
                committed,
                "a whole frame the producer was told it did not commit"
            );
            assert_eq!(abandoned, 0);
        }
    });
}

/// Repair never takes a live producer's frame: two producers share a two-slot ring; one claims a
/// frame and dies (its flag set, then a wake standing in for the end of a reader's liveness
/// slice), the other claims a frame, writes it and commits, in any order. A lossless reader that
/// repairs from its wait reads both: the dead producer's frame as a skip frame (`abandoned` 1),
/// the live one's whole, never as a skip, whatever the claim order and however the reader's look
/// at the records interleaves with the live producer's claim.
#[test]
fn repair_never_takes_a_live_claim() {
    const KIND: u32 = 5;
    loom::model(|| {
        let mem = LoomMem::repairable(2, 1);
        let mut c = consumer(&mem, Delivery::Lossless);
        let mut dying = producer(&mem, BLOCK);
        let mut live = producer(&mem, BLOCK);
        let dead = {
            let mem = Arc::clone(&mem);
            thread::spawn(move || {
                let seq = dying.claim(1).unwrap();
                // Release: pairs with `alive`.
                mem.dead.store(1, Ordering::Release);
                let w = &mem.producer.wait;
                sleep::wake(&*mem, &w.data_futex, &w.data_wakes);
                seq
            })
        };
        let writer = {
            let mem = Arc::clone(&mem);
            thread::spawn(move || {
                let seq = live.claim(1).unwrap();
                for word in &mem.words[mem.index(seq)] {
                    // Relaxed: published by the commit.
                    word.store(9, Ordering::Relaxed);
                }
                // Relaxed: as the words.
                mem.kinds[mem.index(seq)].store(KIND, Ordering::Relaxed);
                assert!(
                    live.commit(seq, seq + 1),
                    "a live producer's claim was repaired"
                );
                seq
            })
        };
        let mut seen = Vec::new();
        while seen.len() < 2 {
            let seq = c.next;
            match c.check(seq) {
                Check::Ready => {
                    let i = mem.index(seq);
                    // Relaxed: validated by `verify`.
                    let kind = mem.kinds[i].load(Ordering::Relaxed);
                    let [a, b] = &mem.words[i];
                    let words = (a.load(Ordering::Relaxed), b.load(Ordering::Relaxed));
                    assert!(c.verify(seq), "frame {seq} rewritten");
                    seen.push((seq, kind, words));
                    c.release(seq + 1, 1);
                }
                Check::Lapped => panic!("a lossless reader was lapped"),
                Check::Empty => c.wait(None).unwrap(),
            }
        }
        let dead_seq = dead.join().unwrap();
        let live_seq = writer.join().unwrap();
        for (seq, kind, words) in seen {
            if seq == dead_seq {
                assert_eq!(kind, kind_flags::SKIP, "the dead claim is a skip frame");
            } else {
                assert_eq!(seq, live_seq);
                assert_eq!((kind, words), (KIND, (9, 9)), "the live frame, whole");
            }
        }
        assert_eq!(mem.producer.cursor.abandoned.load(Ordering::Relaxed), 1);
    });
}

/// A named consumer taken again while a blocking producer, held back by the ownerless block
/// (grace 0), evicts it: the taker and the eviction exclude each other through the block's
/// lock (`gate::evict_ownerless`). Whichever comes first, the taker either resumes at the
/// block's cursor with every frame from there protected (not evicted: it reads frames 0..4 in
/// order, none overwritten under it), or learns of the eviction and joins again through the
/// handshake, counting the frames gone as missed; every frame is accounted for once, and the
/// eviction is counted.
#[test]
fn named_retake_races_eviction() {
    loom::model(|| {
        let mem = LoomMem::with_flags(2, 1, false, false);
        let mut old =
            ConsumerCore::register_named(Arc::clone(&mem), "n", Delivery::Lossless, ZERO, PID)
                .unwrap();
        old.unregister(); // ownerless, cursor at 0
        let writer = spawn_blocking_writer(&mem);
        let mut c =
            ConsumerCore::register_named(Arc::clone(&mem), "n", Delivery::Lossless, ZERO, PID)
                .unwrap();
        let resume = c.resumed.expect("the name existed");
        assert_eq!(resume.read, 0);
        let protected = c.protected_from();
        if !resume.evicted {
            assert_eq!(
                protected, 0,
                "a block never evicted stays protected from its cursor"
            );
        }
        let mut accepted = Vec::new();
        loop {
            let seq = c.next;
            match c.check(seq) {
                Check::Ready => {
                    let (a, b) = read_words(&mem, seq);
                    if c.verify(seq) {
                        assert_eq!((a, b), (seq, seq), "torn frame accepted");
                        c.note_handed_out(seq);
                        accepted.push(seq);
                        c.release(seq + 1, 1);
                    } else {
                        assert!(seq < protected, "protected frame {seq} overwritten");
                    }
                }
                Check::Lapped => {
                    assert!(seq < protected, "lapped at protected frame {seq}");
                    c.skip_lapped().unwrap();
                }
                Check::Empty => match c.wait(None) {
                    Ok(()) => {}
                    Err(RecvError::Closed) => break,
                    Err(e) => panic!("{e}"),
                },
            }
        }
        writer.join().unwrap();
        assert!(accepted.windows(2).all(|w| w[0] < w[1]));
        assert!((protected..4).all(|s| accepted.contains(&s)));
        if !resume.evicted {
            assert_eq!(accepted, [0, 1, 2, 3]);
        }
        assert_eq!(accepted.len() as u64 + c.missed_at_start + c.lost, 4);
        // Relaxed: the threads are joined.
        let evicted = mem.producer.cursor.evicted.load(Ordering::Relaxed);
        assert_eq!(evicted, u64::from(resume.evicted));
    });
}

/// Two takers of one ownerless name: exactly one gets it, resuming at the cursor the last
/// owner committed; the other is refused (`NameTaken`), and the block keeps that cursor.
#[test]
fn two_takers_of_one_name() {
    loom::model(|| {
        let mem = LoomMem::with_flags(2, 2, false, false);
        let mut old =
            ConsumerCore::register_named(Arc::clone(&mem), "n", Delivery::Lossless, ZERO, PID)
                .unwrap();
        old.unregister();
        let takers: Vec<_> = (0..2)
            .map(|_| {
                let mem = Arc::clone(&mem);
                thread::spawn(move || {
                    ConsumerCore::register_named(
                        Arc::clone(&mem),
                        "n",
                        Delivery::Lossless,
                        ZERO,
                        PID,
                    )
                    .map(|c| (c.index, c.resumed))
                    .map_err(|e| matches!(e, crate::Error::NameTaken { .. }))
                })
            })
            .collect();
        let results: Vec<_> = takers.into_iter().map(|t| t.join().unwrap()).collect();
        let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "exactly one taker wins");
        assert_eq!(won[0].0, 0, "the named block, not a new one");
        assert!(won[0].1.is_some_and(|r| r.read == 0 && !r.evicted));
        assert!(
            results.iter().any(|r| r == &Err(true)),
            "the other is refused by name"
        );
    });
}

/// An ownerless lossless name holds a blocking producer back (a grace it never reaches), while
/// one thread forgets the name and another registers an anonymous lossy consumer (which may
/// take the block the forget frees). The producer writes all four frames through two slots:
/// the forget stops the block gating and wakes the producer (loom reports a deadlock if it
/// sleeps on). The registrant never sees the old name or grace on its block (the forget clears
/// them before the Release store of `FREE`), and afterwards no block has the name.
#[test]
fn forget_races_a_producer_and_a_registrant() {
    loom::model(|| {
        let mem = LoomMem::with_flags(2, 2, false, false);
        let long = Duration::from_secs(3600);
        let mut old =
            ConsumerCore::register_named(Arc::clone(&mem), "n", Delivery::Lossless, long, PID)
                .unwrap();
        old.unregister(); // ownerless, cursor at 0
        let words = crate::layout::consumer_name::encode("n").unwrap();
        let writer = {
            let mem = Arc::clone(&mem);
            thread::spawn(move || {
                let mut p = producer(&mem, BLOCK);
                for value in 0..4 {
                    let seq = p.claim(1).unwrap();
                    mem.put(seq, value);
                    p.commit(seq, seq + 1);
                }
                p.detach();
            })
        };
        let forgetter = {
            let mem = Arc::clone(&mem);
            thread::spawn(move || crate::gate::forget_named(&*mem, words, false))
        };
        let c =
            ConsumerCore::register(Arc::clone(&mem), Delivery::Lossy, Start::Next, PID).unwrap();
        let block = mem.consumer(c.index);
        assert_eq!(
            crate::gate::load_name(block),
            [0; crate::layout::consumer_name::WORDS]
        );
        // Relaxed: written before the Release store of ACTIVE our registration saw.
        assert_eq!(block.grace_ns.load(Ordering::Relaxed), 0);
        let forgotten = forgetter.join().unwrap();
        assert_eq!(forgotten, Ok(crate::gate::Forgotten::Freed { index: 0 }));
        writer.join().unwrap();
        assert!((0..2).all(|i| crate::gate::load_name(mem.consumer(i)) != words));
        drop(c);
    });
}

const ZERO: Duration = Duration::ZERO;

/// A lossless reader's protected batch, checked at release with one look at its own block
/// (`ConsumerCore::protected_and_kept`) instead of a re-check per slot. Its lock let go part way
/// (as a dead or stalled reader's is), a blocking producer may evict it and rewrite the slots
/// while it reads them: whatever the interleaving, no rewritten frame passes as kept.
#[test]
fn protected_batch_checked_once_against_eviction() {
    loom::model(|| {
        let mem = LoomMem::with_flags(2, 1, false, false);
        let mut c = consumer(&mem, Delivery::Lossless);
        let writer = spawn_blocking_writer(&mem);
        while c.check(0) != Check::Ready {
            c.wait(None).unwrap();
        }
        let n = if c.check(1) == Check::Ready { 2 } else { 1 };
        // From here on the reader looks dead to the producer, which may evict it.
        mem.release_lock(Attachment::Consumer(c.index));
        let read: Vec<(u64, u64)> = (0..n).map(|seq| read_words(&mem, seq)).collect();
        assert_kept_only_if_whole(&c, &read);
        c.release(n, n);
        writer.join().unwrap();
    });
}

/// [`protected_batch_checked_once_against_eviction`] on a multi-producer ring: two producers
/// each rewrite one slot of the reader's batch once it looks dead. Only one of them wins the
/// eviction CAS; the other writes over a protected frame with a gate from its own scan (which
/// saw `EVICTED`: the look then sees it by coherence, the CAS being Relaxed) or inherited from
/// the evictor's `gate.fetch_max`. Either way no rewritten frame passes as kept.
#[test]
fn protected_batch_checked_once_against_two_producers() {
    loom::model(|| {
        let mem = LoomMem::with_flags(2, 1, true, false);
        let mut c = consumer(&mem, Delivery::Lossless);
        let mut first = producer(&mem, BLOCK);
        let writers: Vec<ProducerCore<LoomMem>> = (0..2).map(|_| producer(&mem, BLOCK)).collect();
        for _ in 0..2 {
            let seq = first.claim(1).unwrap();
            write_words(&mem, seq);
            first.commit(seq, seq + 1);
        }
        first.detach();
        assert!(c.check(0) == Check::Ready && c.check(1) == Check::Ready);
        // From here on the reader looks dead to the producers, which may evict it.
        mem.release_lock(Attachment::Consumer(c.index));
        let writers: Vec<_> = writers
            .into_iter()
            .map(|mut p| {
                let mem = Arc::clone(&mem);
                thread::spawn(move || {
                    let seq = p.claim(1).unwrap();
                    write_words(&mem, seq);
                    p.commit(seq, seq + 1);
                    p.detach();
                })
            })
            .collect();
        let read: Vec<(u64, u64)> = (0..2).map(|seq| read_words(&mem, seq)).collect();
        assert_kept_only_if_whole(&c, &read);
        // Joined before the release: both producers wrote over the batch's slots, so the
        // reader was evicted, once; the second producer wrote without a CAS of its own.
        for w in writers {
            w.join().unwrap();
        }
        // Relaxed: the threads that wrote it were joined.
        assert_eq!(mem.producer().cursor.evicted.load(Ordering::Relaxed), 1);
        c.release(2, 2);
    });
}
