//! The flags that shape a ring (`create`, and `produce` when it creates one).

use clap::{Args, ValueEnum};
use std::path::Path;

use ringflow::{LayoutError, Ring, RingConfig, Schema};
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
    /// What the frames hold.
    #[arg(long, value_enum)]
    pub(crate) schema: Option<SchemaArg>,
}

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
    let (slots, consumers) = (
        args.slots.unwrap_or(DEFAULT_SLOTS),
        args.consumers.unwrap_or(DEFAULT_CONSUMERS),
    );
    let config = RingConfig::new(slots, slot_size)
        .max_consumers(consumers)
        .multi_producer(args.multi_producer)
        .overwritable(args.overwritable)
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
