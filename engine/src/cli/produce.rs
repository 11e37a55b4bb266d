//! `ringflow produce`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use ringflow::{FullPolicy, Ring, Schema};
use ringflow_engine::registry::{Registry, TaskState};
use ringflow_engine::source::{
    AudioSource, SeqSource, Source, TelemetrySource, Waveform, TELEMETRY_SCHEMA_VERSION,
};
use ringflow_engine::task::ProduceOptions;

use super::inspect::schema_words;
use super::report::{finish_progress, join_all, progress, report};
use super::ring_args::{
    check_matches, min_slot_size, ring_config, schema_name, schema_of, RingArgs, SchemaArg,
};
use super::signals::stop_on_signals;
use super::Failure;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SourceArg {
    Seq,
    Audio,
    Telemetry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum WaveArg {
    Sine,
    Chirp,
    Noise,
    Silence,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum PolicyArg {
    /// Wait for room; never drop a frame.
    Block,
    /// Drop (never retry) and count a frame the full ring refuses.
    Fail,
    /// Write over the oldest frame (a ring created with --overwritable).
    Overwrite,
}

#[derive(Args)]
pub(crate) struct ProduceArgs {
    pub(crate) path: PathBuf,
    /// What to write.
    #[arg(long, value_enum, default_value_t = SourceArg::Seq)]
    pub(crate) source: SourceArg,
    /// Frames in all, counting those --policy fail drops (absent: until Ctrl-C, or the end of
    /// --wav).
    #[arg(long)]
    pub(crate) frames: Option<u64>,
    /// Frames per second of each producer (default: seq unpaced, audio real time, telemetry
    /// 1000). `--rate` is an audio ring's sample rate.
    #[arg(long, value_name = "FPS")]
    pub(crate) fps: Option<f64>,
    /// Audio: what the generator plays (default sine).
    #[arg(long, value_enum)]
    pub(crate) wave: Option<WaveArg>,
    /// Audio: the sine's frequency, or where the chirp starts (it sweeps up two octaves each
    /// second), in Hz (default 440).
    #[arg(long, value_name = "HZ")]
    pub(crate) freq: Option<f64>,
    /// Audio: the generator's peak level in dBFS (0 is full scale; default -6).
    #[arg(long, value_name = "DBFS", allow_negative_numbers = true)]
    pub(crate) level: Option<f64>,
    /// What to do when the ring is full.
    #[arg(long, value_enum, default_value_t = PolicyArg::Block)]
    pub(crate) policy: PolicyArg,
    /// Producers (threads) writing at once; more than one needs a multi-producer ring.
    #[arg(long, default_value_t = 1)]
    pub(crate) producers: u32,
    /// A WAV file to play (with --source audio).
    #[arg(long)]
    pub(crate) wav: Option<PathBuf>,
    /// Sizes of the ring if it has to be created.
    #[command(flatten)]
    pub(crate) ring: RingArgs,
    /// Wait until this many consumers are registered before writing the first frame.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) wait_consumers: u32,
    /// Print the summary as one JSON line.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The generator's frequency when `--freq` is not given (Hz).
const DEFAULT_FREQ: f64 = 440.0;
/// The generator's peak level when `--level` is not given (dBFS).
const DEFAULT_LEVEL: f64 = -6.0;

pub(crate) fn produce(a: ProduceArgs) -> Result<u8, Failure> {
    if a.producers == 0 {
        return Err(Failure::usage("--producers must be at least 1"));
    }
    if a.wav.is_some() && a.source != SourceArg::Audio {
        return Err(Failure::usage("--wav needs --source audio"));
    }
    if a.wav.is_some() && a.producers > 1 {
        return Err(Failure::usage("--wav plays one file: use one producer"));
    }
    if let Some(fps) = a.fps.filter(|r| !(*r > 0.0 && r.is_finite())) {
        return Err(Failure::usage(format!(
            "--fps {fps}: must be a positive number"
        )));
    }
    let generator_flags = a.wave.is_some() || a.freq.is_some() || a.level.is_some();
    if generator_flags && (a.source != SourceArg::Audio || a.wav.is_some()) {
        return Err(Failure::usage(
            "--wave, --freq and --level shape the audio generator: give --source audio, without --wav",
        ));
    }
    let (wave, freq, level) = (
        a.wave.unwrap_or(WaveArg::Sine),
        a.freq.unwrap_or(DEFAULT_FREQ),
        a.level.unwrap_or(DEFAULT_LEVEL),
    );
    if !(level <= 0.0 && level.is_finite()) {
        return Err(Failure::usage(format!(
            "--level {level}: must be a finite number of dBFS, at most 0"
        )));
    }
    if !(freq > 0.0 && freq.is_finite()) {
        return Err(Failure::usage(format!(
            "--freq {freq}: must be a positive number of Hz"
        )));
    }
    let mut wav = match &a.wav {
        Some(p) => Some(AudioSource::wav(
            &p.to_string_lossy(),
            AudioSource::default_format().samples_per_frame,
        )?),
        None => None,
    };
    if a.source == SourceArg::Seq && a.ring.schema.is_some_and(|s| s != SchemaArg::Raw) {
        return Err(Failure::usage(format!(
            "--schema {}: --source seq writes raw frames",
            schema_name(schema_of(a.ring.schema))
        )));
    }
    let schema = match a.source {
        SourceArg::Seq => Schema::Raw,
        // A ring made for a WAV file takes its rate, channels and samples; flags shape the rest.
        SourceArg::Audio => Schema::Audio(
            a.ring.audio_format(
                wav.as_ref()
                    .map_or(AudioSource::default_format(), |w| w.format()),
            )?,
        ),
        SourceArg::Telemetry => Schema::Telemetry {
            version: TELEMETRY_SCHEMA_VERSION,
        },
    };
    if a.source != SourceArg::Audio {
        // --rate and the other audio flags are refused for any other schema.
        a.ring.schema()?;
    }
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
            Ring::open_or_create(&a.path, &ring_config(&ring_args, schema)?)?
        }
        Err(e) => return Err(e.into()),
    };
    check_matches(&a.ring, &ring, &a.path)?;
    check_source_fits(a.source, &ring, &a.path)?;
    if a.producers > 1 && ring.header().producer_mode != ringflow::layout::producer_mode::MULTI {
        return Err(Failure::usage(format!(
            "{} is a single-producer ring: --producers {} needs one created with --multi-producer",
            a.path.display(),
            a.producers
        )));
    }
    if ring.header().producer_mode != ringflow::layout::producer_mode::MULTI {
        // Asked before any task starts, so the refusal is one line and no summary of nothing
        // follows it (a producer that attaches in between still fails its task, exit 1).
        if let Some(p) = ring
            .live_participants()
            .into_iter()
            .find(|p| p.role == ringflow::Role::Producer)
        {
            return Err(Failure::usage(format!(
                "{} is a single-producer ring and process {} is attached as its producer",
                a.path.display(),
                p.pid
            )));
        }
    }
    let audio_format = match ring.schema() {
        Schema::Audio(f) => Some(f),
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
                None => {
                    let waveform = match wave {
                        WaveArg::Sine => Waveform::Sine(freq),
                        WaveArg::Chirp => Waveform::Chirp {
                            from: freq,
                            to: freq * 4.0,
                            seconds: 1.0,
                        },
                        WaveArg::Noise => Waveform::Noise,
                        WaveArg::Silence => Waveform::Silence,
                    };
                    Box::new(
                        AudioSource::generator(audio_format.expect("checked"), waveform)?
                            .level(level)?,
                    )
                }
            },
            SourceArg::Telemetry => Box::new(TelemetrySource::new(a.fps.unwrap_or(1000.0), 64)),
        };
        let rate = if a.source == SourceArg::Telemetry {
            None
        } else {
            a.fps
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
    let mut total = serde_json::json!({
        "frames": 0u64, "bytes": 0u64, "dropped": 0u64, "generated": 0u64, "elapsed_s": 0.0
    });
    let mut failed = None;
    for s in &states {
        match s {
            TaskState::Done(v) => {
                // `frames` the ring took, `dropped` the frames it refused under `--policy
                // fail` (made, never written, never retried), `generated` both.
                for key in ["frames", "bytes", "dropped", "generated"] {
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
    let print_summary = || {
        if !a.json && a.policy == PolicyArg::Fail {
            // A `fail` producer's frames may not all be in: said in words first.
            println!(
                "dropped {} of {} frames (the ring was full: --policy fail drops, never retries)",
                total["dropped"], total["generated"]
            );
        }
        report(a.json, "produced", &total);
    };
    match failed {
        // Nothing written: the error is the whole story, one line.
        Some(m) if total["frames"] == 0 => Err(Failure::job(m)),
        Some(m) => {
            print_summary();
            Err(Failure::job(m))
        }
        None => {
            print_summary();
            Ok(0)
        }
    }
}

/// Refuses, before the first frame, a source whose frames are not what the ring's header says
/// its frames are (`seq` frames are raw bytes), or do not fit its slots.
fn check_source_fits(source: SourceArg, ring: &Ring, path: &Path) -> Result<(), Failure> {
    let held = ring.schema();
    let (name, writes, fits) = match source {
        SourceArg::Seq => ("seq", "raw".to_string(), held == Schema::Raw),
        SourceArg::Audio => ("audio", "audio".into(), matches!(held, Schema::Audio(_))),
        SourceArg::Telemetry => (
            "telemetry",
            format!("telemetry v{TELEMETRY_SCHEMA_VERSION}"),
            held == Schema::Telemetry {
                version: TELEMETRY_SCHEMA_VERSION,
            },
        ),
    };
    if !fits {
        return Err(Failure::usage(format!(
            "{} holds {} frames; --source {name} writes {writes} frames",
            path.display(),
            schema_words(held)
        )));
    }
    let need = match source {
        SourceArg::Seq => ringflow::pattern::TAG_LEN as u64,
        _ => min_slot_size(held),
    };
    if (ring.slot_size() as u64) < need {
        return Err(Failure::usage(format!(
            "{}: slots of {} bytes cannot hold a {name} frame ({need} bytes)",
            path.display(),
            ring.slot_size()
        )));
    }
    Ok(())
}

/// Waits until `n` consumers are registered on `ring` (`produce --wait-consumers`), so they see
/// the stream from its first frame.
pub(crate) fn wait_for_consumers(ring: &Ring, n: u32) -> Result<(), Failure> {
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
