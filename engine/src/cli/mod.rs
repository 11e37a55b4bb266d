//! The `ringflow` command line: one module per subcommand, its flags and what it does, and the
//! pieces they share (the failure type, ring flags, signals, progress and summaries).

pub(crate) mod bench;
pub(crate) mod consume;
pub(crate) mod create;
pub(crate) mod demo;
pub(crate) mod failure;
pub(crate) mod inspect;
pub(crate) mod list;
pub(crate) mod produce;
pub(crate) mod report;
pub(crate) mod ring_args;
pub(crate) mod rm;
pub(crate) mod signals;
pub(crate) mod usage;

use clap::{Parser, Subcommand};

pub(crate) use failure::Failure;

#[derive(Parser)]
#[command(
    name = "ringflow",
    version,
    about = "Lock-free shared-memory frame rings: create, produce, consume, inspect, bench"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create a ring file.
    Create(create::CreateArgs),
    /// Write frames into a ring (creating it if PATH does not exist).
    Produce(produce::ProduceArgs),
    /// Read frames from a ring.
    Consume(consume::ConsumeArgs),
    /// Print a ring's header, cursors, lag and counters.
    Inspect(inspect::InspectArgs),
    /// List the rings in a directory (/dev/shm by default).
    List(list::ListArgs),
    /// Remove rings (refusing one that live processes use, unless --force).
    Rm(rm::RmArgs),
    /// Measure throughput through an in-process ring.
    Bench(bench::BenchArgs),
    /// Stream audio and telemetry to a WAV recorder, a level meter and a JSON Lines log.
    Demo(demo::DemoArgs),
    /// Carry a ring's frames over NATS JetStream (push) and back into a ring (pull).
    #[command(subcommand)]
    Bridge(ringflow_engine::bridge::cli::BridgeCommand),
}
