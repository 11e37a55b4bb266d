//! `ringflow bridge push|pull` against real `nats-server`s (Debian's, 2.9; `make setup` installs
//! it), each started here on free loopback ports with a temporary store and stopped at the end:
//! ring -> push -> JetStream -> pull -> ring, every frame checked exactly once and in order,
//! across SIGKILLs of either bridge, a server restart, a lossy push with the server away, and
//! a three-node cluster losing a node.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringflow::{
    pattern, Delivery, FullPolicy, ProducerOptions, RecvError, Ring, RingConfig, Start,
};

/// A guard against a hang, not a speed limit: the 10^6 audio frames take 30-70 s alone, more
/// beside the other tests.
const LIMIT: Duration = Duration::from_secs(300);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `nats-server` with JetStream on a loopback port; killed (and its store left to the
/// temporary directory) when dropped.
struct Server {
    child: Option<Child>,
    args: Vec<String>,
    port: u16,
}

impl Server {
    fn start(store: &Path) -> Server {
        let port = free_port();
        Self::spawn(
            vec![
                "-js".into(),
                "-a".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port.to_string(),
                "-sd".into(),
                store.to_str().unwrap().into(),
            ],
            port,
        )
    }

    fn spawn(args: Vec<String>, port: u16) -> Server {
        let mut s = Server {
            child: None,
            args,
            port,
        };
        s.restart();
        s
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// SIGTERM, as a service manager stops it: the server flushes its store. (A single server
    /// killed with SIGKILL loses the messages it acknowledged but had not yet written: 2.9 has
    /// no per-message sync. Killing is for a node of a replicated cluster.)
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: plain syscall on our own child's pid.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
    }

    /// SIGKILL.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn restart(&mut self) {
        self.stop();
        let child = Command::new("nats-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is not installed: run `make setup` (Debian: apt-get install nats-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ringflow(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ringflow"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a child (killing it and failing past `LIMIT`, a guard against a hang); its exit
/// status and output.
fn finish(mut child: Child) -> (i32, String) {
    let deadline = Instant::now() + LIMIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "child still running after {LIMIT:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Two rings (`a` pushed, `b` pulled into) in a temporary directory, with a verifying reader of
/// `b` registered before anything is written into it.
struct Rig {
    dir: tempfile::TempDir,
    a: Ring,
    b: Ring,
    size: u32,
}

impl Rig {
    fn new(slots: u32, size: u32) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let config = RingConfig::new(slots, size);
        let a = Ring::create(dir.path().join("a"), &config).unwrap();
        let b = Ring::create(dir.path().join("b"), &config).unwrap();
        Rig { dir, a, b, size }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    fn push(&self, url: &str, extra: &[&str]) -> Child {
        let a = self.path("a");
        let mut args = vec![
            "bridge", "push", &a, "--nats", url, "--stream", "S", "--json",
        ];
        args.extend_from_slice(extra);
        ringflow(&args)
    }

    fn pull(&self, url: &str, frames: u64) -> Child {
        let b = self.path("b");
        let n = frames.to_string();
        ringflow(&[
            "bridge", "pull", "--nats", url, "--stream", "S", &b, "--frames", &n, "--json",
        ])
    }

    /// Waits until the push bridge's named consumer is registered in `a`.
    fn wait_push_registered(&self) {
        wait_until("the push bridge's consumer", || {
            self.a.stats().consumers.iter().any(|c| !c.ownerless)
        });
    }

    /// Writes frames `0..n` of the seq pattern into `a` and closes it.
    fn produce(&self, n: u64, policy: FullPolicy) -> std::thread::JoinHandle<u64> {
        let ring = self.a.clone();
        let size = self.size as usize;
        std::thread::spawn(move || {
            let mut p = ring.producer(ProducerOptions::new(policy)).unwrap();
            let mut buf = vec![0u8; size];
            let mut refused = 0;
            for seq in 0..n {
                pattern::fill(&mut buf, 0, seq);
                if p.push(&buf).is_err() {
                    refused += 1;
                }
            }
            refused
        })
    }

    /// Reads `b` until `n` frames came: every one checked whole (pattern), in order and once;
    /// a pull bridge's death (`ProducerGone`) is waited out. `progress` counts the frames.
    fn reader(&self, n: u64, progress: Arc<AtomicU64>) -> std::thread::JoinHandle<Vec<u64>> {
        let mut c = self
            .b
            .consumer_with(Delivery::Lossless, Start::Seq(0))
            .unwrap();
        std::thread::spawn(move || {
            let mut seqs = Vec::with_capacity(n as usize);
            let deadline = Instant::now() + LIMIT;
            while (seqs.len() as u64) < n {
                assert!(
                    Instant::now() < deadline,
                    "reader got {} of {n}",
                    seqs.len()
                );
                match c.recv(Some(Duration::from_millis(100))) {
                    Ok(f) => {
                        let (producer, seq) =
                            pattern::check(f.payload()).expect("a whole pattern frame");
                        assert_eq!(producer, 0);
                        seqs.push(seq);
                        progress.store(seqs.len() as u64, Ordering::Relaxed);
                    }
                    Err(
                        RecvError::Timeout | RecvError::ProducerGone { .. } | RecvError::Closed,
                    ) => std::thread::sleep(Duration::from_millis(10)),
                    Err(e) => panic!("{e}"),
                }
            }
            seqs
        })
    }
}

fn json_u64(out: &str, key: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("{out}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {out}"))
}

/// Runs a lossless push -> stream -> pull of `n` frames of `size` bytes through `servers` (one,
/// or a cluster), with `chaos` called once the far reader has a third of them (given the rig,
/// the servers and the running bridges, it may kill and restart any of them); then checks every
/// frame came exactly once, in order.
fn round_trip(
    n: u64,
    slots: u32,
    size: u32,
    servers: impl FnOnce(&Path) -> Vec<Server>,
    push_args: &[&str],
    chaos: impl FnOnce(&Rig, &mut Vec<Server>, &mut Child, &mut Child),
) {
    let rig = Rig::new(slots, size);
    let mut servers = servers(rig.dir.path());
    let url = servers
        .iter()
        .map(Server::url)
        .collect::<Vec<_>>()
        .join(",");
    let mut push = rig.push(&url, push_args);
    rig.wait_push_registered();
    let progress = Arc::new(AtomicU64::new(0));
    let reader = rig.reader(n, Arc::clone(&progress));
    let writer = rig.produce(n, FullPolicy::Block { timeout: None });
    // The push bridge made the stream before it registered: the pull bridge may start now.
    let mut pull = rig.pull(&url, n);
    wait_until("a third of the frames", || {
        progress.load(Ordering::Relaxed) >= n / 3
    });
    chaos(&rig, &mut servers, &mut push, &mut pull);
    assert_eq!(writer.join().unwrap(), 0);
    let seqs = reader.join().unwrap();
    assert!(
        seqs.iter().copied().eq(0..n),
        "frames out of order, lost or repeated (first bad at {:?})",
        seqs.iter().enumerate().find(|&(i, &s)| s != i as u64)
    );
    let (code, out) = finish(pull);
    assert_eq!(code, 0, "{out}");
    let (code, out) = finish(push);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json_u64(&out, "lost"), 0);
    // Nothing more than the n frames reached the far ring.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(rig.b.published(), n);
}

fn one_server(dir: &Path) -> Vec<Server> {
    vec![Server::start(&dir.join("js"))]
}

/// Three JetStream nodes on loopback, routed to each other.
fn cluster(dir: &Path) -> Vec<Server> {
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    (0..3)
        .map(|i| {
            let routes = (0..3)
                .filter(|&j| j != i)
                .map(|j| format!("nats://127.0.0.1:{}", ports[j].1))
                .collect::<Vec<_>>()
                .join(",");
            let (port, cport) = ports[i];
            Server::spawn(
                vec![
                    "-js".into(),
                    "-a".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                    "-sd".into(),
                    dir.join(format!("js{i}")).to_str().unwrap().into(),
                    "-n".into(),
                    format!("node{i}"),
                    "--cluster_name".into(),
                    "ringflow".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{cport}"),
                    "--routes".into(),
                    routes,
                ],
                port,
            )
        })
        .collect()
}

const NO_CHAOS: fn(&Rig, &mut Vec<Server>, &mut Child, &mut Child) = |_, _, _, _| {};

#[test]
fn push_stream_pull_every_frame_once_in_order_64_bytes() {
    round_trip(1_000_000, 4096, 64, one_server, &[], NO_CHAOS);
}

/// 10^6 audio-sized frames (3.84 GB of payload) through a work-queue stream: the server
/// deletes each message once the pull bridge acknowledged it, and the stream's size limit
/// (discard new) holds push back when pull falls behind, so the store never holds more than
/// 64 MiB however many frames pass.
#[test]
fn push_stream_pull_every_frame_once_in_order_audio_frames() {
    round_trip(
        1_000_000,
        1024,
        3840,
        one_server,
        &["--retention", "work-queue", "--max-bytes", "67108864"],
        NO_CHAOS,
    );
}

#[test]
fn a_push_bridge_killed_mid_stream_and_restarted_loses_and_repeats_nothing() {
    round_trip(
        100_000,
        4096,
        64,
        one_server,
        &[],
        |rig, servers, push, _| {
            let url = servers[0].url();
            kill(std::mem::replace(push, ringflow(&["--version"])));
            let _ = finish(std::mem::replace(push, rig.push(&url, &[])));
        },
    );
}

#[test]
fn a_pull_bridge_killed_mid_stream_and_restarted_loses_and_repeats_nothing() {
    const N: u64 = 100_000;
    round_trip(N, 4096, 64, one_server, &[], |rig, servers, _, pull| {
        let url = servers[0].url();
        kill(std::mem::replace(pull, ringflow(&["--version"])));
        // The restarted bridge is asked for what is left; it counts only frames it writes.
        let left = N - rig.b.published();
        let _ = finish(std::mem::replace(pull, rig.pull(&url, left)));
    });
}

#[test]
fn a_server_restarted_mid_stream_loses_and_repeats_nothing() {
    round_trip(100_000, 4096, 64, one_server, &[], |_, servers, _, _| {
        servers[0].restart();
    });
}

#[test]
fn a_three_node_cluster_losing_a_node_loses_and_repeats_nothing() {
    round_trip(
        100_000,
        4096,
        64,
        cluster,
        &["--replicas", "3"],
        |_, servers, _, _| servers[1].kill(),
    );
}

/// A work-queue stream at its size limit refuses new messages (discard new): push holds the
/// ring back, republishing its window, until the pull bridge's acknowledgements make room; then
/// every frame arrives exactly once, in order.
#[test]
fn a_full_work_queue_stream_holds_push_back_until_pull_makes_room() {
    const N: u64 = 2_000;
    // 1 MiB holds ~250 messages of 3840 bytes and their headers: far fewer than N.
    const MAX_BYTES: &str = "1048576";
    let rig = Rig::new(1024, 3840);
    let servers = one_server(rig.dir.path());
    let url = servers[0].url();
    let push = rig.push(
        &url,
        &["--retention", "work-queue", "--max-bytes", MAX_BYTES],
    );
    rig.wait_push_registered();
    let progress = Arc::new(AtomicU64::new(0));
    let reader = rig.reader(N, Arc::clone(&progress));
    let writer = rig.produce(N, FullPolicy::Block { timeout: None });
    let pushed = || {
        rig.a
            .stats()
            .consumers
            .iter()
            .find(|c| !c.ownerless)
            .map_or(0, |c| c.read)
    };
    wait_until("the stream to fill", || pushed() > 0);
    // No consumer yet: once the stream is full, the bridge's cursor stops short of N.
    std::thread::sleep(Duration::from_secs(1));
    let held = pushed();
    assert!(
        held < N / 2,
        "push went on past a full stream: {held} of {N}"
    );
    assert!(!writer.is_finished(), "the producer was not held back");
    let (code, out) = finish(rig.pull(&url, N));
    assert_eq!(code, 0, "{out}");
    assert_eq!(writer.join().unwrap(), 0);
    let seqs = reader.join().unwrap();
    assert!(
        seqs.iter().copied().eq(0..N),
        "frames out of order, lost or repeated"
    );
    let (code, out) = finish(push);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json_u64(&out, "frames"), N, "{out}");
    assert_eq!(json_u64(&out, "lost"), 0, "{out}");
    assert!(
        json_u64(&out, "retries") > 0,
        "the full stream refused nothing: {out}"
    );
}

/// A lossy push while the server is away: the ring's producer is never held back (a `fail`
/// producer has nothing refused), and what the bridge lost is counted exactly: its count, the
/// far side's `Ringflow-Lost-Before` total and the gaps in the frames that arrived agree.
#[test]
fn a_lossy_push_with_the_server_stopped_never_holds_the_producer_back_and_counts_the_loss() {
    const BEFORE: u64 = 20_000;
    const AWAY: u64 = 50_000;
    let rig = Rig::new(4096, 64);
    let mut servers = one_server(rig.dir.path());
    let url = servers[0].url();
    let push = rig.push(&url, &["--policy", "lossy"]);
    rig.wait_push_registered();
    let mut p = rig
        .a
        .producer(ProducerOptions::new(FullPolicy::Fail))
        .unwrap();
    let mut buf = vec![0u8; 64];
    let mut write = |range: std::ops::Range<u64>| {
        for seq in range {
            pattern::fill(&mut buf, 0, seq);
            p.push(&buf)
                .expect("a lossy bridge never holds the producer back");
        }
    };
    write(0..BEFORE);
    wait_until("the first frames acknowledged", || {
        rig.a.stats().consumers.iter().any(|c| c.read == BEFORE)
    });
    servers[0].stop();
    write(BEFORE..BEFORE + AWAY);
    servers[0].restart();
    drop(p); // closes the ring: the bridge ends once it published what is left
    let (code, out) = finish(push);
    assert_eq!(code, 0, "{out}");
    let (frames, lost) = (json_u64(&out, "frames"), json_u64(&out, "lost"));
    assert_eq!(frames + lost, BEFORE + AWAY, "{out}");
    assert!(lost > 0, "the ring lapped the bridge: {out}");
    let progress = Arc::new(AtomicU64::new(0));
    let reader = rig.reader(frames, progress);
    let (code, out) = finish(rig.pull(&url, frames));
    assert_eq!(code, 0, "{out}");
    assert_eq!(json_u64(&out, "upstream_lost"), lost, "{out}");
    let seqs = reader.join().unwrap();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(*seqs.last().unwrap(), BEFORE + AWAY - 1);
    assert_eq!(
        BEFORE + AWAY - seqs.len() as u64,
        lost,
        "gaps equal the count"
    );
    assert_eq!(rig.a.stats().dropped, 0);
}

/// The Python example of docs/BRIDGE.md reads what the push bridge wrote with nothing but
/// nats-py, and checks every frame (`make setup` installs nats-py).
#[test]
fn a_plain_python_client_reads_and_checks_the_stream() {
    const N: u64 = 5_000;
    let rig = Rig::new(1024, 100);
    let servers = one_server(rig.dir.path());
    let url = servers[0].url();
    let push = rig.push(&url, &[]);
    rig.wait_push_registered();
    assert_eq!(
        rig.produce(N, FullPolicy::Block { timeout: None })
            .join()
            .unwrap(),
        0
    );
    let (code, out) = finish(push);
    assert_eq!(code, 0, "{out}");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/examples/read_bridge_stream.py"
    );
    let out = Command::new("python3")
        .args([script, &url, "S", &N.to_string()])
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{} (nats-py missing? run `make setup`)",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["frames"], N);
    assert_eq!(v["bad"], 0);
    assert_eq!(v["lost"], 0);
    assert_eq!(v["schema"]["schema"], "raw");
    assert_eq!(v["schema"]["slot_size"], 100);
}

