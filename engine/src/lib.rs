//! # ringflow-engine
//!
//! Runs producers and consumers of [`ringflow`] rings for real: one shared tokio runtime, a
//! registry of opaque handles with cancellation, sources (`seq`, `audio`, `telemetry`, any
//! closure) and sinks (WAV, JSON Lines, a level meter, verification), async subscriptions,
//! statistics with latency percentiles, and the `ringflow` command.
//!
//! ```
//! use ringflow::{Delivery, Ring, RingConfig};
//! use ringflow_engine::{registry::Registry, sink::SeqVerifier, source::SeqSource, task};
//!
//! let registry = Registry::new(ringflow_engine::runtime::runtime().handle().clone());
//! let ring = registry.add_ring(Ring::anonymous(&RingConfig::new(256, 64))?);
//! let options = task::ConsumeOptions { verify: true, ..Default::default() };
//! let reader = registry.spawn_consumer(ring, Box::new(ringflow_engine::sink::NullSink), options)?;
//! let writer = registry.spawn_producer(
//!     ring,
//!     Box::new(SeqSource::new(0, 64)),
//!     task::ProduceOptions { frames: Some(10_000), ..Default::default() },
//! )?;
//! let rt = ringflow_engine::runtime::runtime();
//! rt.block_on(registry.join(writer))?;     // the producer detached: the ring is closed
//! let done = rt.block_on(registry.join(reader))?;
//! registry.release(writer)?;
//! registry.release(reader)?;
//! let ringflow_engine::registry::TaskState::Done(summary) = done else { panic!("{done:?}") };
//! assert_eq!(summary["frames"], 10_000);
//! assert_eq!(summary["verify"]["gaps"], 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod bridge;
pub mod error;
pub mod jobs;
pub mod registry;
pub mod runtime;
pub mod sink;
pub mod source;
pub mod stats;
pub mod subscription;
pub mod task;
pub mod wav;

pub use error::{EngineError, Result};
