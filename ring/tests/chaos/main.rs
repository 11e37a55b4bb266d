//! The chaos test (issue #13): one multi-producer ring in `/dev/shm`, 3 producer processes, 2
//! lossless and 2 lossy reader processes, and for the whole run a random participant killed with
//! SIGKILL every 100-400 ms and a replacement started within 1.5 s (`Run::chaos` says why not at
//! once). Then the survivors finish and every frame is accounted for.
//!
//! ## What is random, and how to replay it
//! One seed (printed first; `RINGFLOW_CHAOS_SEED=N` replays it) draws the kill times, the
//! victims, the replacements' delays and each child's seed (batch sizes 1-4, frame lengths, which
//! claims it holds open for a while). After one replacement start in six, the next kill is aimed
//! at the newcomer 0-3 ms later, so it dies while attaching or registering. Producers hold one claim in 64 open for 0.5 ms before
//! committing it, so a kill often lands between claim and commit: a hole the ring must repair.
//! The operating system's scheduling is not replayed: a seed gives the same decisions, not the
//! same interleaving.
//!
//! ## What the children say
//! `ringflow-stream chaos-produce` / `chaos-consume` (`ring/src/bin/ringflow-stream/chaos.rs`)
//! print a line per event and flush it, so what a child said before a SIGKILL reaches the test:
//! producers their table entry, progress (frames committed, ring seq of the last) and a clean
//! end; readers their start, every exact range of skip frames, progress (every seq below `next` is
//! accounted for), each failed check as an `error` line, and an end line with their accounting
//! and, per producer, the first and last counter seen.
//!
//! ## The checks (each can fail; the seed is in the message)
//! - **No torn, duplicated or reordered frame per producer**: every reader checks every byte of
//!   every frame (`pattern::check`) and that each producer's counter only goes up (lossless: by
//!   exactly one); lossy readers' `lost_before` must fit in the gap of ring seqs it explains.
//!   Every `error` line of any reader, killed or not, fails the test.
//! - **No stall longer than 1 s**: while producers run, the ring's `published` must move at least
//!   once a second; a reader that reported reading up to `next` while `published` was past it must
//!   report progress within 1 s.
//! - **Every sequence accounted for**: each reader that survives ends with `next` equal to the
//!   ring's final `published` (nothing left unread) and `closed` or `producer_gone`; a lossless
//!   one lost nothing, tore nothing, and its delivered frames plus skip frames are every seq from
//!   its start (`Start::Next`, which the registration handshake protects, so no frame after it can
//!   be gone: a replacement reader's accounting is complete from its own start, which is why no
//!   `--from` start is used). Against the producers: a producer that ended cleanly after committing
//!   seq `L >= start` with `N` frames must have been seen to its last counter `N - 1` (and from
//!   counter 0 with all `N` frames if its first seq was past the start); a killed producer whose
//!   last progress said `N` frames up to seq `L >= start` must have been seen at least to `N - 1`.
//! - **abandoned = skip frames seen**: the skip seqs every reader saw (killed ones included, up to
//!   their last line) are distinct frames the ring published as skips, so their count `seen` is a
//!   lower bound of the ring's `abandoned`; seqs that no lossless reader accounted for may hold
//!   skips nobody saw, so `abandoned <= seen + uncovered`; with full coverage that is equality.
//!   (Coverage has gaps: a killed reader's ends at its last progress line, up to 100 ms before
//!   its death, and its replacement starts at the newest frame when it registers; if the other
//!   lossless reader is killed before passing that point, the seqs between are no one's.) Each skip comes from a killed
//!   producer's claim: `abandoned <= producer kills * 4` (the largest batch).
//! - **No leaked consumer block**: when the kills stop, the ring's live consumers and producers are
//!   exactly the running children; at the very end no participant is alive, and every consumer
//!   block can be registered again (`max_consumers` registrations succeed: blocks left ACTIVE,
//!   EVICTED or CLAIMING by killed readers are reclaimed by exact liveness).
//!
//! ## Length
//! `RINGFLOW_CHAOS_SECS` (default 30) of kills, and at least `RINGFLOW_CHAOS_FRAMES` frames
//! published (default 0): `make chaos` runs 10^8 frames in release mode.

mod checks;
mod children;
mod ranges;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

use children::{Event, Participant, Role};
use ranges::Ranges;
use ringflow::{Ring, RingConfig};

