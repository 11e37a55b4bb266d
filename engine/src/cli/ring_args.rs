//! The flags that shape a ring (`create`, and `produce` when it creates one).

use clap::{Args, ValueEnum};
use std::path::Path;

use ringflow::{AudioFormat, LayoutError, Ring, RingConfig, SampleFormat, Schema};
use ringflow_engine::source::{AudioSource, TelemetryEvent, TELEMETRY_SCHEMA_VERSION};

use super::Failure;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemaArg {
    Raw,
    Audio,
    Telemetry,
}

#[derive(Args, Clone)]
pub(crate) struct RingArgs {
    /// Number of slots (a power of two; default 4096).
    #[arg(long)]
    pub(crate) slots: Option<u32>,
    /// Payload bytes per slot (default: 256 raw, 3840 audio, 64 telemetry).
    #[arg(long)]
    pub(crate) slot_size: Option<u32>,
    /// Consumer blocks (default 8).
    #[arg(long)]
    pub(crate) consumers: Option<u32>,
    /// Allow several producers at once.
    #[arg(long)]
    pub(crate) multi_producer: bool,
    /// Allow `--policy overwrite` producers (readers then copy and check every frame).
    #[arg(long)]
    pub(crate) overwritable: bool,
    /// Frames carry no producer timestamp: 16-byte slot descriptors instead of 32, no clock
    /// read per commit; readers and latency figures see none.
    #[arg(long)]
    pub(crate) no_timestamps: bool,
    /// What the frames hold.
    #[arg(long, value_enum)]
    pub(crate) schema: Option<SchemaArg>,
    /// Audio: sample rate in Hz (default 48000).
    #[arg(long, value_name = "HZ")]
    pub(crate) rate: Option<u32>,
    /// Audio: interleaved channels (default 2).
    #[arg(long, value_name = "N")]
    pub(crate) channels: Option<u32>,
    /// Audio: sample format (default f32).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) format: Option<FormatArg>,
    /// Audio: milliseconds of audio per frame (default 10).
    #[arg(long, value_name = "MS", conflicts_with = "frame_samples")]
    pub(crate) frame_ms: Option<f64>,
    /// Audio: samples per channel per frame (instead of --frame-ms).
    #[arg(long, value_name = "N")]
    pub(crate) frame_samples: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// 32-bit float.
    F32,
    /// 16-bit signed integer.
    I16,
    /// 24-bit signed integer, packed in 3 bytes (little-endian).
    I24,
    /// 32-bit signed integer.
    I32,
}

impl RingArgs {
    /// Whether any audio flag was given.
    fn audio_flags(&self) -> bool {
        self.rate.is_some()
            || self.channels.is_some()
            || self.format.is_some()
            || self.frame_ms.is_some()
            || self.frame_samples.is_some()
    }

    /// The audio format the flags ask for, each field defaulting to `base`'s.
    pub(crate) fn audio_format(&self, base: AudioFormat) -> Result<AudioFormat, Failure> {
        let sample_rate = self.rate.unwrap_or(base.sample_rate);
        if !(1..=MAX_RATE).contains(&sample_rate) {
            return Err(Failure::usage(format!(
                "--rate {sample_rate}: must be in 1 ..= {MAX_RATE} Hz"
            )));
        }
        let channels = self.channels.unwrap_or(base.channels);
        if !(1..=MAX_CHANNELS).contains(&channels) {
            return Err(Failure::usage(format!(
                "--channels {channels}: must be in 1 ..= {MAX_CHANNELS}"
            )));
        }
        let samples_per_frame = match (self.frame_samples, self.frame_ms) {
            (Some(0), _) => return Err(Failure::usage("--frame-samples 0: must be at least 1")),
            (Some(n), _) => n,
            (None, Some(ms)) => {
                let n = (ms * f64::from(sample_rate) / 1000.0).round();
                if !(n >= 1.0 && n <= f64::from(u32::MAX)) {
                    return Err(Failure::usage(format!(
                        "--frame-ms {ms}: gives {n} samples per frame at {sample_rate} Hz; a frame holds 1 ..= {}",
                        u32::MAX
                    )));
                }
                n as u32
            }
            // The default frame length is a duration (10 ms), whatever the rate.
            (None, None) if self.rate.is_some() => (f64::from(sample_rate) * DEFAULT_FRAME_MS
                / 1000.0)
                .round()
                .max(1.0) as u32,
            (None, None) => base.samples_per_frame,
        };
        let format = match self.format {
            None => base.format,
            Some(FormatArg::F32) => SampleFormat::F32,
            Some(FormatArg::I16) => SampleFormat::I16,
            Some(FormatArg::I32) => SampleFormat::I32,
            Some(FormatArg::I24) => SampleFormat::I24,
        };
        Ok(AudioFormat {
            sample_rate,
            channels,
            format,
            samples_per_frame,
        })
    }

