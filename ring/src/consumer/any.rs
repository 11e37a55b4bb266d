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

    checked_view_methods!();
}
