//! `ringflow demo`.

use std::path::Path;

use clap::Args;
use ringflow::{AudioFormat, Delivery, FullPolicy, Ring, RingConfig, Schema};
use ringflow_engine::registry::Registry;
use ringflow_engine::registry::TaskState;
use ringflow_engine::sink::{JsonlSink, LevelMeter, WavSink};
use ringflow_engine::source::{AudioSource, TelemetrySource, Waveform, TELEMETRY_SCHEMA_VERSION};
use ringflow_engine::task::{ConsumeOptions, ProduceOptions};

use super::report::join_all;
use super::signals::StopSignals;
use super::Failure;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// How long to stream.
    #[arg(long, default_value_t = 3.0)]
    pub(crate) seconds: f64,
    /// Print the summary as one JSON line.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn demo(a: DemoArgs) -> Result<u8, Failure> {
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