const PRODUCERS: usize = 3;
const LOSSLESS: usize = 2;
const LOSSY: usize = 2;
const SLOTS: u32 = 512;
const SLOT_SIZE: u32 = 96;
const MAX_CONSUMERS: u32 = 8;
const MAX_BATCH: u64 = 4;
const HOLD_EVERY: u64 = 64;
const HOLD_US: u64 = 500;
const PROGRESS_MS: u64 = 100;
const KILL_EVERY_MS: (u64, u64) = (100, 400);
/// A victim's replacement starts within this (see `Run::chaos`): longer than `STALL`, so a
/// recovery that waits for the replacement fails the stall check.
const REPLACE_WITHIN_MS: u64 = 1500;
const STALL: Duration = Duration::from_secs(1);
/// Guards against a hang, not speed checks.
const REGISTER_LIMIT: Duration = Duration::from_secs(20);
const FINISH_LIMIT: Duration = Duration::from_secs(120);

/// splitmix64, so a seed replays the test's decisions; written out (ten lines) rather than a
/// dependency of the ring crate's tests.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    let raw = std::env::var(name).ok()?;
    Some(
        raw.parse()
            .unwrap_or_else(|_| panic!("{name}: cannot parse {raw:?}")),
    )
}

/// The ring file: created under a unique name in /dev/shm, removed when dropped (a failing test
/// included).
struct ShmRing {
    path: PathBuf,
    ring: Ring,
}

impl ShmRing {
    fn create() -> ShmRing {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("ringflow-chaos-{}-{nanos}", std::process::id());
        let path = ringflow::shm_path(&name).unwrap();
        let config = RingConfig::new(SLOTS, SLOT_SIZE)
            .multi_producer(true)
            .max_consumers(MAX_CONSUMERS);
        let ring = Ring::create(&path, &config).unwrap();
        ShmRing { path, ring }
    }
}

impl Drop for ShmRing {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

struct Run {
    seed: u64,
    rng: SplitMix,
    path: String,
    // Declared before the participants' `Vec`: nothing here needs the children alive.
    events: Receiver<Event>,
    sender: Sender<Event>,
    parts: Vec<Participant>,
    kills: BTreeMap<Role, u64>,
    kill_log: Vec<String>,
    failures: Vec<String>,
    skips: Ranges,
    started: Instant,
    last_published: u64,
    published_moved_at: Instant,
    ring_stall_reported: bool,
}

impl Run {
    fn fail(&mut self, what: String) {
        if self.failures.len() < 30 {
            eprintln!("chaos: FAIL {what}");
        }
        self.failures.push(what);
    }

    fn spawn(&mut self, role: Role) -> usize {
        let id = self.parts.len();
        let mut args: Vec<String> = match role {
            Role::Producer => vec![
                "chaos-produce".into(),
                self.path.clone(),
                "--id".into(),
                id.to_string(),
                "--seed".into(),
                self.rng.next().to_string(),
                "--batch".into(),
                MAX_BATCH.to_string(),
                "--hold-every".into(),
                HOLD_EVERY.to_string(),
                "--hold-us".into(),
                HOLD_US.to_string(),
            ],
            Role::Lossless | Role::Lossy => vec!["chaos-consume".into(), self.path.clone()],
        };
        if role == Role::Lossy {
            args.push("--lossy".into());
        }
        args.extend(["--progress-ms".into(), PROGRESS_MS.to_string()]);
        let part = Participant::spawn(id, role, &args, &self.sender);
        self.parts.push(part);
        id
    }

    fn handle(&mut self, event: Event) {
        let part = &mut self.parts[event.id];
        match event.line {
            None => part.stdout_closed = true,
            Some(line) => {
                if line.starts_with("skip ") {
                    if let (Some(from), Some(to)) =
                        (children::num(&line, "from"), children::num(&line, "to"))
                    {
                        self.skips.add(from, to);
                    }
                }
                part.take(&line, event.at);
            }
        }
    }

    /// Takes the children's lines for up to `wait`, then looks for stalls.
    fn pump(&mut self, ring: &Ring, wait: Duration, producers_running: bool) {
        if let Ok(event) = self.events.recv_timeout(wait) {
            self.handle(event);
            while let Ok(event) = self.events.try_recv() {
                self.handle(event);
            }
        }
        let now = Instant::now();
        let published = ring.published();
        if published != self.last_published {
            self.last_published = published;
            self.published_moved_at = now;
        }
        if producers_running
            && published > 0
            && now - self.published_moved_at > STALL
            && !self.ring_stall_reported
        {
            self.ring_stall_reported = true;
            let stats = ring.stats();
            self.fail(format!(
                "the ring stalled: published stuck at {published} for {:?} (producers {:?}, consumers {:?})",
                now - self.published_moved_at,
                stats.producers,
                stats.consumers
            ));
        }
        let mut stalled = Vec::new();
        for part in self.parts.iter_mut().filter(|p| p.role.is_reader()) {
            let (Some(next), true) = (part.next, part.running()) else {
                continue;
            };
            if published <= next {
                part.behind_since = None;
                continue;
            }
            let since = *part.behind_since.get_or_insert(now);
            if now - since > STALL {
                stalled.push(format!(
                    "{:?} reader {} (pid {}) stalled: at seq {next} for {:?} while {published} were published",
                    part.role,
                    part.id,
                    part.pid,
                    now - part.moved_at
                ));
                // Reported once per stall.
                part.behind_since = Some(now + Duration::from_secs(3600));
            }
        }
        for s in stalled {
            self.fail(s);
        }
        let mut quit = Vec::new();
        for part in &mut self.parts {
            let was_running = part.running();
            part.poll_exit();
            if was_running && !part.running() && producers_running {
                quit.push(format!(
                    "{:?} {} (pid {}) ended on its own during the kills ({:?}, at {:?})",
                    part.role, part.id, part.pid, part.exited, part.next
                ));
            }
        }
        for q in quit {
            self.fail(q);
        }
    }

