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

    /// The next frame as a view, or `None` if there is none yet. The cursor advances when the
    /// view is dropped.
    ///
    /// ```
    /// # use ringflow::{ProducerOptions, Ring, RingConfig};
    /// # let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
    /// let mut consumer = ring.consumer()?;
    /// assert!(consumer.poll()?.is_none());
    /// ring.producer(ProducerOptions::default())?.push(b"x")?;
    /// let frame = consumer.poll()?.unwrap();
    /// assert_eq!((frame.seq(), frame.payload()), (0, &b"x"[..]));
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    #[inline]
    pub fn poll(&mut self) -> Result<Option<Frame<'_>>, RecvError> {
        self.reader.poll_view(Fetch::CopyUnprotected)
    }

    /// Waits for the next frame at most `timeout` (forever if `None`) and returns it as a view.
    ///
    /// Errors: [`RecvError::Timeout`]; [`RecvError::Closed`]
    /// once the last producer detached and every frame was read;
    /// [`RecvError::ProducerGone`] if the producer's process died (every
    /// frame it committed is read first); [`RecvError::Evicted`].
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Frame<'_>, RecvError> {
        self.reader.recv_view(Fetch::CopyUnprotected, timeout)
    }

    /// Up to `max` consecutive frames as views; the cursor advances once, when the batch is
    /// dropped. Empty if no frame is there. An unprotected frame comes alone, as a checked copy.
    pub fn poll_batch(&mut self, max: usize) -> Result<Batch<'_>, RecvError> {
        self.reader.poll_batch(Fetch::CopyUnprotected, max)
    }

    /// Waits for the next frame at most `timeout` (forever if `None`), as [`recv`](Self::recv)
    /// does, and returns it with the frames ready after it, up to `max`, as
    /// [`poll_batch`](Self::poll_batch) does. Never empty.
    ///
    /// Errors: those of [`recv`](Self::recv), and
    /// [`RecvError::InvalidArgument`] if `max` is 0.
    ///
    /// ```
    /// # use ringflow::{ProducerOptions, Ring, RingConfig};
    /// # let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
    /// let mut consumer = ring.consumer()?;
    /// let mut producer = ring.producer(ProducerOptions::default())?;
    /// producer.push(b"a")?;
    /// producer.push(b"b")?;
    /// let batch = consumer.recv_batch(16, None)?;
    /// assert_eq!(batch.len(), 2);
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn recv_batch(
        &mut self,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<Batch<'_>, RecvError> {
        self.reader.recv_batch(Fetch::CopyUnprotected, max, timeout)
    }

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
