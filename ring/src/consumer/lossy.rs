//! [`LossyConsumer`]: the reader that never holds producers back, and so only copies and checks.

use std::sync::Arc;
use std::time::Duration;

use super::reader::{Fetch, Reader};
use super::view::{Batch, Frame};
use super::{Delivery, Start};
use crate::error::{RecvError, Result};
use crate::region::Shared;

/// A lossy consumer: never holds producers back; when lapped it skips ahead and learns exactly
/// how many frames it lost (modelled on Agrona's `CopyBroadcastReceiver`).
///
/// Any frame may be rewritten while it reads it, so its safe API only copies and checks
/// ([`read_into`](Self::read_into), [`recv_into`](Self::recv_into)): a copy is returned only if
/// the frame was still whole after it. Views in place are `unsafe`
/// ([`poll_unchecked`](Self::poll_unchecked)): the caller must re-check them.
///
/// A lossy consumer has no safe view:
///
/// ```compile_fail,E0599
/// # use ringflow::{Ring, RingConfig};
/// # let ring = Ring::anonymous(&RingConfig::new(4, 16)).unwrap();
/// let mut lossy = ring.lossy_consumer().unwrap();
/// let frame = lossy.poll(); // error: no method `poll`: use read_into, or the unsafe poll_unchecked
/// ```
///
/// `Send` but not `Sync`; dropping it unregisters the consumer.
///
/// ```compile_fail,E0277
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<ringflow::LossyConsumer>();
/// ```
#[derive(Debug)]
pub struct LossyConsumer {
    pub(crate) reader: Reader,
}

impl LossyConsumer {
    pub(crate) fn register(shared: Arc<Shared>, start: Start) -> Result<LossyConsumer> {
        Ok(LossyConsumer {
            reader: Reader::register(shared, Delivery::Lossy, start)?,
        })
    }

    common_reader_methods!();

    /// The next frame as a view of its slot, or `None` if there is none yet.
    ///
    /// # Safety
    /// A producer may rewrite the slot while the view is held: the caller must treat the bytes
    /// as changing under it (no references into them kept, no decisions on them) until
    /// [`Frame::is_intact`] returns true after its last read.
    pub unsafe fn poll_unchecked(&mut self) -> Result<Option<Frame<'_>>, RecvError> {
        self.reader.poll_view(Fetch::InPlace)
    }

    /// [`poll_unchecked`](Self::poll_unchecked), waiting at most `timeout` for a frame.
    ///
    /// # Safety
    /// As for [`poll_unchecked`](Self::poll_unchecked).
    pub unsafe fn recv_unchecked(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<Frame<'_>, RecvError> {
        self.reader.recv_view(Fetch::InPlace, timeout)
    }

    /// Up to `max` consecutive frames as views of their slots.
    ///
    /// # Safety
    /// As for [`poll_unchecked`](Self::poll_unchecked), with [`Batch::intact`] as the check.
    pub unsafe fn poll_batch_unchecked(&mut self, max: usize) -> Result<Batch<'_>, RecvError> {
        self.reader.poll_batch(Fetch::InPlace, max)
    }
}
