//! [`Consumer`]: the lossless reader, which holds producers back and reads in place.

use std::sync::Arc;
use std::time::Duration;

use super::reader::{Fetch, Reader};
use super::view::{Batch, Frame};
use super::{Delivery, Start};
use crate::error::{RecvError, Result};
use crate::region::Shared;

/// A lossless consumer: sees every frame once, in order, holding back producers whose policy is
/// `block` or `fail` (as Agrona's `BroadcastReceiver` reads in place, and unlike its
/// `CopyBroadcastReceiver`, which is [`LossyConsumer`](crate::LossyConsumer)'s model here).
///
/// Its safe views are never written under it: on a ring that is not
/// [overwritable](crate::RingConfig::overwritable), a frame it has not released cannot be
/// rewritten, and `poll`/`recv`/`poll_batch` show it in place; frames that may be rewritten (any
/// frame of an overwritable ring, and frames before the start its registration protects, which
/// a [`Start::Oldest`] or [`Start::Seq`] start reads) are shown as a copy checked whole before it
/// is handed out, and a frame rewritten before it could be copied is dropped and counted in
/// [`lost`](Self::lost). The `unsafe` `*_unchecked` calls show every frame in place.
///
/// `Send` but not `Sync`; dropping it unregisters the consumer (it stops holding producers).
///
/// ```compile_fail,E0277
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<ringflow::Consumer>();
/// ```
#[derive(Debug)]
pub struct Consumer {
    pub(crate) reader: Reader,
}

impl Consumer {
    pub(crate) fn register(shared: Arc<Shared>, start: Start) -> Result<Consumer> {
        Ok(Consumer {
            reader: Reader::register(shared, Delivery::Lossless, start)?,
        })
    }

    common_reader_methods!();

    checked_view_methods!();

    /// [`poll`](Self::poll), always in place, with no copy even of an unprotected frame.
    ///
    /// # Safety
    /// If the ring is overwritable, or the consumer started before the frames its registration
    /// protects, a producer may rewrite the slot while the view is held: the caller must treat
    /// the bytes as changing under it (no references into them kept, no decisions on them) until
    /// [`Frame::is_intact`] returns true after its last read.
    pub unsafe fn poll_unchecked(&mut self) -> Result<Option<Frame<'_>>, RecvError> {
        self.reader.poll_view(Fetch::InPlace)
    }

    /// [`poll_batch`](Self::poll_batch), always in place.
    ///
    /// # Safety
    /// As for [`poll_unchecked`](Self::poll_unchecked), with [`Batch::intact`] as the check.
    pub unsafe fn poll_batch_unchecked(&mut self, max: usize) -> Result<Batch<'_>, RecvError> {
        self.reader.poll_batch(Fetch::InPlace, max)
    }
}