    /// The schema the flags ask for: `--schema` (raw if absent), an audio one shaped by the
    /// audio flags, which are refused for any other schema.
    pub(crate) fn schema(&self) -> Result<Schema, Failure> {
        let schema = schema_of(self.schema);
        match schema {
            Schema::Audio(base) => Ok(Schema::Audio(self.audio_format(base)?)),
            _ if self.audio_flags() => Err(Failure::usage(
                "--rate, --channels, --format, --frame-ms and --frame-samples shape audio: give --schema audio",
            )),
            other => Ok(other),
        }
    }
}

/// Highest sample rate a ring is created with (Hz).
const MAX_RATE: u32 = 768_000;
/// Most channels a ring is created with.
const MAX_CHANNELS: u32 = 64;
/// Frame length of a new audio ring when neither --frame-ms nor --frame-samples is given.
const DEFAULT_FRAME_MS: f64 = 10.0;

/// Slots of a new ring when `--slots` is not given.
const DEFAULT_SLOTS: u32 = 4096;
/// Consumer blocks of a new ring when `--consumers` is not given.
const DEFAULT_CONSUMERS: u32 = 8;

/// Refuses the ring-shaping flags the user gave that `ring` (which exists already, so they
/// would shape nothing) does not match: one line naming each flag and what the ring has.
pub(crate) fn check_matches(args: &RingArgs, ring: &Ring, path: &Path) -> Result<(), Failure> {
    let h = ring.header();
    let mut differ = Vec::new();
    if let Some(n) = args.slots.filter(|&n| n != h.slot_count) {
        differ.push(format!("--slots {n} (it has {})", h.slot_count));
    }
    if let Some(n) = args.slot_size.filter(|&n| n != h.slot_payload) {
        differ.push(format!("--slot-size {n} (it has {})", h.slot_payload));
    }
    if let Some(n) = args.consumers.filter(|&n| n != h.max_consumers) {
        differ.push(format!("--consumers {n} (it has {})", h.max_consumers));
    }
    if args.multi_producer && h.producer_mode != ringflow::layout::producer_mode::MULTI {
        differ.push("--multi-producer (it is single-producer)".into());
    }
    if args.overwritable && !ring.is_overwritable() {
        differ.push("--overwritable (it is not)".into());
    }
    if args.no_timestamps && ring.has_timestamps() {
        differ.push("--no-timestamps (it keeps timestamps)".into());
    }
    if let (Schema::Audio(has), true) = (ring.schema(), args.audio_flags()) {
        let asked = args.audio_format(has)?;
        if asked != has {
            differ.push(format!(
                "{} (it holds {})",
                audio_flags_words(args),
                super::inspect::schema_words(ring.schema())
            ));
        }
    }
    if let Some(s) = args.schema {
        let asked = schema_of(Some(s));
        if schema_name(asked) != schema_name(ring.schema()) {
            differ.push(format!(
                "--schema {} (it holds {})",
                schema_name(asked),
                schema_name(ring.schema())
            ));
        }
    }
    if differ.is_empty() {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "{} exists and these flags would change it: {}; leave them out, or make a new ring with `ringflow create --force`",
        path.display(),
        differ.join(", ")
    )))
}