    fn running(&self) -> impl Iterator<Item = &Participant> {
        self.parts.iter().filter(|p| p.running())
    }

    /// Kills `victim` (SIGKILL, then reaped).
    fn kill(&mut self, victim: usize) -> Role {
        let at = self.started.elapsed();
        let part = &mut self.parts[victim];
        part.kill();
        let line = format!(
            "{:.3}s kill {:?} {} pid {} (age {:?})",
            at.as_secs_f64(),
            part.role,
            part.id,
            part.pid,
            part.spawned.elapsed()
        );
        self.kill_log.push(line);
        *self.kills.entry(part.role).or_default() += 1;
        part.role
    }

    /// Whether another running child of `victim`'s role has attached or registered: killing
    /// `victim` then leaves its role a live participant on the ring. (A child that is only
    /// running may not have attached yet: with every attached producer dead, readers rightly end
    /// with `producer_gone`, which a first version of this test caused in a 10^8-frame run.)
    fn another_of_its_role(&self, victim: usize) -> bool {
        let role = self.parts[victim].role;
        self.running()
            .any(|p| p.id != victim && p.role == role && p.announced())
    }

    /// The kills, until the configured time is up and enough frames were published.
    ///
    /// A victim's replacement starts after a random delay of up to `REPLACE_WITHIN`, not at once:
    /// a replacement attaching over a dead producer's table entry repairs its claim, and one
    /// registering over a dead reader's block frees it, so immediate replacements would hide
    /// whether the other participants recover on their own (readers and producers repairing
    /// holes, producers evicting dead readers) within the stall limit. A victim is killed only
    /// if another participant of its role has attached or registered (`another_of_its_role`), so
    /// every role keeps one on the ring: with no producer attached the readers would rightly end
    /// (`producer_gone`), and any child that ends on its own during the kills fails the test.
    fn chaos(&mut self, ring: &Ring, secs: f64, frames: u64) {
        let mut next_kill = Instant::now()
            + Duration::from_millis(self.rng.between(KILL_EVERY_MS.0, KILL_EVERY_MS.1));
        let mut aimed: Option<usize> = None;
        let mut pending: Vec<(Instant, Role)> = Vec::new();
        loop {
            self.pump(ring, Duration::from_millis(2), true);
            let now = Instant::now();
            if self.started.elapsed().as_secs_f64() >= secs && ring.published() >= frames {
                // The survivors: every replacement still owed starts now.
                for (_, role) in pending {
                    self.spawn(role);
                }
                return;
            }
            while let Some(i) = pending.iter().position(|(at, _)| *at <= now) {
                let (_, role) = pending.swap_remove(i);
                let id = self.spawn(role);
                if aimed.is_none() && self.rng.next() % 6 == 0 {
                    // Kill the newcomer while it attaches or registers.
                    aimed = Some(id);
                    next_kill = now + Duration::from_micros(self.rng.between(0, 3000));
                }
            }
            if now < next_kill {
                continue;
            }
            next_kill =
                now + Duration::from_millis(self.rng.between(KILL_EVERY_MS.0, KILL_EVERY_MS.1));
            let victim = match aimed.take() {
                Some(id) if self.parts[id].running() => id,
                _ => {
                    let live: Vec<usize> = self.running().map(|p| p.id).collect();
                    live[self.rng.next() as usize % live.len()]
                }
            };
            if !self.another_of_its_role(victim) {
                continue;
            }
            let role = self.kill(victim);
            let delay = Duration::from_millis(self.rng.between(0, REPLACE_WITHIN_MS));
            pending.push((now + delay, role));
        }
    }

