//! The `ringflow bridge` subcommands: arguments, a runtime, signals, and the summary.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::stream::{RetentionPolicy, StorageType};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use ringflow::Delivery;
use tokio_util::sync::CancellationToken;

use super::progress::Progress;
use super::pull::{pull_with, PullOptions};
use super::push::{push_with, PushOptions};
use super::BridgeError;

/// `ringflow bridge push|pull`.
#[derive(Subcommand, Debug)]
pub enum BridgeCommand {
    /// Publish every frame of a ring to a JetStream stream (created if missing), exactly once.
    Push(PushArgs),
    /// Write every message of a JetStream stream into a ring (created if missing), exactly once.
    Pull(PullArgs),
}

/// Delivery of the push bridge's named consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// Hold the ring's producers back while frames cannot be published.
    Lossless,
    /// Never hold them back; count the frames lost meanwhile.
    Lossy,
}

/// Storage of a stream push creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StorageArg {
    /// Files in the server's store: survives a restart of the server.
    File,
    /// The server's memory: lost when the server stops.
    Memory,
}

/// Retention of a stream push creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RetentionArg {
    /// Keep every message until a limit (--max-bytes) is reached.
    Limits,
    /// Delete a message once a consumer (the pull bridge, the only one allowed) acknowledged it.
    WorkQueue,
}

/// `ringflow bridge push`.
#[derive(Args, Debug)]
pub struct PushArgs {
    /// The ring file.
    pub path: PathBuf,
    /// NATS server URL(s), comma separated (e.g. nats://127.0.0.1:4222).
    #[arg(long)]
    pub nats: String,
    /// JetStream stream (default: RINGFLOW_ and the ring file's name).
    #[arg(long)]
    pub stream: Option<String>,
    /// Subject to publish on (default: ringflow. and the stream name).
    #[arg(long)]
    pub subject: Option<String>,
    /// The durable consumer name in the ring (default: push- and the stream name).
    #[arg(long)]
    pub name: Option<String>,
    /// Lossless or lossy.
    #[arg(long, value_enum, default_value_t = PolicyArg::Lossless)]
    pub policy: PolicyArg,
    /// Seconds the ownerless consumer may hold producers back after this bridge died.
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    pub grace: f64,
    /// Replicas of the stream when it is created (a cluster).
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Where the stream keeps its messages when it is created.
    #[arg(long, value_enum, default_value_t = StorageArg::File)]
    pub storage: StorageArg,
    /// How long the stream keeps a message when it is created.
    #[arg(long, value_enum, default_value_t = RetentionArg::Limits)]
    pub retention: RetentionArg,
    /// The stream's size limit in bytes when it is created: a full stream refuses new
    /// messages and push waits for room (default: no limit).
    #[arg(long, value_name = "BYTES")]
    pub max_bytes: Option<u64>,
    /// Stop after this many frames acknowledged.
    #[arg(long)]
    pub frames: Option<u64>,
    /// Stop after this many seconds without a frame.
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<f64>,
    /// Print the summary as one JSON line.
    #[arg(long)]
    pub json: bool,
}

/// `ringflow bridge pull`.
#[derive(Args, Debug)]
pub struct PullArgs {
    /// NATS server URL(s), comma separated.
    #[arg(long)]
    pub nats: String,
    /// The stream to read.
    #[arg(long)]
    pub stream: String,
    /// The durable JetStream consumer's name.
    #[arg(long, default_value = "ringflow-pull")]
    pub durable: String,
    /// The ring file (created from the stream's schema if missing).
    pub path: PathBuf,
    /// Stop after this many frames written.
    #[arg(long)]
    pub frames: Option<u64>,
    /// Stop after this many seconds without a message.
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<f64>,
    /// Print the summary as one JSON line.
    #[arg(long)]
    pub json: bool,
}

/// A JetStream name from a file name: letters, digits, `-` and `_` kept, the rest `_`.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn seconds(flag: &str, v: Option<f64>) -> Result<Option<Duration>, String> {
    v.map(|s| {
        Duration::try_from_secs_f64(s)
            .map_err(|_| format!("{flag} must be a non-negative number of seconds"))
    })
    .transpose()
}

/// Runs a bridge subcommand to its end: the exit status, with one line on stderr on error
/// (2 bad usage or input, 1 a failed job).
pub fn run(cmd: BridgeCommand) -> u8 {
    match run_inner(cmd) {
        Ok(code) => code,
        Err((code, line)) => {
            eprintln!("ringflow bridge: {line}");
            code
        }
    }
}

