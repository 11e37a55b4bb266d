//! Snapshots of a ring's cursors and counters, read with Relaxed loads: each value is one that
//! was true at some moment during the read, which is all a statistic promises.

use crate::layout::{consumer_state, delivery, producer_state, ring_state};
use crate::mem::{Attachment, RingMem};
use crate::sync::Ordering;

/// One producer table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerStats {
    /// Entry index.
    pub index: usize,
    /// Pid of the attached process.
    pub pid: u32,
    /// Whether that process is alive: it holds its entry's lock (a file-backed ring), or its
    /// pid exists (an anonymous one, or a file opened without the means to lock it).
    pub alive: bool,
    /// `CLOCK_MONOTONIC` nanoseconds of its last sign of life.
    pub heartbeat_ns: u64,
}

/// One registered (or evicted) consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerStats {
    /// Block index.
    pub index: usize,
    /// Its name, for a durable named consumer ([`Ring::consumer_named`](crate::Ring::consumer_named)).
    pub name: Option<String>,
    /// A named consumer that no live process owns: it keeps its cursor for the next owner.
    pub ownerless: bool,
    /// Whether it was evicted.
    pub evicted: bool,
    /// Whether it is lossy.
    pub lossy: bool,
    /// Pid of its process.
    pub pid: u32,
    /// Whether that process is alive (as for [`ProducerStats::alive`]).
    pub alive: bool,
    /// Next sequence it reads.
    pub read: u64,
    /// Frames published but not yet read.
    pub lag: u64,
    /// Frames handed to it.
    pub delivered: u64,
    /// Frames it never got.
    pub lost: u64,
    /// Times it was lapped.
    pub lapped: u64,
    /// Zero-copy views found overwritten at release.
    pub torn: u64,
    /// Times it slept waiting for a frame ([`ConsumerLine::wakes`](crate::layout::ConsumerLine::wakes)).
    pub wakes: u64,
    /// `CLOCK_MONOTONIC` nanoseconds of its last sign of life.
    pub heartbeat_ns: u64,
}

/// A snapshot of a ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingStats {
    /// Frames published (one past the highest committed sequence).
    pub published: u64,
    /// Frames refused by the `fail` policy.
    pub dropped: u64,
    /// Frames claimed by a producer that ended without committing them, published as skip
    /// frames (a dead producer's, repaired by another participant, or a claim left open when
    /// its producer detached).
    pub abandoned: u64,
    /// Consumers producers evicted (dead, stale, or ownerless past their grace), ever.
    pub evicted: u64,
    /// Whether the last producer detached cleanly.
    pub closed: bool,
    /// Consumers parked (or about to park) on the data futex.
    pub data_sleepers: u32,
    /// Producers parked (or about to park) on the space futex.
    pub space_sleepers: u32,
    /// Whether a consumer armed the data futex since the last wake on it: the next commit
    /// makes a wake call (a consumer counted in `data_sleepers` whose word is not armed was
    /// woken already and has not run yet).
    pub data_armed: bool,
    /// Whether a producer armed the space futex since the last wake on it.
    pub space_armed: bool,
    /// Futex wake calls made for consumers.
    pub data_wakes: u64,
    /// Futex wake calls made for producers.
    pub space_wakes: u64,
    /// Attached producers.
    pub producers: Vec<ProducerStats>,
    /// Registered and evicted consumers.
    pub consumers: Vec<ConsumerStats>,
}