/// The audio flags given, as typed: `--rate 44100 --format i16`.
fn audio_flags_words(args: &RingArgs) -> String {
    let mut out = Vec::new();
    if let Some(v) = args.rate {
        out.push(format!("--rate {v}"));
    }
    if let Some(v) = args.channels {
        out.push(format!("--channels {v}"));
    }
    if let Some(v) = args.format {
        out.push(format!("--format {}", format!("{v:?}").to_lowercase()));
    }
    if let Some(v) = args.frame_ms {
        out.push(format!("--frame-ms {v}"));
    }
    if let Some(v) = args.frame_samples {
        out.push(format!("--frame-samples {v}"));
    }
    out.join(" ")
}

/// The ring these flags ask for, checked here so that a refusal names the flag and the value the
/// user gave (`--slots 1000: ...`), not a header field.
pub(crate) fn ring_config(args: &RingArgs, schema: Schema) -> Result<RingConfig, Failure> {
    let min = min_slot_size(schema);
    let slot_size = args.slot_size.unwrap_or(match schema {
        Schema::Raw => 256,
        Schema::Audio(a) => a.frame_bytes() as u32,
        Schema::Telemetry { .. } => 64,
    });
    if let Some(given) = args.slot_size {
        if u64::from(given) < min {
            return Err(Failure::usage(format!(
                "--slot-size {given}: one {} frame takes {min} bytes",
                schema_name(schema)
            )));
        }
    }
    let (slots, consumers) = (
        args.slots.unwrap_or(DEFAULT_SLOTS),
        args.consumers.unwrap_or(DEFAULT_CONSUMERS),
    );
    let config = RingConfig::new(slots, slot_size)
        .max_consumers(consumers)
        .multi_producer(args.multi_producer)
        .overwritable(args.overwritable)
        .timestamps(!args.no_timestamps)
        .schema(schema);
    match config.geometry() {
        Ok(_) => Ok(config),
        Err(ringflow::Error::Layout(LayoutError::BadField { field, reason, .. })) => {
            Err(Failure::usage(match field {
                "slot_count" => format!("--slots {slots}: {reason}"),
                "max_consumers" => format!("--consumers {consumers}: {reason}"),
                other => format!("{other}: {reason}"),
            }))
        }
        Err(ringflow::Error::Layout(LayoutError::TooLarge { len })) => Err(Failure::usage(format!(
            "--slots {slots} of --slot-size {slot_size}: the ring would take {len} bytes; it must stay below 2^31"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The fewest payload bytes a slot must hold for what `schema` says its frames are: a whole
/// audio frame, a telemetry event, or (raw) a `seq` frame's tag, the smallest frame any source
/// writes.
pub(crate) fn min_slot_size(schema: Schema) -> u64 {
    match schema {
        Schema::Raw => ringflow::pattern::TAG_LEN as u64,
        Schema::Audio(a) => a.frame_bytes(),
        Schema::Telemetry { .. } => std::mem::size_of::<TelemetryEvent>() as u64,
    }
}

/// The schema in words, for messages.
pub(crate) fn schema_name(schema: Schema) -> &'static str {
    match schema {
        Schema::Raw => "raw",
        Schema::Audio(_) => "audio",
        Schema::Telemetry { .. } => "telemetry",
    }
}

pub(crate) fn schema_of(arg: Option<SchemaArg>) -> Schema {
    match arg {
        None | Some(SchemaArg::Raw) => Schema::Raw,
        Some(SchemaArg::Audio) => Schema::Audio(AudioSource::default_format()),
        Some(SchemaArg::Telemetry) => Schema::Telemetry {
            version: TELEMETRY_SCHEMA_VERSION,
        },
    }
}