fn run_inner(cmd: BridgeCommand) -> Result<u8, (u8, String)> {
    let usage = |m: String| (2u8, m);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| (1, e.to_string()))?;
    let token = CancellationToken::new();
    runtime.spawn(cancel_on_signals(token.clone()));
    let failed = |e: BridgeError| (e.exit_code(), e.to_string());
    match cmd {
        BridgeCommand::Push(a) => {
            let stem = a
                .path
                .file_name()
                .map(|n| sanitize(&n.to_string_lossy()))
                .unwrap_or_else(|| "ring".into());
            let stream = a.stream.unwrap_or_else(|| format!("RINGFLOW_{stem}"));
            let o = PushOptions {
                ring: a.path,
                url: a.nats,
                subject: a.subject.unwrap_or_else(|| format!("ringflow.{stream}")),
                name: a.name.unwrap_or_else(|| format!("push-{stream}")),
                stream,
                delivery: match a.policy {
                    PolicyArg::Lossless => Delivery::Lossless,
                    PolicyArg::Lossy => Delivery::Lossy,
                },
                grace: seconds("--grace", Some(a.grace))
                    .map_err(usage)?
                    .unwrap_or_default(),
                replicas: a.replicas.max(1),
                storage: match a.storage {
                    StorageArg::File => StorageType::File,
                    StorageArg::Memory => StorageType::Memory,
                },
                retention: match a.retention {
                    RetentionArg::Limits => RetentionPolicy::Limits,
                    RetentionArg::WorkQueue => RetentionPolicy::WorkQueue,
                },
                max_bytes: a.max_bytes,
                frames: a.frames,
                idle_timeout: seconds("--idle-timeout", a.idle_timeout).map_err(usage)?,
            };
            let progress = Arc::new(Progress::default());
            let live = live("pushed", &progress);
            let s = runtime.block_on(push_with(o, token, &progress));
            finish(live);
            let s = s.map_err(failed)?;
            if a.json {
                println!("{}", serde_json::to_string(&s).expect("plain data"));
            } else {
                println!(
                    "pushed {} frames ({} bytes) from frame {} in {:.2} s, {} lost, {} duplicates, {} retries: {}",
                    s.frames, s.bytes, s.start_seq, s.elapsed_s, s.lost, s.duplicates, s.retries, s.end
                );
            }
            Ok(0)
        }
        BridgeCommand::Pull(a) => {
            let o = PullOptions {
                url: a.nats,
                stream: a.stream,
                durable: a.durable,
                ring: a.path,
                frames: a.frames,
                idle_timeout: seconds("--idle-timeout", a.idle_timeout).map_err(usage)?,
            };
            let progress = Arc::new(Progress::default());
            let live = live("pulled", &progress);
            let s = runtime.block_on(pull_with(o, token, &progress));
            finish(live);
            let s = s.map_err(failed)?;
            if a.json {
                println!("{}", serde_json::to_string(&s).expect("plain data"));
            } else {
                println!(
                    "pulled {} frames ({} bytes) in {:.2} s, {} duplicates dropped, {} lost upstream: {}",
                    s.frames, s.bytes, s.elapsed_s, s.duplicates, s.upstream_lost, s.end
                );
            }
            Ok(0)
        }
    }
}

/// A live line on stderr while stderr is a terminal: frames and bytes done, the rate over the
/// last quarter second, duplicates and retries. Nothing at all otherwise, so what scripts and
/// tests read on stderr and stdout is the same with or without it. Cleared before the summary.
fn live(
    what: &'static str,
    progress: &Arc<Progress>,
) -> Option<(ProgressBar, std::thread::JoinHandle<()>)> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("template"));
    let (progress, b) = (Arc::clone(progress), bar.clone());
    let t = std::thread::spawn(move || {
        let mut last = (Instant::now(), progress.snapshot());
        while !b.is_finished() {
            std::thread::sleep(Duration::from_millis(250));
            let now = progress.snapshot();
            let secs = last.0.elapsed().as_secs_f64();
            let rate = (now.frames - last.1.frames) as f64 / secs;
            let mb = (now.bytes - last.1.bytes) as f64 / secs / 1e6;
            last = (Instant::now(), now);
            b.set_message(format!(
                "{what} {} frames  {rate:.0} frames/s  {mb:.1} MB/s  {} duplicates  {} retries",
                now.frames, now.duplicates, now.retries
            ));
            b.tick();
        }
    });
    Some((bar, t))
}

fn finish(live: Option<(ProgressBar, std::thread::JoinHandle<()>)>) {
    if let Some((bar, t)) = live {
        bar.finish_and_clear();
        let _ = t.join();
    }
}

/// SIGINT, SIGTERM and SIGHUP stop a bridge as they stop every command: it settles what is in
/// flight and prints its summary.
async fn cancel_on_signals(token: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
    token.cancel();
}