impl RingStats {
    pub(crate) fn read<M: RingMem>(mem: &M) -> RingStats {
        let p = mem.producer();
        let published = p.cursor.published.load(Ordering::Relaxed);
        let producers = p
            .producers
            .iter()
            .enumerate()
            .filter(|(_, e)| e.state.load(Ordering::Relaxed) == producer_state::ATTACHED)
            .map(|(index, e)| {
                let pid = e.pid.load(Ordering::Relaxed);
                ProducerStats {
                    index,
                    pid,
                    alive: mem.alive(Attachment::Producer(index), pid),
                    heartbeat_ns: e.heartbeat_ns.load(Ordering::Relaxed),
                }
            })
            .collect();
        let consumers = (0..mem.max_consumers())
            .filter_map(|index| {
                let c = mem.consumer(index);
                let state = c.state.load(Ordering::Relaxed);
                if state != consumer_state::ACTIVE && state != consumer_state::EVICTED {
                    return None;
                }
                let read = c.read.load(Ordering::Relaxed);
                let pid = c.pid.load(Ordering::Relaxed);
                let alive = mem.alive(Attachment::Consumer(index), pid);
                let name = crate::layout::consumer_name::decode(crate::gate::load_name(c));
                let ownerless = name.is_some() && !alive;
                Some(ConsumerStats {
                    index,
                    name,
                    ownerless,
                    evicted: state == consumer_state::EVICTED,
                    lossy: c.policy.load(Ordering::Relaxed) == delivery::LOSSY,
                    pid,
                    alive,
                    read,
                    lag: published.saturating_sub(read),
                    delivered: c.delivered.load(Ordering::Relaxed),
                    lost: c.lost.load(Ordering::Relaxed),
                    lapped: c.lapped.load(Ordering::Relaxed),
                    torn: c.torn.load(Ordering::Relaxed),
                    wakes: c.wakes.load(Ordering::Relaxed),
                    heartbeat_ns: c.heartbeat_ns.load(Ordering::Relaxed),
                })
            })
            .collect();
        RingStats {
            published,
            dropped: p.cursor.dropped.load(Ordering::Relaxed),
            abandoned: p.cursor.abandoned.load(Ordering::Relaxed),
            evicted: p.cursor.evicted.load(Ordering::Relaxed),
            closed: p.wait.state.load(Ordering::Relaxed) == ring_state::CLOSED,
            data_sleepers: p.wait.data_sleepers.load(Ordering::Relaxed),
            space_sleepers: p.wait.space_sleepers.load(Ordering::Relaxed),
            data_armed: p.wait.data_futex.load(Ordering::Relaxed) & crate::sleep::ARMED != 0,
            space_armed: p.wait.space_futex.load(Ordering::Relaxed) & crate::sleep::ARMED != 0,
            data_wakes: p.wait.data_wakes.load(Ordering::Relaxed),
            space_wakes: p.wait.space_wakes.load(Ordering::Relaxed),
            producers,
            consumers,
        }
    }
}

/// What a live process does with a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Attached as a producer (an entry of the producer table).
    Producer,
    /// Registered as a consumer (an active consumer block).
    Consumer,
}

/// A process that still uses a ring: its pid is alive and it holds a producer table entry or an
/// active consumer block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Participant {
    /// Its pid.
    pub pid: u32,
    /// What it does.
    pub role: Role,
}

impl std::fmt::Display for Participant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let role = match self.role {
            Role::Producer => "producer",
            Role::Consumer => "consumer",
        };
        write!(f, "{role} pid {}", self.pid)
    }
}

/// `a, b, c` for an error message.
pub(crate) fn list(participants: &[Participant]) -> String {
    participants
        .iter()
        .map(Participant::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The live producers and consumers of a ring, producers first. A racy snapshot (Relaxed loads,
/// as for every statistic): a process may attach or die just after it.
pub(crate) fn live_participants<M: RingMem>(mem: &M) -> Vec<Participant> {
    let mut out = Vec::new();
    for (index, e) in mem.producer().producers.iter().enumerate() {
        // Relaxed: the pid word says the entry is taken; liveness is its lock (or the pid), as
        // in `producer_status`.
        let pid = e.pid.load(Ordering::Relaxed);
        if pid != 0 && mem.alive(Attachment::Producer(index), pid) {
            out.push(Participant {
                pid,
                role: Role::Producer,
            });
        }
    }
    for index in 0..mem.max_consumers() {
        let c = mem.consumer(index);
        // Relaxed: as above. A `CLAIMING` block has no pid yet; an evicted consumer ends at its
        // next wait.
        if c.state.load(Ordering::Relaxed) == consumer_state::ACTIVE {
            let pid = c.pid.load(Ordering::Relaxed);
            if pid != 0 && mem.alive(Attachment::Consumer(index), pid) {
                out.push(Participant {
                    pid,
                    role: Role::Consumer,
                });
            }
        }
    }
    out
}
