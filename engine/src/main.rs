//! `ringflow`: create, feed, read, inspect and measure rings.
//!
//! Exit status: 0 success; 1 the job failed (verification failed, producer gone before N frames,
//! timeout, a task failed); 2 bad usage or bad input (unknown flag, corrupt or foreign file,
//! sizes out of range), with one line on stderr.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use ringflow::{AudioFormat, Delivery, FullPolicy, Ring, RingConfig, Schema, Start};
use ringflow_engine::registry::{Handle, Registry, TaskState};
use ringflow_engine::sink::{JsonlSink, LevelMeter, NullSink, Sink, WavSink};
use ringflow_engine::source::{
    AudioSource, SeqSource, Source, TelemetrySource, Waveform, TELEMETRY_SCHEMA_VERSION,
};
use ringflow_engine::task::{ConsumeOptions, ConsumeSummary, End, ProduceOptions};
use ringflow_engine::{runtime, stats, EngineError};

#[derive(Parser)]
#[command(
    name = "ringflow",
    version,
    about = "Lock-free shared-memory frame rings: create, produce, consume, inspect, bench"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a ring file.
    Create(CreateArgs),
    /// Write frames into a ring (creating it if PATH does not exist).
    Produce(ProduceArgs),
    /// Read frames from a ring.
    Consume(ConsumeArgs),
    /// Print a ring's header, cursors, lag and counters.
    Inspect(InspectArgs),
    /// Measure throughput through an in-process ring.
    Bench(BenchArgs),
    /// Stream audio and telemetry to a WAV recorder, a level meter and a JSON Lines log.
    Demo(DemoArgs),
    /// Carry a ring's frames over NATS JetStream (push) and back into a ring (pull).
    #[command(subcommand)]
    Bridge(ringflow_engine::bridge::cli::BridgeCommand),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchemaArg {
    Raw,
    Audio,
    Telemetry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SourceArg {
    Seq,
    Audio,
    Telemetry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PolicyArg {
    Block,
    Fail,
    Overwrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DeliveryArg {
    Lossless,
    Lossy,
}

#[derive(Args, Clone)]
struct RingArgs {
    /// Number of slots (a power of two).
    #[arg(long, default_value_t = 4096)]
    slots: u32,
    /// Payload bytes per slot (default: 256 raw, 3840 audio, 64 telemetry).
    #[arg(long)]
    slot_size: Option<u32>,
    /// Consumer blocks.
    #[arg(long, default_value_t = 8)]
    consumers: u32,
    /// Allow several producers at once.
    #[arg(long)]
    multi_producer: bool,
    /// Allow `--policy overwrite` producers (readers then copy and check every frame).
    #[arg(long)]
    overwritable: bool,
    /// What the frames hold.
    #[arg(long, value_enum)]
    schema: Option<SchemaArg>,
}

#[derive(Args)]
struct CreateArgs {
    path: PathBuf,
    #[command(flatten)]
    ring: RingArgs,
    /// Replace an existing file, unless live processes use the ring in it (give it twice to
    /// replace a live ring: its producers and consumers then end with "replaced").
    #[arg(long, action = clap::ArgAction::Count)]
    force: u8,
    /// Replace an existing file even if live processes use the ring in it (`--force --force`).
    #[arg(long)]
    replace_live: bool,
    /// Print the ring as one JSON line.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ProduceArgs {
    path: PathBuf,
    /// What to write.
    #[arg(long, value_enum, default_value_t = SourceArg::Seq)]
    source: SourceArg,
    /// Frames in all (absent: until Ctrl-C, or the end of --wav).
    #[arg(long)]
    frames: Option<u64>,
    /// Frames per second of each producer (default: seq unpaced, audio real time, telemetry 1000).
    #[arg(long)]
    rate: Option<f64>,
    /// What to do when the ring is full.
    #[arg(long, value_enum, default_value_t = PolicyArg::Block)]
    policy: PolicyArg,
    /// Producers (threads) writing at once; more than one needs a multi-producer ring.
    #[arg(long, default_value_t = 1)]
    producers: u32,
    /// A WAV file to play (with --source audio).
    #[arg(long)]
    wav: Option<PathBuf>,
    /// Sizes of the ring if it has to be created.
    #[command(flatten)]
    ring: RingArgs,
    /// Wait until this many consumers are registered before writing the first frame.
    #[arg(long, default_value_t = 0, value_name = "N")]
    wait_consumers: u32,
    /// Print the summary as one JSON line.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ConsumeArgs {
    path: PathBuf,
    /// Stop after this many frames (0: none).
    #[arg(long)]
    frames: Option<u64>,
    /// Where to start: a sequence number (0, the default: the whole stream; frames already gone
    /// are reported as missed and fail --verify), `oldest` (the oldest frame still in the ring)
    /// or `next` (the next frame published).
    #[arg(long, default_value = "0", value_parser = parse_start, value_name = "next|oldest|SEQ")]
    from: Start,
    /// Lossless (holds producers back) or lossy (never does).
    #[arg(long, value_enum, default_value_t = DeliveryArg::Lossless)]
    policy: DeliveryArg,
    /// Check every frame as a `seq` frame.
    #[arg(long)]
    verify: bool,
    /// Read as the durable consumer NAME: resume where its last owner released (--from is then
    /// ignored); after this process ends the ring keeps its cursor for the next owner.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// With --name: seconds the ownerless consumer may hold lossless producers back before it
    /// is evicted.
    #[arg(long, default_value_t = 10.0, value_name = "SECS", requires = "name")]
    grace: f64,
    /// Give up after this many seconds without a frame.
    #[arg(long)]
    timeout: Option<f64>,
    /// Write audio frames to this WAV file.
    #[arg(long)]
    wav: Option<PathBuf>,
    /// Write one JSON line per frame (telemetry events decoded) to this file.
    #[arg(long)]
    jsonl: Option<PathBuf>,
    /// Print the summary as one JSON line.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct InspectArgs {
    path: PathBuf,
    /// Refresh every second until Ctrl-C.
    #[arg(long)]
    watch: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct BenchArgs {
    /// Payload bytes per frame.
    #[arg(long, default_value_t = 256)]
    frame_size: u32,
    /// Frames in all.
    #[arg(long, default_value_t = 5_000_000)]
    frames: u64,
    /// Lossless consumers.
    #[arg(long, default_value_t = 1)]
    consumers: u32,
    /// Producers.
    #[arg(long, default_value_t = 1)]
    producers: u32,
    /// Print the summary as one JSON line.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DemoArgs {
    /// How long to stream.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Print the summary as one JSON line.
    #[arg(long)]
    json: bool,
}

/// A failure, with the exit status it maps to.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
    fn job(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        // The exit code is the error kind's row of the one error table: 2 for bad usage or
        // bad input (a file that is not a ring, sizes out of range, a missing file), else 1.
        Failure {
            code: e.kind().boundary().exit_code,
            message: e.to_string(),
        }
    }
}

impl From<ringflow::Error> for Failure {
    fn from(e: ringflow::Error) -> Self {
        EngineError::from(e).into()
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Create(a) => create(a),
        Command::Produce(a) => produce(a),
        Command::Consume(a) => consume(a),
        Command::Inspect(a) => inspect(a),
        Command::Bench(a) => bench(a),
        Command::Demo(a) => demo(a),
        Command::Bridge(b) => Ok(ringflow_engine::bridge::cli::run(b)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("ringflow: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// `--from`: `next`, `oldest` or a sequence number.
fn parse_start(s: &str) -> Result<Start, String> {
    match s {
        "next" => Ok(Start::Next),
        "oldest" => Ok(Start::Oldest),
        _ => match s.parse::<u64>() {
            Ok(seq) if seq < ringflow::layout::stamp::MAX_SEQ => Ok(Start::Seq(seq)),
            _ => Err(format!(
                "expected `next`, `oldest` or a sequence number below 2^62, got {s:?}"
            )),
        },
    }
}

fn ring_config(args: &RingArgs, schema: Schema) -> RingConfig {
    let default_size = match schema {
        Schema::Raw => 256,
        Schema::Audio(a) => a.frame_bytes() as u32,
        Schema::Telemetry { .. } => 64,
    };
    RingConfig::new(args.slots, args.slot_size.unwrap_or(default_size))
        .max_consumers(args.consumers)
        .multi_producer(args.multi_producer)
        .overwritable(args.overwritable)
        .schema(schema)
}

fn schema_of(arg: Option<SchemaArg>) -> Schema {
    match arg {
        None | Some(SchemaArg::Raw) => Schema::Raw,
        Some(SchemaArg::Audio) => Schema::Audio(AudioSource::default_format()),
        Some(SchemaArg::Telemetry) => Schema::Telemetry {
            version: TELEMETRY_SCHEMA_VERSION,
        },
    }
}

fn create(a: CreateArgs) -> Result<u8, Failure> {
    let config = ring_config(&a.ring, schema_of(a.ring.schema));
    let ring = match (a.force, a.replace_live) {
        (0, false) => Ring::create(&a.path, &config)?,
        (1, false) => Ring::create_or_replace_idle(&a.path, &config).map_err(|e| match e {
            ringflow::Error::InUse { .. } => Failure::usage(format!(
                "{e}; give --force twice (or --replace-live) to replace it anyway"
            )),
            e => e.into(),
        })?,
        _ => Ring::create_or_replace(&a.path, &config)?,
    };
    if a.json {
        println!("{}", stats::ring_json(&ring));
    } else {
        println!(
            "created {}: {} slots of {} bytes, {} consumers, {} bytes",
            a.path.display(),
            ring.capacity(),
            ring.slot_size(),
            ring.header().max_consumers,
            ring.region_len()
        );
    }
    Ok(0)
}

/// SIGINT (Ctrl-C), SIGTERM (`kill`, `timeout`, a service manager) and SIGHUP (a closed
/// terminal), all handled alike. Once [`listen`](Self::listen) returns they no longer end the
/// process: they stop its tasks, which finish their files and report, and the command removes
/// what it created. A signal that comes before the tasks are handed over is kept until then.
/// SIGHUP stays ignored if the process started with it ignored (`nohup`'s whole point); SIGINT
/// is handled even in a shell's background job, which starts with it ignored, as it always was.
struct StopSignals {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
    hangup: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Installs the handlers now (not when a task first polls them), so no signal slips by.
    fn listen() -> Result<StopSignals, Failure> {
        use tokio::signal::unix::{signal, SignalKind};
        let _runtime = runtime::runtime().enter();
        let on = |kind: SignalKind| {
            if kind == SignalKind::hangup() && inherited_ignored(kind.as_raw_value()) {
                return Ok(None);
            }
            signal(kind)
                .map(Some)
                .map_err(|e| Failure::job(format!("cannot handle signals: {e}")))
        };
        Ok(StopSignals {
            interrupt: on(SignalKind::interrupt())?,
            terminate: on(SignalKind::terminate())?,
            hangup: on(SignalKind::hangup())?,
        })
    }

    /// Resolves at the first of them.
    async fn recv(mut self) {
        async fn one(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = one(&mut self.interrupt) => {}
            _ = one(&mut self.terminate) => {}
            _ = one(&mut self.hangup) => {}
        }
    }

    /// Stops the given tasks at the first signal (they end cleanly and report).
    fn stop_tasks(self, registry: &'static Registry, handles: Vec<Handle>) {
        runtime::runtime().spawn(async move {
            self.recv().await;
            for h in handles {
                let _ = registry.stop(h);
            }
        });
    }
}

/// Whether signal `sig` is ignored (`SIG_IGN`), as a process inherits SIGHUP from `nohup`. Asked
/// before any handler of ours replaces it.
fn inherited_ignored(sig: i32) -> bool {
    let mut old = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action makes `sigaction` only report the current one, into `old`,
    // which is valid and writable for a whole `sigaction`.
    let rc = unsafe { libc::sigaction(sig, std::ptr::null(), old.as_mut_ptr()) };
    // SAFETY: all zeroes is a valid `sigaction` (integers, a mask and a function address), and
    // `sigaction` overwrote it with another valid one if it returned 0.
    let old = unsafe { old.assume_init() };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// Stops the given tasks on SIGINT, SIGTERM or SIGHUP ([`StopSignals`]).
fn stop_on_signals(registry: &'static Registry, handles: Vec<Handle>) -> Result<(), Failure> {
    StopSignals::listen()?.stop_tasks(registry, handles);
    Ok(())
}

/// A spinner showing the ring's rate and lag while stdout is a terminal; nothing otherwise.
fn progress(ring: &Ring) -> Option<(ProgressBar, std::thread::JoinHandle<()>)> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("template"));
    let (ring, b) = (ring.clone(), bar.clone());
    let t = std::thread::spawn(move || {
        let mut last = (Instant::now(), ring.published());
        while !b.is_finished() {
            std::thread::sleep(Duration::from_millis(250));
            let s = ring.stats();
            let rate = (s.published - last.1) as f64 / last.0.elapsed().as_secs_f64();
            last = (Instant::now(), s.published);
            let lag = s.consumers.iter().map(|c| c.lag).max().unwrap_or(0);
            b.set_message(format!(
                "{} frames  {:.0} frames/s  max lag {lag}",
                s.published, rate
            ));
            b.tick();
        }
    });
    Some((bar, t))
}

fn finish_progress(p: Option<(ProgressBar, std::thread::JoinHandle<()>)>) {
    if let Some((bar, t)) = p {
        bar.finish_and_clear();
        let _ = t.join();
    }
}

fn join_all(registry: &Registry, handles: &[Handle]) -> Vec<TaskState> {
    let rt = runtime::runtime();
    handles
        .iter()
        .map(|&h| {
            let state = rt
                .block_on(registry.join(h))
                .unwrap_or_else(|e| TaskState::Failed(e.to_string()));
            let _ = registry.release(h);
            state
        })
        .collect()
}

fn produce(a: ProduceArgs) -> Result<u8, Failure> {
    if a.producers == 0 {
        return Err(Failure::usage("--producers must be at least 1"));
    }
    if a.wav.is_some() && a.source != SourceArg::Audio {
        return Err(Failure::usage("--wav needs --source audio"));
    }
    if a.wav.is_some() && a.producers > 1 {
        return Err(Failure::usage("--wav plays one file: use one producer"));
    }
    if a.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err(Failure::usage("--rate must be a positive number"));
    }
    let mut wav = match &a.wav {
        Some(p) => Some(AudioSource::wav(
            &p.to_string_lossy(),
            AudioSource::default_format().samples_per_frame,
        )?),
        None => None,
    };
    let schema = match a.source {
        SourceArg::Seq => schema_of(a.ring.schema),
        SourceArg::Audio => Schema::Audio(
            wav.as_ref()
                .map_or(AudioSource::default_format(), |w| w.format()),
        ),
        SourceArg::Telemetry => Schema::Telemetry {
            version: TELEMETRY_SCHEMA_VERSION,
        },
    };
    let ring = match Ring::open(&a.path) {
        Ok(ring) => ring,
        Err(ringflow::Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            let mut ring_args = a.ring.clone();
            ring_args.multi_producer |= a.producers > 1;
            ring_args.overwritable |= a.policy == PolicyArg::Overwrite;
            // Racing producers create it once: the others open that ring (or say how its
            // shape differs from theirs).
            Ring::open_or_create(&a.path, &ring_config(&ring_args, schema))?
        }
        Err(e) => return Err(e.into()),
    };
    if a.producers > 1 && ring.header().producer_mode != ringflow::layout::producer_mode::MULTI {
        return Err(Failure::usage(format!(
            "{} is a single-producer ring: --producers {} needs one created with --multi-producer",
            a.path.display(),
            a.producers
        )));
    }
    let audio_format = match (a.source, ring.schema()) {
        (SourceArg::Audio, Schema::Audio(f)) => Some(f),
        (SourceArg::Audio, other) => {
            return Err(Failure::usage(format!(
                "{} holds {other:?} frames, not audio",
                a.path.display()
            )));
        }
        _ => None,
    };
    if let (Some(w), Some(f)) = (&mut wav, audio_format) {
        w.fit(f)?;
        if let Some(note) = w.shortfall_note() {
            eprintln!("ringflow: {note}");
        }
    }
    if a.policy == PolicyArg::Overwrite && !ring.is_overwritable() {
        return Err(Failure::usage(format!(
            "--policy overwrite needs a ring created with --overwritable; {} was not",
            a.path.display()
        )));
    }
    let policy = match a.policy {
        PolicyArg::Block => FullPolicy::Block { timeout: None },
        PolicyArg::Fail => FullPolicy::Fail,
        PolicyArg::Overwrite => FullPolicy::Overwrite,
    };
    if a.wait_consumers > 0 {
        wait_for_consumers(&ring, a.wait_consumers)?;
    }
    // Several producer tasks attach one by one: one could write its share and detach before the
    // next attached, and the ring would close under the readers with frames still to come. A
    // handle that writes nothing holds the ring open until every task has ended.
    let hold_open = if a.producers > 1 {
        Some(ring.producer(ringflow::ProducerOptions::new(FullPolicy::Fail))?)
    } else {
        None
    };
    let registry = Registry::global();
    let ring_h = registry.add_ring(ring.clone());
    let mut handles = Vec::new();
    for k in 0..a.producers {
        let frames = a.frames.map(|n| {
            n / u64::from(a.producers) + u64::from(u64::from(k) < n % u64::from(a.producers))
        });
        let source: Box<dyn Source> = match a.source {
            SourceArg::Seq => Box::new(SeqSource::per_producer(ring.slot_size())),
            SourceArg::Audio => match wav.take() {
                Some(w) => Box::new(w),
                None => Box::new(AudioSource::generator(
                    audio_format.expect("checked"),
                    Waveform::Sine(440.0),
                )?),
            },
            SourceArg::Telemetry => Box::new(TelemetrySource::new(a.rate.unwrap_or(1000.0), 64)),
        };
        let rate = if a.source == SourceArg::Telemetry {
            None
        } else {
            a.rate
        };
        handles.push(registry.spawn_producer(
            ring_h,
            source,
            ProduceOptions {
                policy,
                frames,
                rate,
            },
        )?);
    }
    stop_on_signals(registry, handles.clone())?;
    let bar = progress(&ring);
    let states = join_all(registry, &handles);
    drop(hold_open);
    finish_progress(bar);
    let _ = registry.release(ring_h);
    let mut total =
        serde_json::json!({"frames": 0u64, "bytes": 0u64, "dropped": 0u64, "elapsed_s": 0.0});
    let mut failed = None;
    for s in &states {
        match s {
            TaskState::Done(v) => {
                for key in ["frames", "bytes", "dropped"] {
                    total[key] =
                        (total[key].as_u64().unwrap_or(0) + v[key].as_u64().unwrap_or(0)).into();
                }
                let e = v["elapsed_s"]
                    .as_f64()
                    .unwrap_or(0.0)
                    .max(total["elapsed_s"].as_f64().unwrap_or(0.0));
                total["elapsed_s"] = e.into();
            }
            TaskState::Failed(m) => failed = Some(m.clone()),
            TaskState::Running => {}
        }
    }
    let elapsed = total["elapsed_s"].as_f64().unwrap_or(0.0);
    total["frames_per_s"] = (total["frames"].as_u64().unwrap_or(0) as f64 / elapsed.max(1e-9))
        .round()
        .into();
    total["producers"] = a.producers.into();
    total["published"] = ring.published().into();
    report(a.json, "produced", &total);
    match failed {
        Some(m) => Err(Failure::job(m)),
        None => Ok(0),
    }
}

/// Waits until `n` consumers are registered on `ring` (`produce --wait-consumers`), so they see
/// the stream from its first frame.
fn wait_for_consumers(ring: &Ring, n: u32) -> Result<(), Failure> {
    let max = ring.header().max_consumers;
    if n > max {
        return Err(Failure::usage(format!(
            "--wait-consumers {n}: the ring has only {max} consumer blocks"
        )));
    }
    if std::io::stderr().is_terminal() {
        eprintln!("waiting for {n} consumers...");
    }
    while ring.stats().consumers.iter().filter(|c| !c.evicted).count() < n as usize {
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

fn report(json: bool, what: &str, value: &serde_json::Value) {
    if json {
        println!("{value}");
    } else {
        let frames = value["frames"].as_u64().unwrap_or(0);
        let rate = value["frames_per_s"].as_f64().unwrap_or(0.0);
        println!(
            "{what} {frames} frames in {:.3} s ({rate:.0} frames/s)",
            value["elapsed_s"].as_f64().unwrap_or(0.0)
        );
        println!("{value}");
    }
}

fn consume_json(s: &ConsumeSummary, delivery: Delivery, verify: bool) -> serde_json::Value {
    let v = s.verify.unwrap_or_default();
    serde_json::json!({
        "end": s.end,
        "frames": s.frames,
        "bytes": s.bytes,
        "elapsed_s": s.elapsed_s,
        "frames_per_s": s.frames_per_s.round(),
        "start_seq": s.start_seq,
        "first_seq": s.first_seq,
        "unseen_before": s.unseen_before,
        "missed_at_start": s.missed_at_start,
        "lost": s.lost,
        "lapped": s.lapped,
        "gaps": v.gaps,
        "duplicated": v.duplicated,
        "reordered": v.reordered,
        "corrupt": v.corrupt,
        "verified": if verify { serde_json::Value::from(s.verified(delivery).unwrap_or(false)) } else { serde_json::Value::Null },
        "latency_ns": {"p50": s.latency_ns.p50, "p99": s.latency_ns.p99, "p999": s.latency_ns.p999, "max": s.latency_ns.max},
    })
}

fn consume(a: ConsumeArgs) -> Result<u8, Failure> {
    // Negative, NaN, infinite, or too large for a Duration (which would panic below).
    if a.timeout
        .is_some_and(|t| Duration::try_from_secs_f64(t).is_err())
    {
        return Err(Failure::usage(
            "--timeout must be a non-negative number of seconds",
        ));
    }
    let ring = Ring::open(&a.path)?;
    let delivery = match a.policy {
        DeliveryArg::Lossless => Delivery::Lossless,
        DeliveryArg::Lossy => Delivery::Lossy,
    };
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(p) = &a.wav {
        let Schema::Audio(format) = ring.schema() else {
            return Err(Failure::usage(format!(
                "--wav needs an audio ring; {} holds {:?}",
                a.path.display(),
                ring.schema()
            )));
        };
        sinks.push(Box::new(WavSink::create(&p.to_string_lossy(), format)?));
    }
    if let Some(p) = &a.jsonl {
        let telemetry = matches!(ring.schema(), Schema::Telemetry { .. });
        sinks.push(Box::new(JsonlSink::create(
            &p.to_string_lossy(),
            telemetry,
        )?));
    }
    let sink: Box<dyn Sink> = match sinks.len() {
        0 => Box::new(NullSink),
        _ => Box::new(Fanout(sinks)),
    };
    let registry = Registry::global();
    let ring_h = registry.add_ring(ring.clone());
    let options = ConsumeOptions {
        delivery,
        frames: a.frames,
        timeout: a.timeout.map(Duration::from_secs_f64),
        verify: a.verify,
        start: a.from,
        name: match a.name {
            Some(n) => Some((
                n,
                Duration::try_from_secs_f64(a.grace).map_err(|_| {
                    Failure::usage("--grace must be a non-negative number of seconds")
                })?,
            )),
            None => None,
        },
    };
    let h = registry.spawn_consumer(ring_h, sink, options)?;
    stop_on_signals(registry, vec![h])?;
    let bar = progress(&ring);
    let state = join_all(registry, &[h]).remove(0);
    finish_progress(bar);
    let _ = registry.release(ring_h);
    let summary: ConsumeSummary = match state {
        TaskState::Done(v) => serde_json::from_value(v).map_err(|e| Failure::job(e.to_string()))?,
        TaskState::Failed(m) => return Err(Failure::job(m)),
        TaskState::Running => return Err(Failure::job("the consumer did not end")),
    };
    report(
        a.json,
        "consumed",
        &consume_json(&summary, delivery, a.verify),
    );
    if !a.json && summary.unseen_before > 0 {
        println!(
            "started at frame {} ({} earlier frames not seen{})",
            summary
                .first_seq
                .map_or("none".to_string(), |f| f.to_string()),
            summary.unseen_before,
            if summary.missed_at_start > 0 {
                format!(
                    ", {} of them gone before the reader reached them",
                    summary.missed_at_start
                )
            } else {
                String::new()
            }
        );
    }
    if let Some(v) = summary.verify {
        if let Some(why) = summary.verify_failure(delivery, &v) {
            return Err(Failure::job(format!("verification failed: {why}")));
        }
    }
    let short = |why: &str| {
        Failure::job(format!(
            "{why} after {} of {} frames",
            summary.frames,
            a.frames.unwrap_or(0)
        ))
    };
    let is_short = a.frames.is_some_and(|n| summary.frames < n);
    match summary.end {
        End::Timeout => Err(Failure::job(format!(
            "timed out waiting for frames after {} frames",
            summary.frames
        ))),
        End::Evicted => Err(Failure::job("evicted by a producer")),
        End::Abandoned => Err(Failure::job(format!(
            "a producer ended without committing a frame after the {} read; frames committed after that hole were not delivered",
            summary.frames
        ))),
        End::ProducerGone if is_short => Err(short("the producer died")),
        End::Closed if is_short => Err(short("the ring closed")),
        _ => Ok(0),
    }
}

/// Several sinks fed in turn.
struct Fanout(Vec<Box<dyn Sink>>);

impl Sink for Fanout {
    fn write(
        &mut self,
        frame: &ringflow_engine::sink::FrameRef<'_>,
    ) -> ringflow_engine::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.write(frame))
    }
    fn idle(&mut self) -> ringflow_engine::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.idle())
    }
    fn finish(&mut self) -> ringflow_engine::Result<Option<String>> {
        let mut lines = Vec::new();
        for s in &mut self.0 {
            if let Some(l) = s.finish()? {
                lines.push(l);
            }
        }
        Ok((!lines.is_empty()).then(|| lines.join("; ")))
    }
}

fn inspect(a: InspectArgs) -> Result<u8, Failure> {
    let ring = Ring::open(&a.path)?;
    if !a.watch {
        let v = stats::ring_json(&ring);
        if a.json {
            println!("{v}");
        } else {
            println!("{}", serde_json::to_string_pretty(&v).expect("json"));
        }
        return Ok(0);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        let signals = StopSignals::listen()?;
        runtime::runtime().spawn(async move {
            signals.recv().await;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let tty = std::io::stdout().is_terminal();
    let mut last = (Instant::now(), ring.stats());
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_secs(1));
        let s = ring.stats();
        let secs = last.0.elapsed().as_secs_f64();
        let rate = (s.published - last.1.published) as f64 / secs;
        if tty {
            print!("\x1b[2J\x1b[H");
        }
        println!(
            "{}  published {}  {:.0} frames/s  dropped {}  abandoned {}  closed {}",
            a.path.display(),
            s.published,
            rate,
            s.dropped,
            s.abandoned,
            s.closed
        );
        // Xruns, as an audio user counts them: frames a producer could not write (dropped)
        // plus frames readers never got (lost).
        let xruns = s.dropped + s.consumers.iter().map(|c| c.lost).sum::<u64>();
        println!("xruns {xruns}");
        println!(
            "wakes: data {} space {}   sleepers: data {} space {}",
            s.data_wakes, s.space_wakes, s.data_sleepers, s.space_sleepers
        );
        println!(
            "{:>5} {:>8} {:>9} {:>14} {:>10} {:>12} {:>10} {:>8} {:>6}",
            "index", "pid", "policy", "read", "lag", "delivered", "lost", "lapped", "torn"
        );
        for c in &s.consumers {
            println!(
                "{:>5} {:>8} {:>9} {:>14} {:>10} {:>12} {:>10} {:>8} {:>6}{}",
                c.index,
                c.pid,
                if c.lossy { "lossy" } else { "lossless" },
                c.read,
                c.lag,
                c.delivered,
                c.lost,
                c.lapped,
                c.torn,
                if c.evicted { "  evicted" } else { "" }
            );
        }
        last = (Instant::now(), s);
    }
    Ok(0)
}

fn bench(a: BenchArgs) -> Result<u8, Failure> {
    if a.producers == 0 || a.frames == 0 || a.frame_size < ringflow::pattern::TAG_LEN as u32 {
        return Err(Failure::usage(format!(
            "--producers and --frames must be at least 1 and --frame-size at least {}",
            ringflow::pattern::TAG_LEN
        )));
    }
    let spec = ringflow_engine::jobs::BenchSpec {
        frame_size: a.frame_size,
        frames: a.frames,
        consumers: a.consumers,
        producers: a.producers,
    };
    let summary =
        runtime::runtime().block_on(ringflow_engine::jobs::bench(Registry::global(), spec))?;
    let complete = summary.delivered == a.frames * u64::from(a.consumers);
    let v = serde_json::to_value(&summary).map_err(|e| Failure::job(e.to_string()))?;
    report(a.json, "bench:", &v);
    Ok(if complete { 0 } else { 1 })
}

fn demo(a: DemoArgs) -> Result<u8, Failure> {
    if !(a.seconds > 0.0 && a.seconds.is_finite()) {
        return Err(Failure::usage("--seconds must be positive"));
    }
    // Before the rings exist: a SIGTERM from here on still removes them.
    let signals = StopSignals::listen()?;
    let pid = std::process::id();
    let dir = std::env::temp_dir();
    let audio_path = ringflow::shm_path(&format!("ringflow-demo-audio-{pid}"))?;
    let telemetry_path = ringflow::shm_path(&format!("ringflow-demo-telemetry-{pid}"))?;
    let wav_path = dir.join(format!("ringflow-demo-{pid}.wav"));
    let jsonl_path = dir.join(format!("ringflow-demo-{pid}.jsonl"));
    let format: AudioFormat = AudioSource::default_format();
    let audio = Ring::create_or_replace(
        &audio_path,
        &RingConfig::new(256, format.frame_bytes() as u32)
            .overwritable(true)
            .schema(Schema::Audio(format)),
    )?;
    let telemetry = Ring::create_or_replace(
        &telemetry_path,
        &RingConfig::new(4096, 64).schema(Schema::Telemetry {
            version: TELEMETRY_SCHEMA_VERSION,
        }),
    )?;
    let registry = Registry::global();
    let (audio_h, telemetry_h) = (
        registry.add_ring(audio.clone()),
        registry.add_ring(telemetry.clone()),
    );
    eprintln!(
        "demo: {:.1} s of 48 kHz stereo audio (10 ms frames) through {} and 1000 telemetry events/s through {}",
        a.seconds,
        audio_path.display(),
        telemetry_path.display()
    );
    let recorder = registry.spawn_consumer(
        audio_h,
        Box::new(WavSink::create(&wav_path.to_string_lossy(), format)?),
        ConsumeOptions::default(),
    )?;
    let meter = registry.spawn_consumer(
        audio_h,
        Box::new(LevelMeter::new(50, true)),
        ConsumeOptions {
            delivery: Delivery::Lossy,
            ..Default::default()
        },
    )?;
    let log = registry.spawn_consumer(
        telemetry_h,
        Box::new(JsonlSink::create(&jsonl_path.to_string_lossy(), true)?),
        ConsumeOptions::default(),
    )?;
    let audio_frames = (a.seconds * 100.0).round() as u64;
    let chirp = Waveform::Chirp {
        from: 220.0,
        to: 880.0,
        seconds: a.seconds,
    };
    let speaker = registry.spawn_producer(
        audio_h,
        Box::new(AudioSource::generator(format, chirp)?),
        ProduceOptions {
            policy: FullPolicy::Overwrite,
            frames: Some(audio_frames),
            rate: None,
        },
    )?;
    let game = registry.spawn_producer(
        telemetry_h,
        Box::new(TelemetrySource::new(1000.0, 16)),
        ProduceOptions {
            frames: Some((a.seconds * 1000.0).round() as u64),
            ..Default::default()
        },
    )?;
    signals.stop_tasks(registry, vec![speaker, game]);
    let states = join_all(registry, &[speaker, game, recorder, meter, log]);
    let _ = (registry.release(audio_h), registry.release(telemetry_h));
    let _ = (
        std::fs::remove_file(&audio_path),
        std::fs::remove_file(&telemetry_path),
    );
    let names = [
        "audio producer",
        "telemetry producer",
        "wav recorder",
        "level meter",
        "telemetry log",
    ];
    let mut out = serde_json::Map::new();
    let mut failed = false;
    for (name, state) in names.iter().zip(&states) {
        match state {
            TaskState::Done(v) => {
                out.insert(name.replace(' ', "_"), v.clone());
            }
            other => {
                failed = true;
                out.insert(
                    name.replace(' ', "_"),
                    serde_json::json!({"failed": format!("{other:?}")}),
                );
            }
        }
    }
    out.insert("wav".into(), wav_path.display().to_string().into());
    out.insert("jsonl".into(), jsonl_path.display().to_string().into());
    let v = serde_json::Value::Object(out);
    if a.json {
        println!("{v}");
    } else {
        for (name, state) in names.iter().zip(&states) {
            if let TaskState::Done(s) = state {
                let lat = &s["latency_ns"];
                if lat.is_object() {
                    println!(
                        "{name:>18}: {} frames, lost {}, latency p50 {} us, p99 {} us, max {} us",
                        s["frames"],
                        s["lost"],
                        lat["p50"].as_u64().unwrap_or(0) / 1000,
                        lat["p99"].as_u64().unwrap_or(0) / 1000,
                        lat["max"].as_u64().unwrap_or(0) / 1000
                    );
                } else {
                    println!(
                        "{name:>18}: {} frames, {:.0} frames/s",
                        s["frames"],
                        s["frames_per_s"].as_f64().unwrap_or(0.0)
                    );
                }
            }
        }
        println!("recorded audio: {}", wav_path.display());
        println!("telemetry log:  {}", jsonl_path.display());
    }
    let _ = Path::new(&wav_path);
    Ok(if failed { 1 } else { 0 })
}
