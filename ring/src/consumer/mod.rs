//! Consumers: the cursor protocol (`core`), the reader every handle wraps (`reader`), and the
//! handles: [`Consumer`] (lossless), [`LossyConsumer`], and [`AnyConsumer`] for a delivery chosen
//! at run time.

#[cfg(not(loom))]
mod copy;
pub(crate) mod core;
#[cfg(not(loom))]
mod held;
#[cfg(not(loom))]
mod reader;
#[cfg(not(loom))]
mod view;

#[cfg(not(loom))]
#[macro_use]
mod common;
#[cfg(not(loom))]
mod any;
#[cfg(not(loom))]
mod lossless;
#[cfg(not(loom))]
mod lossy;

pub use self::core::{Delivery, Start};
#[cfg(not(loom))]
pub use self::{
    any::AnyConsumer,
    held::{FrameInfo, HeldFrame},
    lossless::Consumer,
    lossy::LossyConsumer,
    view::{Batch, BatchFrame, Frame},
};
