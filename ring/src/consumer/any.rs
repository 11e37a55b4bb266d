//! [`AnyConsumer`]: a consumer whose delivery is chosen at run time (a CLI flag, a foreign
//! caller), with the API both deliveries can offer safely.

use std::sync::Arc;
use std::time::Duration;

use super::reader::{Fetch, Reader};
use super::view::{Batch, Frame};
use super::{Delivery, Start};
use crate::error::{RecvError, Result};
use crate::region::Shared;

/// A lossless or lossy consumer, chosen at run time.
///
/// Its views are safe whatever the delivery: a frame that may be rewritten while held (every
/// frame of a lossy consumer or of an overwritable ring) is shown as a copy checked whole before
/// it is handed out, a protected one in place, as [`Consumer`](crate::Consumer)'s are.
#[derive(Debug)]
pub struct AnyConsumer {
    pub(crate) reader: Reader,
    delivery: Delivery,
}

impl AnyConsumer {
    pub(crate) fn register(
        shared: Arc<Shared>,
        delivery: Delivery,
        start: Start,
    ) -> Result<AnyConsumer> {
        Ok(AnyConsumer {
            reader: Reader::register(shared, delivery, start)?,
            delivery,
        })
    }

    common_reader_methods!();

    /// The delivery it was registered with.
    pub fn delivery(&self) -> Delivery {
        self.delivery
    }

    /// The next frame as a view (in place, or a checked copy), or `None` if there is none yet.
    pub fn poll(&mut self) -> Result<Option<Frame<'_>>, RecvError> {
        self.reader.poll_view(Fetch::CopyUnprotected)
    }

    /// Waits for the next frame at most `timeout`; see [`Consumer::recv`](crate::Consumer::recv).
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Frame<'_>, RecvError> {
        self.reader.recv_view(Fetch::CopyUnprotected, timeout)
    }

    /// Up to `max` frames; see [`Consumer::poll_batch`](crate::Consumer::poll_batch).
    pub fn poll_batch(&mut self, max: usize) -> Result<Batch<'_>, RecvError> {
        self.reader.poll_batch(Fetch::CopyUnprotected, max)
    }

    /// Waits, then up to `max` frames; see [`Consumer::recv_batch`](crate::Consumer::recv_batch).
    pub fn recv_batch(
        &mut self,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<Batch<'_>, RecvError> {
        self.reader.recv_batch(Fetch::CopyUnprotected, max, timeout)
    }
}
