//! The flags that shape a ring (`create`, and `produce` when it creates one).

use clap::{Args, ValueEnum};
use ringflow::{RingConfig, Schema};
use ringflow_engine::source::{AudioSource, TELEMETRY_SCHEMA_VERSION};

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

pub(crate) fn ring_config(args: &RingArgs, schema: Schema) -> RingConfig {
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

pub(crate) fn schema_of(arg: Option<SchemaArg>) -> Schema {
    match arg {
        None | Some(SchemaArg::Raw) => Schema::Raw,
        Some(SchemaArg::Audio) => Schema::Audio(AudioSource::default_format()),
        Some(SchemaArg::Telemetry) => Schema::Telemetry {
            version: TELEMETRY_SCHEMA_VERSION,
        },
    }
}