    /// Waits until every running child said it attached or registered.
    fn settle(&mut self, ring: &Ring) {
        let deadline = Instant::now() + REGISTER_LIMIT;
        loop {
            let pending = self
                .running()
                .filter(|p| match p.role {
                    Role::Producer => p.entry.is_none(),
                    _ => p.start.is_none(),
                })
                .count();
            if pending == 0 {
                return;
            }
            if Instant::now() > deadline {
                self.fail(format!("{pending} children never attached or registered"));
                return;
            }
            self.pump(ring, Duration::from_millis(5), true);
        }
    }

    /// With the kills stopped: the ring's live participants are exactly the running children.
    fn check_live_participants(&mut self, ring: &Ring) {
        let mut seen: Vec<(bool, u32)> = ring
            .live_participants()
            .iter()
            .map(|p| (p.role == ringflow::Role::Consumer, p.pid))
            .collect();
        let mut expected: Vec<(bool, u32)> = self
            .running()
            .map(|p| (p.role.is_reader(), p.pid))
            .collect();
        seen.sort_unstable();
        expected.sort_unstable();
        if seen != expected {
            self.fail(format!(
                "live participants (is consumer, pid) {seen:?}, but the running children are {expected:?}"
            ));
        }
    }

    /// Stops the producers cleanly and waits for every child to end.
    fn finish(&mut self, ring: &Ring) {
        for part in self.parts.iter_mut().filter(|p| p.role == Role::Producer) {
            part.stop();
        }
        let deadline = Instant::now() + FINISH_LIMIT;
        while self.parts.iter().any(|p| p.running() || !p.stdout_closed) {
            if Instant::now() > deadline {
                let hung: Vec<String> = self
                    .running()
                    .map(|p| format!("{:?} {} pid {} at {:?}", p.role, p.id, p.pid, p.next))
                    .collect();
                self.fail(format!(
                    "children still running after {FINISH_LIMIT:?}: {hung:?}"
                ));
                for part in &mut self.parts {
                    part.kill();
                }
                return;
            }
            // Producers are stopping: `published` may stand still now; readers may not.
            self.pump(ring, Duration::from_millis(5), false);
        }
        while let Ok(event) = self.events.try_recv() {
            self.handle(event);
        }
    }
}

#[test]
fn chaos_kills_participants_and_every_frame_is_accounted_for() {
    let seed: u64 = env("RINGFLOW_CHAOS_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    let secs: f64 = env("RINGFLOW_CHAOS_SECS").unwrap_or(30.0);
    let frames: u64 = env("RINGFLOW_CHAOS_FRAMES").unwrap_or(0);
    println!("chaos: seed {seed} (replay with RINGFLOW_CHAOS_SEED={seed}), {secs} s, at least {frames} frames");
    let shm = ShmRing::create();
    let ring = &shm.ring;
    let (sender, events) = channel();
    let mut run = Run {
        seed,
        rng: SplitMix(seed),
        path: shm.path.to_str().unwrap().to_owned(),
        events,
        sender,
        parts: Vec::new(),
        kills: BTreeMap::new(),
        kill_log: Vec::new(),
        failures: Vec::new(),
        skips: Ranges::default(),
        started: Instant::now(),
        last_published: 0,
        published_moved_at: Instant::now(),
        ring_stall_reported: false,
    };
    for role in [Role::Lossless; LOSSLESS]
        .into_iter()
        .chain([Role::Lossy; LOSSY])
        .chain([Role::Producer; PRODUCERS])
    {
        run.spawn(role);
    }
    run.chaos(ring, secs, frames);
    let chaos_took = run.started.elapsed();
    run.settle(ring);
    run.check_live_participants(ring);
    run.finish(ring);
    let took = run.started.elapsed();
    checks::check(&mut run, ring);
    let stats = ring.stats();
    let ends: Vec<&str> = run
        .parts
        .iter()
        .filter_map(|p| p.end_reader.as_ref().map(|e| e.how.as_str()))
        .collect();
    println!(
        "chaos: {:.1} s ({:.1} s of kills), {} frames, kills {:?}, abandoned {}, readers ended {ends:?}, seed {}",
        took.as_secs_f64(),
        chaos_took.as_secs_f64(),
        stats.published,
        run.kills,
        stats.abandoned,
        run.seed
    );
    if !run.failures.is_empty() {
        let tail = run.kill_log.len().saturating_sub(15);
        let shown = run.failures.len().min(30);
        panic!(
            "chaos failed with seed {seed} (replay: RINGFLOW_CHAOS_SEED={seed}), {} failures:\n  {}\nlast kills:\n  {}",
            run.failures.len(),
            run.failures[..shown].join("\n  "),
            run.kill_log[tail..].join("\n  ")
        );
    }
}
