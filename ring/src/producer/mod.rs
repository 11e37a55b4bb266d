//! Producers: the cursor protocol (`core`) and the public handle over a mapping (`handle`).

pub(crate) mod core;
#[cfg(not(loom))]
mod handle;
#[cfg(not(loom))]
mod held;

pub use self::core::{FullPolicy, ProducerOptions};
#[cfg(not(loom))]
pub use self::handle::{Producer, WriteBatch, WriteSlot};
#[cfg(not(loom))]
pub use self::held::{CommitHeldError, HeldClaim, HeldProducer};
