//! The NATS JetStream bridge: `ringflow bridge push` publishes a ring's frames to a stream,
//! `ringflow bridge pull` writes a stream's messages into a ring, each exactly once across
//! crashes of either bridge, of the server, or of a cluster node. The wire format is in
//! `wire` and `docs/BRIDGE.md`.

pub mod cli;
pub mod progress;
pub mod pull;
pub mod push;
pub mod wire;

mod arena;
mod error;

pub use error::{connect, BridgeError};
