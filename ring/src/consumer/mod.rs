//! Consumers: the cursor protocol (`core`) and the public handle over a mapping (`handle`).

pub(crate) mod core;
#[cfg(not(loom))]
mod handle;

pub use self::core::Delivery;
#[cfg(not(loom))]
pub use self::handle::{Batch, BatchFrame, Consumer, Frame, FrameInfo, HeldFrame};