#[test]
fn push_shows_live_progress_on_a_terminal_and_nothing_on_a_pipe() {
    let rig = Rig::new(1024, 64);
    let servers = one_server(rig.dir.path());
    let url = servers[0].url();
    // The push bridge's consumer (its default name) first, so it sees every frame.
    drop(
        rig.a
            .consumer_named("push-S", Delivery::Lossless, Duration::from_secs(60))
            .unwrap(),
    );
    // A producer that stays attached, so the bridge runs until its idle timeout (a detached
    // one would close the ring and end it at once).
    let mut producer = rig
        .a
        .producer(ProducerOptions::new(FullPolicy::Fail))
        .unwrap();
    for _ in 0..500 {
        producer.push(&[0u8; 64]).unwrap();
    }
    // A terminal: `script` runs the bridge on a pseudo-terminal and copies what it shows. The
    // idle timeout keeps it running through several updates of the live line.
    let cmd = format!(
        "{} bridge push {} --nats {url} --stream S --idle-timeout 1",
        env!("CARGO_BIN_EXE_ringflow"),
        rig.path("a")
    );
    let tty = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs a command on a terminal");
    let (code, out) = finish(tty);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("pushed 500 frames  ") && out.contains("frames/s"),
        "no live line on the terminal: {out:?}"
    );
    assert!(out.contains("pushed 500 frames (32000 bytes)"), "{out:?}");
    // A pipe: stderr stays empty and stdout is the summary alone.
    let (code, out) = finish(rig.push(&url, &["--idle-timeout", "0.5"]));
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 1, "{out:?}");
    assert!(out.starts_with('{') && !out.contains("frames/s"), "{out:?}");
    drop(producer);
}
