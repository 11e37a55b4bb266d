//! The flags that shape a ring (`create`, and `produce` when it creates one).

use clap::{Args, ValueEnum};
use ringflow::{LayoutError, RingConfig, Schema};
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
    /// Number of slots (a power of two).
    #[arg(long, default_value_t = 4096)]
    pub(crate) slots: u32,
    /// Payload bytes per slot (default: 256 raw, 3840 audio, 64 telemetry).
    #[arg(long)]
    pub(crate) slot_size: Option<u32>,
    /// Consumer blocks.
    #[arg(long, default_value_t = 8)]
    pub(crate) consumers: u32,
    /// Allow several producers at once.
    #[arg(long)]
    pub(crate) multi_producer: bool,
    /// Allow `--policy overwrite` producers (readers then copy and check every frame).
    #[arg(long)]
    pub(crate) overwritable: bool,
    /// What the frames hold.
    #[arg(long, value_enum)]
    pub(crate) schema: Option<SchemaArg>,
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
                "--slot-size {given}: a {} frame needs at least {min} bytes",
                schema_name(schema)
            )));
        }
    }
    let config = RingConfig::new(args.slots, slot_size)
        .max_consumers(args.consumers)
        .multi_producer(args.multi_producer)
        .overwritable(args.overwritable)
        .schema(schema);
    match config.geometry() {
        Ok(_) => Ok(config),
        Err(ringflow::Error::Layout(LayoutError::BadField { field, reason, .. })) => {
            Err(Failure::usage(match field {
                "slot_count" => format!("--slots {}: {reason}", args.slots),
                "max_consumers" => format!("--consumers {}: {reason}", args.consumers),
                other => format!("{other}: {reason}"),
            }))
        }
        Err(ringflow::Error::Layout(LayoutError::TooLarge { len })) => Err(Failure::usage(format!(
            "--slots {} of --slot-size {slot_size}: the ring would take {len} bytes; it must stay below 2^31",
            args.slots
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
